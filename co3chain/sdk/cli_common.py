"""What every API-client command group (``budget``, ``delegation``, ``initiative``) shares.

Why one module: these groups talk to the co3chain HTTP API through the SDK and sign citizens' messages
locally; the ``--api``/``--json``/key options, the "the API refused: …" one-line error and the signing-account
rules must read the same in each, so an operator learns them once.
"""

from __future__ import annotations

import json
from typing import Any

import click

from co3chain.errors import Co3Error

API_OPTION = click.option("--api", "api_url", default="http://127.0.0.1:8080", show_default=True,
                          envvar="CO3_API_URL", help="Base URL of the co3chain API.")
KEY_OPTION = click.option("--api-key", envvar="CO3_API_KEY", help="The PA's API key (or CO3_API_KEY).")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
TTL_OPTION = click.option("--ttl", type=click.IntRange(60, 30 * 86_400), default=3600, show_default=True,
                          help="Seconds the signature stays valid.")


def api_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; an API refusal becomes one readable :class:`Co3Error` line."""
    from co3chain.sdk import ApiClientError

    try:
        return fn(*args, **kwargs)
    except ApiClientError as exc:
        raise Co3Error(f"the API refused: {exc}") from None


def emit(model: Any, as_json: bool, human: str) -> None:
    """Print a response model as JSON (``--json``) or its human line."""
    click.echo(json.dumps(model.model_dump(), indent=2) if as_json else human)


def signing_account(key_file: str | None, password_file: str | None, dev_key: str | None) -> Any:
    """The citizen's or officer's signing account (keystore or development key; warns on stderr for the latter)."""
    from co3chain.keys import account_from_options

    return account_from_options(key_file, password_file, dev_key, lambda m: click.echo(m, err=True))


def key_options(f: Any) -> Any:
    """``--key-file``, ``--password-file`` and ``--dev-key`` (see :func:`signing_account`)."""
    f = click.option("--dev-key", help="Private key as hex (development networks only).")(f)
    f = click.option("--password-file", type=click.Path(dir_okay=False), help="File holding the keystore password.")(f)
    return click.option("--key-file", type=click.Path(dir_okay=False), help="Keystore (v3 JSON).")(f)
