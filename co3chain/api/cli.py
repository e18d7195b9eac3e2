"""``co3chain api``: serve the HTTP API, and make API keys for PAs."""

from __future__ import annotations

import json

import click


@click.group("api")
def api() -> None:
    """The HTTP API (REST /v1, relayer, indexer, SSE)."""


@api.command("serve")
@click.option("--rpc", "rpc_url", required=True, help="JSON-RPC URL of a co3chain (or anvil) node.")
@click.option("--manifest", "manifest_path", required=True, type=click.Path(dir_okay=False),
              help="Deployment manifest written by `co3chain deploy`.")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="api.toml")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
def serve(rpc_url: str, manifest_path: str, config_path: str, host: str, port: int) -> None:
    """Serve the API until interrupted (OpenAPI docs at /docs)."""
    import uvicorn

    from co3chain.api.app import app_from_files
    from co3chain.rpc.httpguard import uvicorn_settings

    app = app_from_files(config_path, manifest_path, rpc_url)
    click.echo(f"co3chain API on http://{host}:{port} (docs: /docs)", err=True)
    # uvicorn_settings: header/keep-alive timeouts and no X-Forwarded-For trust of its own (uvicorn's
    # default trusts loopback); the relay limiter applies [relayer] trusted_proxies itself.
    uvicorn.run(app, host=host, port=port, log_level="warning", **uvicorn_settings())


@api.command("new-key")
@click.option("--pa", required=True, help="Name of the public administration the key is for.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def new_key(pa: str, as_json: bool) -> None:
    """Generate an API key: give the key to the PA, put only the hash in api.toml."""
    from co3chain.api.config import new_api_key

    key, key_hash = new_api_key()
    if as_json:
        click.echo(json.dumps({"pa": pa, "key": key, "hash": key_hash}))
        return
    click.echo(f"API key for {pa} (shown once): {key}")
    click.echo("add to api.toml:\n\n[[keys]]\n"
               f'hash = "{key_hash}"\npa = "{pa}"\nkeystore = "<PA account keystore>"\npassword_env = "<VAR>"')
