"""The trie-node RLP codec gives pyrlp's bytes and values, and refuses what pyrlp refuses."""

from __future__ import annotations

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from co3chain.chain.noderlp import decode_node, encode_node

nodes = st.recursive(st.binary(max_size=80), lambda inner: st.lists(inner, max_size=17), max_leaves=40)


@settings(max_examples=400, deadline=None)
@given(nodes)
def test_same_bytes_and_values_as_pyrlp(node) -> None:
    enc = rlp.encode(node)
    assert encode_node(node) == enc
    assert decode_node(enc) == rlp.decode(enc)


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=70))
def test_arbitrary_bytes_decode_like_pyrlp_or_fail_like_it(data: bytes) -> None:
    try:
        expected = rlp.decode(data)
    except rlp.exceptions.DecodingError:
        with pytest.raises(rlp.exceptions.DecodingError):
            decode_node(data)
        return
    assert decode_node(data) == expected


@pytest.mark.parametrize("bad", [b"", b"\x81\x05", b"\xb8\x01a", b"\xc2\x01", b"\x01\x02", b"\xf8\x01\x01"])
def test_non_canonical_or_truncated_is_refused(bad: bytes) -> None:
    with pytest.raises(rlp.exceptions.DecodingError):
        decode_node(bad)


def test_long_items() -> None:
    for n in (55, 56, 255, 256, 70_000):
        for node in (b"x" * n, [b"y" * n, b""], [[b"a"] * 3, b"z" * n]):
            assert encode_node(node) == rlp.encode(node)
            assert decode_node(rlp.encode(node)) == rlp.decode(rlp.encode(node))
