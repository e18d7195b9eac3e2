"""``co3chain ops``: PA officers' and merchants' daily operations through the HTTP API (Python SDK).

Why through the API rather than straight to the chain: the API holds each PA's signing key server-side and
checks roles first (a 403 naming the missing role instead of a reverted transaction); an officer's laptop
holds only an API key, read from an environment variable so it never lands in shell history.

Council-gated changes (accepting or removing a service) are not sent: ``ops service council-call`` prints the
call to submit as a council proposal.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from co3chain.privacy.revocation import RevocationReason
from co3chain.sdk.client import ApiClientError, Client

REASONS = {r.name.lower().replace("_", "-"): r for r in RevocationReason}


def make_client(api_url: str, api_key: str | None) -> Client:
    """The SDK client the commands use (tests replace this to talk to an in-process app)."""
    return Client(api_url, api_key=api_key)


class _Ctx:
    def __init__(self, api_url: str, key_env: str, as_json: bool, wait: bool) -> None:
        self.api_url, self.key_env, self.as_json, self.wait = api_url, key_env, as_json, wait

    def client(self, need_key: bool = True) -> Client:
        key = os.environ.get(self.key_env)
        if need_key and not key:
            raise click.ClickException(f"set the PA's API key in ${self.key_env} (never pass it on the command line)")
        return make_client(self.api_url, key)


def _run(ctx: _Ctx, what: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ApiClientError as exc:
        raise click.ClickException(f"{what}: {exc.status} {exc.code}: {exc.message}") from None


def _tx(ctx: _Ctx, what: str, call: Callable[[Client], Any]) -> None:
    """Send one write with the PA's key (``call`` gets the client), then report (and by default await) it."""
    client = ctx.client()
    accepted = _run(ctx, what, lambda: call(client))
    result: dict[str, Any] = {"txHash": accepted.txHash}
    if ctx.wait:
        status = _run(ctx, what, lambda: client.wait_for_tx(accepted.txHash))
        result.update(status=status.status, error=status.error)
        if status.status != "success":
            raise click.ClickException(f"{what}: transaction {accepted.txHash} failed: {status.error}")
    if ctx.as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"{what}: {result.get('status', 'sent')} ({accepted.txHash})")


@click.group("ops")
@click.option("--api", "api_url", envvar="CO3_API_URL", default="http://127.0.0.1:8080", show_default=True,
              help="API base URL (or $CO3_API_URL).")
@click.option("--api-key-env", "key_env", default="CO3_API_KEY", show_default=True,
              help="Environment variable holding the PA's API key.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the transaction is mined.")
@click.pass_context
def ops(click_ctx: click.Context, api_url: str, key_env: str, as_json: bool, wait: bool) -> None:
    """PA and merchant operations: citizens, proposals, areas, activities, services, statements."""
    click_ctx.obj = _Ctx(api_url, key_env, as_json, wait)


@ops.group("citizen")
def citizen() -> None:
    """Registrar operations."""


@citizen.command("revoke")
@click.argument("address")
@click.option("--reason", type=click.Choice(sorted(REASONS)), required=True,
              help="Reason code recorded on chain (no free text: a revocation is public forever).")
@click.pass_obj
def revoke(ctx: _Ctx, address: str, reason: str) -> None:
    """Revoke a citizen's registration."""
    _tx(ctx, f"revoke {address}", lambda client: client.revoke_citizen(address, REASONS[reason]))


@citizen.command("renew")
@click.argument("address")
@click.option("--expires-at", type=click.IntRange(0), required=True, help="New expiry, unix seconds.")
@click.pass_obj
def renew(ctx: _Ctx, address: str, expires_at: int) -> None:
    """Extend a citizen's registration."""
    _tx(ctx, f"renew {address}", lambda client: client.renew_citizen(address, expires_at))


@ops.command("cancel-proposal")
@click.argument("proposal_id")
@click.pass_obj
def cancel_proposal(ctx: _Ctx, proposal_id: str) -> None:
    """Cancel a proposal this PA created, before its vote starts."""
    _tx(ctx, f"cancel proposal {proposal_id}", lambda client: client.cancel_proposal(proposal_id))


@ops.command("close-area")
@click.argument("area_id", type=click.IntRange(1))
@click.pass_obj
def close_area(ctx: _Ctx, area_id: int) -> None:
    """Close an area managed by this PA (its activities stop rewarding)."""
    _tx(ctx, f"close area {area_id}", lambda client: client.close_area(area_id))


@ops.command("close-activity")
@click.argument("activity_id", type=click.IntRange(1))
@click.pass_obj
def close_activity(ctx: _Ctx, activity_id: int) -> None:
    """Close an activity in an area managed by this PA."""
    _tx(ctx, f"close activity {activity_id}", lambda client: client.close_activity(activity_id))


@ops.group("service")
def service() -> None:
    """Merchants (services accepting commons tokens)."""


@service.command("show")
@click.argument("address")
@click.pass_obj
def service_show(ctx: _Ctx, address: str) -> None:
    """Whether a service accepts commons tokens."""
    info = _run(ctx, "service", lambda: ctx.client(need_key=False).service(address))
    if ctx.as_json:
        click.echo(json.dumps(info))
    else:
        state = "accepted" if info["accepted"] else "not accepted"
        click.echo(f"{info['service']}: {state}" + (" (spends burned)" if info["burnOnSpend"] else ""))


@service.command("council-call")
@click.argument("address")
@click.option("--accept/--remove", "accepted", required=True, help="Accept or remove the service.")
@click.option("--burn/--no-burn", "burn", default=True, show_default=True, help="Burn tokens spent there.")
@click.pass_obj
def service_council_call(ctx: _Ctx, address: str, accepted: bool, burn: bool) -> None:
    """Print the council proposal that accepts/removes a service (nothing is sent)."""
    call = _run(ctx, "council call", lambda: ctx.client(need_key=False).service_council_call(address, accepted, burn))
    if ctx.as_json:
        click.echo(json.dumps(call))
        return
    click.echo(f"{call['description']}\nsubmit to the council: to={call['to']} value=0\ndata={call['data']}\n"
               f"(needs {call['requiredRole']})")


@service.command("statement")
@click.argument("address")
@click.option("--from", "from_ts", type=click.IntRange(0), default=0, help="Period start, unix seconds.")
@click.option("--to", "to_ts", type=click.IntRange(1), default=2**63 - 1, help="Period end (exclusive).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to a file instead of stdout.")
@click.pass_obj
def service_statement(ctx: _Ctx, address: str, from_ts: int, to_ts: int, fmt: str, out: str | None) -> None:
    """A merchant's statement/settlement report for a period (every spend, total, burned part)."""
    client = ctx.client(need_key=False)
    if fmt == "csv":
        text = _run(ctx, "statement", lambda: client.service_statement_csv(address, from_ts, to_ts))
    else:
        text = json.dumps(_run(ctx, "statement", lambda: client.service_statement(address, from_ts, to_ts)),
                          indent=2) + "\n"
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
        click.echo(f"statement written to {out}", err=True)
    else:
        sys.stdout.write(text)


@ops.command("rotate-oracle-signers")
@click.argument("signers", nargs=-1, required=True)
@click.option("--threshold", type=click.IntRange(1), required=True, help="Signatures required (a majority).")
@click.pass_obj
def rotate_oracle_signers(ctx: _Ctx, signers: tuple[str, ...], threshold: int) -> None:
    """Print the council proposal that rotates the oracle signer set (nothing is sent)."""
    call = _run(ctx, "council call",
                lambda: ctx.client(need_key=False).oracle_signers_council_call(list(signers), threshold))
    if ctx.as_json:
        click.echo(json.dumps(call))
        return
    click.echo(f"{call['description']}\nsubmit to the council: to={call['to']} value=0\ndata={call['data']}\n"
               f"(needs {call['requiredRole']})")
