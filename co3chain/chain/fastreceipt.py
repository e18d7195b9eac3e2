"""Legacy (pre-EIP-2718) receipts built and RLP-encoded directly, without pyrlp's object machinery.

Why: a block builder creates one ``Receipt`` per transaction and encodes it once for the receipts root.
Through pyrlp that is ~35 µs per ERC-20 transfer (argument merging, duplicate checks and field
validation in ``Serializable.__init__``, then a generic serializer walk) -- about a fifth of building a
block with revm. The receipt is a fixed shape (status, cumulative gas, 256-byte bloom, logs of address,
32-byte topics and data), so its encoding is written here directly and stored as the object's cached RLP:
``receipt.encode()`` and ``rlp.encode(receipt)`` return it without serializing again.

The objects are real ``eth.rlp.receipts.Receipt`` / ``eth.rlp.logs.Log`` instances with the same field
values py-evm would store; ``tests/chain/test_fastpaths.py`` compares them (fields, encoding, bloom) with
py-evm's own construction on random logs.
"""

from __future__ import annotations

from eth.rlp.logs import Log
from eth.rlp.receipts import Receipt
from eth_hash.auto import keccak

from co3chain.chain.noderlp import decode_node
from co3chain.chain.rlpwrite import rlp_list, rlp_string, rlp_uint

_RECEIPT_ATTRS = Receipt._meta.field_attrs
_LOG_ATTRS = Log._meta.field_attrs
if tuple(Receipt._meta.field_names) != ("state_root", "gas_used", "bloom", "logs") or tuple(
    Log._meta.field_names
) != ("address", "topics", "data"):
    raise ImportError("unexpected eth.rlp receipt/log layout")  # pragma: no cover

#: (address, topics as 32-byte words, data) as revm reports a log
RawLog = tuple[bytes, tuple[bytes, ...], bytes]


#: bloom bits by item: contract addresses, event signatures and account topics recur in every block
_BLOOM_BITS: dict[bytes, int] = {}


def bloom_bits(item: bytes) -> int:
    """The three bloom bits of one address or topic."""
    bits = _BLOOM_BITS.get(item)
    if bits is None:
        h = keccak(item)
        bits = (
            (1 << (((h[0] << 8) | h[1]) & 2047))
            | (1 << (((h[2] << 8) | h[3]) & 2047))
            | (1 << (((h[4] << 8) | h[5]) & 2047))
        )
        if len(_BLOOM_BITS) > 100_000:
            _BLOOM_BITS.clear()
        _BLOOM_BITS[item] = bits
    return bits


def bloom_of(logs: list[RawLog]) -> int:
    """The 2048-bit logs bloom (yellow paper M3:2048) of the logs' addresses and topics."""
    bloom = 0
    for address, topics, _ in logs:
        bloom |= bloom_bits(address)
        for topic in topics:
            bloom |= bloom_bits(topic)
    return bloom


def legacy_receipt(status: bytes, cumulative_gas: int, logs: list[RawLog]) -> Receipt:
    """``Receipt(status, cumulative_gas, [Log(...)...])`` with its encoding already cached.

    ``logs`` entries are ``(20-byte address, 32-byte topics, data)``; addresses and topics of any other
    length are refused (py-evm's sedes would refuse to encode them too).
    """
    log_objs = []
    encoded_logs = []
    bloom = 0  # bloom_of(logs), folded into this loop
    for address, topics, data in logs:
        if len(address) != 20:
            raise ValueError("log address must be 20 bytes and topics 32 bytes")
        bloom |= bloom_bits(address)
        for t in topics:
            if len(t) != 32:
                raise ValueError("log address must be 20 bytes and topics 32 bytes")
            bloom |= bloom_bits(t)
        lg = object.__new__(Log)
        d = lg.__dict__
        d[_LOG_ATTRS[0]] = address
        d[_LOG_ATTRS[1]] = tuple([int.from_bytes(t, "big") for t in topics])
        d[_LOG_ATTRS[2]] = data
        log_objs.append(lg)
        # every topic is 32 bytes: its RLP is 0xa0 and the word
        topics_rlp = rlp_list(b"\xa0" + b"\xa0".join(topics)) if topics else b"\xc0"
        encoded_logs.append(rlp_list(b"\x94" + address + topics_rlp + rlp_string(data)))
    receipt = object.__new__(Receipt)
    d = receipt.__dict__
    d[_RECEIPT_ATTRS[0]] = status
    d[_RECEIPT_ATTRS[1]] = cumulative_gas
    d[_RECEIPT_ATTRS[2]] = bloom
    d[_RECEIPT_ATTRS[3]] = tuple(log_objs)
    d["_cached_rlp"] = rlp_list(
        rlp_string(status)
        + rlp_uint(cumulative_gas)
        + b"\xb9\x01\x00"  # a 256-byte string
        + bloom.to_bytes(256, "big")
        + rlp_list(b"".join(encoded_logs))
    )
    return receipt


def decode_legacy_receipt(encoded: bytes) -> Receipt | None:
    """The legacy receipt ``encoded`` as :func:`legacy_receipt` builds it, or ``None`` to let py-evm decode.

    Why: reading a block's receipts back (``eth_getTransactionReceipt`` decodes all receipts of the block,
    ``eth_getBlockReceipts``, the audit replay) went through pyrlp's ``Serializable`` layers per receipt
    and per log. Here the bytes are split by the trie-node decoder, the receipt is rebuilt with
    :func:`legacy_receipt` and accepted only if its encoding *is* ``encoded``: then pyrlp (which decodes
    only canonical encodings) would have produced the same field values, and the object is the one the
    node built at execution. Anything else (typed receipts, non-canonical bytes, another shape, a bloom
    that does not match the logs) returns ``None``. Proven against py-evm in ``tests/chain/test_fastpaths.py``.
    """
    if not encoded or encoded[0] < 0xC0:
        return None
    try:
        item = decode_node(encoded)
    except Exception:  # noqa: BLE001 - malformed bytes: py-evm decides (and words the error)
        return None
    if len(item) != 4:
        return None
    status, gas, _bloom, logs = item
    if status.__class__ is not bytes or gas.__class__ is not bytes or logs.__class__ is not list:
        return None
    raw_logs: list[RawLog] = []
    for lg in logs:
        if lg.__class__ is not list or len(lg) != 3:
            return None
        address, topics, data = lg
        if address.__class__ is not bytes or topics.__class__ is not list or data.__class__ is not bytes:
            return None
        for t in topics:
            if t.__class__ is not bytes:
                return None
        raw_logs.append((address, tuple(topics), data))
    try:
        receipt = legacy_receipt(status, int.from_bytes(gas, "big"), raw_logs)
    except ValueError:
        return None
    return receipt if receipt.__dict__["_cached_rlp"] == encoded else None
