"""``oracle.toml``: the configuration of one oracle operator process.

Example (relative paths are resolved against the file's directory)::

    [oracle]
    db = "oracle-queue.db"          # SQLite queue (WAL); or "sqlite:///abs/path.db"
    listen = "127.0.0.1:8645"
    poll_interval = 0.5             # worker idle sleep, seconds
    attestation_ttl = 604800        # expiresAt = observedAt + ttl (must be equal on every operator)
    submit = true                   # lead operator: collects co-signatures and sends transactions

    [auth]
    skew_seconds = 300

    [[sources]]
    name = "ar-app"
    kind = "ar"                     # "ar" (check-ins) or "social"
    secret_env = "AR_APP_SECRET"    # or secret = "..." (≥ 16 bytes)

    [chain]
    rpc_url = "http://127.0.0.1:8545"
    manifest = "deployment.json"    # or hub / areas / registry addresses

    [signer]                        # this operator's oracle key
    keystore = "keys/oracle-1.json"
    password_file = "keys/oracle-1.pass"   # or password_env; or private_key_env (development only)

    [submitter]                     # account paying for submitBatch (defaults to the signer key)
    batch_size = 50
    schedule_seconds = 0            # >0: send batches only at multiples of this period (block times
                                    # then reveal only the period); 0 = as soon as signed
    schedule_window_seconds = 60    # how long after each boundary batches may still be sent

    [validation]
    max_accuracy_m = 50
    max_per_activity_per_day = 3
    dedup_window_s = 600
    max_event_age_s = 259200
    social_requires_location = false

    [privacy]                       # see docs/privacy.md
    retention_days = 30             # raw bodies/coordinates kept this long after an event is final
    retention_interval = 3600       # background retention run every N seconds (0: only the CLI)
    time_resolution = 3600          # signed observedAt rounded down to this (1 = exact second); like
                                    # attestation_ttl it must be equal on every operator

    [[areas]]
    id = 1
    geojson = "areas/piazza.geojson"

    [[cosigners]]
    url = "http://10.0.0.2:8645"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from co3chain import keys
from co3chain.errors import Co3Error
from co3chain.oracle.auth import Source
from co3chain.oracle.retention import RetentionConfig
from co3chain.oracle.signing import DEFAULT_TIME_RESOLUTION, check_time_resolution
from co3chain.oracle.submitter import SubmitterConfig
from co3chain.oracle.validation import ValidationPolicy


class ConfigError(Co3Error):
    """``oracle.toml`` is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class KeySpec:
    """Where a private key comes from: an encrypted keystore (production) or an env var (development)."""

    keystore: Path | None = None
    password_file: Path | None = None
    password_env: str | None = None
    private_key_env: str | None = None

    def load(self) -> bytes:
        """The 32-byte private key."""
        if self.private_key_env:
            value = os.environ.get(self.private_key_env)
            if not value:
                raise ConfigError(f"environment variable {self.private_key_env} (private key) is not set")
            try:
                key = bytes.fromhex(value.removeprefix("0x"))
            except ValueError:
                raise ConfigError(f"{self.private_key_env} is not a hex private key") from None
            if len(key) != 32:
                raise ConfigError(f"{self.private_key_env} must hold a 32-byte private key")
            return key
        if self.keystore is None:
            raise ConfigError("a key needs keystore (+ password_file/password_env) or private_key_env")
        return _load_keystore(self.keystore, self._password())

    def _password(self) -> str:
        if self.password_file is not None or not self.password_env:
            return keys.read_password(self.password_file)  # file, else $CO3CHAIN_PASSWORD
        if not os.environ.get(self.password_env):
            raise ConfigError(f"no password for {self.keystore}: ${self.password_env} is not set")
        return os.environ[self.password_env]


def _load_keystore(path: Path, password: str) -> bytes:
    """Decrypt a keystore v3 file (``co3chain.keys``: readable errors for wrong passwords etc.)."""
    return keys.load_private_key(path, password)


@dataclass(frozen=True)
class OracleConfig:
    """Parsed ``oracle.toml``."""

    db: str
    host: str
    port: int
    rpc_url: str
    signer: KeySpec
    sources: list[Source]
    manifest: Path | None = None
    addresses: dict[str, str] = field(default_factory=dict)
    submit: bool = True
    submitter_key: KeySpec | None = None
    submitter: SubmitterConfig = field(default_factory=SubmitterConfig)
    policy: ValidationPolicy = field(default_factory=ValidationPolicy)
    skew_seconds: int = 300
    poll_interval: float = 0.5
    attestation_ttl: int = 7 * 86_400
    areas: dict[int, Path] = field(default_factory=dict)
    cosigners: list[str] = field(default_factory=list)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    time_resolution: int = DEFAULT_TIME_RESOLUTION  # [privacy]: seconds; consortium-wide like the ttl
    #: bearer token of the HTTP event listings (from ``[oracle] read_token_env``); None keeps them closed
    read_token: str | None = None


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table")
    return value


def _path(base: Path, value: Any, what: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} must be a non-empty path string")
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _key_spec(base: Path, table: dict[str, Any], what: str) -> KeySpec:
    known = {"keystore", "password_file", "password_env", "private_key_env"}
    extra = set(table) - known
    if extra:
        raise ConfigError(f"[{what}]: unknown keys {sorted(extra)}")
    return KeySpec(
        keystore=_path(base, table["keystore"], f"{what}.keystore") if "keystore" in table else None,
        password_file=_path(base, table["password_file"], f"{what}.password_file")
        if "password_file" in table else None,
        password_env=table.get("password_env"),
        private_key_env=table.get("private_key_env"),
    )


def _source(entry: Any) -> Source:
    if not isinstance(entry, dict) or "name" not in entry or "kind" not in entry:
        raise ConfigError("each [[sources]] needs name and kind")
    if "secret" in entry:
        secret = str(entry["secret"])
    elif "secret_env" in entry:
        secret = os.environ.get(str(entry["secret_env"]), "")
        if not secret:
            raise ConfigError(f"source {entry['name']}: environment variable {entry['secret_env']} is not set")
    else:
        raise ConfigError(f"source {entry['name']}: set secret or secret_env")
    return Source(str(entry["name"]), str(entry["kind"]), secret.encode("utf-8"))


def _db_url(oracle: dict[str, Any], base: Path) -> str:
    db = str(oracle.get("db", "oracle-queue.db"))
    return db if "://" in db else str(_path(base, db, "oracle.db"))


def parse_config(data: dict[str, Any], base: Path) -> OracleConfig:
    """Build an :class:`OracleConfig` from parsed TOML; ``base`` resolves relative paths."""
    try:
        oracle = _table(data, "oracle")
        chain = _table(data, "chain")
        listen = str(oracle.get("listen", "127.0.0.1:8645"))
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"oracle.listen must be host:port, got {listen!r}")
        db = _db_url(oracle, base)
        if "rpc_url" not in chain:
            raise ConfigError("[chain] rpc_url is required")
        addresses = {k: str(chain[k]) for k in ("hub", "areas", "registry") if k in chain}
        manifest = _path(base, chain["manifest"], "chain.manifest") if "manifest" in chain else None
        if manifest is None and len(addresses) != 3:
            raise ConfigError("[chain] needs manifest, or all of hub, areas and registry addresses")
        if "signer" not in data:
            raise ConfigError("[signer] is required (this operator's oracle key)")
        sources = [_source(s) for s in data.get("sources", [])]
        sub_table = _table(data, "submitter")
        sub_keys = {k: v for k, v in sub_table.items()
                    if k in ("keystore", "password_file", "password_env", "private_key_env")}
        sub_cfg = {k: v for k, v in sub_table.items() if k not in sub_keys}
        areas: dict[int, Path] = {}
        for entry in data.get("areas", []):
            if not isinstance(entry, dict) or "id" not in entry or "geojson" not in entry:
                raise ConfigError("each [[areas]] needs id and geojson")
            areas[int(entry["id"])] = _path(base, entry["geojson"], f"areas[{entry['id']}].geojson")
        cosigners = []
        for entry in data.get("cosigners", []):
            if not isinstance(entry, dict) or "url" not in entry:
                raise ConfigError("each [[cosigners]] needs url")
            cosigners.append(str(entry["url"]))
        privacy = _table(data, "privacy")
        resolution = privacy.get("time_resolution", DEFAULT_TIME_RESOLUTION)
        try:
            check_time_resolution(resolution)
        except Co3Error as exc:
            raise ConfigError(f"[privacy] {exc}") from None
        read_token = None
        if "read_token_env" in oracle:
            read_token = os.environ.get(str(oracle["read_token_env"]), "")
            if len(read_token) < 16:
                raise ConfigError(f"oracle.read_token_env: ${oracle['read_token_env']} must hold a token of at least "
                                  "16 characters (the event listings name citizens, areas and times)")
        return OracleConfig(
            read_token=read_token,
            db=db, host=host, port=int(port), rpc_url=str(chain["rpc_url"]),
            signer=_key_spec(base, _table(data, "signer"), "signer"), sources=sources,
            manifest=manifest, addresses=addresses, submit=bool(oracle.get("submit", True)),
            submitter_key=_key_spec(base, sub_keys, "submitter") if sub_keys else None,
            submitter=SubmitterConfig(**sub_cfg), policy=ValidationPolicy(**_table(data, "validation")),
            skew_seconds=int(_table(data, "auth").get("skew_seconds", 300)),
            poll_interval=float(oracle.get("poll_interval", 0.5)),
            attestation_ttl=int(oracle.get("attestation_ttl", 7 * 86_400)),
            areas=areas, cosigners=cosigners,
            retention=RetentionConfig.from_table(privacy), time_resolution=resolution,
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid oracle config: {exc}") from None


def _read_toml(p: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"oracle config {p} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"oracle config {p} is not valid TOML: {exc}") from None


def load_config(path: str | Path) -> OracleConfig:
    """Read and parse ``oracle.toml``."""
    p = Path(path)
    return parse_config(_read_toml(p), p.resolve().parent)


def load_db_url(path: str | Path) -> str:
    """Only the queue location of ``oracle.toml`` (status commands need no secrets or keys)."""
    p = Path(path)
    return _db_url(_table(_read_toml(p), "oracle"), p.resolve().parent)
