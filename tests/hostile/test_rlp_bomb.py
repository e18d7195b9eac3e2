"""Finding 1: an RLP bomb must be refused at once with a clear JSON-RPC error, and must not stop blocks."""

from __future__ import annotations

import time

import httpx
import pytest
from eth_account import Account

from co3chain.node.rawtx import MAX_TX_BYTES, RawTxShapeError, check_raw_transaction
from tests.hostile.attacks import measure, rlp_bomb
from tests.node.procs import NodeProcess

BOMB = bytes([0xC1]) * 100_000


def _nested(depth: int) -> bytes:
    """Well-framed RLP: ``depth`` lists, each holding the next (the decoder would recurse ``depth`` times)."""
    enc = b"\x80"
    for _ in range(depth):
        n = len(enc)
        if n < 56:
            enc = bytes([0xC0 + n]) + enc
        else:
            ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
            enc = bytes([0xF7 + len(ln)]) + ln + enc
    return enc


def test_shape_check_refuses_bombs_and_oversize() -> None:
    with pytest.raises(RawTxShapeError, match="does not match the data"):
        check_raw_transaction(BOMB)
    with pytest.raises(RawTxShapeError, match="nested deeper than 8"):
        check_raw_transaction(_nested(20_000))
    with pytest.raises(RawTxShapeError, match="nested deeper than 8"):
        check_raw_transaction(b"\x02" + _nested(50))
    with pytest.raises(RawTxShapeError, match="oversized data"):
        check_raw_transaction(b"\xc0" * (MAX_TX_BYTES + 1))
    with pytest.raises(RawTxShapeError, match="does not match"):
        check_raw_transaction(b"\xc1\x80\x80")


def test_real_transactions_pass_the_shape_check() -> None:
    tx = {"type": 2, "chainId": 1, "nonce": 0, "gas": 100_000, "maxFeePerGas": 0, "maxPriorityFeePerGas": 0,
          "to": "0x" + "11" * 20, "value": 0, "data": b"\x00" * 100_000,
          "accessList": [{"address": "0x" + "22" * 20, "storageKeys": ["0x" + "00" * 32]}]}
    raw = bytes(Account.from_key(b"\x01" * 32).sign_transaction(tx).raw_transaction)
    check_raw_transaction(raw)
    legacy = {"chainId": 1, "nonce": 0, "gas": 21_000, "gasPrice": 0, "to": "0x" + "11" * 20, "value": 0}
    check_raw_transaction(bytes(Account.from_key(b"\x01" * 32).sign_transaction(legacy).raw_transaction))


def _send(url: str, raw_hex: str) -> dict:
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": [raw_hex]},
                   timeout=30)
    return r.json()


def test_bomb_and_oversized_tx_get_clear_errors(live_node: NodeProcess) -> None:
    t0 = time.monotonic()
    resp = _send(live_node.url, "0x" + BOMB.hex())
    assert time.monotonic() - t0 < 1.0
    assert resp["error"]["code"] == -32602 and "invalid transaction" in resp["error"]["message"]
    resp = _send(live_node.url, "0x" + _nested(5_000).hex())
    assert resp["error"]["code"] == -32602 and "nested deeper" in resp["error"]["message"]
    big = {"chainId": 1999, "nonce": 0, "gas": 5_000_000, "gasPrice": 0, "to": "0x" + "11" * 20, "value": 0,
           "data": b"\x01" * (MAX_TX_BYTES + 10)}
    raw = bytes(Account.from_key(b"\x05" * 32).sign_transaction(big).raw_transaction)
    resp = _send(live_node.url, "0x" + raw.hex())
    assert "oversized data" in resp["error"]["message"]


def test_blocks_keep_coming_under_rlp_bombs(live_node: NodeProcess) -> None:
    url = live_node.url
    result = measure(url, [lambda stop: rlp_bomb(url, stop) for _ in range(2)], seconds=8)
    assert result.block_share >= 0.75, f"{result.blocks} blocks in {result.slots} slots under RLP bombs"
    assert result.honest_failures == 0 and result.honest_latencies
