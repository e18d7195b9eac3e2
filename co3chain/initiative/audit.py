"""``co3chain audit initiative ID``: recount a citizen initiative's supports from events alone and check its
versions, threshold, window and the proposal it became.

Inputs: the deployment manifest (addresses of CitizenInitiatives, CitizenRegistry, CO3Governance) and a
JSON-RPC node, which is not trusted: events are cross-checked against each other, against the contracts'
state and against the council's threshold events. Block seals are the job of ``co3chain audit chain``.

Checks (each failure is a finding with a stable ``kind``):

* ``missing-initiative``: not exactly one ``InitiativeDrafted`` for the id;
* ``version-mismatch``: versions are not 1..n once each, a version hash is not the hash of its own fields (or
  of its actions' event), a version was made after the opening, or the opening names another version;
* ``threshold-mismatch``: the opening's threshold is not the one the council's events put in force for the
  electorate at that block, or ``required`` is not what that threshold gives for the electorate size, or the
  size is not the registry's size of the electorate at the snapshot;
* ``window-mismatch``: the snapshot is not the second before the opening block, or the deadline is not the
  opening time plus the collection window in force;
* ``double-support``, ``support-outside-window``, ``ineligible-supporter`` (registry ``isEligibleVoterAt``
  at the snapshot), ``count-mismatch`` (running counts, or the contract's stored count, differ from the
  recount);
* ``qualification-mismatch``: the initiative qualified without the supports, or reached them within the
  window without qualifying, or supports were accepted after it qualified;
* ``proposal-mismatch``: the governance proposal does not exist, was not made by this contract, or differs
  from the initiative (area, electorate, mode, description, actions), or started before the qualifying block.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode as abi_decode

from co3chain.audit.events import PROPOSAL_CREATED, call_data, decode_result, eth_call, get_logs, topic, word
from co3chain.audit.manifest_refs import address_text, open_audit
from co3chain.audit.report import INFO, AuditReport
from co3chain.audit.rpc import RpcClient, RpcError, hex_int
from co3chain.errors import Co3Error
from co3chain.initiative.content import (
    actions_hash,
    content_hash,
    describe_electorate,
    proposal_description,
    required_supports,
)

DRAFTED = topic("InitiativeDrafted(uint256,address)")
VERSIONED = topic("InitiativeVersioned(uint256,uint16,bytes32,bytes32,uint256,uint256,uint8,uint64,bytes32,string)")
ACTIONS = topic("InitiativeActions(uint256,uint16,address[],uint256[],bytes[])")
OPENED = topic("InitiativeOpened(uint256,uint16,bytes32,uint48,uint64,uint256,uint8,uint64,uint32)")
SUPPORTED = topic("InitiativeSupported(uint256,address,uint32,bool)")
QUALIFIED = topic("InitiativeQualified(uint256,uint32)")
PROPOSED = topic("InitiativeProposed(uint256,uint256,uint64,uint64)")
PROPOSAL_FAILED = topic("InitiativeProposalFailed(uint256,bytes)")
DEFAULT_THRESHOLD = topic("DefaultThresholdSet(uint8,uint64,uint64)")
ELECTORATE_THRESHOLD = topic("ElectorateThresholdSet(uint256,uint8,uint64,uint64)")
ELECTORATE_CLEARED = topic("ElectorateThresholdCleared(uint256)")
PROPOSAL_ACTIONS = topic("ProposalActions(uint256,address[],uint256[],bytes[])")

KINDS = ("absolute", "percentage")
_INITIATIVE_TUPLE = ("(address,uint16,uint8,uint8,uint48,uint64,uint64,uint64,uint32,uint32,uint256,uint256,uint256,"
                     "bytes32,bytes32,bytes32,uint256)")


class InitiativeAuditError(Co3Error):
    """The initiative audit cannot run (manifest lacks a contract, wrong chain, unreachable node)."""


@dataclass
class Version:
    number: int
    version_hash: bytes
    text_hash: bytes
    area_id: int
    electorate: int
    mode: int
    voting_period: int
    actions_hash: bytes
    title: str
    block: int
    actions: tuple[list[str], list[int], list[bytes]] | None = None


@dataclass
class Opening:
    version: int
    version_hash: bytes
    snapshot: int
    deadline: int
    size: int
    kind: int
    value: int
    required: int
    block: int
    log_index: int


@dataclass
class Facts:
    author: str
    block: int
    versions: list[Version] = field(default_factory=list)



def audit_initiative(client: RpcClient, manifest: Mapping[str, Any], initiative_id: int) -> AuditReport:
    """Run every check on ``initiative_id``; ``report.passed`` is False on any mismatch."""
    report = AuditReport("initiative", {"initiativeId": initiative_id})
    scope = open_audit(client, manifest, report, "CitizenInitiatives", InitiativeAuditError,
                       ("CitizenRegistry", "CO3Governance"))
    ci, registry, gov = (scope.addresses[n] for n in ("CitizenInitiatives", "CitizenRegistry", "CO3Governance"))
    head, start = scope.head, scope.start
    iid = word(initiative_id)

    drafted = get_logs(client, ci, [DRAFTED, iid], start, head)
    if len(drafted) != 1:
        report.add("missing-initiative", f"expected one InitiativeDrafted for initiative {initiative_id}, the node "
                   f"returned {len(drafted)}")
        return report
    facts = Facts(address_text(drafted[0].topics[2]), drafted[0].block_number)
    report.subject["author"] = facts.author
    _read_versions(client, report, ci, iid, facts, head)
    if not facts.versions:
        return report
    last = facts.versions[-1]
    report.subject.update({"title": last.title, "electorate": describe_electorate(last.electorate),
                           "areaId": last.area_id, "versions": len(facts.versions),
                           "versionHash": "0x" + last.version_hash.hex()})

    opened = get_logs(client, ci, [OPENED, iid], facts.block, head)
    if not opened:
        report.add("not-opened", f"initiative {initiative_id} is still a draft (version {last.number})", severity=INFO)
        return report
    if len(opened) > 1:
        report.add("version-mismatch", f"initiative {initiative_id} was opened {len(opened)} times")
    opening = _opening(opened[0])
    late = [v.number for v in facts.versions if v.block > opening.block]
    if late or (opening.version, opening.version_hash) != (last.number, last.version_hash):
        report.add("version-mismatch", f"opened version {opening.version} (0x{opening.version_hash.hex()}); last "
                   f"version before opening is {last.number}" + (f"; versions {late} came after" if late else ""),
                   block=opening.block)
    times = _timestamps(client, [opening.block])
    _check_opening(client, report, ci, registry, last, opening, times[opening.block], start)

    supports = get_logs(client, ci, [SUPPORTED, iid], opening.block, head)
    qualified = get_logs(client, ci, [QUALIFIED, iid], opening.block, head)
    count, qualifying_block = _check_supports(client, report, registry, last, opening, supports)
    method, params = eth_call(ci, call_data("getInitiative(uint256)", ["uint256"], [initiative_id]), head)
    stored = decode_result([_INITIATIVE_TUPLE], client.call(method, *params))[0]
    if int(stored[8]) != count:
        report.add("count-mismatch", f"the contract stores {stored[8]} supports, the events give {count}")
    report.stats.update({"supports": count, "required": opening.required, "electorateSize": opening.size,
                         "threshold": {"kind": KINDS[opening.kind], "value": opening.value},
                         "snapshot": opening.snapshot, "deadline": opening.deadline})

    if qualifying_block is None:
        if qualified:
            report.add("qualification-mismatch", f"InitiativeQualified emitted with {count} of {opening.required} "
                       "supports", block=qualified[0].block_number)
        head_time = _timestamps(client, [head])[head]
        state = "expired: it can no longer go to vote" if head_time > opening.deadline else "still collecting"
        report.add("not-qualified", f"{count} of {opening.required} supports; {state}", severity=INFO)
        return report
    if len(qualified) != 1 or qualified[0].block_number != qualifying_block:
        report.add("qualification-mismatch", f"the threshold was reached in block {qualifying_block} but "
                   f"{len(qualified)} InitiativeQualified event(s) were emitted", block=qualifying_block)
    proposed = get_logs(client, ci, [PROPOSED, iid], qualifying_block, head)
    if not proposed:
        failed = get_logs(client, ci, [PROPOSAL_FAILED, iid], qualifying_block, head)
        report.add("not-proposed", f"qualified, but the governance refused the proposal {len(failed)} time(s); "
                   "anyone may retry submitToVote", severity=INFO)
        return report
    if len(proposed) > 1:
        report.add("proposal-mismatch", f"initiative {initiative_id} was proposed {len(proposed)} times")
    _check_proposal(client, report, ci, gov, initiative_id, last, proposed[0], qualifying_block, head)
    return report


def _read_versions(client: RpcClient, report: AuditReport, ci: bytes, iid: bytes, facts: Facts, head: int) -> None:
    logs = get_logs(client, ci, [VERSIONED, iid], facts.block, head)
    actions = {int.from_bytes(lg.topics[2], "big"): lg for lg in get_logs(client, ci, [ACTIONS, iid], facts.block, head)}
    for expected, lg in enumerate(logs, 1):
        number = int.from_bytes(lg.topics[2], "big")
        vh, text, area, electorate, mode, period, ah, title = abi_decode(
            ["bytes32", "bytes32", "uint256", "uint256", "uint8", "uint64", "bytes32", "string"], lg.data)
        v = Version(number, vh, text, area, electorate, mode, period, ah, title, lg.block_number)
        if number != expected:
            report.add("version-mismatch", f"version {number} where {expected} was expected", block=lg.block_number)
        if content_hash(text, title, area, electorate, mode, period, ah) != vh:
            report.add("version-mismatch", f"version {number}'s hash is not the hash of its fields",
                       block=lg.block_number)
        if number in actions:
            targets, values, calldatas = abi_decode(["address[]", "uint256[]", "bytes[]"], actions[number].data)
            v.actions = ([address_text(bytes.fromhex(t[2:])) for t in targets], list(values), list(calldatas))
            if actions_hash(list(targets), list(values), list(calldatas)) != ah:
                report.add("version-mismatch", f"version {number}'s actions do not hash to its actionsHash",
                           block=lg.block_number)
        elif ah != bytes(32):
            report.add("version-mismatch", f"version {number} has an actionsHash but no InitiativeActions event",
                       block=lg.block_number)
        facts.versions.append(v)
        report.checked.append({"version": number, "versionHash": "0x" + vh.hex(), "title": title,
                               "block": lg.block_number})
    if not logs:
        report.add("version-mismatch", "the initiative has no InitiativeVersioned event")


def _opening(lg: Any) -> Opening:
    version, vh, snapshot, deadline, size, kind, value, required = abi_decode(
        ["uint16", "bytes32", "uint48", "uint64", "uint256", "uint8", "uint64", "uint32"], lg.data)
    return Opening(version, vh, snapshot, deadline, size, kind, value, required, lg.block_number, lg.log_index)


def _threshold_in_force(client: RpcClient, ci: bytes, electorate: int, start: int,
                        at: tuple[int, int]) -> tuple[int, ...] | None:
    """(kind, value, window) the council's events put in force for ``electorate`` just before the log at
    ``at`` = (block, log index): the electorate's own threshold if its last event set one, else the default."""
    before = [lg for lg in get_logs(client, ci, [[ELECTORATE_THRESHOLD, ELECTORATE_CLEARED], word(electorate)],
                                    start, at[0]) if lg.key < at]
    if before and before[-1].topics[0] == ELECTORATE_THRESHOLD:
        return tuple(abi_decode(["uint8", "uint64", "uint64"], before[-1].data))
    default = [lg for lg in get_logs(client, ci, [DEFAULT_THRESHOLD], start, at[0]) if lg.key < at]
    return tuple(abi_decode(["uint8", "uint64", "uint64"], default[-1].data)) if default else None


def _check_opening(client: RpcClient, report: AuditReport, ci: bytes, registry: bytes, last: Version,
                   opening: Opening, opened_at: int, start: int) -> None:
    if opening.snapshot != opened_at - 1:
        report.add("window-mismatch", f"snapshot {opening.snapshot} is not the second before the opening block "
                   f"({opened_at})", block=opening.block)
    threshold = _threshold_in_force(client, ci, last.electorate, start, (opening.block, opening.log_index))
    if threshold is None:
        report.add("threshold-mismatch", "no threshold event before the opening", block=opening.block)
        return
    kind, value, window = (int(x) for x in threshold)
    if (opening.kind, opening.value) != (kind, value):
        report.add("threshold-mismatch", f"opened with {KINDS[opening.kind]} {opening.value}, the council's events "
                   f"put {KINDS[kind]} {value} in force for {describe_electorate(last.electorate)}",
                   block=opening.block)
    if opening.deadline != opened_at + window:
        report.add("window-mismatch", f"deadline {opening.deadline} is not the opening time {opened_at} + the "
                   f"collection window {window}", block=opening.block)
    size_call = call_data("getPastElectorateSize(uint256,uint48)", ["uint256", "uint48"],
                          [last.electorate, opening.snapshot])
    (size,) = decode_result(["uint256"], client.call("eth_call", {"to": "0x" + registry.hex(), "data": size_call},
                                                     hex(opening.block)))
    if size != opening.size:
        report.add("threshold-mismatch", f"the registry's electorate size at the snapshot is {size}, the opening "
                   f"says {opening.size}", block=opening.block)
    want = min(required_supports(opening.kind, opening.value, opening.size), 2**32 - 1)
    if opening.required != want:
        report.add("threshold-mismatch", f"required {opening.required} supports, {KINDS[opening.kind]} "
                   f"{opening.value} of {opening.size} gives {want}", block=opening.block)


def _check_supports(client: RpcClient, report: AuditReport, registry: bytes, last: Version, opening: Opening,
                    supports: list[Any]) -> tuple[int, int | None]:
    """Recount; returns (valid supports, block where the threshold was reached or None)."""
    times = _timestamps(client, sorted({s.block_number for s in supports}))
    eligible = client.batch([eth_call(registry, call_data(
        "isEligibleVoterAt(address,uint256,uint48)", ["address", "uint256", "uint48"],
        [s.topics[2][-20:], last.electorate, opening.snapshot]), s.block_number) for s in supports]) if supports else []
    seen: set[str] = set()
    count = 0
    reached: int | None = None
    for lg, ok in zip(supports, eligible, strict=True):
        who = address_text(lg.topics[2])
        running, by_sig = abi_decode(["uint32", "bool"], lg.data)
        where = lg.block_number
        row = {"supporter": who, "block": where, "bySignature": bool(by_sig)}
        report.checked.append(row)
        if who in seen:
            report.add("double-support", f"{who} supported twice", block=where)
            continue
        seen.add(who)
        if reached is not None:
            report.add("qualification-mismatch", f"{who}'s support was accepted after the initiative qualified",
                       block=where)
        if times[where] > opening.deadline:
            report.add("support-outside-window", f"{who} supported at {times[where]}, after the deadline "
                       f"{opening.deadline}", block=where)
        if not decode_result(["bool"], ok)[0]:
            report.add("ineligible-supporter", f"{who} was not an eligible citizen of "
                       f"{describe_electorate(last.electorate)} at the snapshot {opening.snapshot}", block=where)
        count += 1
        if running != count:
            report.add("count-mismatch", f"the event says support #{running}, the recount #{count}", block=where)
        if count == opening.required and times[where] <= opening.deadline:
            reached = where
    return count, reached


def _check_proposal(client: RpcClient, report: AuditReport, ci: bytes, gov: bytes, initiative_id: int, last: Version,
                    proposed: Any, qualifying_block: int, head: int) -> None:
    pid = int.from_bytes(proposed.topics[2], "big")
    vote_start, vote_end = abi_decode(["uint64", "uint64"], proposed.data)
    report.subject["proposalId"] = hex(pid)
    created = get_logs(client, gov, [PROPOSAL_CREATED, word(pid)], qualifying_block, head)
    if len(created) != 1:
        report.add("proposal-mismatch", f"the governance has {len(created)} ProposalCreated for 0x{pid:064x}")
        return
    lg = created[0]
    proposer, area = address_text(lg.topics[2]), int.from_bytes(lg.topics[3], "big")
    mode, commit_reveal, start, end, _reveal, _quorum, description = abi_decode(
        ["uint8", "bool", "uint64", "uint64", "uint64", "uint256", "string"], lg.data)
    want_description = proposal_description(initiative_id, last.number, last.text_hash, last.title)
    problems = []
    if proposer != address_text(ci):
        problems.append(f"proposer {proposer} is not the initiatives contract")
    if (area, mode, bool(commit_reveal)) != (last.area_id, last.mode, False):
        problems.append(f"area {area} mode {mode} differ from the initiative's area {last.area_id} mode {last.mode}")
    if description != want_description:
        problems.append(f"description {description!r} is not {want_description!r}")
    if (start, end) != (vote_start, vote_end):
        problems.append(f"window [{start}, {end}] differs from the initiative's event [{vote_start}, {vote_end}]")
    qualified_at = _timestamps(client, [qualifying_block])[qualifying_block]
    if start < qualified_at:
        problems.append(f"the vote starts at {start}, before the initiative qualified ({qualified_at})")
    electorate_call = call_data("proposalElectorate(uint256)", ["uint256"], [pid])
    try:
        (electorate,) = decode_result(["uint256"], client.call("eth_call", {"to": "0x" + gov.hex(),
                                                                           "data": electorate_call}, hex(head)))
    except RpcError as exc:
        problems.append(f"the governance does not tell the proposal's electorate ({exc})")
    else:
        if electorate != last.electorate:
            problems.append(f"the proposal's electorate {describe_electorate(electorate)} is not the initiative's "
                            f"{describe_electorate(last.electorate)}")
    gov_actions = get_logs(client, gov, [PROPOSAL_ACTIONS, word(pid)], lg.block_number, lg.block_number)
    if last.actions_hash == bytes(32):
        if gov_actions:
            problems.append("the proposal carries actions the initiative does not")
    elif len(gov_actions) != 1 or actions_hash(*[list(x) for x in abi_decode(
            ["address[]", "uint256[]", "bytes[]"], gov_actions[0].data)]) != last.actions_hash:
        problems.append("the proposal's actions differ from the initiative's")
    for p in problems:
        report.add("proposal-mismatch", p, block=lg.block_number)
    report.stats.update({"proposalId": hex(pid), "voteStart": start, "voteEnd": end})


def _timestamps(client: RpcClient, blocks: list[int]) -> dict[int, int]:
    raw = client.batch([("eth_getBlockByNumber", (hex(b), False)) for b in blocks]) if blocks else []
    out = {}
    for b, blk in zip(blocks, raw, strict=True):
        if not isinstance(blk, dict):
            raise RpcError(f"the node does not know block {b}")
        out[b] = hex_int(blk["timestamp"], "timestamp")
    return out


def plain_verdict(report: AuditReport, names: Mapping[str, str], tz: str) -> Any:
    """The plain-language verdict of an initiative audit (for :mod:`co3chain.audit.plain`)."""
    from co3chain.audit.plain import Verdict

    s, st = report.subject, report.stats
    title = s.get("title") or f"initiative {s.get('initiativeId')}"
    if "supports" in st:
        t = st["threshold"]
        rule = (f"{t['value']} supports" if t["kind"] == "absolute"
                else f"{t['value'] / 100:g} % of {st['electorateSize']} citizens")
        outcome = (f"‘{title}’ ({s.get('electorate')}): {st['supports']} of {st['required']} supports needed "
                   f"({rule})"
                   + (f"; went to vote as proposal {st['proposalId']}." if "proposalId" in st else "."))
    else:
        outcome = f"‘{title}’ has not been opened for supports."
    headline = ("Audit passed: every support was counted once, from eligible citizens, within the window, and the "
                "initiative went to vote exactly as drafted." if report.passed and "proposalId" in st else
                "Audit passed: the initiative's versions and supports are consistent." if report.passed
                else "Audit failed.")
    checked = ["each version's hash recomputed from its published fields",
               "the threshold and window against the council's threshold events",
               "every support event: one per citizen, eligible at the snapshot, within the window",
               "the governance proposal against the initiative (area, electorate, mode, text, actions)"]
    return Verdict(report.passed, headline, outcome, outcome_label="What the initiative's events say",
                   checked=checked)
