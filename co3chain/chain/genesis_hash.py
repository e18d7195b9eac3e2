"""Block 0 of any Besu genesis file — header fields and hash exactly as Besu computes them.

Why this exists apart from :mod:`co3chain.chain.genesis`: co3chain *runs* only Cancun-from-genesis QBFT
networks, but PAs compare genesis hashes out of band and auditors check genesis files that may predate
London. The hash of such a file must be the one Besu prints, so this module reads a genesis the way Besu
does (``GenesisConfig`` + ``GenesisState`` in hyperledger/besu, read as a specification):

* Which optional header fields exist depends on the fork schedule at block 0: ``baseFeePerGas`` when the
  file gives one or London is at block 0 (then, if none is given, Besu's default 1 gwei — even with
  ``zeroBaseFee``); ``withdrawalsRoot`` from Shanghai; ``blobGasUsed``, ``excessBlobGas``,
  ``parentBeaconBlockRoot`` from Cancun; ``requestsHash`` from Prague. A timestamp fork is "at genesis"
  when its time is ≤ the genesis timestamp; an absent fork inherits from the next one (Shanghai from
  Cancun, Cancun from Prague, Prague from Osaka).
* The header RLP stops at the first absent optional field (Besu's encoder): a file enabling Shanghai but
  not London hashes 15 fields, not 16.
* Missing fields take Besu's defaults: ``difficulty`` and ``gasLimit`` (or ``gasTarget``) are required;
  ``mixHash``, ``parentHash``, ``coinbase``, ``extraData`` default to zeros/empty; ``nonce`` and
  ``timestamp`` to 0. Besu's number parsing is kept: ``nonce``, ``difficulty`` and the blob fields are
  hexadecimal even without ``0x``; ``gasLimit``, ``timestamp`` and ``baseFeePerGas`` follow Java's
  ``Long.decode`` (``0x``/``#`` hex, a leading ``0`` octal, else decimal).
* Block 0 is hashed with its raw extraData (no QBFT round/seal stripping), so the same code serves QBFT,
  Clique and ethash files.

Keys are case-insensitive, as in Besu. :func:`cancun_genesis_header` gives the header co3chain's node
stores for a parsed (runnable) genesis, so both paths share :class:`GenesisHeader`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rlp
from eth.constants import BLANK_ROOT_HASH, EMPTY_UNCLE_HASH, ZERO_HASH32
from eth_hash.auto import keccak

from co3chain.chain.genesis import (
    BESU_GENESIS_BASE_FEE,
    AllocAccount,
    Genesis,
    GenesisError,
    _Keys,
    parse_alloc,
)

#: EIP-7685: sha256 over no requests.
EMPTY_REQUESTS_HASH = hashlib.sha256(b"").digest()
_EMPTY_BLOOM = b"\x00" * 256

#: timestamp forks after Prague whose header layout co3chain does not know: refused, never guessed.
_UNKNOWN_LATER_FORKS = ("amsterdamtime", "verkletime", "futureeipstime", "experimentaleipstime")


@dataclass(frozen=True)
class GenesisHeader:
    """The fields of block 0; ``None`` marks an optional field the fork schedule leaves out."""

    state_root: bytes
    difficulty: int
    gas_limit: int
    timestamp: int
    extra_data: bytes
    mix_hash: bytes
    nonce: bytes
    coinbase: bytes
    parent_hash: bytes = ZERO_HASH32
    base_fee: int | None = None
    withdrawals_root: bytes | None = None
    blob_gas_used: int | None = None
    excess_blob_gas: int | None = None
    parent_beacon_block_root: bytes | None = None
    requests_hash: bytes | None = None

    def rlp_fields(self) -> list[Any]:
        """Header items in RLP order; optional items stop at the first absent one (as Besu encodes)."""
        fields: list[Any] = [
            self.parent_hash, EMPTY_UNCLE_HASH, self.coinbase, self.state_root, BLANK_ROOT_HASH,
            BLANK_ROOT_HASH, _EMPTY_BLOOM, self.difficulty, 0, self.gas_limit, 0, self.timestamp,
            self.extra_data, self.mix_hash, self.nonce,
        ]
        optional: list[tuple[Any, ...]] = [
            (self.base_fee,),
            (self.withdrawals_root,),
            (self.blob_gas_used, self.excess_blob_gas),
            (self.parent_beacon_block_root,),
            (self.requests_hash,),
        ]
        for group in optional:
            if any(v is None for v in group):
                break
            fields.extend(group)
        return fields

    def encode(self) -> bytes:
        return rlp.encode(self.rlp_fields())

    @property
    def hash(self) -> bytes:
        """keccak256 of the header RLP: the genesis block hash."""
        return keccak(self.encode())

    @property
    def layout(self) -> str:
        """Which fork's header shape the RLP has (by field count)."""
        return {15: "pre-London", 16: "London", 17: "Shanghai", 20: "Cancun", 21: "Prague"}[
            len(self.rlp_fields())
        ]

    def py_evm_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for py-evm's Cancun header class (all Cancun fields must be present)."""
        if self.layout != "Cancun":
            raise GenesisError(f"genesis: a {self.layout} genesis header cannot be stored by a Cancun chain")
        return {
            "parent_hash": self.parent_hash, "uncles_hash": EMPTY_UNCLE_HASH, "coinbase": self.coinbase,
            "state_root": self.state_root, "difficulty": self.difficulty, "block_number": 0,
            "gas_limit": self.gas_limit, "timestamp": self.timestamp, "extra_data": self.extra_data,
            "mix_hash": self.mix_hash, "nonce": self.nonce, "base_fee_per_gas": self.base_fee,
            "withdrawals_root": self.withdrawals_root, "blob_gas_used": self.blob_gas_used,
            "excess_blob_gas": self.excess_blob_gas, "parent_beacon_block_root": self.parent_beacon_block_root,
        }


def cancun_genesis_header(g: Genesis, state_root: bytes) -> GenesisHeader:
    """Block 0 of a runnable co3chain genesis (London, Shanghai, Cancun at 0)."""
    return GenesisHeader(
        state_root=state_root, difficulty=g.difficulty, gas_limit=g.gas_limit, timestamp=g.timestamp,
        extra_data=g.extra_data, mix_hash=g.mix_hash, nonce=g.nonce, coinbase=g.coinbase,
        base_fee=g.base_fee, withdrawals_root=BLANK_ROOT_HASH, blob_gas_used=0, excess_blob_gas=0,
        parent_beacon_block_root=ZERO_HASH32,
    )


def alloc_state_root(alloc: Mapping[bytes, AllocAccount], db: Any = None) -> bytes:
    """State root of the genesis accounts, written to ``db`` (default: in memory, nothing on disk)."""
    from co3chain.chain.statedb import BatchedAccountDB
    from co3chain.chain.storage import MemoryKV

    adb = BatchedAccountDB(MemoryKV() if db is None else db, BLANK_ROOT_HASH)  # fast for big allocs
    for addr, acct in alloc.items():
        if acct.balance:
            adb.set_balance(addr, acct.balance)
        if acct.nonce:
            adb.set_nonce(addr, acct.nonce)
        if acct.code:
            adb.set_code(addr, acct.code)
        for slot, value in acct.storage.items():
            adb.set_storage(addr, slot, value)
    adb.persist()
    return bytes(adb.state_root)


def besu_genesis_header(data: Mapping[str, Any]) -> GenesisHeader:
    """Block-0 header of any Besu genesis object (any consensus, any fork schedule), as Besu builds it."""
    if not isinstance(data, Mapping):
        raise GenesisError("genesis: top level must be a JSON object")
    top = _Keys(data, "")
    config_raw = top.get("config") or {}
    if not isinstance(config_raw, Mapping):
        raise GenesisError("genesis: config must be an object")
    config = _Keys(config_raw, "config.")
    timestamp = _long_decode(top.get("timestamp", "0x0"), "timestamp")

    def at_genesis(key: str) -> bool | None:
        value = config.get(key)
        return None if value is None else timestamp >= _long_decode(value, f"config.{key}")

    for key in _UNKNOWN_LATER_FORKS:
        if at_genesis(key):
            raise GenesisError(f"genesis: config.{key} at genesis: this header layout is not implemented")
    osaka = bool(at_genesis("osakatime"))
    prague = at_genesis("praguetime")
    prague = osaka if prague is None else prague
    cancun = at_genesis("cancuntime")
    cancun = (prague or bool(at_genesis("cancuneoftime"))) if cancun is None else cancun
    shanghai = at_genesis("shanghaitime")
    shanghai = cancun if shanghai is None else shanghai

    if top.get("difficulty") is None:
        raise GenesisError("genesis: missing required field 'difficulty' (Besu refuses a genesis without it)")
    gas_limit_raw = top.get("gasLimit") if top.get("gasLimit") is not None else top.get("gasTarget")
    if gas_limit_raw is None:
        raise GenesisError("genesis: missing required field 'gasLimit' (Besu refuses a genesis without it)")

    base_fee: int | None = None
    if top.get("baseFeePerGas") is not None:
        base_fee = _long_decode(top["baseFeePerGas"], "baseFeePerGas")
    elif config.get("londonBlock") is not None and _long_decode(config["londonBlock"], "config.londonBlock") == 0:
        base_fee = BESU_GENESIS_BASE_FEE

    return GenesisHeader(
        state_root=alloc_state_root(parse_alloc(top.get("alloc"))),
        difficulty=_hex_int(top["difficulty"], "difficulty", bits=256),
        gas_limit=_long_decode(gas_limit_raw, "gasLimit"),
        timestamp=timestamp,
        extra_data=_hex_bytes(top.get("extraData", ""), "extraData"),
        mix_hash=_hex_bytes(top.get("mixHash", ""), "mixHash", pad=32),
        nonce=_hex_int(top.get("nonce", "0x0"), "nonce", bits=64).to_bytes(8, "big"),
        coinbase=_hex_bytes(top.get("coinbase", "0x" + "00" * 20), "coinbase", pad=20, exact=True),
        parent_hash=_hex_bytes(top.get("parentHash", ""), "parentHash", pad=32),
        base_fee=base_fee,
        withdrawals_root=BLANK_ROOT_HASH if shanghai else None,
        blob_gas_used=_hex_int(top.get("blobGasUsed", "0x0"), "blobGasUsed", bits=64) if cancun else None,
        excess_blob_gas=_hex_int(top.get("excessBlobGas", "0x0"), "excessBlobGas", bits=64) if cancun else None,
        parent_beacon_block_root=(
            _hex_bytes(top.get("parentBeaconBlockRoot", "0x" + "00" * 32), "parentBeaconBlockRoot", pad=32)
            if cancun else None
        ),
        requests_hash=EMPTY_REQUESTS_HASH if prague else None,
    )


def _text(value: Any, name: str) -> str:
    """A JSON scalar as Besu's JsonNode.asText() gives it (numbers in decimal)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise GenesisError(f"genesis: {name} must be a number or a string, got {value!r}")
    return str(value).strip()


def _long_decode(value: Any, name: str) -> int:
    """Java ``Long.decode``: optional sign, ``0x``/``0X``/``#`` hex, leading ``0`` octal, else decimal."""
    s = _text(value, name)
    sign = -1 if s.startswith("-") else 1
    s = s[1:] if s[:1] in "+-" else s
    try:
        if s[:2].lower() == "0x" or s[:1] == "#":
            result = int(s[2:] if s[:1] == "0" else s[1:], 16)
        elif len(s) > 1 and s[0] == "0":
            result = int(s[1:], 8)
        else:
            result = int(s, 10)
    except ValueError:
        raise GenesisError(f"genesis: {name} must be a number but was {value!r}") from None
    result *= sign
    if not -(2**63) <= result < 2**63:
        raise GenesisError(f"genesis: {name} does not fit a 64-bit number: {value!r}")
    if result < 0:
        raise GenesisError(f"genesis: {name} must not be negative")
    return result


def _hex_int(value: Any, name: str, *, bits: int) -> int:
    """Hexadecimal with or without ``0x`` (Besu parses nonce, difficulty and blob fields so)."""
    s = _text(value, name)
    s = s[2:] if s[:2].lower() == "0x" else s
    try:
        result = int(s, 16) if s else 0
    except ValueError:
        raise GenesisError(f"genesis: {name} is not a hex number: {value!r}") from None
    if result >= 2**bits:
        raise GenesisError(f"genesis: {name} does not fit {bits} bits: {value!r}")
    return result


def _hex_bytes(value: Any, name: str, *, pad: int | None = None, exact: bool = False) -> bytes:
    if not isinstance(value, str):
        raise GenesisError(f"genesis: {name} must be a hex string")
    s = value.strip()
    s = s[2:] if s[:2].lower() == "0x" else s
    if len(s) % 2:
        s = "0" + s
    try:
        raw = bytes.fromhex(s)
    except ValueError:
        raise GenesisError(f"genesis: {name} is not valid hex: {value!r}") from None
    if pad is not None:
        if len(raw) > pad or (exact and len(raw) != pad):
            raise GenesisError(f"genesis: {name} must be {pad} bytes, got {len(raw)}")
        raw = raw.rjust(pad, b"\x00")
    return raw


def genesis_report(data: Mapping[str, Any]) -> dict[str, Any]:
    """What ``network genesis-hash`` prints: Besu's block-0 hash of ``data`` and whether co3chain runs it.

    Runnable means :func:`co3chain.chain.genesis.parse_genesis` accepts the file *and* the header the node
    would store hashes to Besu's value (a safety net: any disagreement makes the file unrunnable).
    """
    from co3chain.chain.genesis import parse_genesis

    header = besu_genesis_header(data)
    reason = ""
    try:
        parsed = parse_genesis(data)
    except GenesisError as exc:
        reason = str(exc).removeprefix("genesis: ")
    else:
        ours = cancun_genesis_header(parsed, header.state_root)
        if ours.hash != header.hash:
            reason = "co3chain's block 0 for this file would differ from Besu's (0x" + ours.hash.hex() + ")"
    return {
        "hash": "0x" + header.hash.hex(),
        "headerLayout": header.layout,
        "headerFields": len(header.rlp_fields()),
        "stateRoot": "0x" + header.state_root.hex(),
        "baseFeePerGas": header.base_fee,
        "runnable": not reason,
        "reason": reason or None,
    }
