"""Pure pieces: header rebuild, CBOR metadata, bytecode comparison, blooms, proofs, reports, RPC client errors."""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from eth_hash.auto import keccak

from co3chain.audit.bytecode import (
    FULL,
    MISMATCH,
    PARTIAL,
    compare_runtime,
    describe_metadata,
    split_metadata,
)
from co3chain.audit.headers import HeaderError, header_from_json
from co3chain.audit.proofs import ProofError, prove_storage, verify_account
from co3chain.audit.receipts import bloom_contains
from co3chain.audit.report import AuditReport, render_html
from co3chain.audit.rpc import RpcClient, RpcError
from tests.audit.devnet import Devnet

# solc-style trailer: {"ipfs": <34 bytes>, "solc": 0.8.30} as CBOR, then its 2-byte length.
_IPFS = bytes.fromhex("1220") + bytes(range(32))
_CBOR = b"\xa2dipfsX\x22" + _IPFS + b"dsolcC" + bytes([0, 8, 30])
_META = _CBOR + len(_CBOR).to_bytes(2, "big")


def test_header_rebuild_matches_node_hash() -> None:
    d = Devnet(n_validators=4)
    try:
        d.produce_empty(2)
        for n in range(3):
            j = d.header_json(n)
            h = header_from_json(j)
            assert h.computed_hash() == h.reported_hash == d.chain.get_header_by_number(n).hash
            assert rlp.decode(h.rlp())[8] == (n.to_bytes(1, "big") if n else b"")
        j = d.header_json(1)
        del j["stateRoot"]
        with pytest.raises(HeaderError, match="stateRoot missing"):
            header_from_json(j)
    finally:
        d.close()


def test_cbor_metadata_split_and_describe() -> None:
    code = b"\x60\x80\x60\x40" + _META
    exe, meta, decoded = split_metadata(code)
    assert exe == b"\x60\x80\x60\x40" and meta == _META
    info = describe_metadata(decoded)
    assert info["solc"] == "0.8.30" and info["ipfs"].startswith("Qm")
    assert split_metadata(b"\x60\x80\xff\xff")[2] is None  # junk trailer: no metadata


def test_compare_runtime_masks_immutables() -> None:
    compiled = b"\x7f" + b"\x00" * 32 + b"\x50" + _META
    onchain = b"\x7f" + b"\x11" * 32 + b"\x50" + _META
    refs = {"42": [{"start": 1, "length": 32}]}
    cmp = compare_runtime(onchain, compiled, refs)
    assert cmp.status == FULL and cmp.immutables == {"42": "0x" + "11" * 32}
    assert compare_runtime(onchain, compiled, {}).status == MISMATCH
    other_meta = _META.replace(bytes(range(32)), bytes(range(1, 33)))
    assert compare_runtime(b"\x7f" + b"\x11" * 32 + b"\x50" + other_meta, compiled, refs).status == PARTIAL


def test_bloom_contains() -> None:
    bloom = bytearray(256)
    item = b"\xaa" * 20
    h = keccak(item)
    for i in (0, 2, 4):
        bit = ((h[i] << 8) | h[i + 1]) & 2047
        bloom[255 - bit // 8] |= 1 << (bit % 8)
    assert bloom_contains(bytes(bloom), item)
    assert not bloom_contains(bytes(256), item)


def test_account_proof_rejects_wrong_root() -> None:
    d = Devnet(n_validators=1)
    try:
        from co3chain.rpc import formatters

        user = next(iter(d.genesis.alloc))
        proof = formatters.proof_json(d.chain.get_proof(user, [], d.chain.head))
        acct = verify_account(d.chain.head.state_root, user, proof)
        assert acct.balance == d.genesis.alloc[user].balance
        with pytest.raises(ProofError, match="does not verify"):
            verify_account(b"\x01" * 32, user, proof)
        proof["balance"] = hex(acct.balance + 1)
        with pytest.raises(ProofError, match="differ"):
            verify_account(d.chain.head.state_root, user, proof)
    finally:
        d.close()


def test_html_escapes_and_is_self_contained() -> None:
    r = AuditReport("chain", {"node": "<script>alert(1)</script>"})
    r.add("parent-link", "bad <b>link</b>", 7)
    page = render_html(r)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "http" not in page.split("<body>")[0]  # no external resources
    assert "Audit failed: block 7 does not link to the block before it" in page and not r.passed


def test_rpc_client_errors() -> None:
    client = RpcClient(lambda payload: {"jsonrpc": "2.0", "id": payload["id"], "error": {"code": -1, "message": "nope"}})
    with pytest.raises(RpcError, match="eth_blockNumber failed: nope"):
        client.call("eth_blockNumber")
    partial = RpcClient(lambda payload: [{"jsonrpc": "2.0", "id": payload[0]["id"], "result": "0x1"}])
    with pytest.raises(RpcError, match="lacks the response"):
        partial.batch([("a", ()), ("b", ())])


def test_prove_storage_asks_for_full_32_byte_keys() -> None:
    """A slot whose hex has an odd digit count (e.g. a keccak slot starting with a 0 nibble) must still be
    sent as a 32-byte word: anvil rejects odd-length keys as invalid params."""
    asked: list[Any] = []

    class Recorder:
        def call(self, method: str, *params: Any) -> Any:
            asked.append((method, params))
            return None  # stop right after the request

    slots = [5, 0x0ABC << 240]
    with pytest.raises(ProofError):
        prove_storage(Recorder(), b"\x00" * 32, 7, b"\x11" * 20, slots)
    method, (address, keys, block) = asked[0]
    assert method == "eth_getProof" and block == "0x7"
    assert keys == ["0x" + s.to_bytes(32, "big").hex() for s in slots]
    assert all(len(k) == 66 for k in keys)


def test_get_logs_splits_ranges_when_the_node_caps_results() -> None:
    """A proposal with more votes than the node returns per eth_getLogs (our node: 20,000, -32005) must still
    be audited completely: the range is halved until each answer fits, and no log is lost or doubled."""
    from co3chain.audit.events import get_logs

    address = b"\x22" * 20
    logs = [{"address": "0x" + address.hex(), "topics": ["0x" + "ab" * 32], "data": "0x",
             "blockNumber": hex(n), "blockHash": "0x" + n.to_bytes(32, "big").hex(), "logIndex": hex(i),
             "transactionHash": "0x" + "00" * 32} for n in range(1, 401) for i in range(5)]
    cap = 300

    def answer(req: dict[str, Any]) -> dict[str, Any]:
        q = req["params"][0]
        lo, hi = int(q["fromBlock"], 16), int(q["toBlock"], 16)
        found = [lg for lg in logs if lo <= int(lg["blockNumber"], 16) <= hi]
        if len(found) > cap:
            return {"jsonrpc": "2.0", "id": req["id"],
                    "error": {"code": -32005, "message": f"query returned more than {cap} results"}}
        return {"jsonrpc": "2.0", "id": req["id"], "result": found}

    def transport(payload: Any) -> Any:
        return [answer(r) for r in payload] if isinstance(payload, list) else answer(payload)

    got = get_logs(RpcClient(transport), address, [], 1, 400)
    assert [(lg.block_number, lg.log_index) for lg in got] == [(n, i) for n in range(1, 401) for i in range(5)]


def test_get_logs_other_errors_still_fail() -> None:
    from co3chain.audit.events import get_logs

    def transport(payload: Any) -> Any:
        reqs = payload if isinstance(payload, list) else [payload]
        out = [{"jsonrpc": "2.0", "id": r["id"], "error": {"code": -32000, "message": "boom"}} for r in reqs]
        return out if isinstance(payload, list) else out[0]

    with pytest.raises(RpcError, match="boom"):
        get_logs(RpcClient(transport), b"\x22" * 20, [], 1, 10)
