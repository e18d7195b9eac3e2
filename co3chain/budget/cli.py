"""``co3chain budget ...``: deploy the treasury and participatory budget, open rounds, vote, follow results.

Everything except ``deploy`` and ``calldata`` talks to the co3chain HTTP API through the SDK (PA writes take
the PA's API key from ``--api-key`` or ``CO3_API_KEY``); citizens' ballots are signed locally and relayed,
so a citizen never needs ETH. Exit code 1 with one readable line on any error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from co3chain.errors import Co3Error
from co3chain.sdk.cli_common import API_OPTION, JSON_OPTION, KEY_OPTION
from co3chain.sdk.cli_common import api_call as _call
from co3chain.sdk.cli_common import emit as _emit
from co3chain.sdk.cli_common import key_options as _key_options
from co3chain.sdk.cli_common import signing_account as _account


def _budget_client(api_url: str, api_key: str | None = None) -> Any:
    from co3chain.sdk import Client
    from co3chain.sdk.budget import BudgetClient

    return BudgetClient(Client(api_url, api_key=api_key))


@click.group("budget")
def budget() -> None:
    """Participatory budgeting paid from the commons treasury."""


@budget.command("deploy")
@click.option("--rpc", default="http://127.0.0.1:8545", show_default=True, help="JSON-RPC URL of a node.")
@click.option("--manifest", "manifest_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Deployment manifest of the suite; the two contracts are added to it.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the updated manifest (default: overwrite --manifest).")
@_key_options
@click.option("--executor", help="Timelock executor that receives DEFAULT_ADMIN_ROLE (the deployer renounces it).")
@click.option("--dev-keep-admin", is_flag=True, help="Development only: the deployer keeps DEFAULT_ADMIN_ROLE.")
@click.option("--proposer", "proposers", multiple=True, help="PA officer address granted PROPOSER_ROLE (repeat).")
@click.option("--relayer", help="API relayer address granted RELAYER_ROLE.")
@click.option("--min-voting-period", type=click.IntRange(60, 90 * 86_400), default=86_400, show_default=True,
              help="Shortest vote window of a round, seconds (fixed at deploy).")
def deploy_cmd(rpc: str, manifest_path: Path, out: Path | None, key_file: str | None, password_file: str | None,
               dev_key: str | None, executor: str | None, dev_keep_admin: bool, proposers: tuple[str, ...],
               relayer: str | None, min_voting_period: int) -> None:
    """Deploy CommonsTreasury and ParticipatoryBudget next to a deployed suite and wire their roles."""
    from web3 import HTTPProvider, Web3

    from co3chain.budget.deploy import deploy_budget
    from co3chain.contracts.deploy import load_manifest, save_manifest

    if bool(executor) == dev_keep_admin:
        raise Co3Error("give --executor ADDRESS (the timelock), or --dev-keep-admin on a development network")
    manifest = load_manifest(manifest_path)
    account = _account(key_file, password_file, dev_key)
    w3 = Web3(HTTPProvider(rpc, request_kwargs={"timeout": 60}))
    updated = deploy_budget(w3, account, manifest, executor=executor, proposers=list(proposers), relayer=relayer,
                            min_voting_period=min_voting_period, progress=lambda msg: click.echo(msg, err=True))
    target = save_manifest(updated, out or manifest_path)
    if dev_keep_admin:
        click.echo(f"warning: {account.address} keeps DEFAULT_ADMIN_ROLE of the treasury and the budget", err=True)
    click.echo(f"manifest written to {target}")


@budget.command("calldata")
@click.argument("action", type=click.Choice(["assign", "withdraw-budget", "grant-proposer"]))
@click.option("--manifest", "manifest_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--area", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--amount", type=click.IntRange(min=1), help="Token amount in base units.")
@click.option("--account", help="Address (grant-proposer).")
def calldata_cmd(action: str, manifest_path: Path, area: int, amount: int | None, account: str | None) -> None:
    """Print the target and calldata of an executor action, for a council proposal to the timelock."""
    from eth_abi import encode
    from eth_utils import keccak, to_checksum_address

    from co3chain.contracts.deploy import load_manifest

    contracts = load_manifest(manifest_path)["contracts"]
    if "CommonsTreasury" not in contracts:
        raise Co3Error("the manifest has no CommonsTreasury (run `co3chain budget deploy`)")
    if action == "grant-proposer":
        if not account:
            raise Co3Error("grant-proposer needs --account")
        target = contracts["ParticipatoryBudget"]["address"]
        data = keccak(text="grantRole(bytes32,address)")[:4] + encode(
            ["bytes32", "address"], [keccak(text="PROPOSER_ROLE"), to_checksum_address(account)])
    else:
        if amount is None:
            raise Co3Error(f"{action} needs --amount")
        signature = "assignBudget(uint256,uint256)" if action == "assign" else "withdrawBudget(uint256,uint256)"
        target = contracts["CommonsTreasury"]["address"]
        data = keccak(text=signature)[:4] + encode(["uint256", "uint256"], [area, amount])
    click.echo(json.dumps({"target": target, "value": 0, "data": "0x" + data.hex()}, indent=2))


@budget.command("rounds")
@API_OPTION
@JSON_OPTION
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
def rounds_cmd(api_url: str, as_json: bool, limit: int) -> None:
    """List budget rounds, newest first."""
    listing = _call(_budget_client(api_url).rounds, limit)
    lines = [f"{r.roundId:>4}  area {r.areaId:<4} budget {r.budget:>12}  {r.kind:<8} {r.status:<9} "
             f"{r.projectCount} projects, {r.ballots} ballots" for r in listing.items]
    _emit(listing, as_json, "\n".join(lines) if lines else "no budget rounds")


@budget.command("history")
@click.argument("round_id", type=click.IntRange(min=1))
@API_OPTION
@JSON_OPTION
@click.option("--limit", type=click.IntRange(1, 500), default=100, show_default=True)
def history_cmd(round_id: int, api_url: str, as_json: bool, limit: int) -> None:
    """A round's history from the API's index: opening, ballots, outcome, project steps and payments."""
    h = _call(_budget_client(api_url).history, round_id, limit)
    lines = [f"round {h.roundId}: {h.total} events (indexed up to block {h.indexedBlock})"]
    for e in h.items:
        detail = ", ".join(f"{k}={v}" for k, v in e.data.items() if k != "roundId")
        lines.append(f"  block {e.block:>7}  {e.event:<20} {detail}")
    _emit(h, as_json, "\n".join(lines))


@budget.command("show")
@click.argument("round_id", type=click.IntRange(min=1))
@API_OPTION
@JSON_OPTION
def show_cmd(round_id: int, api_url: str, as_json: bool) -> None:
    """A round's projects, approvals, states and result (provisional until finalized)."""
    r = _call(_budget_client(api_url).round, round_id)
    head = (f"round {r.roundId}: area {r.areaId}, budget {r.budget}, {r.kind} ballot, {r.status}, "
            f"{r.ballots} ballots")
    rows = [f"  #{p.index:<2} cost {p.cost:>12}  approvals {p.approvals:>5}  {p.state:<10} paid {p.paid}"
            for p in r.projects]
    label = "provisional result" if r.result.provisional else "result"
    tail = f"{label}: funded {r.result.funded or 'none'}, spent {r.result.spent} of {r.budget}"
    _emit(r, as_json, "\n".join([head, *rows, tail]))


@budget.command("propose")
@click.argument("round_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@API_OPTION
@KEY_OPTION
def propose_cmd(round_file: Path, api_url: str, api_key: str | None) -> None:
    """Open a round described by a JSON file (areaId, budget, voteStart, voteEnd, kind, projects[])."""
    from pydantic import ValidationError

    from co3chain.budget.models import RoundCreate

    if not api_key:
        raise Co3Error("opening a round needs the PA's --api-key (or CO3_API_KEY)")
    try:
        body = RoundCreate.model_validate(json.loads(round_file.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise Co3Error(f"{round_file} is not a valid round: {str(exc).splitlines()[0]}") from None
    accepted = _call(_budget_client(api_url, api_key).propose_round, body)
    click.echo(f"round submitted in transaction {accepted.txHash}")


@budget.command("vote")
@click.argument("round_id", type=click.IntRange(min=1))
@click.argument("projects", nargs=-1, required=True, type=click.IntRange(0, 31))
@API_OPTION
@_key_options
def vote_cmd(round_id: int, projects: tuple[int, ...], api_url: str, key_file: str | None, password_file: str | None,
             dev_key: str | None) -> None:
    """Approve PROJECTS (indices) in ROUND_ID: the ballot is signed here and relayed (no gas needed)."""
    account = _account(key_file, password_file, dev_key)
    accepted = _call(_budget_client(api_url).vote, account, round_id, list(projects))
    click.echo(f"ballot of {account.address} relayed in transaction {accepted.txHash}")


@budget.command("finalize")
@click.argument("round_id", type=click.IntRange(min=1))
@API_OPTION
@KEY_OPTION
def finalize_cmd(round_id: int, api_url: str, api_key: str | None) -> None:
    """Compute and record the outcome of a round whose vote window is over."""
    accepted = _call(_budget_client(api_url, api_key).finalize, round_id)
    click.echo(f"finalize sent in transaction {accepted.txHash}")


@budget.command("status")
@click.argument("round_id", type=click.IntRange(min=1))
@click.argument("index", type=click.IntRange(0, 31))
@API_OPTION
@KEY_OPTION
@JSON_OPTION
@click.option("--set", "new_state", type=click.Choice(["InProgress", "Delivered"]),
              help="Managing PA: move the project on (pays the tranche).")
@click.option("--evidence", help="bytes32 evidence hash (0x + 64 hex), required with --set.")
def status_cmd(round_id: int, index: int, api_url: str, api_key: str | None, as_json: bool, new_state: str | None,
               evidence: str | None) -> None:
    """Show a project's state, or (with --set) report its progress with an evidence hash."""
    client = _budget_client(api_url, api_key)
    if new_state:
        if not evidence:
            raise Co3Error("--set needs --evidence 0x<64 hex> (hash of the evidence document)")
        accepted = _call(client.update_project, round_id, index, new_state, evidence)
        click.echo(f"project {index} -> {new_state} in transaction {accepted.txHash}")
        return
    p = _call(client.project, round_id, index)
    _emit(p, as_json, f"round {round_id} project {index}: {p.state}, cost {p.cost}, paid {p.paid}, "
                      f"{p.approvals} approvals, payee {p.payee}")


@budget.command("treasury")
@API_OPTION
@JSON_OPTION
@click.option("--area", "areas", multiple=True, type=click.IntRange(min=0), help="Area id (repeat; default 0).")
def treasury_cmd(api_url: str, as_json: bool, areas: tuple[int, ...]) -> None:
    """The treasury's balance, unassigned pool and area budgets."""
    t = _call(_budget_client(api_url).treasury, list(areas) or [0])
    lines = [f"treasury {t.address} (token {t.token}): balance {t.balance}, unassigned {t.unassigned}"]
    lines += [f"  area {a.areaId:<5} budget {a.budget:>14}  reserved by open rounds {a.reservedByRounds}"
              for a in t.areas]
    _emit(t, as_json, "\n".join(lines))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(budget())
