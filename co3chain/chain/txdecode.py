"""Direct decoder for signed legacy, EIP-2930 and EIP-1559 transactions into py-evm's own objects.

Why: every transaction a node admits is decoded once per node (``eth_sendRawTransaction`` and, on a
4-validator network, once more by every validator from gossip). py-evm's decoder goes through pyrlp's
generic machinery: a recursive item decoder that also rebuilds each item's encoding, then the
``rlp.Serializable`` layer (``merge_args_to_kwargs``, ``validate_args_and_kwargs``, duplicate-name
checks, ``make_immutable``...) for the transaction and every access-list entry. That was ~30 % of the
admission CPU. Here one flat pass over the bytes reads the fields with pyrlp's strict rules and fills the
*same* py-evm classes directly, so everything downstream (pool, engines, block encoding, receipts) sees
objects indistinguishable from py-evm's.

The pass also yields, for free, what admission needs next: the transaction hash (``keccak`` of the
bytes -- pyrlp would re-encode to exactly these bytes, because only canonical encodings are accepted)
and the exact bytes the sender signed (slices of the input, no re-encoding), so sender recovery
(:mod:`co3chain.chain.senders`) hashes those bytes directly.

Exactness: the decoder never *refuses* anything itself. It returns ``None`` for every input it does not
fully understand -- any non-canonical or malformed RLP, wrong field counts or sizes, blob (type 3) or
unknown types, a transaction builder whose decoders are not the known py-evm ones -- and the caller then
uses py-evm's decoder, which raises its usual errors. When it does return, the object equals py-evm's
(same class, same fields, same cached encoding, same hash, same signing message); this is proven on
random and mutated inputs in ``tests/chain/test_txdecode.py``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from eth.vm.forks.berlin.transactions import (
    AccessListPayloadDecoder,
    AccessListTransaction,
    AccountAccesses,
)
from eth.vm.forks.london.transactions import DynamicFeePayloadDecoder, DynamicFeeTransaction
from eth_hash.auto import keccak

from co3chain.chain.rlpwrite import length_prefix, rlp_uint

ACCESS_LIST_TYPE = 1
DYNAMIC_FEE_TYPE = 2


class DecodedTx(NamedTuple):
    """A decoded signed transaction plus what admission needs next, computed once."""

    #: the py-evm transaction object (as ``TransactionBuilder.decode`` would return it)
    tx: Any
    #: ``keccak(raw)``: the transaction hash (same as ``tx.hash``)
    hash: bytes
    #: bytes whose keccak the sender signed (same as ``tx.get_message_for_signing()``), or ``None``
    #: when py-evm must judge the signature itself (a legacy ``v`` outside 27/28 and 35+)
    signing_message: bytes | None
    #: secp256k1 recovery id taken from ``v`` / ``y_parity`` (meaningful with ``signing_message``)
    recovery_id: int


class _Refused(Exception):
    """Internal: the input is not for the fast path (py-evm decides)."""


def _item(data: bytes, pos: int, end: int) -> tuple[bool, int, int]:
    """``(is_list, payload_start, payload_end)`` of the item at ``pos`` with pyrlp's strict rules:
    canonical single bytes and lengths, and the item must lie within ``end``."""
    b0 = data[pos]
    if b0 < 0x80:
        return False, pos, pos + 1
    if b0 < 0xB8:
        start, stop = pos + 1, pos + 1 + b0 - 0x80
        if stop > end or (stop == start + 1 and data[start] < 0x80):
            raise _Refused
        return False, start, stop
    if b0 < 0xC0:
        is_list, n = False, b0 - 0xB7
    elif b0 < 0xF8:
        start, stop = pos + 1, pos + 1 + b0 - 0xC0
        if stop > end:
            raise _Refused
        return True, start, stop
    else:
        is_list, n = True, b0 - 0xF7
    start = pos + 1 + n
    if start > end or data[pos + 1] == 0:
        raise _Refused
    length = int.from_bytes(data[pos + 1 : start], "big")
    stop = start + length
    if length < 56 or stop > end:
        raise _Refused
    return is_list, start, stop


#: field kinds, in py-evm's field order: big_endian_int, ``address`` (20 bytes or empty), binary,
#: access list (``CountableList(AccountAccesses)``)
_UINT, _ADDRESS, _BINARY, _ACCESS_LIST = range(4)
LEGACY_KINDS = (_UINT, _UINT, _UINT, _ADDRESS, _UINT, _BINARY, _UINT, _UINT, _UINT)
ACCESS_LIST_KINDS = (_UINT, _UINT, _UINT, _UINT, _ADDRESS, _UINT, _BINARY, _ACCESS_LIST, _UINT, _UINT, _UINT)
DYNAMIC_FEE_KINDS = (_UINT,) + ACCESS_LIST_KINDS


def _fields(data: bytes, pos: int, end: int, kinds: tuple[int, ...]) -> tuple[list[Any], int]:
    """Decode the list payload ``data[pos:end]`` as exactly ``len(kinds)`` fields of those kinds.

    Returns the values and the offset where the last three fields (the signature) begin. One flat
    loop: the common one-byte and short-string headers are read inline, long forms and lists by
    :func:`_item`; every rule of pyrlp's strict decoder and of the field's sedes is enforced.
    """
    values: list[Any] = []
    append = values.append
    signature_at = 0
    last = len(kinds) - 3
    for index, kind in enumerate(kinds):
        if index == last:
            signature_at = pos
        if pos >= end:
            raise _Refused  # too few fields
        b0 = data[pos]
        if b0 < 0x80:  # a single byte is its own encoding
            start, pos, is_list = pos, pos + 1, False
        elif b0 < 0xB8:
            start = pos + 1
            pos = start + b0 - 0x80
            if pos > end or (b0 == 0x81 and data[start] < 0x80):
                raise _Refused  # overruns its list, or a single byte that should encode itself
            is_list = False
        else:
            is_list, start, pos = _item(data, pos, end)
        if kind == _ACCESS_LIST:
            if not is_list:
                raise _Refused
            append(_access_list(data, start, pos))
            continue
        if is_list:
            raise _Refused
        value = data[start:pos]
        if kind == _UINT:
            if value[:1] == b"\x00":
                raise _Refused  # big_endian_int: minimal length, no leading zero byte
            append(int.from_bytes(value, "big"))
        elif kind == _ADDRESS and len(value) not in (0, 20):
            raise _Refused  # py-evm's ``address`` sedes: 20 bytes, or empty (creation)
        else:
            append(value)
    if pos != end:
        raise _Refused  # too many fields
    return values, signature_at


def _children(data: bytes, start: int, end: int) -> list[tuple[bool, int, int]]:
    """The items directly inside the list payload ``data[start:end]``."""
    out = []
    pos = start
    while pos < end:
        child = _item(data, pos, end)
        out.append(child)
        pos = child[2]
    return out


_ACCESS_ATTRS = AccountAccesses._meta.field_attrs


def _access_list(data: bytes, start: int, stop: int) -> tuple[Any, ...]:
    entries = []
    new = AccountAccesses.__new__
    for entry in _children(data, start, stop):
        if not entry[0]:
            raise _Refused
        fields = _children(data, entry[1], entry[2])
        if len(fields) != 2:
            raise _Refused
        is_list, a_start, a_stop = fields[0]
        if is_list or a_stop - a_start not in (0, 20):  # ``address`` sedes here too (empty decodes)
            raise _Refused
        keys_item = fields[1]
        if not keys_item[0]:
            raise _Refused
        keys = []
        for key in _children(data, keys_item[1], keys_item[2]):
            if key[0] or key[2] - key[1] != 32:  # BigEndianInt(32): exactly 32 bytes, zeros allowed
                raise _Refused
            keys.append(int.from_bytes(data[key[1] : key[2]], "big"))
        obj = new(AccountAccesses)
        obj.__dict__.update(zip(_ACCESS_ATTRS, (data[a_start:a_stop], tuple(keys)), strict=True))
        entries.append(obj)
    return tuple(entries)


def _fill(cls: type, values: tuple[Any, ...], encoded: bytes) -> Any:
    """A ``cls`` (rlp.Serializable) instance holding ``values`` and its canonical encoding, as pyrlp's
    ``decode(encoded, sedes=cls)`` leaves it."""
    obj = cls.__new__(cls)
    attrs = obj.__dict__
    attrs.update(zip(cls._meta.field_attrs, values, strict=True))
    attrs["_cached_rlp"] = encoded
    return obj


class TxDecoder:
    """Fast decoder bound to one py-evm transaction builder (the chain VM's)."""

    def __init__(self, builder: Any) -> None:
        self.builder = builder
        self.legacy_cls = builder.legacy_signed
        self.typed_cls = getattr(builder, "typed_transaction", None)
        decoders = getattr(self.typed_cls, "decoders", {})
        # Only the py-evm payload classes this module knows how to fill take the fast path.
        self.inner: dict[int, type] = {}
        if decoders.get(ACCESS_LIST_TYPE) is AccessListPayloadDecoder:
            self.inner[ACCESS_LIST_TYPE] = AccessListTransaction
        if decoders.get(DYNAMIC_FEE_TYPE) is DynamicFeePayloadDecoder:
            self.inner[DYNAMIC_FEE_TYPE] = DynamicFeeTransaction
        legacy_fields = [name for name, _ in self.legacy_cls._meta.fields]
        self._legacy_ok = legacy_fields == ["nonce", "gas_price", "gas", "to", "value", "data", "v", "r", "s"]

    def decode(self, raw: bytes) -> DecodedTx | None:
        """The transaction in ``raw`` as py-evm's decoder would build it, or ``None`` to let py-evm
        decode (and refuse) it."""
        parsed = self._parse(raw)
        if parsed is None:
            return None
        cls, values, message, recid = parsed
        tx_hash = keccak(raw)
        if cls is None:
            return DecodedTx(_fill(self.legacy_cls, values, raw), tx_hash, message, recid)
        tx = self.typed_cls(raw[0], _fill(cls, values, raw[1:]))
        tx.__dict__["hash"] = tx_hash  # py-evm's cached_property slot: keccak(type byte + payload)
        return DecodedTx(tx, tx_hash, message, recid)

    def signing_parts(self, raw: bytes) -> tuple[bytes, bytes, int, int, int] | None:
        """``(hash, signing message, recovery id, r, s)`` of the transaction in ``raw``, or ``None``.

        Exactly what :meth:`decode` gives as ``(hash, signing_message, recovery_id, tx.r, tx.s)`` when it
        decodes ``raw`` with a signing message, and ``None`` whenever it does not (same parse, same
        refusals; proven on random, mutated and non-canonical inputs in ``tests/chain/test_txdecode.py``).
        Why: the sender recovery child needs only these, and building the py-evm object it would throw
        away was about a third of its decoding."""
        parsed = self._parse(raw)
        if parsed is None or parsed[2] is None:
            return None
        _, values, message, recid = parsed
        return keccak(raw), message, recid, values[-2], values[-1]

    def _parse(self, raw: bytes) -> tuple[type | None, list[Any], bytes | None, int] | None:
        """``(payload class, None for legacy; fields; signing message; recovery id)`` of ``raw``, or
        ``None`` for anything the fast path leaves to py-evm (the one parse :meth:`decode` and
        :meth:`signing_parts` share)."""
        if not raw:
            return None
        try:
            if raw[0] >= 0xC0:
                return (None, *self._legacy_parse(raw)) if self._legacy_ok else None
            cls = self.inner.get(raw[0])
            return None if cls is None else (cls, *self._typed_parse(raw, cls))
        except (_Refused, IndexError):
            return None

    def _legacy_parse(self, raw: bytes) -> tuple[list[Any], bytes | None, int]:
        """The fields of legacy ``raw``, the bytes its sender signed (``None``: py-evm judges ``v``) and
        the recovery id."""
        is_list, start, stop = _item(raw, 0, len(raw))
        if stop != len(raw):
            raise _Refused
        values, signature_at = _fields(raw, start, stop, LEGACY_KINDS)
        signed = raw[start:signature_at]  # the six signed fields exactly as encoded in ``raw``
        v = values[6]
        if v in (27, 28):
            message: bytes | None = length_prefix(len(signed), 0xC0) + signed
            recid = v - 27
        elif v >= 37:
            chain_id = (v - 35) // 2
            tail = rlp_uint(chain_id) + b"\x80\x80"
            message = length_prefix(len(signed) + len(tail), 0xC0) + signed + tail
            recid = v - 35 - 2 * chain_id
        else:  # 29..36: not a valid legacy v (or EIP-155 with chain id 0): py-evm's words
            message, recid = None, 0
        return values, message, recid

    def _typed_parse(self, raw: bytes, cls: type) -> tuple[list[Any], bytes, int]:
        """The fields of typed ``raw`` (payload class ``cls``), the bytes its sender signed and ``y_parity``."""
        is_list, start, stop = _item(raw, 1, len(raw))
        if not is_list or stop != len(raw):
            raise _Refused
        kinds = DYNAMIC_FEE_KINDS if cls is DynamicFeeTransaction else ACCESS_LIST_KINDS
        values, signature_at = _fields(raw, start, stop, kinds)
        signed = raw[start:signature_at]  # every field before y_parity, r, s
        return values, raw[:1] + length_prefix(len(signed), 0xC0) + signed, values[-3]
