"""Delegated weight in ``co3chain audit proposal``: replay a proposal's liquid-delegation events through the
Python model of the rule, with chains rebuilt from ``DelegateChanged`` events at the snapshot and weights
re-read at the snapshot.

Why a replay and not only a sum: each ``DelegatedWeightCounted`` must go to the first direct voter on the
delegator's chain *at that moment*, and each direct vote must move exactly the weight the rule implies
(``DelegatedWeightMoved``). Replaying ``VoteCast`` and delegation events in log order through
:class:`co3chain.delegation.rule.Ledger` checks every one of them; the resulting delegated weight joins the
recomputed tally, which the proposal audit then compares with ``proposalVotes`` and the sealed storage.

Findings:

* ``delegation-miscount``: a counting the rule would not make (delegator already counted or a direct voter, no
  direct voter within MAX_DEPTH, other representative, weight or hops);
* ``delegation-move-mismatch``: a direct vote moved other weight than the rule implies (or none / one too many);
* ``delegation-not-applicable``: delegation events on a token-weighted or commit–reveal proposal;
* ``uncounted-delegation`` (warning): an eligible delegator whose chain reaches a direct voter was never
  counted (anyone could have counted it while the vote was open).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode as abi_decode

from co3chain.audit.events import VOTE_CAST, Log, call_data, decode_result, eth_call, get_logs, topic, word
from co3chain.delegation.rule import MAX_DEPTH, Ledger, first_voter

DELEGATE_CHANGED = topic("DelegateChanged(address,uint256,address,address)")
COUNTED = topic("DelegatedWeightCounted(uint256,address,address,uint256,uint8)")
MOVED = topic("DelegatedWeightMoved(uint256,address,address,uint256,uint256)")


@dataclass
class DelegationResult:
    """What the proposal audit adds to its recomputation."""

    tally: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0, 2: 0})
    counted_voters: int = 0  # delegators whose weight is counted (each is one "voter" for the quorum tolerance)
    supporter_heads: int = 0  # of those, the ones on a For or Abstain vote (heads of a sub-electorate quorum)
    stats: dict[str, Any] = field(default_factory=dict)


def _addr(raw: bytes) -> str:
    return "0x" + raw[-20:].hex()


def audit_delegation(ctx: Any, info: Any, vote_logs: list[Log], ballots: Mapping[bytes, Any],
                     timestamps: Callable[[set[int]], dict[int, int]]) -> DelegationResult | None:
    """Replay the proposal's delegation; None when the deployment has no ``LiquidDelegation``."""
    ld = getattr(ctx, "delegation", None)
    if ld is None:
        return None
    rep, client, anchor = ctx.report, ctx.client, ctx.anchor.number
    pid = info.proposal_id
    weight_logs = get_logs(client, ld, [[COUNTED, MOVED], word(pid)], info.created_block, anchor)
    result = DelegationResult()
    if info.mode == 1 or info.commit_reveal:
        if weight_logs:
            rep.add("delegation-not-applicable", f"{len(weight_logs)} delegation event(s) on a proposal that takes no "
                                                 "delegated weight", weight_logs[0].block_number)
        return result
    changes = get_logs(client, ld, [[DELEGATE_CHANGED]], 0, anchor)
    ts = timestamps({lg.block_number for lg in changes})
    pointers: dict[tuple[str, int], str] = {}
    for lg in changes:  # in (block, logIndex) order
        if ts[lg.block_number] > info.vote_start:
            continue
        to = abi_decode(["address"], lg.data)[0].lower()
        key = (_addr(lg.topics[1]), int.from_bytes(lg.topics[2], "big"))
        if int(to, 16) == 0:
            pointers.pop(key, None)
        else:
            pointers[key] = to

    def next_of(citizen: str) -> str | None:
        if info.area_id and (citizen, info.area_id) in pointers:
            return pointers[(citizen, info.area_id)]
        return pointers.get((citizen, 0))

    counted_at = {_addr(lg.topics[2]): lg.block_number for lg in weight_logs if lg.topics[0] == COUNTED}
    citizens = sorted({c for c, _s in pointers} | set(counted_at))
    # "Still a citizen" is judged when the weight was counted (as for a direct vote at its block), else now.
    weights = _snapshot_weights(ctx, info, [(c, counted_at.get(c, anchor)) for c in citizens])
    direct = {("0x" + b.voter.hex()): b for b in ballots.values()}
    ledger = Ledger(next_of=next_of, weight_of=lambda c: weights.get(c, 0))
    events = sorted([*[lg for lg in vote_logs if lg.topics[0] == VOTE_CAST], *weight_logs], key=lambda lg: lg.key)
    expected_moves: list[tuple[str, str, int, int]] = []
    for lg in events:
        if lg.topics[0] == VOTE_CAST:
            voter = _addr(lg.topics[1])
            b = direct.get(voter)
            if b is None or voter in ledger.supports or b.support is None:
                continue
            own = b.expected_weight if b.expected_weight is not None else (b.event_weight or 0)
            moved = ledger.vote(voter, b.support, own)
            if moved is not None:
                expected_moves.append((moved.voter, moved.from_, moved.moved, moved.regained))
        elif lg.topics[0] == COUNTED:
            delegator, representative = _addr(lg.topics[2]), _addr(lg.topics[3])
            weight, hops = abi_decode(["uint256", "uint8"], lg.data)
            want = ledger.count(delegator)
            if want is None or (want.representative, want.weight, want.hops) != (representative, weight, hops):
                rule = "no counting" if want is None else \
                    f"{want.weight} to {want.representative} at {want.hops} hop(s)"
                rep.add("delegation-miscount", f"{delegator}: counted {weight} to {representative} at {hops} hop(s); "
                                               f"the rule says {rule}", lg.block_number)
        else:
            voter, source = _addr(lg.topics[2]), _addr(lg.topics[3])
            moved_w, regained = abi_decode(["uint256", "uint256"], lg.data)
            got = (voter, source, moved_w, regained)
            want_move = expected_moves.pop(0) if expected_moves and expected_moves[0][0] == voter else None
            if want_move != got:
                rep.add("delegation-move-mismatch", f"{voter}'s direct vote moved {moved_w} from {source} (regained "
                                                    f"{regained}); the rule says {want_move or 'no move'}",
                        lg.block_number)
    for voter, source, moved_w, _r in expected_moves:
        rep.add("delegation-move-mismatch", f"{voter}'s direct vote should have moved {moved_w} from {source}; no "
                                            "DelegatedWeightMoved event")
    for voter, support in ledger.supports.items():
        result.tally[support] += ledger.received.get(voter, 0)
    delegators_now = [d for d in ledger.counted if d not in ledger.supports]
    result.counted_voters = len(delegators_now)
    result.supporter_heads = sum(1 for d in delegators_now
                                 if ledger.supports.get(first_voter(d, next_of, ledger.supports)[0] or "", 0) in (1, 2))
    uncounted = [c for c in citizens if c not in ledger.counted and c not in ledger.supports and weights.get(c, 0)
                 and first_voter(c, next_of, ledger.supports, MAX_DEPTH)[0] is not None]
    for c in uncounted:
        rep.add("uncounted-delegation", f"{c} delegated (weight {weights[c]}) to a chain that reaches a direct voter "
                                        "but was never counted", severity="warning")
    result.stats = {"delegators": len(citizens), "countedDelegators": len(ledger.counted),
                    "delegatedTally": {k: str(v) for k, v in result.tally.items()},
                    "delegatedWeight": str(sum(result.tally.values())), "uncountedDelegators": len(uncounted)}
    return result


def _electorate(ctx: Any, info: Any) -> int | None:
    """The proposal's electorate (``proposalElectorate``), None when governance has no electorates."""
    from co3chain.audit.rpc import RpcError

    call = eth_call(ctx.gov, call_data("proposalElectorate(uint256)", ["uint256"], [info.proposal_id]),
                    ctx.anchor.number)
    try:
        return int(decode_result(["uint256"], ctx.client.batch([call])[0])[0])
    except (RpcError, ValueError, TypeError, IndexError):
        return None


def _snapshot_weights(ctx: Any, info: Any, at: list[tuple[str, int]]) -> dict[str, int]:
    """Weight of each citizen at the snapshot, read independently of governance: eligibility in the registry
    (judged at the given block), and reputation in the proposal's domain for reputation-weighted proposals."""
    if not at:
        return {}
    if ctx.registry is None or (info.mode == 2 and ctx.reputation is None):
        raise ValueError("the manifest lacks the registry or the reputation contract")
    citizens = [c for c, _b in at]
    snap, block = info.vote_start, ctx.anchor.number
    electorate = _electorate(ctx, info)
    if electorate is None:  # a registry without electorates
        calls = [eth_call(ctx.registry, call_data("isEligibleAt(address,uint48)", ["address", "uint48"],
                                                  [bytes.fromhex(c[2:]), snap]), b) for c, b in at]
    else:  # eligible and a member of the proposal's electorate at the snapshot
        calls = [eth_call(ctx.registry, call_data("isEligibleVoterAt(address,uint256,uint48)",
                                                  ["address", "uint256", "uint48"],
                                                  [bytes.fromhex(c[2:]), electorate, snap]), b) for c, b in at]
    if info.mode == 2:
        calls += [eth_call(ctx.reputation, call_data("getPastScore(address,bytes32,uint48)",
                                                     ["address", "bytes32", "uint48"],
                                                     [bytes.fromhex(c[2:]), word(info.area_id), snap]), block)
                  for c in citizens]
    results: list[Any] = []
    for start in range(0, len(calls), ctx.client.batch_size):
        results.extend(ctx.client.batch(calls[start : start + ctx.client.batch_size]))
    out = {}
    for i, c in enumerate(citizens):
        eligible = bool(decode_result(["bool"], results[i])[0])
        score = int(decode_result(["uint256"], results[len(citizens) + i])[0]) if info.mode == 2 else 1
        out[c] = score if eligible else 0
    return out
