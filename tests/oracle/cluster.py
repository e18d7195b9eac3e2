"""A 3-operator oracle cluster as real ``python -m co3chain.oracle run`` processes (lead + 2 HTTP co-signers)
against an anvil node with the reward suite deployed.  Used by the end-to-end tests and the benchmark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from web3 import HTTPProvider, Web3

from co3chain.keys import create_keystore
from co3chain.oracle.auth import sign_headers
from tests.anvil import free_port
from tests.oracle.chain_helpers import (
    REPO,
    RewardSuite,
    anvil_admin,
    deploy_reward_suite,
    register_citizen,
    seed_area,
)
from tests.oracle.helpers import AR, CITIZEN, SIGNER_KEYS, SIGNERS, SOCIAL, SQUARE

#: anvil's second dev account pays for submitBatch (the deployer uses the first).
SUBMITTER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
KEYSTORE_PASSWORD = "oracle-test-password"
#: The operators' bearer token for their event listings (``[oracle] read_token_env``).
READ_TOKEN = "cluster-read-token-0123456789"
READER = {"Authorization": f"Bearer {READ_TOKEN}"}


def deploy_for_oracle(url: str, *, max_claims: int = 0, citizens: tuple[str, ...] = (CITIZEN,)) -> RewardSuite:
    """Deploy the suite on anvil, create area 1 (the Turin square) with check-in activity 1, register."""
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))
    suite = deploy_reward_suite(w3, anvil_admin(), SIGNERS, 2)
    now = int(w3.eth.get_block("latest")["timestamp"])
    seed_area(suite, SQUARE, starts=now - 3600, ends=now + 86_400, max_claims=max_claims)
    for citizen in citizens:
        register_citizen(suite, citizen, now + 365 * 86_400)
    return suite


@dataclass
class Operator:
    name: str
    config: Path
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> Path:
        return self.config.parent / f"{self.name}.db"


@dataclass
class Cluster:
    """Three operator processes; the lead (signer 0, keystore) receives webhooks and submits."""

    workdir: Path
    rpc_url: str
    suite: RewardSuite
    operators: list[Operator] = field(default_factory=list)

    @classmethod
    def create(cls, workdir: Path, rpc_url: str, suite: RewardSuite, batch_size: int = 25) -> Cluster:
        cluster = cls(workdir, rpc_url, suite)
        (workdir / "area1.geojson").write_text(json.dumps(SQUARE))
        create_keystore(workdir / "signer0.json", KEYSTORE_PASSWORD, SIGNER_KEYS[0], scrypt_n=2**12)
        (workdir / "signer0.pass").write_text(KEYSTORE_PASSWORD + "\n")
        ports = [free_port() for _ in range(3)]
        for i in range(3):
            name = "lead" if i == 0 else f"peer{i}"
            env = {f"CO3_ORACLE_KEY_{i}": SIGNER_KEYS[i].hex(), "CO3_SUBMITTER_KEY": SUBMITTER_KEY,
                   "CO3_ORACLE_READ_TOKEN": READ_TOKEN,
                   "CO3_AR_SECRET": AR.secret.decode(), "CO3_SOCIAL_SECRET": SOCIAL.secret.decode()}
            signer = ('keystore = "signer0.json"\npassword_file = "signer0.pass"' if i == 0
                      else f'private_key_env = "CO3_ORACLE_KEY_{i}"')
            cosigners = "".join(f'\n[[cosigners]]\nurl = "http://127.0.0.1:{p}"\n' for p in ports[1:]) if i == 0 else ""
            a = suite.addresses
            text = f"""
[oracle]
db = "{name}.db"
listen = "127.0.0.1:{ports[i]}"
read_token_env = "CO3_ORACLE_READ_TOKEN"
poll_interval = 0.1
submit = {"true" if i == 0 else "false"}

[[sources]]
name = "{AR.name}"
kind = "ar"
secret_env = "CO3_AR_SECRET"

[[sources]]
name = "{SOCIAL.name}"
kind = "social"
secret_env = "CO3_SOCIAL_SECRET"

[chain]
rpc_url = "{rpc_url}"
hub = "{a['hub']}"
areas = "{a['areas']}"
registry = "{a['registry']}"

[signer]
{signer}

[submitter]
private_key_env = "CO3_SUBMITTER_KEY"
batch_size = {batch_size}

[validation]
max_per_activity_per_day = 1000
dedup_window_s = 0

[[areas]]
id = 1
geojson = "area1.geojson"
{cosigners}"""
            config = workdir / f"{name}.toml"
            config.write_text(text)
            cluster.operators.append(Operator(name, config, ports[i], env))
        return cluster

    @property
    def lead(self) -> Operator:
        return self.operators[0]

    def start(self, op: Operator, extra_env: dict[str, str] | None = None) -> None:
        env = {**os.environ, **op.env, **(extra_env or {})}
        op.log = self.workdir / f"{op.name}.log"
        with open(op.log, "ab") as log:
            op.proc = subprocess.Popen([sys.executable, "-m", "co3chain.oracle", "run", "--config", str(op.config)],
                                       cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(op.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if op.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{op.name} did not start:\n{op.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def start_all(self, lead_env: dict[str, str] | None = None) -> None:
        for op in self.operators[1:]:
            self.start(op)
        self.start(self.lead, lead_env)

    def stop_all(self) -> None:
        for op in self.operators:
            if op.proc is not None and op.proc.poll() is None:
                op.proc.terminate()
                try:
                    op.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    op.proc.kill()
                    op.proc.wait()

    def post_checkin(self, body: bytes, client: httpx.Client | None = None) -> httpx.Response:
        headers = {**sign_headers(AR, body, int(time.time())), "Content-Type": "application/json"}
        c = client or httpx
        return c.post(self.lead.url + "/oracle/v1/webhooks/ar/checkin", content=body, headers=headers, timeout=30)

    def event(self, attestation_id: str) -> dict[str, Any]:
        return httpx.get(f"{self.lead.url}/oracle/v1/events/{attestation_id}", headers=READER, timeout=10).json()

    def wait_state(self, attestation_id: str, states: set[str], timeout: float = 120) -> dict[str, Any]:
        """Poll the lead until the event reaches one of ``states`` (generous timeout: CI machines are slow)."""
        deadline = time.monotonic() + timeout
        while True:
            ev = self.event(attestation_id)
            if ev["state"] in states:
                return ev
            if time.monotonic() > deadline:
                raise AssertionError(f"{attestation_id} stuck in {ev}")
            time.sleep(0.2)
