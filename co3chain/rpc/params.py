"""Decoding of JSON-RPC arguments into Python values; every problem raises :class:`InvalidParams`.

Why strict: a quantity like ``"12"`` (no ``0x``) is a client bug that geth rejects; silently reading it
as hex or decimal would make the same call mean different things on different nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from co3chain.rpc.errors import InvalidParams

BLOCK_TAGS = frozenset({"latest", "pending", "earliest", "safe", "finalized"})
MAX_UINT256 = (1 << 256) - 1


def quantity(value: Any, name: str = "value", *, maximum: int = MAX_UINT256) -> int:
    """A hex quantity ``"0x1a"`` (JSON integers are accepted too, as many clients send them)."""
    if isinstance(value, bool):
        raise InvalidParams(f"invalid {name}: expected hex quantity, got boolean")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str):
        if not (value.startswith("0x") or value.startswith("0X")) or len(value) < 3:
            raise InvalidParams(f"invalid {name}: hex string without 0x prefix: {value!r}")
        try:
            result = int(value[2:], 16)
        except ValueError:
            raise InvalidParams(f"invalid {name}: invalid hex string {value!r}") from None
    else:
        raise InvalidParams(f"invalid {name}: expected hex quantity, got {type(value).__name__}")
    if result < 0 or result > maximum:
        raise InvalidParams(f"invalid {name}: out of range")
    return result


def data(value: Any, name: str = "data") -> bytes:
    """Hex data ``"0x..."`` (an odd number of digits is refused)."""
    if not isinstance(value, str):
        raise InvalidParams(f"invalid {name}: expected hex string, got {type(value).__name__}")
    if not (value.startswith("0x") or value.startswith("0X")):
        raise InvalidParams(f"invalid {name}: hex string without 0x prefix")
    body = value[2:]
    if len(body) % 2:
        raise InvalidParams(f"invalid {name}: hex string of odd length")
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise InvalidParams(f"invalid {name}: invalid hex string") from None


def fixed(value: Any, length: int, name: str) -> bytes:
    b = data(value, name)
    if len(b) != length:
        raise InvalidParams(f"invalid {name}: expected {length} bytes, got {len(b)}")
    return b


def address(value: Any, name: str = "address") -> bytes:
    return fixed(value, 20, name)


def hash32(value: Any, name: str = "hash") -> bytes:
    return fixed(value, 32, name)


def boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParams(f"invalid {name}: expected boolean")
    return value


@dataclass(frozen=True)
class BlockRef:
    """A block selector: exactly one of ``tag`` (latest/pending/...), ``number`` or ``hash``."""

    tag: str | None = None
    number: int | None = None
    hash: bytes | None = None


LATEST = BlockRef(tag="latest")


def block_ref(value: Any, name: str = "block", *, default: BlockRef | None = LATEST) -> BlockRef:
    """Block tag, hex number, or EIP-1898 object ``{"blockNumber"|"blockHash", "requireCanonical"}``."""
    if value is None:
        if default is None:
            raise InvalidParams(f"missing value for required argument {name}")
        return default
    if isinstance(value, str) and value in BLOCK_TAGS:
        return BlockRef(tag=value)
    if isinstance(value, dict):
        if "blockHash" in value:
            return BlockRef(hash=hash32(value["blockHash"], f"{name}.blockHash"))
        if "blockNumber" in value:
            return block_ref(value["blockNumber"], f"{name}.blockNumber")
        raise InvalidParams(f"invalid {name}: object needs blockHash or blockNumber")
    if isinstance(value, str) and value.startswith("0x") and len(value) == 66:
        return BlockRef(hash=hash32(value, name))
    return BlockRef(number=quantity(value, name, maximum=(1 << 63) - 1))


def block_number_or_tag(value: Any, name: str = "block") -> BlockRef:
    """As :func:`block_ref` but refusing hashes (eth_getBlockByNumber & co.)."""
    ref = block_ref(value, name, default=None)
    if ref.hash is not None:
        raise InvalidParams(f"invalid {name}: expected block number or tag")
    return ref


@dataclass
class CallArgs:
    """A transaction-like object for eth_call / eth_estimateGas / eth_sendTransaction."""

    sender: bytes | None = None
    to: bytes | None = None
    gas: int | None = None
    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    value: int = 0
    data: bytes = b""
    nonce: int | None = None
    access_list: list[tuple[bytes, list[int]]] = field(default_factory=list)
    type: int | None = None
    chain_id: int | None = None


def call_args(value: Any, name: str = "transaction") -> CallArgs:
    if not isinstance(value, dict):
        raise InvalidParams(f"invalid {name}: expected object")
    args = CallArgs()
    if value.get("from") is not None:
        args.sender = address(value["from"], f"{name}.from")
    if value.get("to") is not None:
        args.to = address(value["to"], f"{name}.to")
    for key, attr in (
        ("gas", "gas"),
        ("gasPrice", "gas_price"),
        ("maxFeePerGas", "max_fee_per_gas"),
        ("maxPriorityFeePerGas", "max_priority_fee_per_gas"),
        ("nonce", "nonce"),
        ("type", "type"),
        ("chainId", "chain_id"),
    ):
        if value.get(key) is not None:
            setattr(args, attr, quantity(value[key], f"{name}.{key}"))
    if value.get("value") is not None:
        args.value = quantity(value["value"], f"{name}.value")
    inp, dat = value.get("input"), value.get("data")
    if inp is not None and dat is not None and inp != dat:
        raise InvalidParams(
            'both "data" and "input" are set and not equal. Please use "input" to pass transaction call data'
        )
    payload = inp if inp is not None else dat
    if payload is not None:
        args.data = data(payload, f"{name}.input")
    if value.get("accessList") is not None:
        al = value["accessList"]
        if not isinstance(al, list):
            raise InvalidParams(f"invalid {name}.accessList: expected list")
        for entry in al:
            if not isinstance(entry, dict):
                raise InvalidParams(f"invalid {name}.accessList entry")
            keys = entry.get("storageKeys") or []
            if not isinstance(keys, list):
                raise InvalidParams(f"invalid {name}.accessList storageKeys")
            args.access_list.append(
                (
                    address(entry.get("address"), f"{name}.accessList.address"),
                    [int.from_bytes(hash32(k, "storageKey"), "big") for k in keys],
                )
            )
    return args


@dataclass(frozen=True)
class AccountOverride:
    """eth_call state override for one account (geth's ``StateOverride`` entry)."""

    balance: int | None = None
    nonce: int | None = None
    code: bytes | None = None
    state: dict[int, int] | None = None  # replaces the whole storage
    state_diff: dict[int, int] | None = None  # patches single slots


def state_overrides(value: Any) -> dict[bytes, AccountOverride]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidParams("invalid state override: expected object")
    result: dict[bytes, AccountOverride] = {}
    for addr_hex, spec in value.items():
        addr = address(addr_hex, "state override address")
        if not isinstance(spec, dict):
            raise InvalidParams("invalid state override entry: expected object")
        if spec.get("state") is not None and spec.get("stateDiff") is not None:
            raise InvalidParams(f"account {addr_hex} has both 'state' and 'stateDiff'")

        def slots(obj: Any, label: str) -> dict[int, int] | None:
            if obj is None:
                return None
            if not isinstance(obj, dict):
                raise InvalidParams(f"invalid state override {label}: expected object")
            return {
                int.from_bytes(hash32(k, f"{label} key"), "big"): int.from_bytes(
                    hash32(v, f"{label} value"), "big"
                )
                for k, v in obj.items()
            }

        result[addr] = AccountOverride(
            balance=None if spec.get("balance") is None else quantity(spec["balance"], "override balance"),
            nonce=None
            if spec.get("nonce") is None
            else quantity(spec["nonce"], "override nonce", maximum=(1 << 64) - 1),
            code=None if spec.get("code") is None else data(spec["code"], "override code"),
            state=slots(spec.get("state"), "state"),
            state_diff=slots(spec.get("stateDiff"), "stateDiff"),
        )
    return result


@dataclass(frozen=True)
class FilterCriteria:
    """eth_getLogs / eth_newFilter criteria. ``topics[i]`` is None (wildcard) or a set of alternatives."""

    from_block: BlockRef = LATEST
    to_block: BlockRef = LATEST
    block_hash: bytes | None = None
    addresses: frozenset[bytes] = frozenset()
    topics: tuple[frozenset[bytes] | None, ...] = ()


def filter_criteria(value: Any) -> FilterCriteria:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise InvalidParams("invalid filter: expected object")
    block_hash = None
    if value.get("blockHash") is not None:
        if value.get("fromBlock") is not None or value.get("toBlock") is not None:
            raise InvalidParams(
                "cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other"
            )
        block_hash = hash32(value["blockHash"], "blockHash")
    addrs = value.get("address")
    if addrs is None:
        addresses: frozenset[bytes] = frozenset()
    elif isinstance(addrs, list):
        addresses = frozenset(address(a, "address") for a in addrs)
    else:
        addresses = frozenset({address(addrs, "address")})
    topics_raw = value.get("topics") or []
    if not isinstance(topics_raw, list):
        raise InvalidParams("invalid topics: expected list")
    if len(topics_raw) > 4:
        raise InvalidParams("invalid topics: at most 4 positions")
    topics: list[frozenset[bytes] | None] = []
    for t in topics_raw:
        if t is None:
            topics.append(None)
        elif isinstance(t, list):
            alts = frozenset(hash32(x, "topic") for x in t if x is not None)
            topics.append(alts if alts and None not in t else None)
        else:
            topics.append(frozenset({hash32(t, "topic")}))
    return FilterCriteria(
        from_block=block_ref(value.get("fromBlock"), "fromBlock"),
        to_block=block_ref(value.get("toBlock"), "toBlock"),
        block_hash=block_hash,
        addresses=addresses,
        topics=tuple(topics),
    )


def log_matches(
    crit: FilterCriteria, log_address: bytes, log_topics: list[bytes] | tuple[bytes, ...]
) -> bool:
    """Address/topic match rule of geth's ``filterLogs`` (block range is checked by the caller)."""
    if crit.addresses and log_address not in crit.addresses:
        return False
    if len(crit.topics) > len(log_topics):
        return False
    return all(not (alts is not None and log_topics[i] not in alts) for i, alts in enumerate(crit.topics))
