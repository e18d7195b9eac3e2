"""``co3chain delegation ...``: delegate or take back a vote, see delegations and delegated weight.

Everything goes through the co3chain HTTP API and the SDK; delegations are signed here (EIP-712) and relayed,
so a citizen never needs ETH. Exit code 1 with one readable line on any error.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from co3chain.sdk.cli_common import API_OPTION, JSON_OPTION, TTL_OPTION, key_options
from co3chain.sdk.cli_common import api_call as _call
from co3chain.sdk.cli_common import signing_account as _account

AREA_OPTION = click.option("--area", "area_id", type=click.IntRange(min=0), default=0, show_default=True,
                           help="Commoning area of the delegation (0 = global, every area without its own).")


def _client(api_url: str) -> Any:
    from co3chain.sdk import Client
    from co3chain.sdk.delegation import DelegationClient

    return DelegationClient(Client(api_url))


def _key_options(f: Any) -> Any:
    return key_options(TTL_OPTION(f))


@click.group("delegation")
def delegation() -> None:
    """Liquid delegation: hand your vote to a citizen you trust, globally or per area (docs/delegation.md)."""


@delegation.command("delegate")
@click.argument("delegatee")
@AREA_OPTION
@API_OPTION
@_key_options
def delegate_cmd(delegatee: str, area_id: int, api_url: str, key_file: str | None, password_file: str | None,
                 dev_key: str | None, ttl: int) -> None:
    """Delegate your vote to DELEGATEE (signed here, relayed: no gas needed)."""
    account = _account(key_file, password_file, dev_key)
    accepted = _call(_client(api_url).delegate, account, delegatee, scope=area_id, expiry=int(time.time()) + ttl)
    where = "globally" if area_id == 0 else f"in area {area_id}"
    click.echo(f"{account.address} delegates {where} to {delegatee}: transaction {accepted.txHash}")


@delegation.command("undelegate")
@AREA_OPTION
@API_OPTION
@_key_options
def undelegate_cmd(area_id: int, api_url: str, key_file: str | None, password_file: str | None, dev_key: str | None,
                   ttl: int) -> None:
    """Take back your delegation (global, or in --area)."""
    account = _account(key_file, password_file, dev_key)
    accepted = _call(_client(api_url).undelegate, account, scope=area_id, expiry=int(time.time()) + ttl)
    click.echo(f"{account.address} takes back its delegation: transaction {accepted.txHash}")


@delegation.command("show")
@click.argument("citizen")
@AREA_OPTION
@API_OPTION
@JSON_OPTION
def show_cmd(citizen: str, area_id: int, api_url: str, as_json: bool) -> None:
    """A citizen's delegations and the chain its vote follows now."""
    info = _call(_client(api_url).of, citizen, area_id)
    if as_json:
        click.echo(json.dumps(info.model_dump(), indent=2))
        return
    for d in info.delegations:
        where = "global" if d.scope == "0" else f"area {d.scope}"
        click.echo(f"{where:<10} {d.delegate or '(none)'}")
    click.echo("chain      " + (" -> ".join([info.citizen, *info.chain]) if info.chain else "(votes itself)"))


@delegation.command("proposal")
@click.argument("proposal_id")
@API_OPTION
@JSON_OPTION
def proposal_cmd(proposal_id: str, api_url: str, as_json: bool) -> None:
    """Delegated weight on a proposal: per direct voter, and every counting."""
    info = _call(_client(api_url).proposal, proposal_id)
    if as_json:
        click.echo(json.dumps(info.model_dump(), indent=2))
        return
    if not info.applicable:
        click.echo("this proposal takes no delegated weight (token-weighted or secret vote)")
        return
    click.echo(f"delegated weight counted: {info.totalDelegated}")
    for v in info.voters:
        click.echo(f"  {v.voter} carries {v.delegatedWeight}")
    for c in info.counted:
        click.echo(f"  counted {c.delegator} -> {c.representative} weight {c.weight} ({c.hops} hop(s))")


@delegation.command("count")
@click.argument("proposal_id")
@click.option("--delegator", "delegators", multiple=True, help="Count only these delegators (repeat).")
@API_OPTION
def count_cmd(proposal_id: str, delegators: tuple[str, ...], api_url: str) -> None:
    """Have the API's relayer count pending delegations on an open proposal now."""
    accepted = _call(_client(api_url).count, proposal_id, list(delegators) or None)
    if not accepted.delegators:
        click.echo("no delegation pending")
        return
    click.echo(f"counting {len(accepted.delegators)} delegator(s): " + ", ".join(accepted.txHashes))
