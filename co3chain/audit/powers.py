"""Who holds which power over the suite, and which decision authorised every change of its rules.

Why from events: OpenZeppelin ``AccessControl`` emits ``RoleGranted`` / ``RoleRevoked`` for every change
(constructor grants included), so replaying them per contract gives the holders at any block without
trusting an off-chain list. The node's ``eth_getLogs`` is checked against the sealed headers: a block whose
bloom shows a role event the node did not return has its receipts proven against the sealed receipts root,
and the hidden event is recovered and reported. ``hasRole`` is also asked for every holder found (and for
the deployer), so a node that hides a grant contradicts its own state. Each holder is classified as a contract or
an externally owned account (``eth_getCode``): the trust model says no EOA may hold an admin, mint or
reward power after deploy, so such a holding is an error (exit 2).

Parameter changes (quorum, signer set, reward rules, roles, timelock delay...) are the logs of the
manifest's contracts whose event names say they change a rule. For each one the audit names the decision
behind it: when the transaction executed a ``TimelockController`` operation (``CallExecuted`` with this
contract as target), the operation's ``CallScheduled`` gives the block, transaction and scheduler (the
PA council or the governance contract) and the delay; otherwise the change was made directly by the
transaction's sender, which the report says plainly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_hash.auto import keccak

from co3chain.audit.events import Log, call_data, get_logs, topic
from co3chain.audit.headers import header_from_json
from co3chain.audit.receipts import ReceiptsError, bloom_matches, proven_receipts
from co3chain.audit.report import AuditReport
from co3chain.audit.rpc import RpcClient, RpcError, hex_bytes, hex_int

ROLE_GRANTED = topic("RoleGranted(bytes32,address,address)")
ROLE_REVOKED = topic("RoleRevoked(bytes32,address,address)")
ROLE_ADMIN_CHANGED = topic("RoleAdminChanged(bytes32,bytes32,bytes32)")
OWNERSHIP_TRANSFERRED = topic("OwnershipTransferred(address,address)")
CALL_SCHEDULED = topic("CallScheduled(bytes32,uint256,address,uint256,bytes,bytes32,uint256)")
CALL_EXECUTED = topic("CallExecuted(bytes32,uint256,address,uint256,bytes)")

DEFAULT_ADMIN_ROLE = b"\x00" * 32
#: Powers no externally owned account may hold after deploy (the trust model's promise).
CRITICAL_ROLES = {"DEFAULT_ADMIN_ROLE", "MINTER_ROLE", "REWARDER_ROLE", "RECOVERY_ROLE"}
#: Role names tried when the sources do not name a role id.
KNOWN_ROLE_NAMES = (
    "MINTER_ROLE", "REWARDER_ROLE", "REGISTRAR_ROLE", "AREA_MANAGER_ROLE", "PROPOSER_ROLE", "RELAYER_ROLE",
    "EXECUTOR_ROLE", "CANCELLER_ROLE", "TIMELOCK_ADMIN_ROLE", "PAUSER_ROLE", "UPGRADER_ROLE", "GUARDIAN_ROLE",
    "ORACLE_ROLE", "COUNCIL_ROLE", "OPERATOR_ROLE", "RECOVERY_ROLE",
)
#: Event names that change a rule of the suite (matched as words in the event name).
_CHANGE_WORDS = re.compile(
    r"Role|Quorum|Signer|Threshold|Delay|Ownership|Paused|Unpaused|Rule|Budget|Cap|Limit|Period|Guardian|"
    r"Council|Member|Validator(Added|Removed)|AccountAllowed|Service|Activity|AreaManager|Executor|Config|"
    r"Param|Setting|Upgraded|Minimum|Maximum|AccountPa"
)
#: Events that are activity, not rule changes, even when their names match above.
_NOT_CHANGES = {"DelegateChanged", "DelegateVotesChanged", "VoteCast", "VoteCommitted", "VoteRevealed",
                "VoteWithdrawn", "Transfer", "Approval", "ReputationAwarded", "AttestationAccepted",
                "AttestationRejected", "CallScheduled", "CallExecuted", "CallSalt", "Cancelled",
                "GroupMemberAdded", "GroupMemberRemoved"}  # registrars' work on their PA's groups


def role_names(source_texts: Iterable[str]) -> dict[bytes, str]:
    """Role id → name, from ``keccak256("X_ROLE")`` constants in the sources plus well-known names."""
    names = {DEFAULT_ADMIN_ROLE: "DEFAULT_ADMIN_ROLE"}
    found = set(KNOWN_ROLE_NAMES)
    for text in source_texts:
        found.update(re.findall(r'keccak256\(\s*"([A-Z0-9_]+)"\s*\)', text))
    for name in found:
        names[keccak(name.encode())] = name
    return names


def address_names(manifest: Mapping[str, Any]) -> dict[bytes, str]:
    """Address → the name the manifest gives it (contracts by name; accounts by their key or label)."""
    names: dict[bytes, str] = {}

    def add(value: Any, name: str) -> None:
        if isinstance(value, str) and re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
            names.setdefault(bytes.fromhex(value[2:]), name)

    for cname, entry in (manifest.get("contracts") or {}).items():
        if isinstance(entry, Mapping):
            add(entry.get("address"), cname)
    for role in manifest.get("roles") or []:
        if isinstance(role, Mapping) and role.get("label"):
            add(role.get("account"), str(role["label"]))

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                if k in {"contracts", "roles", "sources", "compiler"}:
                    continue
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(node, list):
            for v in node:
                walk(v, path)
        else:
            add(node, path[: -len(".address")] if path.endswith(".address") else path)

    walk(manifest, "")
    return names


@dataclass
class Holding:
    contract: str
    address: bytes
    role: str
    role_id: bytes
    holder: bytes
    granted_block: int
    granted_tx: bytes
    kind: str = "?"  # "contract" | "EOA"
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"contract": self.contract, "contractAddress": "0x" + self.address.hex(), "role": self.role,
                "roleId": "0x" + self.role_id.hex(), "holder": "0x" + self.holder.hex(), "holderName": self.name,
                "holderKind": self.kind, "grantedBlock": self.granted_block,
                "grantedTransaction": "0x" + self.granted_tx.hex()}


@dataclass
class PowersResult:
    holdings: list[Holding] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)


def audit_powers(client: RpcClient, manifest: Mapping[str, Any], report: AuditReport, anchor: int,
                 abis: Mapping[str, list[dict[str, Any]]] | None = None, source_texts: Iterable[str] = ()) -> PowersResult:
    """Add role holders, EOA-power findings and the list of parameter changes to ``report``."""
    contracts = {name: bytes.fromhex(e["address"][2:]) for name, e in sorted((manifest.get("contracts") or {}).items())
                 if isinstance(e, Mapping) and re.fullmatch(r"0x[0-9a-fA-F]{40}", str(e.get("address")))}
    names = address_names(manifest)
    roles = role_names(source_texts)
    first = min((int(e.get("blockNumber") or 0) for e in manifest["contracts"].values() if isinstance(e, Mapping)),
                default=0)
    result = PowersResult()
    event_abis = event_abis_by_address(contracts, abis or {})

    all_logs: dict[str, list[Log]] = {}
    for name, address in contracts.items():
        all_logs[name] = get_logs(client, address, [], first, anchor)
    _find_hidden_role_logs(client, report, contracts, all_logs, first, anchor, roles, names)
    # -- holders --------------------------------------------------------------------------------------
    for name, address in contracts.items():
        held: dict[tuple[bytes, bytes], Log] = {}
        for lg in all_logs[name]:
            if len(lg.topics) == 4 and lg.topics[0] in (ROLE_GRANTED, ROLE_REVOKED):
                key = (lg.topics[1], lg.topics[2][12:])
                if lg.topics[0] == ROLE_GRANTED:
                    held.setdefault(key, lg)
                else:
                    held.pop(key, None)
            elif len(lg.topics) == 3 and lg.topics[0] == OWNERSHIP_TRANSFERRED:
                for key in [k for k in held if k[0] == b"owner"]:
                    held.pop(key)
                if lg.topics[2][12:] != b"\x00" * 20:
                    held[(b"owner", lg.topics[2][12:])] = lg
        for (rid, holder), lg in sorted(held.items(), key=lambda kv: kv[1].key):
            role = "owner" if rid == b"owner" else roles.get(rid, "0x" + rid.hex())
            result.holdings.append(Holding(name, address, role, rid if rid != b"owner" else DEFAULT_ADMIN_ROLE, holder,
                                           lg.block_number, lg.tx_hash, name=names.get(holder)))
    _classify(client, result.holdings, anchor)
    _cross_check(client, report, manifest, contracts, result.holdings, anchor)
    for h in result.holdings:
        critical = h.role in CRITICAL_ROLES or h.role == "owner"
        if critical and h.kind.startswith("EOA"):
            who = f"{h.name} (0x{h.holder.hex()})" if h.name else f"0x{h.holder.hex()}"
            report.add("eoa-power", f"{who}, an externally owned account, holds {h.role} on {h.contract}: one key "
                                    "alone can use this power", h.granted_block, contract=h.contract, role=h.role,
                       holder="0x" + h.holder.hex(), holderName=h.name,
                       authoritative="the contract's own RoleGranted/RoleRevoked events, confirmed by hasRole and "
                                     "eth_getCode at the audited block")
    report.stats["powers"] = [h.to_dict() for h in result.holdings]
    report.stats["eoaPowers"] = sum(1 for h in result.holdings if h.kind.startswith("EOA")
                                    and (h.role in CRITICAL_ROLES or h.role == "owner"))
    # -- parameter changes ----------------------------------------------------------------------------
    changes: list[tuple[str, Log, str, dict[str, Any]]] = []
    for name, logs in all_logs.items():
        for lg in logs:
            event, args = _describe(lg, event_abis.get(lg.address, {}), roles, names)
            if event is None or event in _NOT_CHANGES or not _CHANGE_WORDS.search(event):
                continue
            changes.append((name, lg, event, args))
    changes.sort(key=lambda c: c[1].key)
    decisions = _decisions(client, [c[1] for c in changes], names, anchor, event_abis, roles)
    deployment = _deployment_txs(manifest)
    direct_eoa = 0
    for name, lg, event, args in changes:
        decision = decisions.get((lg.tx_hash, lg.log_index), {})
        if decision.get("kind") == "direct" and lg.tx_hash in deployment:
            decision = {**decision, "kind": "deployment"}
        if decision.get("kind") == "direct" and decision.get("senderKind") == "EOA":
            direct_eoa += 1
        result.changes.append({"contract": name, "event": event, "args": args, "block": lg.block_number,
                               "transaction": "0x" + lg.tx_hash.hex(), "logIndex": lg.log_index,
                               "authorisedBy": decision})
    report.stats["parameterChanges"] = result.changes
    if direct_eoa:
        report.add("direct-change", f"{direct_eoa} of {len(result.changes)} parameter changes after deployment were "
                                    "made directly by an externally owned account, not through the council's timelock",
                   severity="warning")
    return result


def _find_hidden_role_logs(client: RpcClient, report: AuditReport, contracts: Mapping[str, bytes],
                           all_logs: dict[str, list[Log]], first: int, anchor: int, roles: Mapping[bytes, str],
                           names: Mapping[bytes, str]) -> None:
    """Role events the node's ``eth_getLogs`` left out, found through the headers' blooms and proven by the
    sealed receipts roots; they are added to ``all_logs`` (so the holders are right) and reported.

    The headers are hash-linked back from the audited block, whose seals the caller checked, so their blooms
    and receipts roots are the validators' word, not the node's.
    """
    numbers = list(range(first, anchor + 1))
    headers: dict[int, Any] = {}
    for start in range(0, len(numbers), client.batch_size):
        chunk = numbers[start:start + client.batch_size]
        for n, raw in zip(chunk, client.batch([("eth_getBlockByNumber", (hex(n), False)) for n in chunk]), strict=True):
            if raw is None:
                return
            headers[n] = header_from_json(raw)
    for n in range(anchor, first, -1):
        if headers[n - 1].computed_hash() != headers[n].parent_hash:
            report.add("header-link", "the blocks the node serves do not link to the audited block", n - 1)
            return
    role_topics: list[list[bytes] | None] = [[ROLE_GRANTED, ROLE_REVOKED, OWNERSHIP_TRANSFERRED]]
    for name, address in contracts.items():
        seen_blocks = {lg.block_number for lg in all_logs[name]
                       if lg.topics and lg.topics[0] in (ROLE_GRANTED, ROLE_REVOKED, OWNERSHIP_TRANSFERRED)}
        have = {lg.key for lg in all_logs[name]}
        for n, h in headers.items():
            if n in seen_blocks or not bloom_matches(h.bloom, address, role_topics):
                continue
            try:
                receipts = proven_receipts(client, n, h.receipts_root)
            except (ReceiptsError, RpcError) as exc:
                report.add("role-events", f"block {n}'s bloom shows a role change on {name} the node does not return, "
                                          f"and its receipts do not verify: {exc}", n)
                continue
            for r in receipts:
                for raw in r.get("logs") or []:
                    lg = Log.from_json({**raw, "blockNumber": hex(n), "blockHash": "0x" + h.computed_hash().hex()})
                    if lg.address == address and lg.topics and lg.topics[0] in role_topics[0] and lg.key not in have:
                        event, args = _describe(lg, {}, roles, names)
                        what = " ".join(str(v) for v in args.values())
                        report.add("role-events", f"the node's eth_getLogs hid {event} on {name} ({what}), proven by "
                                                  "the block's sealed receipts", n,
                                   contract=name, authoritative="the block's sealed receipts root")
                        all_logs[name].append(lg)
                        have.add(lg.key)
        all_logs[name].sort(key=lambda lg: lg.key)


def _deployment_txs(manifest: Mapping[str, Any]) -> set[bytes]:
    """Transactions the manifest records as the deployment (creations and role wiring)."""
    out = set()
    entries = [*(manifest.get("contracts") or {}).values(), *(manifest.get("roles") or []),
               *((manifest.get("electorates") or {}).get("bindings") or [])]
    for e in entries:
        tx = e.get("txHash") if isinstance(e, Mapping) else None
        if isinstance(tx, str) and re.fullmatch(r"0x[0-9a-fA-F]{64}", tx):
            out.add(bytes.fromhex(tx[2:]))
    return out


def _describe(lg: Log, events: Mapping[bytes, dict[str, Any]], roles: Mapping[bytes, str],
              names: Mapping[bytes, str]) -> tuple[str | None, dict[str, Any]]:
    if not lg.topics:
        return None, {}
    t0 = lg.topics[0]
    if t0 in (ROLE_GRANTED, ROLE_REVOKED) and len(lg.topics) == 4:
        account = lg.topics[2][12:]
        return ("RoleGranted" if t0 == ROLE_GRANTED else "RoleRevoked"), {
            "role": roles.get(lg.topics[1], "0x" + lg.topics[1].hex()), "account": _named(account, names),
            "sender": _named(lg.topics[3][12:], names)}
    if t0 == ROLE_ADMIN_CHANGED and len(lg.topics) == 4:
        return "RoleAdminChanged", {"role": roles.get(lg.topics[1], "0x" + lg.topics[1].hex()),
                                    "previousAdminRole": roles.get(lg.topics[2], "0x" + lg.topics[2].hex()),
                                    "newAdminRole": roles.get(lg.topics[3], "0x" + lg.topics[3].hex())}
    if t0 == OWNERSHIP_TRANSFERRED and len(lg.topics) == 3:
        return "OwnershipTransferred", {"previousOwner": _named(lg.topics[1][12:], names),
                                        "newOwner": _named(lg.topics[2][12:], names)}
    abi = events.get(t0)
    if abi is None:
        return None, {}
    return abi["name"], _decode_event(abi, lg, names)


def _named(address: bytes, names: Mapping[bytes, str]) -> str:
    name = names.get(address)
    return f"{name} (0x{address.hex()})" if name else "0x" + address.hex()


def _decode_event(abi: Mapping[str, Any], lg: Log, names: Mapping[bytes, str]) -> dict[str, Any]:
    indexed = [i for i in abi.get("inputs", []) if i.get("indexed")]
    plain = [i for i in abi.get("inputs", []) if not i.get("indexed")]
    out: dict[str, Any] = {}
    for inp, t in zip(indexed, lg.topics[1:], strict=False):
        out[inp.get("name") or "?"] = _value(inp["type"], t, names)
    try:
        values = abi_decode([_abi_type(i) for i in plain], lg.data)
    except Exception:  # eth_abi raises several unrelated types for bad data
        out["data"] = "0x" + lg.data.hex()
        return out
    for inp, v in zip(plain, values, strict=True):
        out[inp.get("name") or "?"] = _jsonable(v, inp["type"], names)
    return out


def _abi_type(item: Mapping[str, Any]) -> str:
    t = str(item["type"])
    if t.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item.get("components", [])) + ")" + t[5:]
    return t


def _value(typ: str, word: bytes, names: Mapping[bytes, str]) -> Any:
    """An indexed event argument (one topic word); dynamic types are only their hash there."""
    if typ == "address":
        return _named(word[12:], names)
    if typ.startswith(("uint", "int")):
        return str(int.from_bytes(word, "big"))
    if typ == "bool":
        return word[-1] == 1
    return "0x" + word.hex()


def _jsonable(v: Any, typ: str, names: Mapping[bytes, str]) -> Any:
    if typ == "address" and isinstance(v, str):
        return _named(bytes.fromhex(v[2:]), names)
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list | tuple):
        inner = typ[:-2] if typ.endswith("[]") else typ
        return [_jsonable(x, inner, names) for x in v]
    return v


def _classify(client: RpcClient, holdings: list[Holding], anchor: int) -> None:
    unique = sorted({h.holder for h in holdings})
    codes = client.batch([("eth_getCode", ("0x" + a.hex(), hex(anchor))) for a in unique])
    kind = {}
    for a, code_hex in zip(unique, codes, strict=True):
        code = hex_bytes(code_hex, "code")
        if not code:
            kind[a] = "EOA"
        elif code.startswith(b"\xef\x01\x00"):
            kind[a] = "EOA (EIP-7702 delegated)"
        else:
            kind[a] = "contract"
    for h in holdings:
        h.kind = kind[h.holder]


def _cross_check(client: RpcClient, report: AuditReport, manifest: Mapping[str, Any], contracts: Mapping[str, bytes],
                 holdings: list[Holding], anchor: int) -> None:
    """``hasRole`` for every holder the events show, and for the deployer's critical roles (hidden grants)."""
    checks: list[tuple[str, bytes, bytes, bytes, bool]] = []  # (contract, address, role, account, expected)
    held = {(h.address, h.role_id, h.holder) for h in holdings if h.role != "owner"}
    for h in holdings:
        if h.role != "owner":
            checks.append((h.contract, h.address, h.role_id, h.holder, True))
    deployer = manifest.get("deployer")
    if isinstance(deployer, str) and re.fullmatch(r"0x[0-9a-fA-F]{40}", deployer):
        d = bytes.fromhex(deployer[2:])
        for name, address in contracts.items():
            for role in CRITICAL_ROLES:
                rid = DEFAULT_ADMIN_ROLE if role == "DEFAULT_ADMIN_ROLE" else keccak(role.encode())
                if (address, rid, d) not in held:
                    checks.append((name, address, rid, d, False))
    for name, address, rid, acct, expected in checks:
        data = call_data("hasRole(bytes32,address)", ["bytes32", "address"], [rid, "0x" + acct.hex()])
        try:
            raw = client.call("eth_call", {"to": "0x" + address.hex(), "data": data}, hex(anchor))
        except RpcError:
            continue  # not an AccessControl contract (or no such role function)
        try:
            has = bool(int.from_bytes(hex_bytes(raw, "hasRole"), "big")) if raw not in (None, "0x") else None
        except RpcError:
            has = None
        if has is None:
            continue
        if has != expected:
            say = "holds" if has else "does not hold"
            report.add("role-events", f"hasRole says 0x{acct.hex()} {say} role 0x{rid.hex()} on {name}, which the "
                                      "contract's RoleGranted/RoleRevoked events do not show: the node hides or "
                                      "invents events", anchor, contract=name,
                       authoritative="the contract state (hasRole) at the audited block")


def _decisions(client: RpcClient, logs: list[Log], names: Mapping[bytes, str], anchor: int,
               event_abis: Mapping[bytes, Mapping[bytes, dict[str, Any]]] | None = None,
               roles: Mapping[bytes, str] | None = None) -> dict[tuple[bytes, int], dict[str, Any]]:
    """For each change log: the timelock operation that executed it, or the direct sender."""
    txs = sorted({lg.tx_hash for lg in logs})
    if not txs:
        return {}
    answers = client.batch([c for h in txs for c in (("eth_getTransactionByHash", ("0x" + h.hex(),)),
                                                        ("eth_getTransactionReceipt", ("0x" + h.hex(),)))])
    info = {h: (answers[2 * i], answers[2 * i + 1]) for i, h in enumerate(txs)}
    senders = sorted({hex_bytes(tx["from"], "from", 20) for tx, _ in info.values() if tx})
    codes = client.batch([("eth_getCode", ("0x" + s.hex(), hex(anchor))) for s in senders]) if senders else []
    sender_kind = {s: ("EOA" if hex_bytes(c, "code") in (b"",) else "contract") for s, c in zip(senders, codes, strict=True)}
    out: dict[tuple[bytes, int], dict[str, Any]] = {}
    schedule_cache: dict[tuple[bytes, bytes], dict[str, Any]] = {}
    for lg in logs:
        tx, receipt = info.get(lg.tx_hash, (None, None))
        if tx is None or receipt is None:
            out[(lg.tx_hash, lg.log_index)] = {"kind": "unknown", "note": "the node does not return the transaction"}
            continue
        sender = hex_bytes(tx["from"], "from", 20)
        executed = None
        for rl in receipt.get("logs") or []:
            topics = [hex_bytes(t, "topic", 32) for t in rl.get("topics") or []]
            if len(topics) >= 3 and topics[0] == CALL_EXECUTED and hex_int(rl["logIndex"], "logIndex") > lg.log_index:
                target, _value, _data = abi_decode(["address", "uint256", "bytes"], hex_bytes(rl["data"], "data"))
                if bytes.fromhex(target[2:]) == lg.address:
                    executed = (hex_bytes(rl["address"], "address", 20), topics[1])
                    break
        if executed is None:
            out[(lg.tx_hash, lg.log_index)] = {"kind": "direct", "by": _named(sender, names),
                                               "senderKind": sender_kind.get(sender, "?")}
            continue
        timelock, op = executed
        if (timelock, op) not in schedule_cache:
            schedule_cache[(timelock, op)] = _schedule(client, timelock, op, names, anchor, event_abis or {}, roles or {})
        out[(lg.tx_hash, lg.log_index)] = {"kind": "timelock", "timelock": _named(timelock, names),
                                           "operation": "0x" + op.hex(), "executedBy": _named(sender, names),
                                           **schedule_cache[(timelock, op)]}
    return out


def _schedule(client: RpcClient, timelock: bytes, op: bytes, names: Mapping[bytes, str], anchor: int,
              event_abis: Mapping[bytes, Mapping[bytes, dict[str, Any]]], roles: Mapping[bytes, str]) -> dict[str, Any]:
    scheduled = get_logs(client, timelock, [CALL_SCHEDULED, op], 0, anchor)
    if not scheduled:
        return {"scheduled": None, "note": "no CallScheduled event for this operation"}
    first = scheduled[0]
    try:
        *_, delay = abi_decode(["address", "uint256", "bytes", "bytes32", "uint256"], first.data)
    except Exception:  # eth_abi raises several unrelated types for bad data
        delay = None
    tx, receipt = client.batch([("eth_getTransactionByHash", ("0x" + first.tx_hash.hex(),)),
                                ("eth_getTransactionReceipt", ("0x" + first.tx_hash.hex(),))])
    scheduler = hex_bytes(tx["from"], "from", 20) if tx else None
    via = hex_bytes(tx["to"], "to", 20) if tx and tx.get("to") else None
    return {"scheduledBlock": first.block_number, "scheduledTransaction": "0x" + first.tx_hash.hex(),
            "scheduledBy": None if scheduler is None else _named(scheduler, names),
            "scheduledVia": None if via is None else _named(via, names),
            "delaySeconds": None if delay is None else int(delay),
            "decisionEvents": _decision_events(receipt, timelock, names, event_abis, roles)}


def _decision_events(receipt: Any, timelock: bytes, names: Mapping[bytes, str],
                     event_abis: Mapping[bytes, Mapping[bytes, dict[str, Any]]],
                     roles: Mapping[bytes, str]) -> list[dict[str, Any]]:
    """Events of the scheduling transaction other than the timelock's own: the council's approval or the
    governance proposal that queued the call, named when the emitting contract is in the manifest."""
    out: list[dict[str, Any]] = []
    for raw in (receipt or {}).get("logs") or []:
        try:
            lg = Log.from_json({**raw, "blockNumber": raw.get("blockNumber", "0x0"),
                                "blockHash": raw.get("blockHash") or "0x" + "00" * 32})
        except (RpcError, KeyError):
            continue
        if lg.address == timelock:
            continue
        event, args = _describe(lg, event_abis.get(lg.address, {}), roles, names)
        out.append({"contract": _named(lg.address, names), "event": event or ("0x" + lg.topics[0].hex()
                                                                              if lg.topics else "anonymous"),
                    "args": args})
    return out


def event_abis_by_address(contracts: Mapping[str, bytes], abis: Mapping[str, list[dict[str, Any]]]) -> dict[bytes, dict[bytes, dict[str, Any]]]:
    """topic0 → event ABI, per contract address (from the compiled sources)."""
    out: dict[bytes, dict[bytes, dict[str, Any]]] = {}
    for name, address in contracts.items():
        events: dict[bytes, dict[str, Any]] = {}
        for item in abis.get(name, []):
            if item.get("type") == "event" and not item.get("anonymous"):
                sig = f"{item['name']}({','.join(_abi_type(i) for i in item.get('inputs', []))})"
                events[keccak(sig.encode())] = item
        out[address] = events
    return out


def source_texts(root: Path, manifest: Mapping[str, Any]) -> list[str]:
    """The recorded sources' texts (for role names); missing files are skipped."""
    out = []
    for unit in (manifest.get("sources") or {}):
        try:
            out.append((root / unit).read_text(encoding="utf-8"))
        except OSError:
            try:
                out.append((root / "node_modules" / unit).read_text(encoding="utf-8"))
            except OSError:
                continue
    return out
