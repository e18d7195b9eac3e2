"""``co3chain audit chain|proposal|contracts|powers|budget|initiative|ballot|recovery``: exit 0 when every check passes, 2 when the audit found a
violation, 1 when it could not run (one readable line on stderr)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from co3chain.audit.report import AuditReport
from co3chain.audit.rpc import DEFAULT_BATCH_SIZE, RpcClient
from co3chain.errors import Co3Error

#: Exit code of an audit that ran and found at least one error.
EXIT_FINDINGS = 2


def _parse_id(value: str) -> int:
    try:
        n = int(value, 16) if value.lower().startswith("0x") else int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a decimal or 0x-hex proposal id") from None
    if not 0 <= n < 2**256:
        raise click.BadParameter("proposal id must fit in uint256")
    return n


def _finish(report: AuditReport, json_path: Path | None, html_path: Path | None, quiet: bool) -> None:
    from co3chain.audit.plain import render_text

    if json_path:
        report.write_json(json_path)
    if html_path:
        report.write_html(html_path)
    verdict = report.verdict()
    if quiet:
        click.echo(verdict.headline)
    else:
        click.echo(render_text(verdict))
        if report.findings:
            click.echo("Technical findings:")
        for f in report.findings:
            click.echo(f.line())
    click.echo(report.summary())
    if not report.passed:
        sys.exit(EXIT_FINDINGS)


def _run(fn: Callable[[], AuditReport], json_path: Path | None, html_path: Path | None, quiet: bool) -> None:
    try:
        report = fn()
    except Co3Error as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    report.timezone = click.get_current_context().params.get("timezone") or "UTC"
    _finish(report, json_path, html_path, quiet)


def _check_timezone(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"{value!r} is not a time zone name such as Europe/Rome or UTC") from None
    return value


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the JSON report here.")(f)
    f = click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML report here.")(f)
    f = click.option("--quiet", "-q", is_flag=True, help="Print only the verdict line.")(f)
    f = click.option("--timezone", "timezone", default="UTC", show_default=True, callback=_check_timezone,
                     help="Time zone for the dates in the plain reports (e.g. Europe/Rome).")(f)
    f = click.option("--batch", "batch_size", type=click.IntRange(1, 1000), default=DEFAULT_BATCH_SIZE, show_default=True,
                     help="JSON-RPC requests per batch.")(f)
    return click.option("--rpc", required=True, help="JSON-RPC URL of the node to audit (not trusted).")(f)


@click.group("audit")
def audit() -> None:
    """Verify the chain, governance tallies and deployed code without trusting the node."""


@audit.command("chain")
@_common
@click.option("--genesis", "genesis_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Besu/co3chain genesis.json: block 0 is rebuilt from it; validators and QBFT parameters come from it.")
@click.option("--from", "from_block", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--to", "to_block", type=click.IntRange(min=1), default=None, help="Last block (default: the head).")
@click.option("--no-progress", is_flag=True, help="Never draw a progress bar.")
@click.option("--replay", is_flag=True, help="Re-execute every block from the genesis file in a fresh state and check "
                                             "state root, receipts root, logs bloom and gas used.")
@click.option("--checkpoint", "checkpoint", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --replay: resume from this file if it exists, and keep it up to date.")
@click.option("--no-served-check", is_flag=True, help="With --replay: do not compare the node's receipts and "
                                                      "account state with the replay.")
@click.option("--replay-engine", type=click.Choice(["py-evm", "revm"]), default="py-evm", show_default=True,
              help="With --replay: the EVM that re-executes. py-evm is independent of the node's revm; revm is faster.")
def chain_cmd(rpc: str, batch_size: int, quiet: bool, timezone: str, html_path: Path | None, json_path: Path | None,
              genesis_path: Path, from_block: int, to_block: int | None, no_progress: bool, replay: bool,
              checkpoint: Path | None, no_served_check: bool, replay_engine: str) -> None:
    """Check block 0 against the genesis file, then every block: hash, parent link, timestamps, constants,
    commit seals and validator-set votes; with --replay, the execution of every block too."""
    from co3chain.audit.chain_audit import ChainAuditOptions, audit_chain
    from co3chain.chain.genesis import load_genesis

    if checkpoint is not None and not replay:
        raise click.UsageError("--checkpoint needs --replay")

    def go() -> AuditReport:
        genesis = load_genesis(genesis_path)
        with RpcClient(rpc, batch_size) as client:
            opts = ChainAuditOptions(from_block, to_block, False if no_progress else None, replay=replay,
                                     checkpoint=checkpoint, check_served=not no_served_check,
                                     replay_engine=replay_engine)
            return audit_chain(client, genesis, opts)

    _run(go, json_path, html_path, quiet)


@audit.command("proposal")
@click.argument("proposal_id")
@_common
@click.option("--manifest", "manifest_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--block", type=click.IntRange(min=0), default=None, help="Audit as of this block (default: the head).")
@click.option("--sources", "source_root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Directory with contracts/ and node_modules/ (storage layout for proofs; default: this checkout).")
@click.option("--no-proofs", is_flag=True, help="Skip eth_getProof storage proofs.")
@click.option("--all-receipts", is_flag=True, help="Verify the receipts root of every block with a vote.")
@click.option("--no-progress", is_flag=True)
def proposal_cmd(proposal_id: str, rpc: str, batch_size: int, quiet: bool, timezone: str, html_path: Path | None,
                 json_path: Path | None, manifest_path: Path, block: int | None, source_root: Path | None,
                 no_proofs: bool, all_receipts: bool, no_progress: bool) -> None:
    """Recompute a proposal's tally, weights, quorum and outcome; prove the stored tally."""
    from co3chain.audit.proposal import ProposalAuditOptions, audit_proposal
    from co3chain.contracts import compiler
    from co3chain.contracts.deploy import load_manifest

    pid = _parse_id(proposal_id)

    def go() -> AuditReport:
        manifest = load_manifest(manifest_path)
        with RpcClient(rpc, batch_size) as client:
            opts = ProposalAuditOptions(block=block, source_root=source_root or compiler.REPO_ROOT,
                                        proofs=not no_proofs, progress=False if no_progress else None,
                                        all_receipts=all_receipts)
            return audit_proposal(client, manifest, pid, opts)

    _run(go, json_path, html_path, quiet)


@audit.command("contracts")
@_common
@click.option("--manifest", "manifest_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sources", "source_root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Directory with contracts/ and node_modules/ (default: this checkout).")
@click.option("--block", type=click.IntRange(min=0), default=None, help="Read code as of this block (default: head).")
def contracts_cmd(rpc: str, batch_size: int, quiet: bool, timezone: str, html_path: Path | None, json_path: Path | None,
                  manifest_path: Path, source_root: Path | None, block: int | None) -> None:
    """Recompile the recorded sources and require a full bytecode match (metadata included); list who holds
    each power and fail when an externally owned account holds an admin, mint or reward role."""
    from co3chain.audit.contracts import audit_contracts
    from co3chain.contracts import compiler
    from co3chain.contracts.deploy import load_manifest

    def go() -> AuditReport:
        manifest = load_manifest(manifest_path)
        with RpcClient(rpc, batch_size) as client:
            return audit_contracts(client, manifest, source_root or compiler.REPO_ROOT, block)

    _run(go, json_path, html_path, quiet)


@audit.command("powers")
@_common
@click.option("--manifest", "manifest_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sources", "source_root", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Directory with contracts/ and node_modules/ (event names; default: this checkout).")
@click.option("--block", type=click.IntRange(min=0), default=None, help="Holders as of this block (default: head).")
def powers_cmd(rpc: str, batch_size: int, quiet: bool, timezone: str, html_path: Path | None, json_path: Path | None,
               manifest_path: Path, source_root: Path | None, block: int | None) -> None:
    """Who holds each role and power (from events), and the decision behind every parameter change.

    Fails (exit 2) when an externally owned account holds DEFAULT_ADMIN_ROLE, MINTER_ROLE or REWARDER_ROLE.
    """
    from co3chain.audit.contracts import audit_contracts
    from co3chain.contracts import compiler
    from co3chain.contracts.deploy import load_manifest

    def go() -> AuditReport:
        manifest = load_manifest(manifest_path)
        with RpcClient(rpc, batch_size) as client:
            return audit_contracts(client, manifest, source_root or compiler.REPO_ROOT, block, bytecode=False)

    _run(go, json_path, html_path, quiet)


@audit.command("budget")
@click.argument("round_id", type=click.IntRange(min=1))
@_common
@click.option("--manifest", "manifest_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def budget_cmd(round_id: int, rpc: str, batch_size: int, quiet: bool, timezone: str, html_path: Path | None, json_path: Path | None,
               manifest_path: Path) -> None:
    """Recompute a participatory-budget round's outcome from events; compare with allocations and payments."""
    import json as _json

    from co3chain.audit.budget import BudgetAuditError, audit_budget_round

    def go() -> AuditReport:
        try:
            manifest = _json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise BudgetAuditError(f"{manifest_path} is not valid JSON: {exc}") from None
        if not isinstance(manifest, dict):
            raise BudgetAuditError(f"{manifest_path} is not a deployment manifest")
        with RpcClient(rpc, batch_size) as client:
            return audit_budget_round(client, manifest, round_id)

    _run(go, json_path, html_path, quiet)


@audit.command("recovery")
@_common
@click.option("--manifest", "manifest_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Deployment manifest (KeyRecovery, registry, token and reputation addresses).")
def recovery_cmd(rpc: str, batch_size: int, quiet: bool, timezone: str, html_path: Path | None,
                 json_path: Path | None, manifest_path: Path) -> None:
    """List every lost-key recovery and check each finalization from events: the moved balance recomputed from
    the old key's transfers, the registry/token/reputation events agreeing, no early or cancelled finalization."""
    from co3chain.audit.recovery import audit_recoveries
    from co3chain.contracts.deploy import load_manifest

    def go() -> AuditReport:
        manifest = load_manifest(manifest_path)
        with RpcClient(rpc, batch_size) as client:
            return audit_recoveries(client, manifest)
@audit.command("initiative")
@click.argument("initiative_id", type=click.IntRange(min=1))
@_common
@click.option("--manifest", "manifest_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def initiative_cmd(initiative_id: int, rpc: str, batch_size: int, quiet: bool, timezone: str, html_path: Path | None,
                   json_path: Path | None, manifest_path: Path) -> None:
    """Recount a citizen initiative's supports from events; check its versions, threshold, window and proposal."""
    import json as _json

    from co3chain.initiative.audit import InitiativeAuditError, audit_initiative

    def go() -> AuditReport:
        try:
            manifest = _json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InitiativeAuditError(f"{manifest_path} is not valid JSON: {exc}") from None
        if not isinstance(manifest, dict):
            raise InitiativeAuditError(f"{manifest_path} is not a deployment manifest")
        with RpcClient(rpc, batch_size) as client:
            return audit_initiative(client, manifest, initiative_id)

    _run(go, json_path, html_path, quiet)


@audit.command("ballot")
@click.argument("election_id", type=click.IntRange(min=1))
@_common
@click.option("--manifest", "manifest_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Deployment manifest (the SecretBallot address comes from it).")
def ballot_cmd(election_id: int, rpc: str, batch_size: int, quiet: bool, timezone: str, html_path: Path | None,
               json_path: Path | None, manifest_path: Path) -> None:
    """Re-verify a secret election from chain data alone: the key ceremony, every ballot proof, the homomorphic
    sum (re-votes replaced), every partial decryption proof and the published result."""
    from co3chain.audit.secret_ballot import audit_election, to_audit_report
    from co3chain.ballot.cli import _client

    def go() -> AuditReport:
        try:
            client = _client(rpc, None, str(manifest_path))
            return to_audit_report(audit_election(client, election_id), client.address, client.chain_id)
        except (KeyError, ValueError) as exc:
            raise Co3Error(f"cannot read election {election_id}: {exc}") from None

    _run(go, json_path, html_path, quiet)
