"""Chain audit: a clean sealed QBFT chain passes; forged/missing/outsider seals, broken links, unvoted set
changes and a node that lies about headers are each reported with the block number and the kind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from co3chain.audit.chain_audit import ChainAuditOptions, audit_chain
from co3chain.audit.chainverify import ChainParams, verify_headers
from co3chain.audit.rpc import RpcClient
from co3chain.consensus.qbft.extradata import QbftExtraData, Vote
from co3chain.consensus.qbft.hashing import sign_digest
from tests.audit.devnet import KEY_OF, VALIDATOR_KEYS, Devnet, addr, lying, serve


@pytest.fixture(scope="module")
def net() -> Iterator[Devnet]:
    d = Devnet(n_validators=4, epoch=10)
    d.produce_empty(12)  # crosses the epoch block 10
    yield d
    d.close()


def params_of(d: Devnet) -> ChainParams:
    return ChainParams(epoch_length=d.genesis.epoch_length, block_period=d.genesis.block_period,
                       genesis_extra_data=d.genesis.extra_data, clock=lambda: 2**40)


def kinds_by_block(findings: list[Any]) -> set[tuple[str, int | None]]:
    return {(f.kind, f.block) for f in findings}


def _set_seals(block: dict[str, Any], seals: list[bytes]) -> None:
    extra = QbftExtraData.decode(bytes.fromhex(block["extraData"][2:]))
    block["extraData"] = "0x" + extra.with_seals(seals).encode().hex()


def _seals(block: dict[str, Any]) -> list[bytes]:
    return list(QbftExtraData.decode(bytes.fromhex(block["extraData"][2:])).seals)


def test_clean_chain_passes(net: Devnet) -> None:
    findings, stats = verify_headers(params_of(net), net.headers_json())
    assert findings == []
    assert stats.blocks == 12 and stats.seals == 48
    assert set(stats.seals_by_validator.values()) == {12}


def test_clean_chain_over_rpc_passes_and_writes_reports(net: Devnet, tmp_path: Any) -> None:
    client = RpcClient(net.transport, batch_size=5)
    report = audit_chain(client, net.genesis, ChainAuditOptions(progress=False), params_of(net))
    assert report.passed, [f.line() for f in report.findings]
    assert report.stats["blocksVerified"] == 12
    assert client.requests >= 13
    report.write_json(tmp_path / "r.json")
    report.write_html(tmp_path / "r.html")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["passed"] is True and data["audit"] == "chain"
    page = (tmp_path / "r.html").read_text()
    assert "Audit passed" in page and "<script" not in page


def test_range_starts_at_epoch_anchor(net: Devnet) -> None:
    report = audit_chain(RpcClient(net.transport), net.genesis, ChainAuditOptions(from_block=11, progress=False),
                         params_of(net))
    assert report.passed
    assert report.subject["anchorBlock"] == 10 and report.stats["firstBlock"] == 11


def test_forged_seal_is_caught(net: Devnet) -> None:
    headers = net.headers_json()
    seals = _seals(headers[5])
    # A signature by validator 0's key over a different digest: recovers to some other address.
    seals[0] = sign_digest(VALIDATOR_KEYS[0], b"\x42" * 32)
    _set_seals(headers[5], seals)
    findings, _ = verify_headers(params_of(net), headers)
    assert ("non-validator-seal", 5) in kinds_by_block(findings)
    assert {f.block for f in findings} == {5}


def test_garbage_seal_is_caught(net: Devnet) -> None:
    headers = net.headers_json()
    seals = _seals(headers[4])
    seals[1] = b"\x00" * 64 + b"\x01"
    _set_seals(headers[4], seals)
    findings, _ = verify_headers(params_of(net), headers)
    assert ("bad-seal", 4) in kinds_by_block(findings)


def test_block_sealed_by_non_validator(net: Devnet) -> None:
    headers = net.headers_json()
    outsider = VALIDATOR_KEYS[5]
    # Re-seal block 6 entirely: three validators plus an outsider that signs the right digest.
    from co3chain.audit.headers import header_from_json

    digest = header_from_json(headers[6]).commit_seal_digest()
    vals = sorted(addr(k) for k in VALIDATOR_KEYS[:4])
    seals = [sign_digest(KEY_OF[v], digest) for v in vals[:2]] + [sign_digest(outsider, digest)]
    _set_seals(headers[6], seals)
    findings, _ = verify_headers(params_of(net), headers)
    kinds = kinds_by_block(findings)
    assert ("non-validator-seal", 6) in kinds
    assert ("insufficient-seals", 6) in kinds  # 2 valid seals < quorum 3 of 4


def test_too_few_seals(net: Devnet) -> None:
    headers = net.headers_json()
    _set_seals(headers[3], _seals(headers[3])[:2])
    findings, _ = verify_headers(params_of(net), headers)
    assert kinds_by_block(findings) == {("insufficient-seals", 3)}


def test_duplicate_seal_does_not_count_twice(net: Devnet) -> None:
    headers = net.headers_json()
    s = _seals(headers[2])
    _set_seals(headers[2], [s[0], s[0], s[1]])
    findings, _ = verify_headers(params_of(net), headers)
    assert kinds_by_block(findings) == {("duplicate-seal", 2), ("insufficient-seals", 2)}


def test_broken_parent_link(net: Devnet) -> None:
    headers = net.headers_json()
    headers[7]["parentHash"] = "0x" + "ab" * 32
    findings, _ = verify_headers(params_of(net), headers)
    kinds = kinds_by_block(findings)
    assert ("parent-link", 7) in kinds
    assert ("hash-mismatch", 7) in kinds  # the reported hash no longer matches the fields
    assert ("parent-link", 8) in kinds  # block 8 points at the real block 7


def test_timestamp_and_constants(net: Devnet) -> None:
    headers = net.headers_json()
    headers[9]["timestamp"] = headers[8]["timestamp"]
    headers[9]["mixHash"] = "0x" + "00" * 32
    findings, _ = verify_headers(params_of(net), headers)
    kinds = kinds_by_block(findings)
    assert ("timestamp", 9) in kinds and ("header-constant", 9) in kinds


def test_wrong_proposer(net: Devnet) -> None:
    headers = net.headers_json()
    wrong = next(v for v in sorted(addr(k) for k in VALIDATOR_KEYS[:4]) if "0x" + v.hex() != headers[5]["miner"])
    headers[5]["miner"] = "0x" + wrong.hex()
    findings, _ = verify_headers(params_of(net), headers)
    assert ("wrong-proposer", 5) in kinds_by_block(findings)


def test_lying_node_is_caught_over_rpc(net: Devnet) -> None:
    def strip_seals(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_getBlockByNumber" and req["params"][0] == hex(8):
            _set_seals(resp["result"], _seals(resp["result"])[:1])

    report = audit_chain(RpcClient(lying(net.transport, strip_seals)), net.genesis,
                         ChainAuditOptions(progress=False), params_of(net))
    assert not report.passed
    assert {(f.kind, f.block) for f in report.errors} == {("insufficient-seals", 8)}


def test_validator_votes_change_the_set() -> None:
    d = Devnet(n_validators=4, epoch=100)
    try:
        newcomer = addr(VALIDATOR_KEYS[4])
        for _ in range(3):  # ⌊4/2⌋+1 = 3 distinct proposers vote to add
            d.produce(vote=Vote(newcomer, True))
        d.produce_empty(3)
        headers = d.headers_json()
        findings, stats = verify_headers(params_of(d), headers)
        assert findings == []
        assert stats.validator_changes == [{"block": 3, "added": "0x" + newcomer.hex(), "effectiveFrom": 4}]
        assert len(QbftExtraData.decode(bytes.fromhex(headers[4]["extraData"][2:])).validators) == 5

        # Now a chain where the newcomer appears after only two votes: the extraData list is not earned.
        tampered = [dict(h) for h in headers]
        extra3 = QbftExtraData.decode(bytes.fromhex(tampered[3]["extraData"][2:]))
        tampered[3]["extraData"] = "0x" + extra3.__class__(
            vanity=extra3.vanity, validators=extra3.validators, vote=None, round=0, seals=extra3.seals
        ).encode().hex()
        findings, _ = verify_headers(params_of(d), tampered)
        kinds = kinds_by_block(findings)
        assert ("validator-set", 4) in kinds
    finally:
        d.close()


def test_rpc_http_end_to_end(net: Devnet) -> None:
    """The same audit over real HTTP, through co3chain's RPC server."""
    with serve(net) as url:
        client = RpcClient(url)
        report = audit_chain(client, net.genesis, ChainAuditOptions(progress=False), params_of(net))
        client.close()
    assert report.passed, [f.line() for f in report.findings]


@pytest.mark.parametrize(("kw", "message"), [
    ({"to_block": 99}, "beyond the node's head"),
    ({"from_block": 0}, "--from must be at least 1"),
    ({"from_block": 9, "to_block": 5}, "empty range"),
])
def test_bad_ranges_are_one_line_errors(net: Devnet, kw: dict[str, int], message: str) -> None:
    from co3chain.audit.chain_audit import AuditError

    with pytest.raises(AuditError, match=message):
        audit_chain(RpcClient(net.transport), net.genesis, ChainAuditOptions(progress=False, **kw), params_of(net))


def test_optional_header_fields_follow_the_fork() -> None:
    """A London-era header (no withdrawals/blob fields, as older Besu QBFT chains report) hashes over 16 fields."""
    from co3chain.audit.headers import header_from_json

    d = Devnet(n_validators=1)
    try:
        d.produce()
        j = d.header_json(1)
        for k in ("withdrawalsRoot", "blobGasUsed", "excessBlobGas", "parentBeaconBlockRoot"):
            del j[k]
        h = header_from_json(j)
        assert len(h.items) == 16
        assert h.computed_hash() != h.reported_hash  # a different header, a different hash
    finally:
        d.close()
