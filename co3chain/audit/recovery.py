"""``co3chain audit recovery``: every lost-key recovery of the deployment, checked from events alone.

Inputs: the deployment manifest (addresses of KeyRecovery, CitizenRegistry, CommonsToken, Reputation) and a
JSON-RPC node, which is not trusted: each finalization is cross-checked against the events the three target
contracts emitted in the same transaction, and the moved balance is recomputed from the old key's whole
``Transfer`` history. Block seals are the job of ``co3chain audit chain``.

Checks (each failure is a finding with a stable ``kind``):

* ``recovery-sequence``: a cancel or finalization without an initiation, a second terminal event, a
  finalization of a cancelled request;
* ``recovery-too-early``: a finalization in a block whose timestamp precedes the request's ``executableAt``;
* ``recovery-moves``: the registry's ``CitizenRecovered``, the token's ``BalanceRecovered`` and the reputation's
  ``ReputationRecovered`` events of the finalizing transaction disagree with ``RecoveryFinalized`` (accounts,
  token amount, global reputation, number of area domains), or one is missing;
* ``recovery-balance``: the tokens moved differ from the old key's balance recomputed from every ``Transfer``
  to and from it before the move.
Pending requests are listed as warnings (a clerk should look at them while they can still be cancelled).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode as abi_decode

from co3chain.audit.events import Log, get_logs, topic, word
from co3chain.audit.manifest_refs import deployment_block, open_audit
from co3chain.audit.powers import address_names
from co3chain.audit.report import INFO, WARNING, AuditReport
from co3chain.audit.rpc import RpcClient, hex_int
from co3chain.errors import Co3Error

INITIATED = topic("RecoveryInitiated(uint256,address,address,address,uint48)")
CANCELLED = topic("RecoveryCancelled(uint256,address,address,uint8)")
FINALIZED = topic("RecoveryFinalized(uint256,address,address,uint256,uint256,uint256)")
DELAY_CHANGED = topic("RecoveryDelayChanged(uint48,uint48)")
CITIZEN_RECOVERED = topic("CitizenRecovered(address,address,bytes32)")
BALANCE_RECOVERED = topic("BalanceRecovered(address,address,uint256,address)")
REPUTATION_RECOVERED = topic("ReputationRecovered(address,address,bytes32,uint256)")
TRANSFER = topic("Transfer(address,address,uint256)")
CANCELLERS = ("old key", "old key (signature)", "PA council", "registrar")


class RecoveryAuditError(Co3Error):
    """The recovery audit cannot run (manifest lacks a contract, wrong chain, unreachable node)."""


@dataclass
class Request:
    """What the events say about one recovery request."""

    recovery_id: int
    old: str = ""
    new: str = ""
    registrar: str = ""
    executable_at: int = 0
    initiated_block: int | None = None
    outcome: str = "pending"
    outcome_block: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _addr(raw: bytes) -> str:
    return "0x" + raw[-20:].hex()


def audit_recoveries(client: RpcClient, manifest: Mapping[str, Any]) -> AuditReport:
    """Run every check on every recovery; ``report.passed`` is False on any inconsistency."""
    report = AuditReport("recovery", {})
    scope = open_audit(client, manifest, report, "KeyRecovery", RecoveryAuditError,
                       ("CitizenRegistry", "CommonsToken", "Reputation"), " (a deployment without lost-key recovery?)")
    kr, registry, token, reputation = (scope.addresses[n]
                                       for n in ("KeyRecovery", "CitizenRegistry", "CommonsToken", "Reputation"))
    head, start, token_start = scope.head, scope.start, deployment_block(manifest, "CommonsToken")
    report.subject["chainId"] = scope.chain_id
    report.names = {"0x" + a.hex(): n for a, n in address_names(manifest).items()}

    logs = get_logs(client, kr, [], start, head)
    requests: dict[int, Request] = {}
    delays = []
    for lg in logs:
        t0 = lg.topics[0] if lg.topics else b""
        if t0 == DELAY_CHANGED:
            old_delay, new_delay = abi_decode(["uint48", "uint48"], lg.data)
            delays.append({"block": lg.block_number, "from": int(old_delay), "to": int(new_delay)})
            continue
        if t0 not in (INITIATED, CANCELLED, FINALIZED) or len(lg.topics) != 4:
            continue
        rid = int.from_bytes(lg.topics[1], "big")
        req = requests.setdefault(rid, Request(rid))
        if t0 == INITIATED:
            if req.initiated_block is not None:
                report.add("recovery-sequence", f"recovery {rid} was initiated twice", lg.block_number)
            registrar, executable_at = abi_decode(["address", "uint48"], lg.data)
            req.old, req.new = _addr(lg.topics[2]), _addr(lg.topics[3])
            req.registrar, req.executable_at, req.initiated_block = registrar.lower(), int(executable_at), lg.block_number
            continue
        if req.initiated_block is None:
            report.add("recovery-sequence", f"recovery {rid} has a {'cancel' if t0 == CANCELLED else 'finalization'} "
                                            "but no initiation", lg.block_number)
        if req.outcome != "pending":
            report.add("recovery-sequence", f"recovery {rid} was already {req.outcome} (block {req.outcome_block}) "
                                            f"and has another terminal event", lg.block_number)
        if t0 == CANCELLED:
            (canceller,) = abi_decode(["uint8"], lg.data)
            req.outcome, req.outcome_block = "cancelled", lg.block_number
            req.detail = {"by": _addr(lg.topics[3]),
                          "canceller": CANCELLERS[int(canceller)] if int(canceller) < len(CANCELLERS) else "?"}
        else:
            req.outcome, req.outcome_block = "finalized", lg.block_number
            _check_finalization(client, report, req, lg, registry, token, reputation, token_start)

    pending = 0
    for req in sorted(requests.values(), key=lambda r: r.recovery_id):
        row = {"recoveryId": req.recovery_id, "oldAccount": req.old, "newAccount": req.new,
               "registrar": req.registrar, "executableAt": req.executable_at, "initiatedBlock": req.initiated_block,
               "outcome": req.outcome, "outcomeBlock": req.outcome_block, **req.detail}
        report.checked.append(row)
        if req.outcome == "pending":
            pending += 1
            report.add("recovery-pending", f"recovery {req.recovery_id} of {req.old} to {req.new} (registrar "
                                           f"{req.registrar}) is pending: finalizable from {req.executable_at} unless "
                                           "the old key or the council cancels it", req.initiated_block,
                       severity=WARNING)
    if delays:
        for d in delays:
            report.add("recovery-delay", f"recovery delay set from {d['from']} to {d['to']} seconds", d["block"],
                       severity=INFO)
    report.stats.update({
        "recoveries": len(requests), "pending": pending,
        "finalized": sum(1 for r in requests.values() if r.outcome == "finalized"),
        "cancelled": sum(1 for r in requests.values() if r.outcome == "cancelled"),
        "delayChanges": delays,
    })
    return report


def _check_finalization(client: RpcClient, report: AuditReport, req: Request, lg: Log, registry: bytes,
                        token: bytes, reputation: bytes, token_start: int) -> None:
    """Cross-check one ``RecoveryFinalized`` with its block time, its transaction's other events and the
    old key's recomputed balance."""
    rid, block = req.recovery_id, lg.block_number
    old, new = _addr(lg.topics[2]), _addr(lg.topics[3])
    tokens, global_rep, domains = (int(v) for v in abi_decode(["uint256", "uint256", "uint256"], lg.data))
    req.detail = {"tokens": str(tokens), "reputation": str(global_rep), "areaDomains": domains,
                  "transaction": "0x" + lg.tx_hash.hex()}
    if (old, new) != (req.old, req.new) and req.initiated_block is not None:
        report.add("recovery-moves", f"recovery {rid} finalized {old} -> {new}, but was initiated for "
                                     f"{req.old} -> {req.new}", block)
    header = client.call("eth_getBlockByNumber", hex(block), False)
    timestamp = hex_int((header or {}).get("timestamp"), "block timestamp")
    if timestamp < req.executable_at:
        report.add("recovery-too-early", f"recovery {rid} was finalized at {timestamp}, before its delay ended "
                                         f"({req.executable_at})", block)

    def same_tx(address: bytes, t0: bytes) -> list[Log]:
        return [x for x in get_logs(client, address, [t0], block, block) if x.tx_hash == lg.tx_hash]

    moved = same_tx(registry, CITIZEN_RECOVERED)
    if [(_addr(x.topics[1]), _addr(x.topics[2])) for x in moved] != [(old, new)]:
        report.add("recovery-moves", f"recovery {rid}: the registry's CitizenRecovered event of the same "
                                     f"transaction does not move {old} to {new}", block)
    balance = same_tx(token, BALANCE_RECOVERED)
    amounts = [(_addr(x.topics[1]), _addr(x.topics[2]), int(abi_decode(["uint256"], x.data)[0])) for x in balance]
    if amounts != [(old, new, tokens)]:
        report.add("recovery-moves", f"recovery {rid}: the token's BalanceRecovered of the same transaction "
                                     f"({amounts}) differs from the {tokens} tokens RecoveryFinalized reports", block)
    scores = same_tx(reputation, REPUTATION_RECOVERED)
    per_domain = {x.topics[3]: int(abi_decode(["uint256"], x.data)[0]) for x in scores
                  if (_addr(x.topics[1]), _addr(x.topics[2])) == (old, new)}
    area_moves = sum(1 for d in per_domain if d != bytes(32))
    if per_domain.get(bytes(32), 0) != global_rep or area_moves != domains:
        report.add("recovery-moves", f"recovery {rid}: the reputation events move {per_domain.get(bytes(32), 0)} "
                                     f"global and {area_moves} area scores, RecoveryFinalized says {global_rep} and "
                                     f"{domains}", block)
    # The old key's balance just before the move, from its whole Transfer history (mints, spends, transfers).
    owner = word(bytes.fromhex(old[2:]))
    incoming = get_logs(client, token, [TRANSFER, None, owner], token_start, block)
    outgoing = get_logs(client, token, [TRANSFER, owner], token_start, block)
    recovery_move = [x for x in outgoing if x.tx_hash == lg.tx_hash and _addr(x.topics[2]) == new]
    cutoff = min((x.key for x in recovery_move), default=(block, lg.log_index))
    held = sum(int.from_bytes(x.data[:32], "big") for x in incoming if x.key < cutoff)
    held -= sum(int.from_bytes(x.data[:32], "big") for x in outgoing if x.key < cutoff)
    req.detail["recomputedBalance"] = str(held)
    if held != tokens:
        report.add("recovery-balance", f"recovery {rid}: {old} held {held} tokens by its Transfer history, but "
                                       f"{tokens} were moved", block)
    if tokens and [int.from_bytes(x.data[:32], "big") for x in recovery_move] != [tokens]:
        report.add("recovery-balance", f"recovery {rid}: no single Transfer of {tokens} tokens from {old} to {new} "
                                       "in the finalizing transaction", block)
