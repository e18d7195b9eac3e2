"""``co3chain electorate``: who may vote — PA bindings, electoral groups, unions, proposals with an electorate.

Through the HTTP API like ``co3chain ops`` (same options: ``--api``, ``--api-key-env``, ``--json``, ``--wait``):
the API signs with the PA's key and checks roles and PA ownership first. Binding an account to a PA is a rule
change of the council's timelock executor, so ``bind-pa`` only prints the call for the council.
Electorates are written ``consortium``, ``pa:N``, ``group:N``, ``union:N`` or as the uint256 id.
"""

from __future__ import annotations

import json
from typing import Any

import click

from co3chain import electorates as el
from co3chain.sdk import ops_cli
from co3chain.sdk.electorates import ElectorateClient


def _client(ctx: ops_cli._Ctx, need_key: bool = True) -> ElectorateClient:
    return ElectorateClient(ctx.client(need_key=need_key))


def _show(ctx: ops_cli._Ctx, data: dict[str, Any], lines: list[str]) -> None:
    click.echo(json.dumps(data) if ctx.as_json else "\n".join(lines))


def _electorate_arg(_ctx: Any, _param: Any, value: str) -> str:
    try:
        el.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


@click.group("electorate")
@click.option("--api", "api_url", envvar="CO3_API_URL", default="http://127.0.0.1:8080", show_default=True,
              help="API base URL (or $CO3_API_URL).")
@click.option("--api-key-env", "key_env", default="CO3_API_KEY", show_default=True,
              help="Environment variable holding the PA's API key.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the transaction is mined.")
@click.pass_context
def electorate(click_ctx: click.Context, api_url: str, key_env: str, as_json: bool, wait: bool) -> None:
    """Electorates: PA bindings, electoral groups, unions, proposals voted by the people concerned."""
    click_ctx.obj = ops_cli._Ctx(api_url, key_env, as_json, wait)


@electorate.command("show")
@click.argument("electorate_id", callback=_electorate_arg)
@click.option("--at", type=click.IntRange(0), help="Timestamp of the size (default: the latest past second).")
@click.pass_obj
def show(ctx: ops_cli._Ctx, electorate_id: str, at: int | None) -> None:
    """An electorate: kind, owning PA, groups and eligible size."""
    info = ops_cli._run(ctx, "electorate", lambda: _client(ctx, False).electorate(electorate_id, at))
    _show(ctx, info.model_dump(), [
        f"{info.label}: {'defined' if info.exists else 'NOT defined'}, PA {info.paId or '-'}"
        + (f", groups {info.groupIds}" if info.groupIds else ""),
        f"eligible citizens at {info.timepoint}: {info.size}" if info.exists else "",
    ])


@electorate.command("citizen")
@click.argument("address")
@click.pass_obj
def citizen(ctx: ops_cli._Ctx, address: str) -> None:
    """The PA and groups of a citizen."""
    info = ops_cli._run(ctx, "citizen", lambda: _client(ctx, False).citizen_electorates(address))
    _show(ctx, info.model_dump(), [f"{info.address}: PA {info.paId}, groups {info.groupIds or '-'}",
                                   "electorates: " + ", ".join(info.electorates)])


@electorate.command("proposal")
@click.argument("proposal_id")
@click.pass_obj
def proposal(ctx: ops_cli._Ctx, proposal_id: str) -> None:
    """The electorate of a proposal, its size at the snapshot and the quorum."""
    info = ops_cli._run(ctx, "proposal electorate", lambda: _client(ctx, False).proposal_electorate(proposal_id))
    size = "not yet (snapshot in the future)" if info.size is None else f"{info.size} eligible"
    _show(ctx, info.model_dump(), [f"proposal {info.proposalId}: electorate {info.label}, {size}",
                                   f"quorum: {info.quorum if info.quorum is not None else '-'} ({info.quorumBasis})"])


@electorate.command("define")
@click.argument("group_ids", nargs=-1, type=click.IntRange(1), required=True)
@click.pass_obj
def define(ctx: ops_cli._Ctx, group_ids: tuple[int, ...]) -> None:
    """Define the union of groups (one PA, one exclusive kind) as an electorate."""
    ops_cli._tx(ctx, f"define electorate from groups {list(group_ids)}",
                lambda client: ElectorateClient(client).define_union(sorted(group_ids)))


@electorate.command("bind-pa")
@click.argument("account")
@click.argument("pa_id", type=click.IntRange(0, 2**32 - 1))
@click.pass_obj
def bind_pa(ctx: ops_cli._Ctx, account: str, pa_id: int) -> None:
    """Print the council proposal that binds ACCOUNT (registrar or area manager) to PA_ID (nothing is sent)."""
    call = ops_cli._run(ctx, "council call", lambda: _client(ctx, False).pa_binding_council_call(account, pa_id))
    _show(ctx, call.model_dump(), [f"{call.description}", f"submit to the council: to={call.to} value=0",
                                   f"data={call.data}", f"(needs {call.requiredRole})"])


@electorate.command("propose")
@click.option("--electorate", "electorate_id", default="consortium", show_default=True, callback=_electorate_arg,
              help="consortium, pa:N, group:N, union:N or the id.")
@click.option("--area", "area_id", type=click.IntRange(0), default=0, show_default=True, help="0 = consortium-wide.")
@click.option("--mode", type=click.Choice(["one-citizen", "token", "reputation"]), default="one-citizen",
              show_default=True)
@click.option("--start", "vote_start", type=click.IntRange(0), required=True, help="Snapshot, unix seconds.")
@click.option("--end", "vote_end", type=click.IntRange(1), required=True, help="Last second of voting.")
@click.option("--description", required=True)
@click.pass_obj
def propose(ctx: ops_cli._Ctx, electorate_id: str, area_id: int, mode: str, vote_start: int, vote_end: int,
            description: str) -> None:
    """Create a proposal voted by an electorate (an area's must belong to its managing PA)."""
    modes = {"one-citizen": 0, "token": 1, "reputation": 2}
    client = ctx.client()
    created = ops_cli._run(ctx, "propose", lambda: ElectorateClient(client).propose(
        description=description, vote_start=vote_start, vote_end=vote_end, electorate=electorate_id,
        area_id=area_id, mode=modes[mode]))
    result: dict[str, Any] = {"txHash": created.txHash, "proposalId": created.proposalId}
    if ctx.wait:
        status = ops_cli._run(ctx, "propose", lambda: client.wait_for_tx(created.txHash))
        if status.status != "success":
            raise click.ClickException(f"propose: transaction {created.txHash} failed: {status.error}")
    _show(ctx, result, [f"proposal {created.proposalId} for electorate {electorate_id} ({created.txHash})"])


@electorate.group("group")
def group() -> None:
    """Electoral groups of the registrar's PA."""


@group.command("show")
@click.argument("group_id", type=click.IntRange(1))
@click.pass_obj
def group_show(ctx: ops_cli._Ctx, group_id: int) -> None:
    """A group and its members."""
    g = ops_cli._run(ctx, "group", lambda: _client(ctx, False).group(group_id))
    _show(ctx, g.model_dump(), [f"group {g.id} ({g.kind}) of PA {g.paId}, electorate {g.label}",
                                f"{len(g.members)} members: " + ", ".join(g.members)])


@group.command("create")
@click.option("--kind", type=click.Choice(sorted(el.GROUP_KINDS)), required=True)
@click.option("--name", required=True, help="Public description; its keccak hash goes on chain.")
@click.pass_obj
def group_create(ctx: ops_cli._Ctx, kind: str, name: str) -> None:
    """Create a group of this PA (its id is in the GroupCreated event: `electorate group show`)."""
    ops_cli._tx(ctx, f"create {kind} group {name!r}",
                lambda client: ElectorateClient(client).create_group(kind, name=name))


@group.command("add")
@click.argument("group_id", type=click.IntRange(1))
@click.argument("address")
@click.pass_obj
def group_add(ctx: ops_cli._Ctx, group_id: int, address: str) -> None:
    """Add one of this PA's citizens to one of its groups."""
    ops_cli._tx(ctx, f"add {address} to group {group_id}",
                lambda client: ElectorateClient(client).add_member(group_id, address))


@group.command("remove")
@click.argument("group_id", type=click.IntRange(1))
@click.argument("address")
@click.pass_obj
def group_remove(ctx: ops_cli._Ctx, group_id: int, address: str) -> None:
    """Remove one of this PA's citizens from one of its groups."""
    ops_cli._tx(ctx, f"remove {address} from group {group_id}",
                lambda client: ElectorateClient(client).remove_member(group_id, address))
