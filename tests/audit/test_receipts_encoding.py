"""The audit's receipt encoder (direct RLP writers) against pyrlp's ``rlp.encode`` of the same fields."""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from co3chain.audit.receipts import ReceiptsError, encode_receipt


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _reference(r: dict[str, Any]) -> bytes:
    """What the encoder must give: pyrlp over the consensus fields (EIP-2718 type prefix when typed)."""
    logs = [[bytes.fromhex(lg["address"][2:]), [bytes.fromhex(t[2:]) for t in lg["topics"]],
             bytes.fromhex(lg["data"][2:])] for lg in r["logs"]]
    body = rlp.encode([b"\x01" if int(r["status"], 16) else b"", int(r["cumulativeGasUsed"], 16),
                       bytes.fromhex(r["logsBloom"][2:]), logs])
    tx_type = int(r.get("type", "0x0"), 16)
    return body if tx_type == 0 else bytes([tx_type]) + body


logs = st.lists(st.fixed_dictionaries({
    "address": st.binary(min_size=20, max_size=20).map(_hex),
    "topics": st.lists(st.binary(min_size=32, max_size=32).map(_hex), max_size=4),
    "data": st.binary(max_size=300).map(_hex),
}), max_size=4)

receipts = st.fixed_dictionaries({
    "status": st.sampled_from(["0x0", "0x1"]),
    "cumulativeGasUsed": st.integers(0, 2**64).map(hex),
    "logsBloom": st.binary(min_size=256, max_size=256).map(_hex),
    "logs": logs,
    "type": st.sampled_from(["0x0", "0x1", "0x2"]),
})


@settings(max_examples=300, deadline=None)
@given(receipts)
def test_equals_pyrlp(r: dict[str, Any]) -> None:
    assert encode_receipt(r) == _reference(r)


@pytest.mark.parametrize("field, value", [
    ("cumulativeGasUsed", -1), ("type", "0x100"), ("status", "1"), ("logs", None), ("logsBloom", "0x00"),
])
def test_malformed_receipts_are_refused_in_words(field: str, value: Any) -> None:
    r = {"status": "0x1", "cumulativeGasUsed": "0x5208", "logsBloom": _hex(bytes(256)), "logs": [], "type": "0x0",
         field: value}
    with pytest.raises(ReceiptsError, match="malformed receipt"):
        encode_receipt(r)
