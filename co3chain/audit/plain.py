"""Plain-language verdicts: what a PA clerk reads, built from a finished :class:`AuditReport`.

Why a separate layer: the audits record precise, machine-stable findings (one per rule and block); a reader
needs something else: one sentence saying whether the audit passed, kept apart from the subject's own outcome
(a Defeated proposal whose count is correct is a *passed* audit), names instead of addresses, dates instead
of unix times, and the root cause first with its consequences under it, so that one edited block reads as
one problem and not as seven. For each problem the verdict says which value is authoritative and why.

Nothing here changes what passed: :attr:`AuditReport.passed` (any error finding) stays the only verdict;
this module words it.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from co3chain.audit.report import ERROR, INFO, AuditReport, Finding

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]


def human_time(ts: int | float | str | None, tz: str = "UTC") -> str:
    """``14 November 2023, 23:13:20 CET (UTC+01:00)`` from a unix time or an ISO string."""
    if ts is None or ts == "":
        return "—"
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    if isinstance(ts, str):
        try:
            when = _dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except ValueError:
            return ts
    else:
        when = _dt.datetime.fromtimestamp(int(ts), _dt.UTC)
    when = when.astimezone(zone)
    offset = when.strftime("%z")
    text = f"{when.day} {_MONTHS[when.month - 1]} {when.year}, {when:%H:%M:%S} {when.tzname()}"
    return text if when.tzname() == "UTC" else f"{text} (UTC{offset[:3]}:{offset[3:]})"


def name_addresses(text: str, names: Mapping[str, str]) -> str:
    """Put the manifest's name before every known address in ``text``."""
    if not names:
        return text

    def repl(m: re.Match[str]) -> str:
        name = names.get(m.group(0).lower())
        return f"{name} ({m.group(0)})" if name and f"{name} ({m.group(0)})" not in text else m.group(0)

    return re.sub(r"0x[0-9a-fA-F]{40}(?![0-9a-fA-F])", repl, text)


@dataclass
class Cause:
    """A problem as a reader sees it: what is wrong, which value is right and why, what follows from it."""

    title: str
    authoritative: str
    kind: str
    block: int | None = None
    consequences: list[str] = field(default_factory=list)
    findings: list[int] = field(default_factory=list)  # indexes into report.findings


@dataclass
class Verdict:
    passed: bool
    headline: str
    outcome: str | None = None
    #: what the outcome box is about (kept visibly apart from the audit's verdict)
    outcome_label: str = "What the audited subject says"
    checked: list[str] = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: titled lists for the terminal (who holds which power, rule changes)
    listings: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, camelCase like the rest of the report (``outcomeLabel``)."""
        out = asdict(self)
        out["outcomeLabel"] = out.pop("outcome_label")
        return out


# -- per-kind wording ------------------------------------------------------------------------------------------
_SEAL_KINDS = {"bad-seal", "non-validator-seal", "duplicate-seal", "insufficient-seals"}
_REPLAY_KINDS = {"state-root", "receipts-root", "logs-bloom", "gas-used"}
_BALLOT_KINDS = {"fabricated-log", "omitted-log", "altered-log", "double-vote", "wrong-voting-method", "vote-outside-window",
                 "reveal-without-commit", "ineligible-voter", "weight-mismatch", "delegation-mismatch"}
_RESULT_KINDS = {"tally-mismatch", "outcome-mismatch", "quorum-mismatch"}

_SEALS_RIGHT = ("the validator set recomputed from the genesis file and the votes in earlier blocks, and the "
                "signatures the auditor checked itself")
_REPLAY_RIGHT = ("the auditor's re-execution: it starts from the genesis file and runs the transactions the "
                 "validators sealed, so it depends on neither the node nor the validators' word")
_SEALED_RIGHT = ("what the validators sealed in the block: the auditor's re-execution hashes to the sealed root, "
                 "the node's answer does not")
_BALLOTS_RIGHT = ("the result recomputed from the ballots, each checked against the sealed blocks, with each "
                  "voter's weight read at the snapshot")

#: kind → (title template, authoritative). Templates see {block}, {message} and the finding's details.
WORDING: dict[str, tuple[str, str]] = {
    "hash-mismatch": ("Block {block} was changed after the validators sealed it: its contents no longer give the "
                      "hash the validators signed", "the validators' signatures and the next block's link, both made "
                      "over the original block"),
    "parent-link": ("Block {block} does not link to the block before it", "the hash the auditor recomputes from the "
                    "previous block's contents"),
    "gap": ("The node skips blocks before block {block}", "the block numbers must follow each other"),
    "missing-block": ("The node does not hand out block {block}", "a complete chain: every block must be served"),
    "wrong-block": ("The node answers with another block when asked for block {block}", "the block number asked for"),
    "malformed-header": ("The node serves block {block} in a malformed way", "the standard block format"),
    "timestamp": ("Block {block} is dated too soon after the previous one", "the block period in the genesis file"),
    "future-timestamp": ("Block {block} is dated in the future", "the auditor's clock"),
    "header-constant": ("Block {block} does not follow the fixed QBFT block format", "the QBFT protocol constants"),
    "extradata": ("Block {block} does not carry the validator data QBFT requires", "the QBFT block format"),
    "validator-set": ("Block {block} lists validators that were not voted in", _SEALS_RIGHT),
    "proposer-not-validator": ("Block {block} was proposed by an account that is not a validator", _SEALS_RIGHT),
    "wrong-proposer": ("Block {block} was proposed by a validator whose turn it was not", _SEALS_RIGHT),
    "bad-seal": ("Block {block} lacks the signatures of enough validators in office", _SEALS_RIGHT),
    "non-validator-seal": ("Block {block} lacks the signatures of enough validators in office", _SEALS_RIGHT),
    "duplicate-seal": ("Block {block} lacks the signatures of enough validators in office", _SEALS_RIGHT),
    "insufficient-seals": ("Block {block} lacks the signatures of enough validators in office", _SEALS_RIGHT),
    "genesis-mismatch": ("The chain does not start from the genesis file you hold: {field} differs",
                         "the genesis file: you hold it and trust it, and block 0 must be built from it"),
    "genesis-chain-id": ("The node runs another network (chain id {actual}) than the genesis file describes "
                         "(chain id {expected})", "the genesis file you hold"),
    "state-root": ("Block {block} records a state its transactions do not produce: the validators sealed balances "
                   "or contract data that no transaction created", _REPLAY_RIGHT),
    "receipts-root": ("Block {block} records transaction results (receipts and their events) that its transactions "
                      "do not produce", _REPLAY_RIGHT),
    "logs-bloom": ("Block {block} records an event index that its transactions do not produce", _REPLAY_RIGHT),
    "gas-used": ("Block {block} records a gas total that its transactions do not use", _REPLAY_RIGHT),
    "transactions-root": ("The node serves transactions for block {block} that are not the ones the validators "
                          "sealed", "the block's sealed transactions root"),
    "invalid-transaction": ("Block {block} contains a transaction that cannot run on the state the genesis file and "
                            "earlier blocks give", _REPLAY_RIGHT),
    "replay-transactions": ("The node's transactions for block {block} cannot be read back", "the sealed block"),
    "replay-chain-id": ("Block {block} contains a transaction signed for another network", "the genesis file"),
    "served-receipts": ("The node hands out altered transaction receipts", _SEALED_RIGHT),
    "served-state": ("The node reports altered account balances or data", _SEALED_RIGHT.replace(
        "hashes to the sealed root", "gives the sealed state root")),
    "outcome-mismatch": ("The contract publishes the result as {declared}, but the ballots on the chain give "
                         "{recomputed}", _BALLOTS_RIGHT),
    "tally-mismatch": ("The published vote counts differ from what the ballots on the chain give", _BALLOTS_RIGHT),
    "quorum-mismatch": ("The published quorum differs from the quorum in force when the vote opened", _BALLOTS_RIGHT),
    "storage-mismatch": ("The node's answers about the proposal differ from the state the validators sealed",
                         "the sealed state, proven by a Merkle proof against a sealed block"),
    "proof-invalid": ("The node's proof of the stored result does not verify", "the sealed state root"),
    "fabricated-log": ("The node shows a ballot in block {block} that the block does not contain",
                       "the block's sealed hash and event index"),
    "omitted-log": ("The node hid a ballot in block {block}; the block's sealed receipts contain it, so it is counted",
                    "the block's sealed receipts root"),
    "altered-log": ("The node altered a ballot in block {block}; the block's sealed receipts hold the original, "
                    "which is counted", "the block's sealed receipts root"),
    "double-vote": ("A voter voted twice (block {block}); only the first ballot counts", "the voting rules"),
    "wrong-voting-method": ("A ballot in block {block} uses a voting method this proposal does not allow",
                            "the proposal's rules as created"),
    "vote-outside-window": ("A ballot in block {block} was cast outside the voting period", "the proposal's dates"),
    "reveal-without-commit": ("A ballot was revealed in block {block} without having been committed",
                              "the commit–reveal rules"),
    "ineligible-voter": ("A voter in block {block} had no right to vote at the snapshot", _BALLOTS_RIGHT),
    "weight-mismatch": ("A ballot in block {block} counts a weight the voter did not have at the snapshot",
                        _BALLOTS_RIGHT),
    "delegation-mismatch": ("A voter's weight disagrees with the token's delegation history", _BALLOTS_RIGHT),
    "missing-proposal": ("The proposal does not exist on the chain (or the node hides it)", "the governance events"),
    "header-link": ("The blocks the node serves do not lead to a sealed block", "the sealed block hashes"),
    "source-hash": ("The source files differ from the ones recorded at deployment", "the deployment manifest's "
                    "source hashes"),
    "source-missing": ("A source file recorded at deployment is missing", "the deployment manifest"),
    "bytecode-mismatch": ("A contract's code is not the code compiled from the published sources",
                          "the code compiled again by the auditor from the published sources"),
    "metadata-mismatch": ("A contract was compiled from sources that differ from the published ones (same logic, "
                          "different text)", "the code compiled again by the auditor"),
    "creation-code-mismatch": ("A contract was created with code that differs from the published sources",
                               "the code compiled again by the auditor"),
    "code-proof": ("The node serves contract code that is not the code sealed in the chain's state",
                   "the sealed state, proven by a Merkle proof"),
    "no-code": ("A contract listed in the manifest has no code on the chain", "the chain's state"),
    "chain-id": ("The deployment manifest is for another network", "the node's chain id"),
    "role-events": ("The node hides or invents role changes: a contract's state contradicts its events",
                    "the contract's own state (hasRole) at the audited block"),
}


def _title(f: Finding, names: Mapping[str, str]) -> str:
    template, _ = WORDING.get(f.kind, ("{message}", ""))
    values = {"block": f.block, "message": f.message, **{k: v for k, v in f.details.items()}}
    try:
        text = template.format_map(_Missing(values))
    except (ValueError, IndexError):
        text = f.message
    return name_addresses(text, names)


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _authority(f: Finding) -> str:
    return WORDING.get(f.kind, ("", ""))[1] or str(f.details.get("authoritative") or "the auditor's own recomputation")


def _detail_line(f: Finding, names: Mapping[str, str]) -> str:
    where = f"block {f.block}: " if f.block is not None else ""
    return name_addresses(where + f.message, names)


# -- grouping --------------------------------------------------------------------------------------------------
def group_causes(report: AuditReport, names: Mapping[str, str] | None = None) -> list[Cause]:
    """Root causes (first) with their consequences, from the error findings of ``report``."""
    names = names or {}
    errors = [(i, f) for i, f in enumerate(report.findings) if f.severity == ERROR]
    causes: list[Cause] = []
    used: set[int] = set()

    def new(i: int, f: Finding) -> Cause:
        c = Cause(_title(f, names), _authority(f), f.kind, f.block, findings=[i])
        causes.append(c)
        used.add(i)
        return c

    def attach(c: Cause, i: int, f: Finding, line: str | None = None) -> None:
        c.findings.append(i)
        c.consequences.append(line or _detail_line(f, names))
        used.add(i)

    # 1. the genesis: everything the replay found follows from another starting point
    genesis = [(i, f) for i, f in errors if f.kind in {"genesis-mismatch", "genesis-chain-id"}]
    if genesis:
        c = new(*genesis[0])
        for i, f in genesis[1:]:
            attach(c, i, f)
        for i, f in errors:
            if i not in used and f.kind in _REPLAY_KINDS | {"invalid-transaction", "served-receipts", "served-state"}:
                attach(c, i, f, f"block {f.block}: the re-execution from your genesis file differs ({f.kind})")
    # 2. an edited block: its seals and the next block's link fail because of the edit
    for i, f in errors:
        if i in used or f.kind != "hash-mismatch":
            continue
        c = new(i, f)
        for j, g in errors:
            if j in used:
                continue
            if g.block == f.block and g.kind in _SEAL_KINDS | {"wrong-proposer"}:
                effect = {"non-validator-seal": "so each one now appears to come from an unknown account",
                          "insufficient-seals": "so the block appears to lack a quorum of signatures",
                          "wrong-proposer": "so its proposer appears out of turn"}.get(g.kind, "")
                attach(c, j, g, f"block {g.block}: the validators' signatures no longer match the edited contents, "
                                f"{effect or 'so they no longer verify'} ({g.kind})")
            elif g.kind == "parent-link" and f.block is not None and g.block == f.block + 1:
                attach(c, j, g, f"block {g.block} still links to the original block {f.block}")
    # 3. the first block whose execution differs; later blocks were grouped by the replay itself
    for i, f in errors:
        if i in used or f.kind not in _REPLAY_KINDS:
            continue
        c = new(i, f)
        c.consequences.append(_detail_line(f, names))
        for j, g in errors:
            if j not in used and g.kind in _REPLAY_KINDS and g.block == f.block:
                attach(c, j, g)
        for g in report.findings:
            if g.kind == "replay-consequence" and g.details.get("consequenceOf") == f.block:
                c.consequences.append(g.message)
    # 4. one cause per block for seal problems; one cause for each kind of altered answer
    for i, f in errors:
        if i in used:
            continue
        if f.kind in _SEAL_KINDS:
            c = new(i, f)
            for j, g in errors:
                if j not in used and g.kind in _SEAL_KINDS and g.block == f.block:
                    attach(c, j, g)
            c.consequences.insert(0, _detail_line(f, names))
        elif f.kind in {"served-receipts", "served-state"}:
            c = new(i, f)
            c.consequences.append(_detail_line(f, names))
            for j, g in errors:
                if j not in used and g.kind == f.kind:
                    attach(c, j, g)
    # 5. powers: one cause per account holding critical powers
    holders: dict[str, Cause] = {}
    for i, f in errors:
        if i in used or f.kind != "eoa-power":
            continue
        holder = str(f.details.get("holder"))
        label = f.details.get("holderName")
        who = f"{label} ({holder})" if label else holder
        if holder not in holders:
            holders[holder] = Cause(
                f"One person's account, {who}, holds powers no single key may hold", "the contracts' own role events, "
                "confirmed by hasRole; the chain shows no contract code at this address, so one private key controls "
                "it", "eoa-power", None)
            causes.append(holders[holder])
        c = holders[holder]
        c.findings.append(i)
        c.consequences.append(f"{_role_words(str(f.details.get('role')))} on {f.details.get('contract')} "
                              f"(granted in block {f.block})")
        used.add(i)
    # 6. a contract whose code the node misreports: its other findings follow from that
    for i, f in errors:
        if i in used or f.kind != "code-proof":
            continue
        c = new(i, f)
        contract = f.message.split(":")[0]
        for j, g in errors:
            if j not in used and g.message.split(":")[0] == contract:
                attach(c, j, g)
    # 7. proposals: ballots first, then the node vs the sealed state, then the published result
    first_root = next((c for c in causes if c.kind in _BALLOT_KINDS | {"storage-mismatch", "proof-invalid"}), None)
    for i, f in errors:
        if i in used or f.kind not in _BALLOT_KINDS:
            continue
        c = new(i, f)
        first_root = first_root or c
    for i, f in errors:
        if i in used or f.kind not in {"storage-mismatch", "proof-invalid"}:
            continue
        if first_root is None:
            first_root = new(i, f)
        else:
            attach(first_root, i, f)
    for i, f in errors:
        if i in used or f.kind not in _RESULT_KINDS:
            continue
        if first_root is None:
            first_root = new(i, f)
        else:
            attach(first_root, i, f, _title(f, names))
    # 8. everything else: one cause each
    for i, f in errors:
        if i not in used:
            c = new(i, f)
            c.consequences.append(_detail_line(f, names))
    return causes


def _role_words(role: str) -> str:
    return {"DEFAULT_ADMIN_ROLE": "full admin power (can grant any role, including minting)",
            "MINTER_ROLE": "the power to mint commons tokens",
            "REWARDER_ROLE": "the power to award reputation",
            "RECOVERY_ROLE": "the power to move a citizen's identity, tokens and reputation to a new key",
            "owner": "ownership (full control)"}.get(role, role)


# -- verdicts per audit ----------------------------------------------------------------------------------------
def build_verdict(report: AuditReport, names: Mapping[str, str] | None = None, tz: str = "UTC") -> Verdict:
    """The plain-language verdict of ``report`` (names: lower-case address → name)."""
    names = {k.lower(): v for k, v in (names or report.names or {}).items()}
    builder: Callable[..., Verdict] = {"proposal": _proposal_verdict, "chain": _chain_verdict,
                                         "ballot": _ballot_verdict, "budget": _budget_verdict,
                                         "recovery": _recovery_verdict,
                                         "initiative": _initiative_verdict}.get(
        report.audit, _contracts_verdict)
    verdict = builder(report, names, tz)
    verdict.causes = group_causes(report, names)
    for c in verdict.causes:
        c.consequences = _merge_repeats(c.consequences)
    if not report.passed and verdict.causes and verdict.headline == "Audit failed.":
        first = verdict.causes[0].title
        verdict.headline = f"Audit failed: {first[:1].lower() + first[1:]}."
    verdict.notes = [name_addresses(_note(f), names) for f in report.findings
                     if f.severity != ERROR and f.kind not in {"replay-consequence"}]
    if not report.passed:
        more = len(verdict.causes) - 1
        if more > 0:
            verdict.headline += f" ({more} further problem{'s' if more > 1 else ''} below.)"
    return verdict


def _initiative_verdict(report: AuditReport, names: Mapping[str, str], tz: str) -> Verdict:
    from co3chain.initiative.audit import plain_verdict  # the initiative package owns its wording

    return plain_verdict(report, names, tz)


def _short_names(text: str) -> str:
    """``deployer (0xa3a2…)`` → ``deployer`` in terminal listings (the JSON and HTML keep the addresses)."""
    return re.sub(r"([A-Za-z][\w.-]*) \(0x[0-9a-fA-F]{40}\)", r"\1", text)


def _merge_repeats(lines: list[str]) -> list[str]:
    """Identical consequence lines once, with a count (four forged seals read as one line)."""
    counts: dict[str, int] = {}
    for line in lines:
        counts[line] = counts.get(line, 0) + 1
    return [line if n == 1 else f"{line} (×{n})" for line, n in counts.items()]


def _note(f: Finding) -> str:
    where = f" (block {f.block})" if f.block is not None else ""
    prefix = "Note" if f.severity == INFO else "Warning"
    return f"{prefix}{where}: {f.message}"


def _quote(text: str) -> str:
    return "‘" + text.strip().replace("\n", " ")[:200] + "’"


def _proposal_verdict(report: AuditReport, names: Mapping[str, str], tz: str) -> Verdict:
    s, st = report.subject, report.stats
    desc = _quote(str(s.get("description") or s.get("proposalId", "?")))
    tally = st.get("tally") or {}
    counted = sum(1 for c in report.checked if c.get("support") not in (None, "unrevealed"))
    unrevealed = sum(1 for c in report.checked if c.get("support") == "unrevealed")
    declared, recomputed = st.get("declaredState"), st.get("recomputedState")
    quorum = st.get("quorum")
    yes, no, abstain = int(tally.get("for", 0)), int(tally.get("against", 0)), int(tally.get("abstain", 0))
    reached = quorum is not None and yes + abstain >= int(quorum)
    q_text = "no quorum yet (the vote has not started)" if quorum is None else (
        f"quorum {quorum} {'reached' if reached else 'not reached'}")
    result = f"{declared}, {yes} for, {no} against" + (f", {abstain} abstaining" if abstain else "") + f", {q_text}"
    ballots = f"{counted} ballot{'s' if counted != 1 else ''}"
    outcome = (f"Result published by the contract: {result}. Ballots counted: {counted}"
               + (f" ({unrevealed} commitment{'s' if unrevealed != 1 else ''} never revealed, not counted)"
                  if unrevealed else "")
               + f". Voting from {human_time(s.get('voteStart'), tz)} to {human_time(s.get('voteEnd'), tz)}.")
    checked = [f"every ballot event of the proposal, checked against the sealed blocks ({st.get('headersChecked', 0)} "
               "blocks)", "each voter's right to vote and weight at the snapshot",
               "the quorum in force when the vote opened", "the published counts and result",
               "the stored counts, proven against the state the validators sealed"
               if "provenTally" in st else "storage proofs were not requested"]
    if report.passed:
        if declared in {"Pending", "Active", "Revealing"}:
            headline = (f"Audit passed: the vote on proposal {desc} is still open ({declared}); the {ballots} cast so far "
                        "are counted exactly as the contract shows.")
        else:
            headline = (f"Audit passed: the published result of proposal {desc} — {result} — is exactly what the "
                        f"{ballots} on the chain give.")
    else:
        if declared and recomputed and declared != recomputed:
            headline = (f"Audit failed: proposal {desc} is published as {declared}, but the {ballots} on the chain "
                        f"give {recomputed}.")
        else:
            headline = f"Audit failed: the published result of proposal {desc} cannot be confirmed from the chain."
    return Verdict(report.passed, headline, outcome, outcome_label="The vote's own result", checked=checked)


def _chain_verdict(report: AuditReport, names: Mapping[str, str], tz: str) -> Verdict:
    s, st = report.subject, report.stats
    last, n = s.get("toBlock"), st.get("blocksVerified", 0)
    start = "the genesis" if s.get("anchorBlock", 0) == 0 else f"epoch block {s.get('anchorBlock')}"
    replayed = st.get("replayedBlocks") is not None
    checked = ["block 0 rebuilt from your genesis file (accounts, validators, chain id)",
               f"{n} blocks: links, dates, format, proposer and validator signatures"]
    if replayed:
        checked.append(f"{st.get('replayedTransactions', 0)} transactions re-executed from the genesis file; state, "
                       "receipts, event index and gas of every block compared")
        if st.get("servedReceiptsChecked") is not None:
            checked.append(f"the node's receipts ({st.get('servedReceiptsChecked')}) and account state "
                           f"({st.get('servedAccountsChecked', 0)} accounts) compared with the re-execution")
    dated = f" ({human_time(st['lastBlockTimestamp'], tz)})" if st.get("lastBlockTimestamp") else ""
    if report.passed:
        headline = (f"Audit passed: all {n} blocks from {start} to block {last}{dated} are correctly linked and sealed "
                    "by the validators in office, starting from the genesis file you hold")
        headline += (f", and re-executing them ({st.get('replayedTransactions', 0)} transactions) gives exactly the "
                     "recorded state and receipts." if replayed else ".")
    else:
        headline = "Audit failed."
    outcome = (f"Chain checked up to block {last}{dated}; {len(st.get('finalValidators') or [])} validators in office "
               "at the end.")
    return Verdict(report.passed, headline, outcome, outcome_label="The chain as served", checked=checked)


def _ballot_verdict(report: AuditReport, names: Mapping[str, str], tz: str) -> Verdict:
    """A secret election: the count is only as good as every proof behind it, so the headline says all of them."""
    st, eid = report.stats, report.subject.get("electionId")
    headline = (f"Audit passed: secret election {eid} was counted correctly — every one of its "
                f"{st.get('ballotsVerified', 0)} ballots, the encrypted sum and every trustee's decryption check out."
                if report.passed else "Audit failed.")
    counts = st.get("counts")
    outcome = (f"Votes per option: {', '.join(f'option {i}: {c}' for i, c in enumerate(counts))} "
               f"({st.get('voters', 0)} voters; only the last ballot of each voter counts).") if counts is not None else None
    return Verdict(report.passed, headline, outcome, outcome_label="What the election's count says",
                   checked=[c["check"] for c in report.checked])


def _budget_verdict(report: AuditReport, names: Mapping[str, str], tz: str) -> Verdict:
    """A participatory-budget round: ballots recounted, the published rule re-applied, payments followed."""
    st = report.stats
    rid = report.subject.get("roundId", "?")
    ballots = st.get("ballots", 0)
    checked = [f"each of the {ballots} ballot(s): signed by a citizen eligible at the round's snapshot, once",
               "the approvals per project, recounted from the ballots and compared with the contract's",
               "the outcome, computed again with the published rule (most approvals first, funded while the "
               "budget lasts)"]
    if "paid" in st:
        checked.append("every project's state and every tranche the treasury paid, from the events")
    funded = st.get("recordedFunded")
    if not report.passed:
        headline = "Audit failed."
    elif funded is None:
        headline = (f"Audit passed: the {ballots} ballot(s) of budget round {rid} so far are valid and counted "
                    "correctly; the round has no final outcome yet.")
    else:
        headline = (f"Audit passed: budget round {rid} was decided by its {ballots} ballot(s) exactly as the "
                    "published rule says, and the treasury paid only what that decision allows.")
    outcome = None
    if funded is not None:
        projects = ", ".join(f"#{i}" for i in funded) or "none"
        outcome = f"Funded projects: {projects}; allocated {st.get('recordedSpent', '0')} (token base units)."
    elif "expectedFunded" in st:
        outcome = (f"If voting ended now: projects {', '.join(f'#{i}' for i in st['expectedFunded']) or 'none'} "
                   f"would be funded ({st.get('expectedSpent', '0')} base units).")
    return Verdict(report.passed, headline, outcome, outcome_label="What the round decided", checked=checked)


def _recovery_verdict(report: AuditReport, names: Mapping[str, str], tz: str) -> Verdict:
    """Lost-key recoveries: what moved, from whom to whom, and that each move matches the events."""
    st = report.stats
    n, done, cancelled, pending = (int(st.get(k, 0)) for k in ("recoveries", "finalized", "cancelled", "pending"))
    headline = (f"Audit passed: {n} key recover{'y' if n == 1 else 'ies'} checked — each of the {done} completed "
                "moved exactly the old key's balance, identity and reputation, never before its waiting period."
                if report.passed else "Audit failed.")
    outcome = f"{done} completed, {cancelled} cancelled, {pending} waiting (they can still be cancelled)."
    verdict = Verdict(report.passed, headline, outcome, outcome_label="Key recoveries",
                      checked=["every recovery request, cancel and completion, from the KeyRecovery contract's events",
                               "each completion against the registry, token and reputation events of its transaction",
                               "each moved balance against the old key's whole transfer history",
                               "that no completion came before its waiting period ended or after a cancel"])
    verdict.listings["Recoveries"] = [
        name_addresses(f"recovery {c['recoveryId']}: {c['oldAccount']} → {c['newAccount']} by registrar "
                       f"{c['registrar']}: {c['outcome']}"
                       + (f" ({c['tokens']} tokens moved)" if c.get("tokens") is not None else "")
                       + (f" by {c['canceller']}" if c.get("canceller") else ""), names)
        for c in report.checked]
    return verdict


def _contracts_verdict(report: AuditReport, names: Mapping[str, str], tz: str) -> Verdict:
    st = report.stats
    parts, checked = [], []
    if "fullMatches" in st:
        parts.append(f"the {st['contracts']} contracts run exactly the published source code")
        checked.append("each contract's code compiled again from the recorded sources and compared byte for byte")
    if "powers" in st:
        parts.append("no single person's account holds admin, minting or reward powers")
        checked.append(f"who holds each of {len(st['powers'])} roles, from the contracts' own events")
        checked.append(f"{len(st.get('parameterChanges') or [])} rule changes and the decision behind each")
    headline = ("Audit passed: " + " and ".join(parts) + ".") if report.passed else "Audit failed."
    by_holder: dict[str, list[str]] = {}
    for p in st.get("powers") or []:
        if p.get("role") in {"DEFAULT_ADMIN_ROLE", "MINTER_ROLE", "REWARDER_ROLE", "RECOVERY_ROLE", "owner"}:
            who = f"{p.get('holderName') or p['holder']} ({'a contract' if p['holderKind'] == 'contract' else 'a personal account'})"
            short = {"DEFAULT_ADMIN_ROLE": "admin", "MINTER_ROLE": "minter", "REWARDER_ROLE": "rewarder",
                     "RECOVERY_ROLE": "key-recovery mover"}.get(
                p["role"], p["role"])
            by_holder.setdefault(who, []).append(f"{short} of {p['contract']}")
    outcome = ("Admin, minting and reward powers: " + "; ".join(f"{who}: {', '.join(what)}"
                                                               for who, what in by_holder.items()) + ".") if by_holder else None
    verdict = Verdict(report.passed, headline, outcome, outcome_label="Who holds the critical powers", checked=checked)
    if "powers" in st:
        verdict.listings["Who holds which power"] = [
            f"{p['contract']} {p['role']} → {p.get('holderName') or p['holder']} ({p['holderKind']}, since block "
            f"{p['grantedBlock']})" for p in st["powers"]]
        verdict.listings["Rule changes and the decision behind each"] = [
            f"block {c['block']}: {c['contract']} {c['event']} "
            + ", ".join(f"{k}={v}" for k, v in c["args"].items()) + f" — {_decision_words(c['authorisedBy'])}"
            for c in st.get("parameterChanges") or []]
    return verdict


# -- terminal --------------------------------------------------------------------------------------------------
def render_text(verdict: Verdict) -> str:
    """The verdict for a terminal: headline, outcome, problems (root cause first), notes."""
    lines = [verdict.headline]
    if verdict.outcome:
        lines.append(verdict.outcome)
    if verdict.causes:
        lines.append("Problems found (root cause first):")
        for n, c in enumerate(verdict.causes, 1):
            lines.append(f"  {n}. {c.title}.")
            lines.append(f"     Which value is right: {c.authoritative}.")
            for line in c.consequences[:10]:
                lines.append(f"     - {line}")
            if len(c.consequences) > 10:
                lines.append(f"     - … and {len(c.consequences) - 10} more (see the JSON report)")
    for note in verdict.notes[:10]:
        lines.append(note)
    for title, items in verdict.listings.items():
        if items:
            lines.append(f"{title}:")
            lines.extend(f"  {_short_names(item)}" for item in items[:50])
            if len(items) > 50:
                lines.append(f"  … and {len(items) - 50} more (see the JSON or HTML report)")
    return "\n".join(lines)


# -- HTML ------------------------------------------------------------------------------------------------------
#: Keys whose values are unix times (shown as dates).
TIME_KEYS = {"voteStart", "voteEnd", "revealEnd", "anchorTimestamp", "deployedAt", "createdAt", "timestamp",
             "lastBlockTimestamp"}
LABELS = {
    "proposalId": "Proposal id", "proposalIdHex": "Proposal id (hex)", "anchorBlock": "Audited as of block",
    "anchorTimestamp": "Date of that block", "anchorSealed": "That block's signatures verified",
    "voteStart": "Voting opens", "voteEnd": "Voting closes", "revealEnd": "Reveal period ends",
    "commitReveal": "Secret ballot (commit–reveal)", "areaId": "Commoning area", "mode": "Counting mode",
    "createdBlock": "Created in block", "declaredState": "Result published by the contract",
    "recomputedState": "Result recomputed by the audit", "provenTally": "Stored counts (proven)",
    "headersChecked": "Blocks checked", "rpcRequests": "Requests to the node", "blocksVerified": "Blocks verified",
    "sealsVerified": "Validator signatures verified", "replayedBlocks": "Blocks re-executed",
    "replayedTransactions": "Transactions re-executed", "replayBlocksPerSecond": "Re-execution speed (blocks/s)",
    "genesisMatches": "Block 0 matches your genesis file", "genesisHashExpected": "Genesis hash from your file",
    "genesisHashNode": "Genesis hash served by the node", "fullMatches": "Contracts matching their sources",
    "eoaPowers": "Critical powers held by personal accounts", "toBlock": "Last block", "fromBlock": "First block",
    "nodeHead": "Node's latest block", "chainId": "Chain id", "quorum": "Quorum", "tally": "Counts",
    "votes": "Ballots", "description": "Question",
}

_CSS = """
body{font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:960px;color:#1d1d1d;
padding:0 1em} h1{font-size:1.5em;margin:.2em 0} h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd}
.verdict{border-left:8px solid;padding:.8em 1em;font-size:1.15em;margin:1em 0;background:#fafafa}
.verdict.pass{border-color:#2e7d32} .verdict.fail{border-color:#c62828}
.badge{display:inline-block;padding:.1em .6em;border-radius:4px;color:#fff;font-weight:600;font-size:.85em}
.badge.pass{background:#2e7d32} .badge.fail{background:#c62828}
.outcome{border:1px solid #90a4ae;background:#eceff1;padding:.6em 1em;border-radius:4px}
.outcome b{color:#37474f} ol.causes>li{margin-bottom:1em} .right{color:#1b5e20}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:14px}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top} th{background:#f5f5f5}
td.k{white-space:nowrap;font-weight:600} code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;
word-break:break-all} tr.error td{background:#fdecea} tr.warning td{background:#fff8e1} tr.info td{background:#f1f8e9}
.muted{color:#666;font-size:.9em} details{margin:.6em 0} summary{cursor:pointer;font-weight:600}
"""


def _label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).split()
    return " ".join([words[0].capitalize(), *[w.lower() for w in words[1:]]]) if words else key


def _value_html(key: str, value: Any, tz: str, names: Mapping[str, str]) -> str:
    import html as _html
    import json as _json

    if key in TIME_KEYS and isinstance(value, int | str) and str(value).strip():
        return _html.escape(human_time(value, tz))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return f"<code>{_html.escape(name_addresses(_json.dumps(value, sort_keys=True, default=str), names))}</code>"
    return f"<span class='mono'>{_html.escape(name_addresses(str(value), names))}</span>"


def _table(data: Mapping[str, Any], tz: str, names: Mapping[str, str]) -> str:
    import html as _html

    rows = "".join(f"<tr><td class='k'>{_html.escape(_label(k))}</td><td>{_value_html(k, v, tz, names)}</td></tr>"
                   for k, v in data.items() if k not in {"powers", "parameterChanges"})
    return f"<table>{rows}</table>" if rows else "<p class='muted'>none</p>"


_TITLES = {"proposal": "Audit of a proposal's result", "chain": "Audit of the chain",
           "contracts": "Audit of the contracts and their powers", "powers": "Audit of who holds power",
           "ballot": "Audit of a secret election", "budget": "Audit of a participatory-budget round",
           "recovery": "Audit of lost-key recoveries"}


def render_html(report: AuditReport, verdict: Verdict | None = None, tz: str | None = None,
                max_rows: int = 2000) -> str:
    """A standalone page (inline CSS, no scripts, no external resources): verdict first, details folded."""
    import html as _html

    tz = tz or report.timezone
    names = {k.lower(): v for k, v in (report.names or {}).items()}
    verdict = verdict or build_verdict(report, names, tz)
    esc = _html.escape
    cls = "pass" if verdict.passed else "fail"
    word = "Audit passed" if verdict.passed else "Audit failed"
    p = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>co3chain: {esc(word)}</title>"
         f"<style>{_CSS}</style></head><body>",
         f"<h1>{esc(_TITLES.get(report.audit, 'Audit'))} <span class='badge {cls}'>{esc(word)}</span></h1>",
         f"<p class='muted'>Report made {esc(human_time(report.created_at, tz))} by co3chain audit, which trusts only "
         "the genesis file and the published sources, not the node it reads from.</p>",
         f"<div class='verdict {cls}' id='verdict'>{esc(verdict.headline)}</div>"]
    if verdict.outcome:
        p.append(f"<div class='outcome' id='outcome'><b>{esc(verdict.outcome_label)}</b> (this is not the audit's "
                 f"verdict): {esc(verdict.outcome)}</div>")
    if verdict.checked:
        p.append("<h2>What was checked</h2><ul>" + "".join(f"<li>{esc(c)}</li>" for c in verdict.checked) + "</ul>")
    if verdict.causes:
        p.append("<h2>Problems found, root cause first</h2><ol class='causes'>")
        for c in verdict.causes:
            where = f" <span class='muted'>(block {c.block})</span>" if c.block is not None else ""
            p.append(f"<li><b>{esc(c.title)}</b>{where}<br><span class='right'>Which value is right: "
                     f"{esc(c.authoritative)}.</span>")
            if c.consequences:
                items = "".join(f"<li>{esc(x)}</li>" for x in c.consequences[:200])
                label = "What follows from it" if len(c.consequences) > 1 else "Detail"
                p.append(f"<details{' open' if len(c.consequences) <= 10 else ''}><summary>{label} "
                         f"({len(c.consequences)})</summary><ul>{items}</ul></details>")
            p.append("</li>")
        p.append("</ol>")
    if verdict.notes:
        p.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in verdict.notes) + "</ul>")
    powers = report.stats.get("powers")
    if powers:
        rows = "".join(f"<tr><td>{esc(x['contract'])}</td><td>{esc(x['role'])}</td><td>"
                       f"{esc(x.get('holderName') or '')} <span class='mono'>{esc(x['holder'])}</span></td>"
                       f"<td>{esc(x['holderKind'])}</td><td>{x['grantedBlock']}</td></tr>" for x in powers)
        p.append("<h2>Who holds which power</h2><table><tr><th>Contract</th><th>Role</th><th>Holder</th>"
                 f"<th>Kind</th><th>Since block</th></tr>{rows}</table>")
    changes = report.stats.get("parameterChanges")
    if changes:
        rows = "".join(f"<tr><td>{c['block']}</td><td>{esc(c['contract'])}</td><td>{esc(c['event'])}</td>"
                       f"<td>{_args_html(c['args'])}</td><td>{esc(_decision_words(c['authorisedBy']))}"
                       "</td></tr>" for c in changes[:max_rows])
        p.append("<h2>Rule changes and the decision behind each</h2><table><tr><th>Block</th><th>Contract</th>"
                 f"<th>Change</th><th>Values</th><th>Authorised by</th></tr>{rows}</table>")
    items_html = _items_html(report, tz, names, max_rows) if report.checked else ""
    if report.audit == "proposal" and items_html:  # the ballots are what anyone should be able to recount
        p.append(items_html.replace("Items checked", "Ballots", 1))
        items_html = ""
    p.append("<details><summary>Technical details</summary>")
    p.append("<h2>Subject</h2>" + _table(report.subject, tz, names))
    p.append("<h2>Figures</h2>" + _table(report.stats, tz, names))
    if report.findings:
        rows = "".join(f"<tr class='{esc(f.severity)}'><td>{esc(f.severity)}</td><td class='k'>{esc(f.kind)}</td>"
                       f"<td>{'' if f.block is None else f.block}</td><td>{esc(name_addresses(f.message, names))}</td>"
                       "</tr>" for f in report.findings)
        p.append("<h2>Findings (machine names)</h2><table><tr><th>severity</th><th>kind</th><th>block</th>"
                 f"<th>message</th></tr>{rows}</table>")
    p.append(items_html)
    p.append("</details></body></html>\n")
    return "".join(p)


def _items_html(report: AuditReport, tz: str, names: Mapping[str, str], max_rows: int) -> str:
    import html as _html

    shown = report.checked[:max_rows]
    keys: list[str] = []
    for item in shown:
        keys.extend(k for k in item if k not in keys)
    head = "".join(f"<th>{_html.escape(_label(k))}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{_value_html(k, item.get(k, ''), tz, names)}</td>" for k in keys) + "</tr>"
                   for item in shown)
    out = f"<h2>Items checked ({len(report.checked)})</h2><table><tr>{head}</tr>{body}</table>"
    if len(report.checked) > len(shown):
        out += f"<p class='muted'>{len(report.checked) - len(shown)} more rows in the JSON report.</p>"
    return out


def _args_html(args: Mapping[str, Any]) -> str:
    import html as _html

    return "<br>".join(f"{_html.escape(str(k))}: <span class='mono'>{_html.escape(str(v))}</span>"
                       for k, v in args.items())


def _decision_words(d: Mapping[str, Any]) -> str:
    kind = d.get("kind")
    if kind == "timelock":
        via = f" through {d.get('scheduledVia')}" if d.get("scheduledVia") else ""
        return (f"timelock operation {str(d.get('operation'))[:18]}…, scheduled by {d.get('scheduledBy')}{via} in "
                f"block {d.get('scheduledBlock')}, executed after a {d.get('delaySeconds')} s delay by "
                f"{d.get('executedBy')}")
    if kind == "deployment":
        return f"the deployment, by {d.get('by')}"
    if kind == "direct":
        return f"directly by {d.get('by')} ({d.get('senderKind')}), without the timelock"
    return str(d.get("note") or kind)
