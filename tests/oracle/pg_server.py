"""A throwaway PostgreSQL cluster for the queue tests, from the distribution's server binaries.

One cluster per test session, shared by every module that asks for it (reference-counted, because pytest
would otherwise start one per module that defines the session fixture).  It listens only on a unix socket
in its own temp directory, so parallel test runs never collide on a TCP port.  ``initdb`` refuses to run as
root, so under root the cluster runs as ``nobody`` (via ``runuser``) in a directory owned by that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

PORT = 5432  # only names the socket file (.s.PGSQL.5432) inside our private directory; no TCP listener
SUPERUSER = "co3"


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<v>/bin`` holding initdb + pg_ctl, else initdb on $PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


@dataclass
class PgCluster:
    """A running cluster: ``url(db)`` names a database on it, ``restart()`` simulates a crash."""

    bindir: Path
    root: Path
    run_as: str | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _cmd(self, *args: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self.run_as, "--"] if self.run_as else []
        result = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:] if (
                self.root / "server.log").exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr}{log}")
        return result

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{dbname}?host={self.root}&port={PORT}"

    def initdb(self) -> None:
        self._cmd(str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                  "--no-instructions", "-E", "UTF8", "--locale=C")

    def start(self) -> None:
        opts = (f"-k {self.root} -p {PORT} -c listen_addresses='' -c max_connections=40 "
                "-c shared_buffers=16MB -c fsync=on")
        self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", opts, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        """Kill the server without a clean shutdown (``-m immediate``: WAL recovery on start), then start."""
        self.stop("immediate")
        self.start()

    @contextmanager
    def database(self) -> Iterator[str]:
        """A fresh empty database for one test; dropped afterwards (its connections are terminated)."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        try:
            yield self.url(name)
        finally:
            with psycopg.connect(self.url(), autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_shared: PgCluster | None = None
_users = 0


def _start_cluster() -> PgCluster:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb/pg_ctl) on this machine: "
                    "apt-get install postgresql to run the PostgreSQL queue tests")
    run_as = None
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: initdb refuses root")
        run_as = "nobody"
    root = Path(tempfile.mkdtemp(prefix="co3pg-"))
    if run_as:
        pw = pwd.getpwnam(run_as)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    cluster = PgCluster(bindir, root, run_as)
    try:
        cluster.initdb()
        cluster.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


@contextmanager
def shared_cluster() -> Iterator[PgCluster]:
    """The session's cluster, started on first use and stopped when the last user lets go."""
    global _shared, _users
    if _shared is None:
        _shared = _start_cluster()
    _users += 1
    try:
        yield _shared
    finally:
        _users -= 1
        if _users == 0:
            cluster, _shared = _shared, None
            try:
                cluster.stop()
            finally:
                shutil.rmtree(cluster.root, ignore_errors=True)
