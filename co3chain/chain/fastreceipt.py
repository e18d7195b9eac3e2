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
    for address, topics, data in logs:
        if len(address) != 20 or any(len(t) != 32 for t in topics):
            raise ValueError("log address must be 20 bytes and topics 32 bytes")
        lg = object.__new__(Log)
        d = lg.__dict__
        d[_LOG_ATTRS[0]] = address
        d[_LOG_ATTRS[1]] = tuple(int.from_bytes(t, "big") for t in topics)
        d[_LOG_ATTRS[2]] = data
        log_objs.append(lg)
        topics_rlp = rlp_list(b"".join(b"\xa0" + t for t in topics))
        encoded_logs.append(rlp_list(b"\x94" + address + topics_rlp + rlp_string(data)))
    bloom = bloom_of(logs)
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
