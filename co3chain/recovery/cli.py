"""``co3chain recovery``: lost-key recovery through the HTTP API (Python SDK).

- ``initiate OLD NEW`` — a registrar (PA API key in ``$CO3_API_KEY``) starts the move of a citizen's record,
  tokens and reputation to a new key; it waits the council's delay in public;
- ``cancel ID`` — the old key signs ``CancelRecovery`` locally (keystore, or ``--dev-key`` on development
  networks) and the API relays it: the citizen needs no ETH;
- ``finalize ID`` — anyone, once the delay has passed; ``status ID`` / ``list`` — follow;
- ``council-call ID`` — print the council motion (guardian) that cancels a suspicious recovery.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import click

from co3chain.sdk.ops_cli import _Ctx, _run, _tx
from co3chain.sdk.recovery import RecoveryClient


def _recovery(ctx: _Ctx, need_key: bool = False) -> RecoveryClient:
    return RecoveryClient(ctx.client(need_key=need_key))


def _when(ts: int) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _old_key(key_file: str | None, password_file: str | None, dev_key: str | None) -> Any:
    from co3chain.budget.cli import _account

    return _account(key_file, password_file, dev_key)


@click.group("recovery")
@click.option("--api", "api_url", envvar="CO3_API_URL", default="http://127.0.0.1:8080", show_default=True,
              help="API base URL (or $CO3_API_URL).")
@click.option("--api-key-env", "key_env", default="CO3_API_KEY", show_default=True,
              help="Environment variable holding the registrar PA's API key (initiate only).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the transaction is mined.")
@click.pass_context
def recovery(click_ctx: click.Context, api_url: str, key_env: str, as_json: bool, wait: bool) -> None:
    """Lost-key recovery: move a citizen's identity, tokens and reputation to a new key."""
    click_ctx.obj = _Ctx(api_url, key_env, as_json, wait)


@recovery.command("initiate")
@click.argument("old_account")
@click.argument("new_account")
@click.pass_obj
def initiate(ctx: _Ctx, old_account: str, new_account: str) -> None:
    """Start moving OLD_ACCOUNT (lost key) to NEW_ACCOUNT (registrar of the citizen's PA)."""
    _tx(ctx, f"recovery of {old_account} to {new_account}",
        lambda client: RecoveryClient(client).initiate(old_account, new_account))


@recovery.command("cancel")
@click.argument("recovery_id", type=click.IntRange(1))
@click.option("--key-file", type=click.Path(dir_okay=False), help="The old key's keystore (v3 JSON).")
@click.option("--password-file", type=click.Path(dir_okay=False), help="File holding the keystore password.")
@click.option("--dev-key", help="The old key as hex (development networks only).")
@click.option("--deadline", type=click.IntRange(0), default=None, help="Signature expiry, unix seconds "
              "(default: one hour).")
@click.pass_obj
def cancel(ctx: _Ctx, recovery_id: int, key_file: str | None, password_file: str | None, dev_key: str | None,
           deadline: int | None) -> None:
    """Cancel recovery RECOVERY_ID with the old key's signature (relayed: no ETH needed)."""
    account = _old_key(key_file, password_file, dev_key)
    client = ctx.client(need_key=False)
    rc = RecoveryClient(client)
    rec = _run(ctx, "cancel", lambda: rc.status(recovery_id))
    if rec.oldAccount != account.address:
        raise click.ClickException(f"cancel: recovery {recovery_id} moves {rec.oldAccount}, not this key "
                                   f"({account.address})")
    _tx_with(ctx, client, f"cancel recovery {recovery_id}", lambda: rc.cancel(account, recovery_id, deadline=deadline))


@recovery.command("finalize")
@click.argument("recovery_id", type=click.IntRange(1))
@click.pass_obj
def finalize(ctx: _Ctx, recovery_id: int) -> None:
    """Finalize recovery RECOVERY_ID once its delay has passed (anyone; the API relayer pays)."""
    client = ctx.client(need_key=False)
    _tx_with(ctx, client, f"finalize recovery {recovery_id}", lambda: RecoveryClient(client).finalize(recovery_id))


@recovery.command("status")
@click.argument("recovery_id", type=click.IntRange(1))
@click.pass_obj
def status(ctx: _Ctx, recovery_id: int) -> None:
    """Show one recovery: keys, registrar, status, when it can be finalized."""
    rec = _run(ctx, "status", lambda: _recovery(ctx).status(recovery_id))
    if ctx.as_json:
        click.echo(json.dumps(rec.model_dump()))
        return
    click.echo(f"recovery {rec.recoveryId}: {rec.status}")
    click.echo(f"  old key     {rec.oldAccount}")
    click.echo(f"  new key     {rec.newAccount}")
    click.echo(f"  registrar   {rec.registrar}")
    click.echo(f"  initiated   {_when(rec.initiatedAt)}")
    wait = f" (in {rec.secondsUntilExecutable} s)" if rec.status == "Pending" and rec.secondsUntilExecutable else ""
    click.echo(f"  finalizable {_when(rec.executableAt)} – {_when(rec.finalizableUntil)}{wait}")


@recovery.command("list")
@click.option("--account", default=None, help="Only recoveries where this address is the old or the new key.")
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True)
@click.pass_obj
def list_cmd(ctx: _Ctx, account: str | None, limit: int) -> None:
    """Recovery events the API indexed, newest first."""
    items = _run(ctx, "list", lambda: _recovery(ctx).history(account, limit)).items
    if ctx.as_json:
        click.echo(json.dumps([i.model_dump(exclude_none=True) for i in items]))
        return
    if not items:
        click.echo("no recoveries")
    for i in items:
        extra = {"initiated": f"by registrar {i.by}, finalizable from {_when(i.executableAt or 0)}",
                 "cancelled": f"by {i.canceller} {i.by}",
                 "finalized": f"moved {i.tokens} tokens, reputation {i.reputation}, {i.areaDomains} area scores"}
        click.echo(f"block {i.block}: recovery {i.recoveryId} {i.event} {i.oldAccount} -> {i.newAccount} "
                   f"{extra[i.event]}")


@recovery.command("council-call")
@click.argument("recovery_id", type=click.IntRange(1))
@click.pass_obj
def council_call(ctx: _Ctx, recovery_id: int) -> None:
    """Print the council motion that cancels recovery RECOVERY_ID (nothing is sent)."""
    call = _run(ctx, "council-call", lambda: _recovery(ctx).council_cancel_call(recovery_id))
    if ctx.as_json:
        click.echo(json.dumps(call.model_dump()))
    else:
        click.echo(f"{call.description}\n  to   {call.to}\n  data {call.data}\n  role {call.requiredRole}")


def _tx_with(ctx: _Ctx, client: Any, what: str, send: Any) -> None:
    """Like ``ops``' ``_tx`` for calls that need no API key (relayed by the API)."""
    accepted = _run(ctx, what, send)
    result: dict[str, Any] = {"txHash": accepted.txHash}
    if ctx.wait:
        mined = _run(ctx, what, lambda: client.wait_for_tx(accepted.txHash))
        result.update(status=mined.status, error=mined.error)
        if mined.status != "success":
            raise click.ClickException(f"{what}: transaction {accepted.txHash} failed: {mined.error}")
    click.echo(json.dumps(result) if ctx.as_json else f"{what}: {result.get('status', 'sent')} ({accepted.txHash})")

