"""``co3chain oracle …`` commands: run an operator, inspect its queue."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from co3chain.errors import Co3Error
from co3chain.oracle.geometry import AreaGeometry
from co3chain.oracle.status import format_status, status_report
from co3chain.oracle.store import STATES, open_store


@click.group("oracle")
def oracle() -> None:
    """Oracle operator: webhooks → queue → validation → M-of-N signatures → AttestationHub."""


@oracle.command("run")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="oracle.toml of this operator")
@click.option("--verbose", is_flag=True, help="log every pipeline step")
def run(config_path: Path, verbose: bool) -> None:
    """Serve webhooks (and /oracle/v1/sign) and run the validation/signing/submission worker."""
    from co3chain.oracle.config import load_config
    from co3chain.oracle.service import OracleService

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config(config_path)
    service = OracleService(config)
    click.echo(f"oracle signer {service.operator.key.address} listening on {config.host}:{config.port}",
               err=True)
    service.serve()


def _db_of(config_path: Path | None, db: str | None) -> str:
    """The queue to inspect; refuses to create an empty one by mistake."""
    if not db:
        if config_path is None:
            raise click.UsageError("give --config or --db")
        from co3chain.oracle.config import load_db_url

        db = load_db_url(config_path)
    path = db[len("sqlite:///"):] if db.startswith("sqlite:///") else db
    if "://" not in path and not Path(path).exists():
        raise Co3Error(f"no oracle queue at {path}")
    return db


@oracle.command("status")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--db", help="queue database (instead of --config)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def status(config_path: Path | None, db: str | None, as_json: bool) -> None:
    """Queue depth per state, accepted/rejected counts and the last confirmed block."""
    store = open_store(_db_of(config_path, db))
    try:
        report = status_report(store)
    finally:
        store.close()
    click.echo(json.dumps(report, indent=2, sort_keys=True) if as_json else format_status(report))


@oracle.command("events")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--db", help="queue database (instead of --config)")
@click.option("--state", type=click.Choice(STATES), help="only this state (e.g. rejected)")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def events(config_path: Path | None, db: str | None, state: str | None, limit: int, as_json: bool) -> None:
    """List queued events, newest first (--state rejected shows rejection reasons)."""
    store = open_store(_db_of(config_path, db))
    try:
        items = [i.public() for i in store.list_items(state, limit)]
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    for i in items:
        tail = i["reason"] or i["tx_hash"] or ""
        click.echo(f"{i['attestation_id'][:18]}… {i['source']}/{i['event_id']} {i['state']} {tail}")


@oracle.command("geometry-hash")
@click.argument("geojson", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def geometry_hash(geojson: Path) -> None:
    """Print the on-chain geometryHash (keccak of the canonical GeoJSON) for an area polygon file."""
    click.echo("0x" + AreaGeometry.from_file(0, geojson).hash.hex())
