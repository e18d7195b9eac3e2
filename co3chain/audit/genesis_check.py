"""Recompute the genesis block from the auditor's ``genesis.json`` and compare it with the node's block 0.

Why: the genesis file is one of the two things an auditor trusts (with the sources). Its hash covers every
pre-funded account (through the state root of ``alloc``), the initial validators (``extraData``), the
timestamp and the gas limit, so a chain started from another file, say one granting an extra 10^27 wei to
someone, has another block 0 and every later block links to it. Comparing field by field, and not only the
hash, lets the report name what differs (``alloc`` for the state root, ``extraData`` for the validators...).

The chain id is not part of any header; it is compared with ``eth_chainId`` here and, more strongly, with
the chain id every replayed transaction is signed for (``audit chain --replay``).

The header is built as :meth:`co3chain.chain.chain.NodeChain._build_genesis` builds it (Cancun header,
base fee as parsed, empty withdrawals, zero beacon root), but with its own code over an in-memory trie, so a bug in
the node's genesis code cannot hide here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rlp
from eth.constants import BLANK_ROOT_HASH, EMPTY_UNCLE_HASH, ZERO_HASH32
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth_hash.auto import keccak

from co3chain.audit.headers import Header, HeaderError, header_from_json
from co3chain.audit.report import AuditReport
from co3chain.audit.rpc import RpcClient, RpcError, hex_int
from co3chain.chain.genesis import Genesis

#: Header RLP positions, their JSON names and the genesis.json field that determines each.
HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("parentHash", "(always zero)"),
    ("sha3Uncles", "(always the empty-ommers hash)"),
    ("miner", "coinbase"),
    ("stateRoot", "alloc"),
    ("transactionsRoot", "(always empty)"),
    ("receiptsRoot", "(always empty)"),
    ("logsBloom", "(always empty)"),
    ("difficulty", "difficulty"),
    ("number", "(always 0)"),
    ("gasLimit", "gasLimit"),
    ("gasUsed", "(always 0)"),
    ("timestamp", "timestamp"),
    ("extraData", "extraData"),
    ("mixHash", "mixHash"),
    ("nonce", "nonce"),
    ("baseFeePerGas", "baseFeePerGas"),
    ("withdrawalsRoot", "config.shanghaiTime"),
    ("blobGasUsed", "config.cancunTime"),
    ("excessBlobGas", "config.cancunTime"),
    ("parentBeaconBlockRoot", "config.cancunTime"),
)

AUTHORITY = "the genesis file: the auditor holds it and trusts it; the node's block 0 must be built from it"


def alloc_state_root(genesis: Genesis, db: AtomicDB | None = None) -> bytes:
    """State root of the genesis ``alloc``, written into ``db`` (default: a fresh in-memory trie)."""
    adb = AccountDB(db if db is not None else AtomicDB(), BLANK_ROOT_HASH)
    for address, account in genesis.alloc.items():
        if account.balance:
            adb.set_balance(address, account.balance)
        if account.nonce:
            adb.set_nonce(address, account.nonce)
        if account.code:
            adb.set_code(address, account.code)
        for slot, value in account.storage.items():
            adb.set_storage(address, slot, value)
    adb.persist()
    return adb.state_root


def _q(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""


def expected_genesis_header(genesis: Genesis, state_root: bytes | None = None) -> Header:
    """Block 0 as a Cancun QBFT node builds it from ``genesis`` (the QBFT genesis hash is the plain hash).

    ``state_root``: the :func:`alloc_state_root` of ``genesis`` when the caller has computed it already (the
    replay builds the alloc's state anyway; a large alloc costs seconds per computation).
    """
    items = (
        ZERO_HASH32,
        EMPTY_UNCLE_HASH,
        genesis.coinbase,
        alloc_state_root(genesis) if state_root is None else state_root,
        BLANK_ROOT_HASH,
        BLANK_ROOT_HASH,
        b"\x00" * 256,
        _q(genesis.difficulty),
        b"",
        _q(genesis.gas_limit),
        b"",
        _q(genesis.timestamp),
        genesis.extra_data,
        genesis.mix_hash,
        genesis.nonce,
        _q(genesis.base_fee),  # 0, or Besu's 1 gwei when the file names no baseFeePerGas
        BLANK_ROOT_HASH,
        b"",
        b"",
        ZERO_HASH32,
    )
    return Header(items, None)


def genesis_hash(genesis: Genesis) -> bytes:
    return keccak(rlp.encode(list(expected_genesis_header(genesis).items)))


def _show(name: str, value: bytes) -> str:
    if name in {"difficulty", "number", "gasLimit", "gasUsed", "timestamp", "baseFeePerGas", "blobGasUsed",
                "excessBlobGas"}:
        return str(int.from_bytes(value, "big"))
    return "0x" + value.hex()


@dataclass
class GenesisCheck:
    """What the genesis comparison established (kept in the report's ``stats``)."""

    expected_hash: bytes
    node_hash: bytes | None = None
    matches: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"genesisHashExpected": "0x" + self.expected_hash.hex(),
                "genesisHashNode": None if self.node_hash is None else "0x" + self.node_hash.hex(),
                "genesisMatches": self.matches}


def check_genesis(client: RpcClient, genesis: Genesis, report: AuditReport,
                  state_root: bytes | None = None) -> GenesisCheck:
    """Compare the node's block 0 (and chain id, and block 1's parent link) with ``genesis``; adds findings.

    ``state_root``: the alloc's state root if already computed (see :func:`expected_genesis_header`)."""
    expected = expected_genesis_header(genesis, state_root)
    check = GenesisCheck(expected_hash=expected.plain_hash())
    block0, block1 = client.batch([("eth_getBlockByNumber", ("0x0", False)), ("eth_getBlockByNumber", ("0x1", False))])
    node_chain_id = None
    try:
        node_chain_id = hex_int(client.call("eth_chainId"), "eth_chainId")
    except RpcError as exc:
        report.add("genesis-chain-id", f"the node does not report its chain id ({exc})", 0, severity="warning")
    if node_chain_id is not None and node_chain_id != genesis.chain_id:
        report.add("genesis-chain-id",
                   f"the genesis file is for chain id {genesis.chain_id}, the node serves chain id {node_chain_id}", 0,
                   field="config.chainId", expected=genesis.chain_id, actual=node_chain_id, authoritative=AUTHORITY)
    if block0 is None:
        report.add("genesis-mismatch", "the node does not return block 0", 0)
        return check
    try:
        node = header_from_json(block0)
    except HeaderError as exc:
        report.add("genesis-mismatch", f"block 0 is malformed: {exc}", 0)
        return check
    check.node_hash = node.plain_hash()
    if node.reported_hash is not None and node.reported_hash != check.node_hash:
        report.add("hash-mismatch", f"node reports block 0 hash 0x{node.reported_hash.hex()}, its fields hash to "
                                    f"0x{check.node_hash.hex()}", 0)
    if check.node_hash == check.expected_hash:
        check.matches = True
    else:
        differing = []
        for i, (name, source) in enumerate(HEADER_FIELDS):
            want = expected.items[i]
            got = node.items[i] if i < len(node.items) else None
            if got == want:
                continue
            differing.append(name)
            shown = "absent" if got is None else _show(name, got)
            report.add("genesis-mismatch",
                       f"block 0 {name} is {shown}, the genesis file gives {_show(name, want)} (from {source})", 0,
                       field=source, headerField=name, expected=_show(name, want), actual=shown,
                       authoritative=AUTHORITY)
        if len(node.items) > len(expected.items):
            report.add("genesis-mismatch", "block 0 has header fields of a later fork than the genesis file's", 0,
                       field="config", authoritative=AUTHORITY)
        if "stateRoot" in differing:
            _alloc_hints(client, genesis, report)
        if not differing and len(node.items) == len(expected.items):  # cannot happen: same items, same hash
            report.add("genesis-mismatch", "block 0 hash differs from the genesis file's", 0)
    if block1 is not None:
        try:
            parent = header_from_json(block1).parent_hash
        except HeaderError:
            parent = None
        if parent is not None and parent != check.expected_hash and check.matches:
            report.add("genesis-mismatch", f"block 1 links to parent 0x{parent.hex()}, not to the genesis hash "
                                           f"0x{check.expected_hash.hex()}", 1, field="(block 1 parentHash)",
                       authoritative=AUTHORITY)
    return check


def _alloc_hints(client: RpcClient, genesis: Genesis, report: AuditReport) -> None:
    """Name the accounts (balance, nonce, code, listed storage slots) on which the node's block 0 disagrees
    with the file. The node's answers are only hints: the authoritative fact is the state root mismatch."""
    addresses = sorted(genesis.alloc)[:1000]
    calls: list[tuple[str, tuple[Any, ...]]] = []
    wanted: list[tuple[bytes, str, int]] = []
    for a in addresses:
        acct, ah = genesis.alloc[a], "0x" + a.hex()
        calls += [("eth_getBalance", (ah, "0x0")), ("eth_getTransactionCount", (ah, "0x0")), ("eth_getCode", (ah, "0x0"))]
        wanted += [(a, "balance", acct.balance), (a, "nonce", acct.nonce),
                   (a, "code", int.from_bytes(keccak(acct.code), "big"))]
        for slot, value in sorted(acct.storage.items())[:100]:
            calls.append(("eth_getStorageAt", (ah, hex(slot), "0x0")))
            wanted.append((a, f"storage[{hex(slot)}]", value))
    try:
        answers = client.batch(calls)
    except RpcError:
        return
    for (address, what, want), got in zip(wanted, answers, strict=True):
        try:
            node_value = (int.from_bytes(keccak(bytes.fromhex(str(got)[2:])), "big") if what == "code"
                          else hex_int(got, what))
        except (RpcError, ValueError):
            continue
        if node_value == want:
            continue
        shown = {"code": ("the code in the file", "other code")}.get(what, (str(want), str(node_value)))
        unit = " wei" if what == "balance" else ""
        report.add("genesis-alloc", f"the genesis file gives 0x{address.hex()} {what} {shown[0]}{unit}; the node says "
                                    f"its block 0 has {shown[1]}{unit}", 0, severity="info",
                   field=f"alloc.0x{address.hex()}.{what}", expected=shown[0], actual=shown[1])
