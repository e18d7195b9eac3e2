"""``co3chain privacy …``: retention job, per-citizen export and erasure, each logged."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from co3chain.errors import Co3Error

_ACTOR_HELP = "who asked (officer name or ticket id), written to the privacy log"


def _oracle_store(config_path: Path | None, db: str | None) -> Any:
    """Open the oracle queue named by ``--oracle-config``/``--oracle-db`` (None when neither is given)."""
    from co3chain.oracle.store import open_store

    if not db and config_path is None:
        return None
    if not db:
        from co3chain.oracle.config import load_db_url

        db = load_db_url(config_path)  # type: ignore[arg-type]
    path = db[len("sqlite:///"):] if db.startswith("sqlite:///") else db
    if "://" not in path and not Path(path).exists():
        raise Co3Error(f"no oracle queue at {path}")
    return open_store(db)


def _echo_json(data: Any, out: Path | None) -> None:
    text = json.dumps(data, indent=2, sort_keys=True)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        click.echo(f"written to {out}", err=True)


@click.group("privacy")
def privacy() -> None:
    """Personal data: retention of oracle evidence, citizen export and erasure, keyed identity hashes
    (docs/privacy.md)."""


@privacy.command("retention")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              help="oracle.toml (queue and [privacy] retention_days)")
@click.option("--db", help="oracle queue URL or path (instead of --config)")
@click.option("--days", type=click.FloatRange(min=0), help="retention after finality (default: config, else 30)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def retention(config_path: Path | None, db: str | None, days: float | None, as_json: bool) -> None:
    """Remove raw bodies and exact coordinates of events final for longer than the retention period."""
    from co3chain.oracle.retention import DEFAULT_RETENTION_DAYS, apply_retention, retention_days_of

    store = _oracle_store(config_path, db)
    if store is None:
        raise click.UsageError("give --config or --db")
    if days is None:
        days = retention_days_of(config_path) if config_path is not None else DEFAULT_RETENTION_DAYS
    try:
        report = apply_retention(store, time.time(), days)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(f"retention {days:g} days: removed raw data of {len(report.redacted)} final event(s)")


@privacy.command("export")
@click.option("--citizen", required=True, help="citizen address 0x…")
@click.option("--oracle-config", type=click.Path(dir_okay=False, path_type=Path), help="oracle.toml")
@click.option("--oracle-db", help="oracle queue URL or path (instead of --oracle-config)")
@click.option("--api-db", type=click.Path(dir_okay=False, path_type=Path), help="the API's SQLite store")
@click.option("--rpc", "rpc_url", help="JSON-RPC URL of a node (with --manifest: what the chain holds)")
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False, path_type=Path),
              help="deployment manifest")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="write the JSON here")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              help="privacy request log (JSON lines)")
@click.option("--actor", default="cli", show_default=True, help=_ACTOR_HELP)
def export(citizen: str, oracle_config: Path | None, oracle_db: str | None, api_db: Path | None,
           rpc_url: str | None, manifest_path: Path | None, out: Path | None, log_path: Path | None,
           actor: str) -> None:
    """Everything the oracle queue, the API store and the chain hold about one citizen, as JSON."""
    from co3chain.privacy.log import record_request
    from co3chain.privacy.rights import checked_address, export_citizen

    address = checked_address(citizen)
    if bool(rpc_url) != bool(manifest_path):
        raise click.UsageError("--rpc and --manifest go together")
    store = _oracle_store(oracle_config, oracle_db)
    api_store = None
    try:
        w3 = contracts = None
        from_block = 0
        if api_db is not None:
            if not api_db.exists():
                raise Co3Error(f"no API store at {api_db}")
            from co3chain.api.store import ApiStore

            api_store = ApiStore(api_db)
        if rpc_url and manifest_path:
            w3, contracts, from_block = _chain(rpc_url, manifest_path)
        data = export_citizen(address, oracle_store=store, api_store=api_store, w3=w3, contracts=contracts,
                              from_block=from_block)
    finally:
        if store is not None:
            store.close()
        if api_store is not None:
            api_store.close()
    record_request("export", address, actor, {"sources": data["sources"]}, log_path)
    _echo_json(data, out)


@privacy.command("erase")
@click.option("--citizen", required=True, help="citizen address 0x…")
@click.option("--oracle-config", type=click.Path(dir_okay=False, path_type=Path), help="oracle.toml")
@click.option("--oracle-db", help="oracle queue URL or path (instead of --oracle-config)")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              help="privacy request log (JSON lines)")
@click.option("--actor", default="cli", show_default=True, help=_ACTOR_HELP)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def erase(citizen: str, oracle_config: Path | None, oracle_db: str | None, log_path: Path | None, actor: str,
          yes: bool, as_json: bool) -> None:
    """Erase a citizen's off-chain evidence (bodies, salts, coordinates); run it on every oracle operator."""
    from co3chain.privacy.log import record_request
    from co3chain.privacy.rights import checked_address, erase_citizen

    address = checked_address(citizen)
    store = _oracle_store(oracle_config, oracle_db)
    if store is None:
        raise click.UsageError("give --oracle-config or --oracle-db")
    if not yes:
        click.confirm(f"erase the oracle evidence of {address}? This cannot be undone", abort=True, err=True)
    try:
        outcome = erase_citizen(address, oracle_store=store, now=time.time())
    finally:
        store.close()
    record_request("erase", address, actor, {k: outcome[k] for k in ("erased", "complete")}, log_path)
    if as_json:
        click.echo(json.dumps(outcome, indent=2, sort_keys=True))
        return
    click.echo(f"erased the evidence of {outcome['erased']} event(s) of {address}")
    if outcome["pending_submitted"]:
        click.echo(f"{len(outcome['pending_submitted'])} event(s) are being submitted right now: run erase "
                   "again once they are confirmed", err=True)


@privacy.group("identity-key")
def identity_key() -> None:
    """The consortium's identity key: registrars hash identity references with it (HMAC-SHA256)."""


@identity_key.command("new")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="where to write the encrypted key file (never overwritten)")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="file holding the password (default: $CO3CHAIN_PASSWORD)")
def identity_key_new(out: Path, password_file: Path | None) -> None:
    """Create the consortium identity key, encrypted (keystore v3, scrypt). Create it once; copy the file to
    each PA's registrars over a secure channel, with its password kept apart."""
    from co3chain.keys import read_password
    from co3chain.privacy.identity import new_key_file

    path = new_key_file(out, read_password(password_file))
    click.echo(f"identity key written to {path} (mode 0600). Every registrar needs this same key: a second "
               "key would give the same person two identity hashes.")


@privacy.command("identity-hash")
@click.argument("reference", required=False)
@click.option("--key-file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the consortium identity key (`co3chain privacy identity-key new`)")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="file holding the key's password (default: $CO3CHAIN_PASSWORD)")
@click.option("--kind", default="fiscal-code", show_default=True, help="kind of identity reference")
def identity_hash_cmd(reference: str | None, key_file: Path, password_file: Path | None, kind: str) -> None:
    """Print the identityHash to register for REFERENCE; without REFERENCE, read one reference per line from
    standard input and print one hash per line (keeps references out of the shell history)."""
    import sys

    from co3chain.keys import read_password
    from co3chain.privacy.identity import identity_hash, load_key_file

    key = load_key_file(key_file, read_password(password_file))
    references = [reference] if reference is not None else [line for line in sys.stdin.read().splitlines()
                                                             if line.strip()]
    if not references:
        raise Co3Error("no identity reference given (argument or standard input)")
    for ref in references:
        click.echo("0x" + identity_hash(key, ref, kind).hex())


def _chain(rpc_url: str, manifest_path: Path) -> tuple[Any, dict[str, Any], int]:
    """web3 and the suite's contracts from a manifest (committed ABIs), plus the deployment block."""
    from web3 import HTTPProvider, Web3

    from co3chain.contracts.deploy import ArtifactSet, load_manifest, qbft_compatible

    manifest = load_manifest(manifest_path)
    w3 = qbft_compatible(Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 30})))
    arts = ArtifactSet.committed()
    contracts = {name: w3.eth.contract(address=Web3.to_checksum_address(entry["address"]),
                                       abi=arts.artifact(name)["abi"])
                 for name, entry in manifest.get("contracts", {}).items() if name in arts.artifacts}
    blocks = [int(e.get("blockNumber", 0)) for e in manifest.get("contracts", {}).values()]
    return w3, contracts, min(blocks) if blocks else 0
