"""``co3chain audit budget ROUND``: recompute a participatory-budget round's outcome from events alone and
compare it with what the contract recorded and paid.

Inputs: the deployment manifest (addresses of ParticipatoryBudget, CommonsTreasury, CitizenRegistry) and a
JSON-RPC node, which is not trusted: its logs are cross-checked against each other and against the state it
serves. Block seals are the job of ``co3chain audit chain``.

Checks (each failure is a finding with a stable ``kind``):

* ``missing-round``: no single ``RoundCreated`` for the id; ``round-cancelled`` (a note) when the executor
  cancelled it;
* ``project-list``: the ``ProjectListed`` events are not exactly projects 0..n-1, once each;
* ``double-vote``, ``vote-outside-window``, ``invalid-selection``, ``too-many-choices``,
  ``over-budget-ballot``: a ``BudgetBallotCast`` the contract's rules should have refused;
* ``ineligible-voter``: the voter's registry record (read at the ballot's block) was not registered before the
  round's snapshot, expired before it, or revoked;
* ``tally-mismatch``: the approvals stored in the contract differ from the count of the ballot events;
* ``outcome-mismatch``: ``RoundFinalized`` (funded set, spent, released) differs from the rule
  (co3chain.budget.rule) applied to the recomputed tally; ``state-mismatch``: the per-project
  Funded / NotFunded events differ from it;
* ``payment-mismatch``: a project's tranche payments differ from the documented tranches (half at start,
  the rest at delivery), or the treasury's ``Paid`` events for the round differ from them, or a payment
  was made to a project that was not funded.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode as abi_decode

from co3chain.audit.events import call_data, decode_result, eth_call, get_logs, topic, word
from co3chain.audit.manifest_refs import address_text, open_audit
from co3chain.audit.report import INFO, WARNING, AuditReport
from co3chain.audit.rpc import RpcClient, RpcError, hex_int
from co3chain.budget.rule import MAX_PROJECTS, compute_outcome, mask_indices
from co3chain.errors import Co3Error

ROUND_CREATED = topic("RoundCreated(uint256,uint256,address,uint256,uint48,uint64,uint64,uint8,uint8,bytes32)")
PROJECT_LISTED = topic("ProjectListed(uint256,uint256,uint256,address,bytes32)")
BALLOT_CAST = topic("BudgetBallotCast(uint256,address,uint256,bool)")
ROUND_FINALIZED = topic("RoundFinalized(uint256,uint256,uint256,uint256)")
ROUND_CANCELLED = topic("RoundCancelled(uint256,bytes32)")
PROJECT_STATE = topic("ProjectStateChanged(uint256,uint256,uint8,bytes32,uint256)")
TREASURY_PAID = topic("Paid(address,uint256,address,uint256,bytes32)")

STATES = ["Proposed", "NotFunded", "Funded", "InProgress", "Delivered", "Cancelled"]
KNAPSACK = 1


class BudgetAuditError(Co3Error):
    """The budget audit cannot run (manifest lacks a contract, wrong chain, unreachable node)."""


@dataclass
class RoundFacts:
    """What the events say about one round."""

    round_id: int
    area_id: int
    manager: str
    budget: int
    snapshot: int
    vote_start: int
    vote_end: int
    kind: int
    max_choices: int
    block: int
    costs: list[int] = field(default_factory=list)
    payees: list[str] = field(default_factory=list)



def audit_budget_round(client: RpcClient, manifest: Mapping[str, Any], round_id: int) -> AuditReport:
    """Run every check on ``round_id``; ``report.passed`` is False on any mismatch."""
    report = AuditReport("budget", {"roundId": round_id})
    scope = open_audit(client, manifest, report, "ParticipatoryBudget", BudgetAuditError,
                       ("CommonsTreasury", "CitizenRegistry"))
    pb, treasury, registry = (scope.addresses[n] for n in ("ParticipatoryBudget", "CommonsTreasury", "CitizenRegistry"))
    head, start = scope.head, scope.start

    rid = word(round_id)
    created = get_logs(client, pb, [ROUND_CREATED, rid], start, head)
    if len(created) != 1:
        report.add("missing-round", f"expected one RoundCreated for round {round_id}, the node returned {len(created)}")
        return report
    facts = _round_facts(round_id, created[0])
    report.subject.update({"areaId": facts.area_id, "budget": str(facts.budget), "manager": facts.manager,
                           "kind": "knapsack" if facts.kind == KNAPSACK else "approval"})

    _check_projects(report, facts, get_logs(client, pb, [PROJECT_LISTED, rid], facts.block, head))
    n = len(facts.costs)
    if n == 0:
        return report
    ballots = get_logs(client, pb, [BALLOT_CAST, rid], facts.block, head)
    approvals = _check_ballots(client, report, facts, registry, ballots)
    report.stats.update({"projects": n, "ballots": len(ballots), "approvals": approvals})

    stored = client.batch([eth_call(pb, call_data("getProject(uint256,uint256)", ["uint256", "uint256"],
                                                   [round_id, i]), head) for i in range(n)])
    stored_approvals = [_project_approvals(r) for r in stored]
    if stored_approvals != approvals:
        report.add("tally-mismatch", f"the contract stores approvals {stored_approvals}, the ballot events give "
                   f"{approvals}", stored=stored_approvals, recomputed=approvals)

    expected = compute_outcome(facts.budget, approvals, facts.costs)
    report.stats.update({"ranking": list(expected.ranking), "expectedFunded": list(expected.funded),
                         "expectedSpent": str(expected.spent)})
    finalized = get_logs(client, pb, [ROUND_FINALIZED, rid], facts.block, head)
    cancelled = get_logs(client, pb, [ROUND_CANCELLED, rid], facts.block, head)
    if cancelled:
        report.add("round-cancelled", f"round {round_id} was cancelled by the executor: no project is funded",
                   block=cancelled[0].block_number, severity=INFO)
        if finalized:
            report.add("outcome-mismatch", f"round {round_id} was both cancelled and finalized")
        return report
    if not finalized:
        report.add("not-finalized", f"round {round_id} is not finalized yet: the outcome above is provisional",
                   severity=INFO)
        return report
    if len(finalized) > 1:
        report.add("outcome-mismatch", f"round {round_id} was finalized {len(finalized)} times")
    mask, spent, released = abi_decode(["uint256", "uint256", "uint256"], finalized[0].data)
    report.stats.update({"recordedFunded": mask_indices(mask), "recordedSpent": str(spent)})
    if (mask, spent, released) != (expected.funded_mask, expected.spent, facts.budget - expected.spent):
        report.add("outcome-mismatch",
                   f"recorded funded {mask_indices(mask)}, spent {spent}, released {released}; the rule gives "
                   f"funded {sorted(expected.funded)}, spent {expected.spent}, released "
                   f"{facts.budget - expected.spent}", block=finalized[0].block_number)
    block_times = _timestamps(client, [finalized[0].block_number])
    if block_times[finalized[0].block_number] <= facts.vote_end:
        report.add("outcome-mismatch", "the round was finalized before its vote window ended",
                   block=finalized[0].block_number)

    changes = get_logs(client, pb, [PROJECT_STATE, rid], facts.block, head)
    paid_events = get_logs(client, treasury, [TREASURY_PAID, word(pb)], facts.block, head)
    _check_states_and_payments(report, facts, expected.funded_mask, changes, paid_events)
    return report


def _round_facts(round_id: int, log: Any) -> RoundFacts:
    budget, snapshot, start, end, kind, max_choices, _meta = abi_decode(
        ["uint256", "uint48", "uint64", "uint64", "uint8", "uint8", "bytes32"], log.data
    )
    return RoundFacts(round_id, int.from_bytes(log.topics[2], "big"), address_text(log.topics[3]), budget, snapshot,
                      start, end, kind, max_choices, log.block_number)


def _check_projects(report: AuditReport, facts: RoundFacts, logs: list[Any]) -> None:
    listed: dict[int, tuple[int, str]] = {}
    for lg in logs:
        index = int.from_bytes(lg.topics[2], "big")
        cost, payee, _details = abi_decode(["uint256", "address", "bytes32"], lg.data)
        if index in listed:
            report.add("project-list", f"project {index} listed twice", block=lg.block_number)
        listed[index] = (cost, payee)
    if sorted(listed) != list(range(len(listed))) or not 0 < len(listed) <= MAX_PROJECTS:
        report.add("project-list", f"listed project indices {sorted(listed)} are not 0..n-1 with 1 <= n <= "
                   f"{MAX_PROJECTS}")
        return
    facts.costs = [listed[i][0] for i in range(len(listed))]
    facts.payees = [listed[i][1] for i in range(len(listed))]


def _check_ballots(client: RpcClient, report: AuditReport, facts: RoundFacts, registry: bytes,
                   ballots: list[Any]) -> list[int]:
    """Recount approvals from the ballot events, reporting every ballot the rules should have refused."""
    n = len(facts.costs)
    approvals = [0] * n
    times = _timestamps(client, sorted({b.block_number for b in ballots}))
    records = client.batch([eth_call(registry, call_data("getCitizen(address)", ["address"], [b.topics[2][-20:]]),
                                     b.block_number) for b in ballots]) if ballots else []
    seen: Counter[str] = Counter()
    for lg, record in zip(ballots, records, strict=True):
        voter = address_text(lg.topics[2])
        selection, _by_sig = abi_decode(["uint256", "bool"], lg.data)
        where = lg.block_number
        seen[voter] += 1
        if seen[voter] > 1:
            report.add("double-vote", f"{voter} has {seen[voter]} ballots", block=where)
            continue
        if not facts.vote_start <= times[where] <= facts.vote_end:
            report.add("vote-outside-window", f"{voter} voted at {times[where]}, window "
                       f"[{facts.vote_start}, {facts.vote_end}]", block=where)
        (_, registered_at, expires_at, revoked), = decode_result(["(bytes32,uint64,uint64,bool)"], record)
        if not (registered_at != 0 and registered_at <= facts.snapshot <= expires_at and not revoked):
            report.add("ineligible-voter", f"{voter} was not an eligible citizen at the snapshot {facts.snapshot}",
                       block=where)
        if selection == 0 or selection >> n:
            report.add("invalid-selection", f"{voter} approved {selection:#x}, not a subset of {n} projects",
                       block=where)
            continue
        chosen = mask_indices(selection)
        if facts.kind == KNAPSACK:
            cost = sum(facts.costs[i] for i in chosen)
            if cost > facts.budget:
                report.add("over-budget-ballot", f"{voter}'s ballot costs {cost} > budget {facts.budget}", block=where)
        elif facts.max_choices and len(chosen) > facts.max_choices:
            report.add("too-many-choices", f"{voter} approved {len(chosen)} > {facts.max_choices} projects",
                       block=where)
        for i in chosen:
            approvals[i] += 1
    return approvals


def _project_approvals(result: Any) -> int:
    (project,) = decode_result(["(uint256,address,uint8,uint32,uint256,bytes32)"], result)
    return int(project[3])


def _timestamps(client: RpcClient, blocks: list[int]) -> dict[int, int]:
    raw = client.batch([("eth_getBlockByNumber", (hex(b), False)) for b in blocks])
    out = {}
    for b, blk in zip(blocks, raw, strict=True):
        if not isinstance(blk, dict):
            raise RpcError(f"the node does not know block {b}")
        out[b] = hex_int(blk["timestamp"], "timestamp")
    return out


def _check_states_and_payments(report: AuditReport, facts: RoundFacts, funded_mask: int, changes: list[Any],
                               paid_events: list[Any]) -> None:
    n = len(facts.costs)
    state: list[int | None] = [None] * n
    paid = [0] * n
    per_tx: dict[bytes, list[tuple[str, int]]] = defaultdict(list)
    for lg in changes:
        index = int.from_bytes(lg.topics[2], "big")
        new_state, _evidence, payment = abi_decode(["uint8", "bytes32", "uint256"], lg.data)
        if index >= n:
            report.add("state-mismatch", f"state change for unlisted project {index}", block=lg.block_number)
            continue
        prev = state[index]
        if prev is None:
            want = 2 if funded_mask >> index & 1 else 1
            if new_state != want:
                report.add("state-mismatch", f"project {index} recorded {STATES[new_state]} at finalize, the "
                           f"rule gives {STATES[want]}", block=lg.block_number)
        else:
            expected_payment = {3: facts.costs[index] // 2, 4: facts.costs[index] - paid[index], 5: 0}.get(new_state)
            if prev in (0, 1) or expected_payment is None:
                report.add("payment-mismatch" if payment else "state-mismatch",
                           f"project {index} moved {STATES[prev]} -> {STATES[new_state]}", block=lg.block_number)
            elif payment != expected_payment:
                report.add("payment-mismatch", f"project {index} paid {payment} on {STATES[new_state]}, the "
                           f"tranche is {expected_payment}", block=lg.block_number)
        state[index] = new_state
        paid[index] += payment
        if payment:
            per_tx[lg.tx_hash].append((facts.payees[index].lower(), payment))
    treasury_tx: dict[bytes, list[tuple[str, int]]] = defaultdict(list)
    for lg in paid_events:
        amount, ref = abi_decode(["uint256", "bytes32"], lg.data)
        if int.from_bytes(ref, "big") == facts.round_id:
            treasury_tx[lg.tx_hash].append((address_text(lg.topics[3]), amount))
    if {k: sorted(v) for k, v in per_tx.items()} != {k: sorted(v) for k, v in treasury_tx.items()}:
        report.add("payment-mismatch", "the treasury's Paid events for this round differ from the projects' "
                   "tranche payments", recorded=sum(a for v in treasury_tx.values() for _, a in v),
                   expected=sum(paid))
    report.stats["projectStates"] = [STATES[s] if s is not None else "Proposed" for s in state]
    report.stats["paid"] = [str(p) for p in paid]
    report.checked.extend({"project": i, "cost": str(facts.costs[i]), "state": report.stats["projectStates"][i],
                           "paid": str(paid[i])} for i in range(n))
    if any(s is None for s in state):
        report.add("state-mismatch", "some projects have no state event after finalize", severity=WARNING)
