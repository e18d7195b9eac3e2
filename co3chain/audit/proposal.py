"""``co3chain audit proposal``: recompute a CO3Governance tally from events and snapshot state, and prove the
contract's stored tally against a sealed state root.

What is checked (each failure is a finding with a stable ``kind``):

* ``missing-proposal``: no single ``ProposalCreated`` for the id;
* ``header-link``: the headers from the proposal's creation to the anchor do not hash-chain to the sealed anchor;
* ``fabricated-log`` / ``omitted-log``: a returned log is not in its block's bloom or block / a block's bloom
  matches a vote on this proposal but the node returned none, and the block's receipts (checked against the
  sealed ``receiptsRoot``) contain it; ``altered-log``: the node's log differs from the one in the sealed
  receipts (checked for every ballot block when a weight does not match the snapshot);
* ``double-vote``, ``wrong-voting-method``, ``vote-outside-window``, ``reveal-without-commit``;
* ``ineligible-voter`` / ``weight-mismatch``: the weight re-read at the snapshot (``eth_call`` on the registry,
  token or reputation) is zero / differs from the event's; ``delegation-mismatch``: the token's past votes
  differ from the replay of its ``DelegateVotesChanged`` events up to the snapshot;
* ``quorum-mismatch``: ``quorum(id)`` differs from numerator(voteStart) × total(voteStart) / 100, the numerator
  replayed from ``QuorumNumeratorUpdated`` events;
* electorates (docs/electorates.md): the proposal's electorate comes from its ``ProposalElectorate`` event
  (``electorate-mismatch`` when ``proposalElectorate(id)`` says otherwise); every counted ballot must be an
  eligible member of it at the snapshot (``isEligibleVoterAt`` at the vote's block, else ``ineligible-voter``), and
  over a sub-electorate the quorum base is its size at the snapshot and the quorum a head count of For + Abstain
  voters;
* delegated weight (liquid delegation): replayed by :mod:`co3chain.audit.delegation` (its findings are listed
  there) and added to the recomputed tally;
* ``tally-mismatch`` / ``outcome-mismatch``: ``proposalVotes`` / ``state`` differ from the recomputation;
* ``proof-invalid`` / ``storage-mismatch``: ``eth_getProof`` does not verify, or the proven tally / proposal
  fields differ from the recomputation or from the node's ``eth_call`` answers (a lying node).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode

from co3chain.audit.anchor import Anchor, fetch_anchor
from co3chain.audit.contracts import (
    ContractsAuditError,
    compile_sources,
    find_contract,
    read_sources,
    storage_slots,
)
from co3chain.audit.delegation import audit_delegation
from co3chain.audit.events import (
    DELEGATE_CHANGED,
    DELEGATE_VOTES_CHANGED,
    PROPOSAL_CANCELED,
    PROPOSAL_CREATED,
    PROPOSAL_ELECTORATE,
    VOTE_CAST,
    VOTE_COMMITTED,
    VOTE_REVEALED,
    VOTE_TOPICS,
    Log,
    call_data,
    decode_result,
    eth_call,
    get_logs,
    topic,
    word,
)
from co3chain.audit.headers import Header, header_from_json
from co3chain.audit.progress import progress_bar
from co3chain.audit.proofs import ProofError, mapping_slot, prove_storage
from co3chain.audit.receipts import ReceiptsError, bloom_contains, bloom_matches, proven_receipts
from co3chain.audit.report import AuditReport
from co3chain.audit.rpc import RpcClient, RpcError, hex_bytes, hex_int
from co3chain.contracts import compiler
from co3chain.contracts.governance_typed_data import STATE_NAMES
from co3chain.errors import Co3Error

MODES = {0: "OneCitizenOneVote", 1: "TokenWeighted", 2: "ReputationWeighted"}
#: Fallback state names (the deployed source's enum is read when available: ``ctx.states``).
STATES = list(STATE_NAMES)
#: States that may follow a successful vote (a proposal with actions goes through the timelock; a queued
#: operation the timelock cancels reads Canceled): the tally audit accepts them where it recomputes
#: Succeeded, reads (does not replay) the actions' timelock life, and reports which one the contract declares.
AFTER_SUCCESS = {"Queued", "Executed", "Expired", "Canceled"}
SUPPORT = {0: "against", 1: "for", 2: "abstain"}
QUORUM_DENOMINATOR = 100


class ProposalAuditError(Co3Error):
    """The proposal audit cannot run (manifest lacks a contract, unknown block, unreachable node)."""


@dataclass
class ProposalInfo:
    proposal_id: int
    proposer: bytes
    area_id: int
    mode: int
    commit_reveal: bool
    vote_start: int
    vote_end: int
    reveal_end: int
    quorum_numerator_at_creation: int
    description: str
    created_block: int
    created_log: Log
    canceled: bool = False
    #: electorate id from ProposalElectorate (None: a governance contract from before electorates, everyone)
    electorate: int | None = None


@dataclass
class Ballot:
    voter: bytes
    block: int
    support: int | None = None  # None until revealed (commit-reveal)
    event_weight: int | None = None
    committed_block: int | None = None
    revealed_block: int | None = None
    expected_weight: int | None = None


@dataclass
class ProposalAuditOptions:
    block: int | None = None
    source_root: Path = compiler.REPO_ROOT
    proofs: bool = True
    progress: bool | None = None
    #: Verify the receipts root of every block whose bloom matches a vote (not only suspicious ones).
    all_receipts: bool = False


@dataclass
class _Ctx:
    client: RpcClient
    report: AuditReport
    anchor: Anchor
    gov: bytes
    token: bytes | None
    registry: bytes | None
    reputation: bytes | None
    options: ProposalAuditOptions
    headers: dict[int, Header] = field(default_factory=dict)
    hashes: dict[int, bytes] = field(default_factory=dict)
    states: list[str] = field(default_factory=lambda: list(STATES))
    quorum_base: int = 0  # total weight at the snapshot (set by _recompute_quorum)
    delegation: bytes | None = None  # LiquidDelegation (co3chain/audit/delegation.py)


def _address(manifest: Mapping[str, Any], name: str, required: bool = True) -> bytes | None:
    entry = (manifest.get("contracts") or {}).get(name)
    if not entry:
        if required:
            raise ProposalAuditError(f"the manifest has no {name} contract")
        return None
    try:
        return hex_bytes(entry.get("address"), f"{name} address", 20)
    except RpcError as exc:
        raise ProposalAuditError(str(exc)) from None


def audit_proposal(client: RpcClient, manifest: Mapping[str, Any], proposal_id: int,
                   options: ProposalAuditOptions | None = None) -> AuditReport:
    """Run every check on ``proposal_id``; returns the report (``passed`` is False on any mismatch)."""
    options = options or ProposalAuditOptions()
    report = AuditReport("proposal", {"proposalId": str(proposal_id), "proposalIdHex": hex(proposal_id)})
    from co3chain.audit.powers import address_names

    report.names = {"0x" + a.hex(): n for a, n in address_names(manifest).items()}
    chain_id = hex_int(client.call("eth_chainId"), "eth_chainId")
    if manifest.get("chainId") is not None and int(manifest["chainId"]) != chain_id:
        raise ProposalAuditError(f"the manifest is for chain {manifest['chainId']}, the node serves chain {chain_id}")
    anchor = fetch_anchor(client, options.block)
    report.findings.extend(anchor.findings)
    ctx = _Ctx(client, report, anchor, _address(manifest, "CO3Governance"), _address(manifest, "CommonsToken", False),
               _address(manifest, "CitizenRegistry", False), _address(manifest, "Reputation", False), options)
    ctx.states = state_names(manifest, options.source_root)
    ctx.delegation = _address(manifest, "LiquidDelegation", False)
    report.subject.update({"governance": "0x" + ctx.gov.hex(), "anchorBlock": anchor.number,
                           "anchorTimestamp": anchor.header.timestamp, "anchorSealed": anchor.sealed})

    info = _load_proposal(ctx, proposal_id)
    if info is None:
        return report
    report.subject.update({
        "proposer": "0x" + info.proposer.hex(), "areaId": info.area_id, "mode": MODES.get(info.mode, info.mode),
        "commitReveal": info.commit_reveal, "voteStart": info.vote_start, "voteEnd": info.vote_end,
        "revealEnd": info.reveal_end, "createdBlock": info.created_block, "canceled": info.canceled,
        "description": info.description,
    })
    _link_initiative(ctx, _address(manifest, "CitizenInitiatives", False), info, proposal_id)
    _load_headers(ctx, info.created_block)
    _check_logs(ctx, [info.created_log], [[PROPOSAL_CREATED], [word(proposal_id)]], info.created_block,
                scan_blooms=False)
    logs = get_logs(client, ctx.gov, [VOTE_TOPICS, None, word(proposal_id)], info.created_block, anchor.number)
    logs = _check_logs(ctx, logs, [VOTE_TOPICS, None, [word(proposal_id)]], info.created_block)
    ballots = _replay_votes(ctx, info, logs)
    _check_weights(ctx, info, ballots)
    _check_electorate(ctx, info, ballots)
    if {"weight-mismatch", "ineligible-voter"} & report.kinds() and not options.all_receipts:
        # A ballot whose weight the snapshot contradicts: hold every ballot log against the sealed receipts, so a
        # node that altered a log is named as the cause (and the original ballot is counted).
        before = len(report.findings)
        options.all_receipts = True
        logs = _check_logs(ctx, logs, [VOTE_TOPICS, None, [word(proposal_id)]], info.created_block)
        options.all_receipts = False
        if any(f.kind in {"altered-log", "omitted-log"} for f in report.findings[before:]):
            report.findings = [f for f in report.findings if f.kind not in {"weight-mismatch", "ineligible-voter"}]
            ballots = _replay_votes(ctx, info, logs)
            _check_weights(ctx, info, ballots)
            _check_electorate(ctx, info, ballots)
    tally = _tally(ballots)
    # Liquid delegation (issue 11 §4): delegated weight replayed from events joins the recomputed tally.
    delegated = audit_delegation(ctx, info, logs, ballots, lambda blocks: _timestamps(ctx, blocks))
    if delegated is not None:
        tally = {k: v + delegated.tally[k] for k, v in tally.items()}
        report.stats["delegation"] = delegated.stats
    quorum = _recompute_quorum(ctx, info)
    declared = _declared(ctx, info, proposal_id)
    unrevealed = sum(b.expected_weight or 0 for b in ballots.values() if b.support is None)
    heads = sum(1 for b in ballots.values() if b.support in (1, 2) and b.expected_weight)
    if delegated is not None:  # counted delegators are heads of the side their representative voted for
        heads += delegated.supporter_heads
    _compare_outcome(ctx, info, tally, quorum, declared, unrevealed=unrevealed,
                     voters=len(ballots) + (delegated.counted_voters if delegated is not None else 0),
                     heads=heads if info.electorate else None)
    if options.proofs:
        proven = _prove(ctx, manifest, info, tally, declared)
        if proven is not None and proven != tally and not options.all_receipts:
            # The sealed state disagrees with the events: find the logs the node left out, block by block.
            options.all_receipts = True
            _check_logs(ctx, logs, [VOTE_TOPICS, None, [word(proposal_id)]], info.created_block)
            options.all_receipts = False
    else:
        report.add("proofs-skipped", "storage proofs disabled (--no-proofs)", severity="warning")
    report.stats.update({
        "votes": len(ballots),
        "tally": {SUPPORT[k]: str(v) for k, v in tally.items()},
        "quorum": None if quorum is None else str(quorum),
        "declaredState": declared.get("state"),
        "headersChecked": len(ctx.headers),
        "rpcRequests": client.requests,
    })
    report.checked.extend(
        {"voter": "0x" + b.voter.hex(), "block": b.block, "support": SUPPORT.get(b.support, "unrevealed")
         if b.support is not None else "unrevealed", "weight": str(b.event_weight), "snapshotWeight": str(b.expected_weight)}
        for b in ballots.values()
    )
    return report


#: CitizenInitiatives' "this initiative went to vote as proposal N" (topics: initiative id, proposal id).
INITIATIVE_PROPOSED = topic("InitiativeProposed(uint256,uint256,uint64,uint64)")


def _link_initiative(ctx: _Ctx, initiatives: bytes | None, info: ProposalInfo, proposal_id: int) -> None:
    """Name the citizen initiative a proposal came from (its supports are ``audit initiative N``'s job).

    Why: a clerk reading a proposal's verdict should see that citizens, not an officer, put it to the vote.
    A proposal made by the CitizenInitiatives contract without its ``InitiativeProposed`` event is a finding:
    the contract emits both in one transaction, so one without the other means a node left a log out."""
    if initiatives is None:
        return
    logs = get_logs(ctx.client, initiatives, [INITIATIVE_PROPOSED, None, word(proposal_id)], info.created_block,
                    info.created_block)
    if logs:
        initiative_id = int.from_bytes(logs[0].topics[1], "big")
        ctx.report.subject["initiativeId"] = initiative_id
        ctx.report.add("from-initiative", f"this proposal is citizen initiative {initiative_id} going to vote; "
                       f"`co3chain audit initiative {initiative_id}` recounts its supports", severity="info")
    elif info.proposer == initiatives:
        ctx.report.add("missing-initiative-link", "the CitizenInitiatives contract made this proposal but the node "
                       "returned no InitiativeProposed event for it", info.created_block)


# -- proposal and headers -----------------------------------------------------------------------------------
def _load_proposal(ctx: _Ctx, proposal_id: int) -> ProposalInfo | None:
    logs = get_logs(ctx.client, ctx.gov, [[PROPOSAL_CREATED, PROPOSAL_CANCELED], word(proposal_id)], 0, ctx.anchor.number)
    created = [lg for lg in logs if lg.topics[0] == PROPOSAL_CREATED]
    if len(created) != 1:
        ctx.report.add("missing-proposal", f"expected one ProposalCreated for this id, the node returned {len(created)}")
        return None
    lg = created[0]
    mode, commit_reveal, vs, ve, re_, qn, desc = abi_decode(
        ["uint8", "bool", "uint64", "uint64", "uint64", "uint256", "string"], lg.data)
    info = ProposalInfo(proposal_id, lg.topics[2][12:], int.from_bytes(lg.topics[3], "big"), mode, commit_reveal,
                        vs, ve, re_, qn, desc, lg.block_number, lg)
    info.canceled = any(x.topics[0] == PROPOSAL_CANCELED for x in logs)
    scoped = get_logs(ctx.client, ctx.gov, [[PROPOSAL_ELECTORATE], word(proposal_id)], lg.block_number,
                      lg.block_number)
    if scoped:
        info.electorate = int.from_bytes(scoped[0].topics[2], "big")
    return info


def _check_electorate(ctx: _Ctx, info: ProposalInfo, ballots: dict[bytes, Ballot]) -> None:
    """Every ballot must come from an eligible member of the proposal's electorate at the snapshot; the
    electorate the event names must be the one the contract stores."""
    from co3chain.electorates import describe

    if info.electorate is None:
        return  # a governance contract from before electorates: eligibility is checked with the weights
    if ctx.registry is None:
        raise ProposalAuditError("the manifest has no CitizenRegistry")
    rep = ctx.report
    rep.subject["electorate"] = str(describe(info.electorate))
    rep.subject["electorateId"] = str(info.electorate)
    stored = eth_call(ctx.gov, call_data("proposalElectorate(uint256)", ["uint256"], [info.proposal_id]),
                      ctx.anchor.number)
    said = decode_result(["uint256"], ctx.client.batch([stored])[0])[0]
    if said != info.electorate:
        rep.add("electorate-mismatch", f"ProposalElectorate names {describe(info.electorate)}, proposalElectorate() "
                                       f"says {describe(said)}")
    voters = list(ballots.values())
    calls = [eth_call(ctx.registry, call_data("isEligibleVoterAt(address,uint256,uint48)",
                                              ["address", "uint256", "uint48"],
                                              [b.voter, info.electorate, info.vote_start]), b.block) for b in voters]
    results: list[Any] = []
    for start in range(0, len(calls), ctx.client.batch_size):
        results.extend(ctx.client.batch(calls[start : start + ctx.client.batch_size]))
    outside = 0
    for b, res in zip(voters, results, strict=True):
        if not decode_result(["bool"], res)[0]:
            outside += 1
            if b.expected_weight:  # not already reported as having no weight
                rep.add("ineligible-voter", f"0x{b.voter.hex()} was not an eligible member of "
                                            f"{describe(info.electorate)} at the snapshot {info.vote_start}", b.block)
            b.expected_weight = 0
    rep.stats["electorateChecks"] = {"ballots": len(voters), "outside": outside}


def _load_headers(ctx: _Ctx, first: int) -> None:
    """Headers ``first..anchor``, hash-linked to the sealed anchor (so their blooms and roots are trusted)."""
    numbers = list(range(first, ctx.anchor.number + 1))
    with progress_bar("fetching headers", len(numbers), ctx.options.progress) as advance:
        for start in range(0, len(numbers), ctx.client.batch_size):
            chunk = numbers[start : start + ctx.client.batch_size]
            for n, raw in zip(chunk, ctx.client.batch([("eth_getBlockByNumber", (hex(n), False)) for n in chunk]),
                              strict=True):
                if raw is None:
                    raise ProposalAuditError(f"the node does not return block {n}")
                ctx.headers[n] = header_from_json(raw)
            advance(len(chunk))
    ctx.headers[ctx.anchor.number] = ctx.anchor.header
    for n in range(ctx.anchor.number, first - 1, -1):
        ctx.hashes[n] = ctx.headers[n].computed_hash()
        if n < ctx.anchor.number and ctx.hashes[n] != ctx.headers[n + 1].parent_hash:
            ctx.report.add("header-link", "header does not hash to its child's parentHash: the chain served does "
                                          "not lead to the sealed anchor", n)


def _header_at(ctx: _Ctx, n: int) -> Header:
    if n not in ctx.headers:
        raw = ctx.client.call("eth_getBlockByNumber", hex(n), False)
        if raw is None:
            raise ProposalAuditError(f"the node does not return block {n}")
        ctx.headers[n] = header_from_json(raw)
    return ctx.headers[n]


def _timestamps(ctx: _Ctx, numbers: set[int]) -> dict[int, int]:
    """Timestamps of blocks outside the verified range (token/quorum history), fetched in batches."""
    missing = sorted(n for n in numbers if n not in ctx.headers)
    for start in range(0, len(missing), ctx.client.batch_size):
        chunk = missing[start : start + ctx.client.batch_size]
        for n, raw in zip(chunk, ctx.client.batch([("eth_getBlockByNumber", (hex(n), False)) for n in chunk]),
                          strict=True):
            if raw is None:
                raise ProposalAuditError(f"the node does not return block {n}")
            ctx.headers[n] = header_from_json(raw)
    return {n: ctx.headers[n].timestamp for n in numbers}


# -- logs: bloom and receipts cross-checks --------------------------------------------------------------------
def _log_matches(lg: Log, address: bytes, topics: list[list[bytes] | None]) -> bool:
    if lg.address != address or len(lg.topics) < len(topics):
        return False
    return all(ts is None or lg.topics[i] in ts for i, ts in enumerate(topics))


def _check_logs(ctx: _Ctx, logs: list[Log], topics: list[list[bytes] | None], first: int,
                scan_blooms: bool = True) -> list[Log]:
    """Drop logs the headers disprove, add logs the receipts prove but the node omitted."""
    kept: list[Log] = []
    for lg in logs:
        h = ctx.headers.get(lg.block_number)
        if h is None or lg.block_hash != ctx.hashes.get(lg.block_number) or not (
            bloom_contains(h.bloom, lg.address) and all(bloom_contains(h.bloom, t) for t in lg.topics)
        ):
            ctx.report.add("fabricated-log", f"log {lg.log_index} is not committed by the block's hash or bloom",
                           lg.block_number)
            continue
        kept.append(lg)
    if not scan_blooms:
        return kept
    with_logs = {lg.block_number for lg in kept}
    suspicious = [
        n for n in range(first, ctx.anchor.number + 1)
        if bloom_matches(ctx.headers[n].bloom, ctx.gov, topics)
        and (n not in with_logs or ctx.options.all_receipts)
    ]
    have = {lg.key: i for i, lg in enumerate(kept)}
    for n in suspicious:
        try:
            receipts = proven_receipts(ctx.client, n, ctx.headers[n].receipts_root)
        except (ReceiptsError, RpcError) as exc:
            ctx.report.add("omitted-log", f"bloom matches a vote but the node returned no log and its receipts do "
                                          f"not verify: {exc}", n)
            continue
        for r in receipts:
            for raw in r.get("logs", []):
                lg = Log.from_json({**raw, "blockNumber": hex(n), "blockHash": "0x" + ctx.hashes[n].hex()})
                if not _log_matches(lg, ctx.gov, topics):
                    continue
                if lg.key not in have:
                    ctx.report.add("omitted-log", f"the node's eth_getLogs omitted log {lg.log_index}, proven by the "
                                                  "block's receipts root", n)
                    have[lg.key] = len(kept)
                    kept.append(lg)
                    continue
                served = kept[have[lg.key]]
                if (served.topics, served.data) != (lg.topics, lg.data):
                    ctx.report.add("altered-log", f"the node's eth_getLogs altered log {lg.log_index} (a ballot); the "
                                                  "block's sealed receipts hold the original, which is counted", n,
                                   authoritative="the block's sealed receipts root")
                    kept[have[lg.key]] = lg
    return sorted(kept, key=lambda lg: lg.key)


# -- votes --------------------------------------------------------------------------------------------------
def _replay_votes(ctx: _Ctx, info: ProposalInfo, logs: list[Log]) -> dict[bytes, Ballot]:
    ballots: dict[bytes, Ballot] = {}
    rep = ctx.report
    for lg in logs:
        voter = lg.topics[1][12:]
        ts = ctx.headers[lg.block_number].timestamp
        kind = lg.topics[0]
        if kind in (VOTE_CAST, VOTE_COMMITTED):
            if (kind == VOTE_COMMITTED) != info.commit_reveal:
                rep.add("wrong-voting-method", f"0x{voter.hex()} voted with the wrong method", lg.block_number)
            if voter in ballots:
                rep.add("double-vote", f"0x{voter.hex()} voted twice", lg.block_number)
                continue
            if not info.vote_start < ts <= info.vote_end:
                rep.add("vote-outside-window", f"0x{voter.hex()} voted at {ts}, window ({info.vote_start}, "
                                               f"{info.vote_end}]", lg.block_number)
            b = Ballot(voter, lg.block_number)
            if kind == VOTE_CAST:
                b.support, b.event_weight = abi_decode(["uint8", "uint256"], lg.data)
            else:
                b.committed_block = lg.block_number
            ballots[voter] = b
        elif kind == VOTE_REVEALED:
            b = ballots.get(voter)
            if b is None or b.committed_block is None:
                rep.add("reveal-without-commit", f"0x{voter.hex()} revealed without a commitment", lg.block_number)
                continue
            if b.revealed_block is not None:
                rep.add("double-vote", f"0x{voter.hex()} revealed twice", lg.block_number)
                continue
            if not info.vote_end < ts <= info.reveal_end:
                rep.add("vote-outside-window", f"0x{voter.hex()} revealed at {ts}, reveal window ({info.vote_end}, "
                                               f"{info.reveal_end}]", lg.block_number)
            b.support, b.event_weight = abi_decode(["uint8", "uint256"], lg.data)
            b.revealed_block = lg.block_number
    return ballots


def _check_weights(ctx: _Ctx, info: ProposalInfo, ballots: dict[bytes, Ballot]) -> None:
    snapshot = info.vote_start
    voters = list(ballots.values())
    calls = []
    for b in voters:
        if info.mode == 0:
            if ctx.registry is None:
                raise ProposalAuditError("the manifest has no CitizenRegistry")
            # Eligibility also requires being a citizen "now": judge it at the block of the vote.
            calls.append(eth_call(ctx.registry, call_data("isEligibleAt(address,uint48)", ["address", "uint48"],
                                                          [b.voter, snapshot]), b.block))
        elif info.mode == 1:
            if ctx.token is None:
                raise ProposalAuditError("the manifest has no CommonsToken")
            calls.append(eth_call(ctx.token, call_data("getPastVotes(address,uint256)", ["address", "uint256"],
                                                       [b.voter, snapshot]), ctx.anchor.number))
        else:
            if ctx.reputation is None:
                raise ProposalAuditError("the manifest has no Reputation")
            calls.append(eth_call(ctx.reputation, call_data("getPastScore(address,bytes32,uint48)",
                                                            ["address", "bytes32", "uint48"],
                                                            [b.voter, word(info.area_id), snapshot]), ctx.anchor.number))
    with progress_bar("re-reading weights", len(calls), ctx.options.progress) as advance:
        results: list[Any] = []
        for start in range(0, len(calls), ctx.client.batch_size):
            results.extend(ctx.client.batch(calls[start : start + ctx.client.batch_size]))
            advance(min(ctx.client.batch_size, len(calls) - start))
    for b, res in zip(voters, results, strict=True):
        value = decode_result(["bool"] if info.mode == 0 else ["uint256"], res)[0]
        b.expected_weight = int(value)
        if b.expected_weight == 0:
            ctx.report.add("ineligible-voter", f"0x{b.voter.hex()} had no weight at the snapshot {snapshot}", b.block)
        if b.event_weight is not None and b.event_weight != b.expected_weight:
            ctx.report.add("weight-mismatch", f"0x{b.voter.hex()}: event weight {b.event_weight}, snapshot weight "
                                              f"{b.expected_weight}", b.revealed_block or b.block)
    if info.mode == 1 and ctx.token is not None:
        _replay_delegations(ctx, snapshot, voters)


def _replay_delegations(ctx: _Ctx, snapshot: int, voters: list[Ballot]) -> None:
    """Votes at the snapshot from the token's DelegateVotesChanged history (independent of getPastVotes)."""
    assert ctx.token is not None
    changes = get_logs(ctx.client, ctx.token, [[DELEGATE_VOTES_CHANGED]], 0, ctx.anchor.number)
    delegations = get_logs(ctx.client, ctx.token, [[DELEGATE_CHANGED]], 0, ctx.anchor.number)
    ts = _timestamps(ctx, {lg.block_number for lg in changes})
    votes: dict[bytes, int] = defaultdict(int)
    for lg in changes:  # sorted by (block, logIndex)
        if ts[lg.block_number] <= snapshot:
            votes[lg.topics[1][12:]] = abi_decode(["uint256", "uint256"], lg.data)[1]
    for b in voters:
        if b.expected_weight is not None and votes[b.voter] != b.expected_weight:
            ctx.report.add("delegation-mismatch", f"0x{b.voter.hex()}: getPastVotes says {b.expected_weight}, the "
                                                  f"DelegateVotesChanged history says {votes[b.voter]}", b.block)
    ctx.report.stats["delegationEvents"] = len(delegations)
    ctx.report.stats["delegateVotesChangedEvents"] = len(changes)


def _tally(ballots: dict[bytes, Ballot]) -> dict[int, int]:
    tally = {0: 0, 1: 0, 2: 0}
    for b in ballots.values():
        if b.support is None:
            continue  # committed, never revealed: not counted
        if b.support not in tally:
            continue
        tally[b.support] += b.expected_weight if b.expected_weight is not None else (b.event_weight or 0)
    return tally


# -- quorum, declared outcome -------------------------------------------------------------------------------
def _recompute_quorum(ctx: _Ctx, info: ProposalInfo) -> int | None:
    if ctx.anchor.header.timestamp <= info.vote_start:
        return None  # the contract's quorum() reverts before the snapshot
    # The numerator is fixed into the proposal at creation (the one ProposalCreated reports).
    numerator = info.quorum_numerator_at_creation
    snap, block = info.vote_start, ctx.anchor.number
    if info.electorate:  # a sub-electorate: its eligible size, a head count in every mode
        call = eth_call(ctx.registry or b"", call_data("getPastElectorateSize(uint256,uint48)", ["uint256", "uint48"],
                                                       [info.electorate, snap]), block)
        size = decode_result(["uint256"], ctx.client.batch([call])[0])[0]
        ctx.report.stats.update({"quorumNumeratorAtSnapshot": numerator, "electorateSizeAtSnapshot": size,
                                 "quorumBasis": "headcount"})
        ctx.quorum_base = size
        return -(-numerator * size // QUORUM_DENOMINATOR)
    if info.mode == 0:
        call = eth_call(ctx.registry or b"", call_data("getPastEligibleCount(uint48)", ["uint48"], [snap]), block)
    elif info.mode == 1:
        call = eth_call(ctx.token or b"", call_data("getPastTotalSupply(uint256)", ["uint256"], [snap]), block)
    else:
        call = eth_call(ctx.reputation or b"", call_data("getPastTotalScore(bytes32,uint48)", ["bytes32", "uint48"],
                                                         [word(info.area_id), snap]), block)
    total = decode_result(["uint256"], ctx.client.batch([call])[0])[0]
    if info.mode == 1:  # tokens held by services cannot vote and are not part of the base
        held = eth_call(ctx.token or b"", call_data("getPastServiceSupply(uint256)", ["uint256"], [snap]), block)
        total -= decode_result(["uint256"], ctx.client.batch([held])[0])[0]
    ctx.report.stats.update({"quorumNumeratorAtSnapshot": numerator, "totalWeightAtSnapshot": str(total)})
    ctx.quorum_base = total
    return -(-numerator * total // QUORUM_DENOMINATOR)  # Math.mulDiv(..., Rounding.Ceil)


def state_names(manifest: Mapping[str, Any], root: Path) -> list[str]:
    """Names of ``ProposalState`` in the audited governance source (new states appear there first), else the
    states this audit was written for."""
    entry = (manifest.get("contracts") or {}).get("CO3Governance") or {}
    unit = entry.get("sourceName") or "contracts/CO3Governance.sol"
    try:
        text = (root / unit).read_text(encoding="utf-8")
    except OSError:
        return list(STATES)
    m = re.search(r"enum\s+ProposalState\s*\{([^}]*)\}", re.sub(r"//[^\n]*", "", text))
    if not m:
        return list(STATES)
    names = [n.strip() for n in m.group(1).split(",") if n.strip()]
    return names or list(STATES)


def _declared(ctx: _Ctx, info: ProposalInfo, pid: int) -> dict[str, Any]:
    block = ctx.anchor.number
    calls = [eth_call(ctx.gov, call_data("state(uint256)", ["uint256"], [pid]), block),
             eth_call(ctx.gov, call_data("proposalVotes(uint256)", ["uint256"], [pid]), block)]
    state_res, votes_res = ctx.client.batch(calls)
    index = decode_result(["uint8"], state_res)[0]
    out: dict[str, Any] = {"state": ctx.states[index] if index < len(ctx.states) else f"State{index}",
                           "votes": dict(zip((0, 1, 2), decode_result(["uint256"] * 3, votes_res), strict=True))}
    if ctx.anchor.header.timestamp > info.vote_start:
        quorum_call = eth_call(ctx.gov, call_data("quorum(uint256)", ["uint256"], [pid]), block)
        out["quorum"] = decode_result(["uint256"], ctx.client.batch([quorum_call])[0])[0]
    return out


def _compare_outcome(ctx: _Ctx, info: ProposalInfo, tally: dict[int, int], quorum: int | None,
                     declared: dict[str, Any], *, unrevealed: int = 0, voters: int = 0,
                     heads: int | None = None) -> None:
    rep = ctx.report
    if declared["votes"] != tally:
        rep.add("tally-mismatch", f"proposalVotes says {_fmt(declared['votes'])}, events say {_fmt(tally)}")
    if quorum is not None and declared.get("quorum") != quorum:
        rep.add("quorum-mismatch", f"quorum() says {declared.get('quorum')}, recomputed {quorum}")
    now = ctx.anchor.header.timestamp
    if info.canceled:
        expected = "Canceled"
    elif now <= info.vote_start:
        expected = "Pending"
    elif now <= info.vote_end:
        expected = "Active"
    elif info.commit_reveal and now <= info.reveal_end:
        expected = "Revealing"
    else:
        # As CO3Governance.quorumReached: reputation tolerates one unit per voter plus total / 2^56.
        slack = voters + (ctx.quorum_base >> 56) if info.mode == 2 else 0
        reached = quorum is not None and tally[1] + tally[2] + slack >= quorum
        if heads is not None:  # a sub-electorate: For + Abstain voters against the head-count quorum
            reached = quorum is not None and heads >= quorum
        # Committed but unrevealed weight counts against (commit–reveal withholding, issue 10).
        expected = "Succeeded" if reached and tally[1] > tally[0] + unrevealed else "Defeated"
    rep.stats["recomputedState"] = expected
    said = declared["state"]
    if said in AFTER_SUCCESS and expected == "Succeeded":
        rep.add("after-success", f"the vote succeeded and the contract reports the next step: {said}", severity="info")
    elif said not in STATES and said not in AFTER_SUCCESS:
        rep.add("unknown-state", f"state() says {said}, a state this audit does not know; the recomputed vote "
                                 f"result is {expected}", severity="warning")
    elif said != expected:
        rep.add("outcome-mismatch", f"state() says {said}, recomputed {expected}", declared=said, recomputed=expected)


def _fmt(t: Mapping[int, int]) -> str:
    return ", ".join(f"{SUPPORT[k]} {v}" for k, v in sorted(t.items()))


# -- storage proofs -----------------------------------------------------------------------------------------
def _prove(ctx: _Ctx, manifest: Mapping[str, Any], info: ProposalInfo, tally: dict[int, int],
           declared: dict[str, Any]) -> dict[int, int] | None:
    """Prove the stored tally and proposal fields; returns the proven tally (None when proofs failed)."""
    rep = ctx.report
    try:
        layout = _governance_layout(manifest, ctx.options.source_root)
    except (ContractsAuditError, compiler.CompilerError) as exc:
        rep.add("proofs-skipped", f"cannot derive the storage layout: {exc}", severity="warning")
        return None
    tallies_base = mapping_slot(word(info.proposal_id), layout["slots"]["_tallies"])
    proposal_base = mapping_slot(word(info.proposal_id), layout["slots"]["_proposals"])
    members = layout["proposal_members"]
    n_proposal_slots = max(m["slot"] for m in members.values()) + 1
    slots = [tallies_base + i for i in range(3)] + [proposal_base + i for i in range(n_proposal_slots)]
    try:
        values = prove_storage(ctx.client, ctx.anchor.state_root, ctx.anchor.number, ctx.gov, slots)
    except (ProofError, RpcError) as exc:
        rep.add("proof-invalid", str(exc), ctx.anchor.number)
        return None
    proven_tally = {i: values[tallies_base + i] for i in range(3)}
    rep.stats["provenTally"] = {SUPPORT[k]: str(v) for k, v in proven_tally.items()}
    if proven_tally != tally:
        rep.add("storage-mismatch", f"the sealed state holds {_fmt(proven_tally)}, events say {_fmt(tally)}",
                ctx.anchor.number)
    if proven_tally != declared["votes"]:
        rep.add("storage-mismatch", f"the sealed state holds {_fmt(proven_tally)}, the node's proposalVotes says "
                                    f"{_fmt(declared['votes'])}", ctx.anchor.number)

    def member(name: str) -> int:
        m = members[name]
        raw = values[proposal_base + m["slot"]].to_bytes(32, "big")
        end = 32 - m["offset"]
        return int.from_bytes(raw[end - m["bytes"] : end], "big")

    expected = {"proposer": int.from_bytes(info.proposer, "big"), "voteStart": info.vote_start,
                "voteEnd": info.vote_end, "revealEnd": info.reveal_end, "mode": info.mode,
                "commitReveal": int(info.commit_reveal), "canceled": int(info.canceled), "areaId": info.area_id}
    for name, want in expected.items():
        if name in members and member(name) != want:
            rep.add("storage-mismatch", f"proposal field {name}: sealed state holds {member(name)}, the events say "
                                        f"{want}", ctx.anchor.number)
    return proven_tally


def _governance_layout(manifest: Mapping[str, Any], root: Path) -> dict[str, Any]:
    scratch = AuditReport("contracts", {})
    sources = read_sources(manifest, root, scratch)
    if sources is None:
        raise ContractsAuditError("; ".join(f.message for f in scratch.errors))
    entry = manifest["contracts"]["CO3Governance"]
    contract = find_contract(compile_sources(manifest, sources, root), "CO3Governance", entry.get("sourceName"))
    slots = storage_slots(contract)
    layout = contract["storageLayout"]
    types = layout["types"]
    proposals_type = next(i["type"] for i in layout["storage"] if i["label"] == "_proposals")
    struct_type = types[proposals_type]["value"]
    members = {m["label"]: {"slot": int(m["slot"]), "offset": int(m["offset"]),
                            "bytes": int(types[m["type"]]["numberOfBytes"])} for m in types[struct_type]["members"]}
    return {"slots": slots, "proposal_members": members}
