"""``api.toml``: database, relayer key, PA API keys (hash → PA name + on-chain account), limits, oracle.

Why hashes of API keys: the config file is copied around between operators; holding only
``sha256(key)`` means a leaked config does not leak a usable credential. Why a keystore per PA: writes are
sent from the PA's own on-chain account, so the contracts' role checks (not the API) stay the authority.

Example::

    [api]
    db = "api.sqlite"           # relative paths are relative to this file
    max_body_bytes = 65536

    [relayer]                    # pays for citizens' signed actions; needs RELAYER_ROLE on CO3Governance
    keystore = "relayer.json"
    password_file = "relayer.pass"
    client_rate = 5.0            # relay requests per second per client address (token bucket refill)
    client_burst = 20
    trusted_proxies = []         # e.g. ["127.0.0.1"] behind nginx: the client is then its X-Forwarded-For hop

    [indexer]
    poll_interval = 1.0

    [[keys]]
    hash = "3f0a…"              # sha256 hex of the API key (`co3chain api new-key` prints both)
    pa = "Comune di Milano"
    keystore = "milano.json"
    password_env = "MILANO_PASSWORD"
    rate = 2.0                   # requests per second (token bucket refill)
    burst = 10

    [oracle]
    config = "oracle.toml"       # optional: mount the oracle's webhooks under /v1/oracle

    [privacy]                    # optional: hash identity references here (`identityReference` at POST /v1/citizens)
    identity_key_file = "identity-key.json"   # `co3chain privacy identity-key new`; one key per consortium
    password_env = "CO3_IDENTITY_KEY_PASSWORD" # or password_file = "identity-key.pass"

    [cors]                       # off unless origins are listed: browsers on other origins are refused
    allow_origins = ["https://app.example.org"]   # exact origins; "*" allows any (no credentials then)
    allow_headers = ["Content-Type"]              # add "X-API-Key" only for trusted PA portals
    max_age = 600                                 # seconds a browser may cache the preflight answer
"""

from __future__ import annotations

import hashlib
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from co3chain.errors import Co3Error
from co3chain.oracle.config import KeySpec


class ApiConfigError(Co3Error):
    """``api.toml`` is missing, malformed or inconsistent."""


_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def hash_api_key(key: str) -> str:
    """The value stored in ``api.toml`` for ``key``: lowercase hex sha256 of its UTF-8 bytes."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_api_key() -> tuple[str, str]:
    """A fresh random API key and its hash."""
    key = "co3_" + secrets.token_urlsafe(32)
    return key, hash_api_key(key)


@dataclass(frozen=True)
class ApiKeyEntry:
    """One PA's API key: who it is, which account signs its writes, how fast it may call."""

    key_hash: str
    pa: str
    signer: KeySpec
    rate: float = 2.0
    burst: int = 10


@dataclass(frozen=True)
class IndexerSettings:
    poll_interval: float = 1.0
    batch_blocks: int = 2000
    from_block: int | None = None
    max_backoff: float = 15.0


@dataclass(frozen=True)
class RelayLimits:
    """Per-client budget of the open ``/v1/relay`` endpoints."""

    client_rate: float = 5.0
    client_burst: int = 20
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class CorsSettings:
    """Cross-origin access for browser apps (``[cors]``); empty ``allow_origins`` means CORS is off.

    Why off by default: an API that answers any origin lets any web page a citizen visits drive it with the
    citizen's browser; operators list the app origins they serve. Credentials (cookies) are never allowed:
    the API authenticates by signatures and API keys, not cookies.
    """

    allow_origins: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ("Content-Type",)
    allow_methods: tuple[str, ...] = ("GET", "POST", "PUT", "DELETE")
    max_age: int = 600

    @property
    def enabled(self) -> bool:
        return bool(self.allow_origins)


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


def parse_cors(table: dict[str, Any]) -> CorsSettings:
    """Validate ``[cors]``: origins are ``scheme://host[:port]`` (no path, no trailing slash) or ``"*"``."""
    unknown = sorted(set(table) - {"allow_origins", "allow_headers", "allow_methods", "max_age"})
    if unknown:
        raise ApiConfigError(f"[cors]: unknown keys {unknown}")
    origins = table.get("allow_origins", [])
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise ApiConfigError("[cors].allow_origins must be a list of origin strings")
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise ApiConfigError(f"[cors].allow_origins: {origin!r} is not an origin like https://app.example.org "
                                 "(scheme and host only, no path or trailing slash)")
    headers = table.get("allow_headers", ["Content-Type"])
    methods = table.get("allow_methods", ["GET", "POST", "PUT", "DELETE"])
    for name, value in (("allow_headers", headers), ("allow_methods", methods)):
        if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
            raise ApiConfigError(f"[cors].{name} must be a list of strings")
    max_age = table.get("max_age", 600)
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        raise ApiConfigError("[cors].max_age must be a non-negative integer (seconds)")
    return CorsSettings(tuple(origins), tuple(headers), tuple(m.upper() for m in methods), max_age)


@dataclass(frozen=True)
class IdentityKeySpec:
    """Where the consortium identity key (``co3chain privacy identity-key new``) and its password are."""

    path: Path
    password_file: Path | None = None
    password_env: str | None = None

    def load(self) -> bytes:
        """The decrypted 32-byte key (readable errors for a missing file, password or wrong kind of file)."""
        import os

        from co3chain.keys import read_password
        from co3chain.privacy.identity import load_key_file

        if self.password_env and self.password_file is None:
            password = os.environ.get(self.password_env)
            if not password:
                raise ApiConfigError(f"no password for {self.path}: ${self.password_env} is not set")
        else:
            password = read_password(self.password_file)
        return load_key_file(self.path, password)


@dataclass(frozen=True)
class ApiConfig:
    """Parsed ``api.toml``."""

    db: str
    relayer: KeySpec | None
    keys: list[ApiKeyEntry] = field(default_factory=list)
    max_body_bytes: int = 64 * 1024
    indexer: IndexerSettings = field(default_factory=IndexerSettings)
    oracle_config: Path | None = None
    relay_limits: RelayLimits = field(default_factory=RelayLimits)
    cors: CorsSettings = field(default_factory=CorsSettings)
    identity_key: IdentityKeySpec | None = None


def _table(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ApiConfigError(f"[{name}] must be a table")
    return value


def _path(base: Path, value: Any, what: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ApiConfigError(f"{what} must be a non-empty path string")
    p = Path(value)
    return p if p.is_absolute() else base / p


def _key_spec(base: Path, table: dict[str, Any], what: str) -> KeySpec:
    if not any(k in table for k in ("keystore", "private_key_env")):
        raise ApiConfigError(f"{what} needs keystore (+ password_file or password_env) or private_key_env")
    return KeySpec(
        keystore=_path(base, table["keystore"], f"{what}.keystore") if "keystore" in table else None,
        password_file=_path(base, table["password_file"], f"{what}.password_file") if "password_file" in table else None,
        password_env=table.get("password_env"),
        private_key_env=table.get("private_key_env"),
    )


def _number(table: dict[str, Any], name: str, default: float, what: str, *, minimum: float = 0.0) -> float:
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= minimum:
        raise ApiConfigError(f"{what}.{name} must be a number > {minimum:g} (got {value!r})")
    return float(value)


def parse_config(data: dict[str, Any], base: Path) -> ApiConfig:
    """Validate the TOML document ``data``; relative paths resolve against ``base``."""
    api = _table(data, "api")
    db = api.get("db", "api.sqlite")
    if not isinstance(db, str) or not db:
        raise ApiConfigError("[api].db must be a path")
    db_path = db if db == ":memory:" else str(_path(base, db, "[api].db"))
    max_body = int(_number(api, "max_body_bytes", 64 * 1024, "[api]", minimum=0))

    relayer_table = _table(data, "relayer")
    relayer = _key_spec(base, relayer_table, "[relayer]") if relayer_table else None
    proxies = relayer_table.get("trusted_proxies", [])
    if not isinstance(proxies, list) or not all(isinstance(x, str) and x for x in proxies):
        raise ApiConfigError("[relayer].trusted_proxies must be a list of IP address strings")
    relay_limits = RelayLimits(
        client_rate=_number(relayer_table, "client_rate", 5.0, "[relayer]"),
        client_burst=int(_number(relayer_table, "client_burst", 20, "[relayer]", minimum=0.999)),
        trusted_proxies=tuple(proxies),
    )

    idx = _table(data, "indexer")
    from_block = idx.get("from_block")
    if from_block is not None and (not isinstance(from_block, int) or from_block < 0):
        raise ApiConfigError("[indexer].from_block must be a non-negative integer")
    indexer = IndexerSettings(
        poll_interval=_number(idx, "poll_interval", 1.0, "[indexer]"),
        batch_blocks=int(_number(idx, "batch_blocks", 2000, "[indexer]")),
        from_block=from_block,
        max_backoff=_number(idx, "max_backoff", 15.0, "[indexer]"),
    )

    raw_keys = data.get("keys", [])
    if not isinstance(raw_keys, list):
        raise ApiConfigError("[[keys]] must be an array of tables")
    keys: list[ApiKeyEntry] = []
    for n, entry in enumerate(raw_keys):
        what = f"[[keys]] #{n + 1}"
        if not isinstance(entry, dict):
            raise ApiConfigError(f"{what} must be a table")
        key_hash = str(entry.get("hash", "")).lower().removeprefix("sha256:")
        if not _HEX64.match(key_hash):
            raise ApiConfigError(f"{what}.hash must be the 64-hex-digit sha256 of the key")
        pa = entry.get("pa")
        if not isinstance(pa, str) or not pa.strip():
            raise ApiConfigError(f"{what}.pa must name the public administration")
        keys.append(ApiKeyEntry(
            key_hash=key_hash, pa=pa.strip(), signer=_key_spec(base, entry, what),
            rate=_number(entry, "rate", 2.0, what), burst=int(_number(entry, "burst", 10, what, minimum=0.999)),
        ))
    if len({k.key_hash for k in keys}) != len(keys):
        raise ApiConfigError("[[keys]] hashes must be distinct")

    oracle = _table(data, "oracle")
    oracle_config = _path(base, oracle["config"], "[oracle].config") if "config" in oracle else None
    return ApiConfig(db=db_path, relayer=relayer, keys=keys, max_body_bytes=max_body, indexer=indexer,
                     oracle_config=oracle_config, relay_limits=relay_limits, cors=parse_cors(_table(data, "cors")),
                     identity_key=_identity_key(base, _table(data, "privacy")))


def _identity_key(base: Path, table: dict[str, Any]) -> IdentityKeySpec | None:
    """``[privacy]``: the identity key file and where its password comes from (absent table: no key)."""
    if not table:
        return None
    unknown = set(table) - {"identity_key_file", "password_file", "password_env"}
    if unknown:
        raise ApiConfigError(f"[privacy] has unknown keys: {', '.join(sorted(unknown))}")
    if "identity_key_file" not in table:
        raise ApiConfigError("[privacy] needs identity_key_file")
    env = table.get("password_env")
    if env is not None and (not isinstance(env, str) or not env):
        raise ApiConfigError("[privacy].password_env must name an environment variable")
    return IdentityKeySpec(
        path=_path(base, table["identity_key_file"], "[privacy].identity_key_file"),
        password_file=_path(base, table["password_file"], "[privacy].password_file") if "password_file" in table
        else None,
        password_env=env,
    )


def load_config(path: str | Path) -> ApiConfig:
    """Read and validate ``api.toml``."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ApiConfigError(f"API config {p} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ApiConfigError(f"API config {p} is not valid TOML: {exc}") from None
    return parse_config(data, p.resolve().parent)
