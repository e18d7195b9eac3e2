"""``audit chain --replay``: every block of the deployed-suite chain is re-executed from the genesis file.

A node that serves altered receipts or balances under the real, validly sealed headers is caught; so is a
chain whose validators sealed a state root the transactions do not produce (one root cause, the later
blocks grouped under it); a checkpoint lets a second run resume where the first stopped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from co3chain.audit.chain_audit import ChainAuditOptions, audit_chain
from co3chain.audit.chainverify import ChainParams
from co3chain.audit.headers import header_from_json
from co3chain.audit.rpc import RpcClient
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.consensus.qbft.hashing import sign_digest
from tests.audit.devnet import KEY_OF, USER_KEYS, Devnet, addr, lying
from tests.audit.governance import GovScenario


def _params(d: Devnet) -> ChainParams:
    g = d.genesis
    return ChainParams(epoch_length=g.epoch_length, block_period=g.block_period, genesis_extra_data=g.extra_data,
                       clock=lambda: 2**40)


def _audit(d: Devnet, transport: Any = None, **kw: Any) -> Any:
    opts = ChainAuditOptions(progress=False, replay=True, **kw)
    return audit_chain(RpcClient(transport or d.transport, batch_size=7), d.genesis, opts, _params(d))


def _block_with_logs(d: Devnet) -> int:
    for n in range(1, d.chain.head.block_number + 1):
        receipts = d.transport({"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockReceipts", "params": [hex(n)]})["result"]
        if receipts and receipts[0]["logs"]:
            return n
    raise AssertionError("no block with logs")


def test_replay_of_the_deployed_suite_passes(gov: GovScenario) -> None:
    d = gov.devnet
    report = _audit(d)
    assert report.passed, [f.line() for f in report.findings]
    head = d.chain.head.block_number
    assert report.stats["replayedBlocks"] == head
    assert report.stats["replayedTransactions"] >= 20
    assert report.stats["replayStateRoot"] == "0x" + d.chain.head.state_root.hex()
    assert report.stats["servedReceiptsChecked"] == report.stats["replayedTransactions"]
    assert report.stats["servedAccountsChecked"] > 10


def test_node_serving_altered_receipts_is_caught(gov: GovScenario) -> None:
    d = gov.devnet
    target = _block_with_logs(d)

    def drop_log(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_getBlockReceipts" and req["params"][0] == hex(target):
            resp["result"][0]["logs"] = resp["result"][0]["logs"][1:]

    report = _audit(d, lying(d.transport, drop_log))
    assert report.kinds() == {"served-receipts"}
    (f,) = report.errors
    assert f.block == target and "logs instead of" in f.message
    assert "sealed header" in f.details["authoritative"]
    # Without --replay the header chain alone cannot see it.
    plain = audit_chain(RpcClient(lying(d.transport, drop_log)), d.genesis, ChainAuditOptions(progress=False),
                        _params(d))
    assert plain.passed


def test_node_serving_an_altered_balance_is_caught(gov: GovScenario) -> None:
    d = gov.devnet
    victim = "0x" + addr(USER_KEYS[3]).hex()

    def inflate(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_getBalance" and req["params"][0].lower() == victim:
            resp["result"] = hex(int(resp["result"], 16) + 10**27)

    report = _audit(d, lying(d.transport, inflate))
    assert report.kinds() == {"served-state"}
    (f,) = report.errors
    assert f.details["account"] == victim and f.details["field"] == "balance"


def _forge_state_root(d: Devnet, k: int) -> dict[int, dict[str, str]]:
    """Header fields of blocks k..head after validators seal a false state at block k: every later state
    root descends from it (all re-sealed by the validators' keys)."""
    out: dict[int, dict[str, str]] = {}
    parent_hash: str | None = None
    for n in range(k, d.chain.head.block_number + 1):
        j = d.header_json(n)
        j["stateRoot"] = "0x" + ("5e" * 32 if n == k else f"{n:064x}")
        if n > k:
            j["parentHash"] = parent_hash
        h = header_from_json(j)
        extra = QbftExtraData.decode(h.extra_data)
        digest = h.commit_seal_digest()
        seals = [sign_digest(KEY_OF[v], digest) for v in extra.validators]
        j["extraData"] = "0x" + extra.with_seals(seals).encode().hex()
        j["hash"] = "0x" + header_from_json(j).computed_hash().hex()
        parent_hash = j["hash"]
        out[n] = {key: j[key] for key in ("stateRoot", "parentHash", "extraData", "hash")}
    return out


def test_validators_sealing_a_false_state_root_are_caught_once(gov: GovScenario) -> None:
    d = gov.devnet
    k = 6
    forged = _forge_state_root(d, k)

    def serve_forged(req: dict[str, Any], resp: dict[str, Any]) -> None:
        if req["method"] == "eth_getBlockByNumber" and resp.get("result"):
            n = int(resp["result"]["number"], 16)
            if n in forged:
                resp["result"].update(forged[n])

    transport = lying(d.transport, serve_forged)
    headers_only = audit_chain(RpcClient(transport), d.genesis, ChainAuditOptions(progress=False), _params(d))
    assert headers_only.passed, [f.line() for f in headers_only.errors]  # the seals are valid
    report = _audit(d, transport)
    assert {(f.kind, f.block) for f in report.errors} == {("state-root", k)}
    (root,) = report.errors
    assert root.details["actual"] == "0x" + "5e" * 32
    assert root.details["expected"] == "0x" + d.chain.get_header_by_number(k).state_root.hex()
    (grouped,) = [f for f in report.findings if f.kind == "replay-consequence"]
    assert grouped.details["consequenceOf"] == k
    assert grouped.details["blocks"] == list(range(k + 1, d.chain.head.block_number + 1))


def test_replay_resumes_from_a_checkpoint(gov: GovScenario, tmp_path: Path) -> None:
    d = gov.devnet
    cp = tmp_path / "replay.checkpoint"
    first = _audit(d, checkpoint=cp, to_block=9)
    assert first.passed and first.stats["replayedBlocks"] == 9
    saved = json.loads(cp.read_text())
    assert saved["block"] == 9 and saved["stateRoot"] == "0x" + d.chain.get_header_by_number(9).state_root.hex()
    second = _audit(d, checkpoint=cp)
    assert second.passed, [f.line() for f in second.findings]
    assert second.stats["replayResumedFrom"] == 9
    assert second.stats["replayedBlocks"] == d.chain.head.block_number - 9
    assert second.stats["replayStateRoot"] == "0x" + d.chain.head.state_root.hex()
    # A checkpoint of block 5's state relabelled as block 9's is refused: block 9 seals another state root.
    early = tmp_path / "early.checkpoint"
    assert _audit(d, checkpoint=early, to_block=5).passed
    relabelled = json.loads(early.read_text())
    relabelled.update(block=saved["block"], blockHash=saved["blockHash"])
    early.write_text(json.dumps(relabelled))
    from co3chain.audit.replay import ReplayError

    with pytest.raises(ReplayError, match="is not the one sealed in block 9"):
        _audit(d, checkpoint=early)
    # A checkpoint edited to claim another state cannot be loaded as that state.
    saved["stateRoot"] = "0x" + "77" * 32
    cp.write_text(json.dumps(saved))
    try:
        _audit(d, checkpoint=cp)
    except ReplayError as exc:
        assert "lacks its state root" in str(exc)
    else:
        raise AssertionError("a forged checkpoint was accepted")


def test_replay_memory_is_compacted_without_changing_the_result(gov: GovScenario, monkeypatch: Any) -> None:
    """Earlier states' trie nodes are dropped as the replay goes: the result is the same, the store stays small."""
    import co3chain.audit.replay as replay_mod

    monkeypatch.setattr(replay_mod, "COMPACT_MIN_NODES", 50)
    d = gov.devnet
    report = _audit(d)
    assert report.passed, [f.line() for f in report.errors]
    assert report.stats["replayCompactions"] > 3
    assert report.stats["replayStateRoot"] == "0x" + d.chain.head.state_root.hex()


def test_replay_builds_the_genesis_state_once(gov: GovScenario, monkeypatch: Any) -> None:
    """The genesis alloc's state is built once per audit (the genesis check reuses the replay's root): a large
    alloc took seconds per build, and the audit built it three times."""
    import co3chain.audit.genesis_check as genesis_mod
    import co3chain.audit.replay as replay_mod

    builds: list[int] = []
    real = genesis_mod.alloc_state_root

    def counting(*a: Any, **kw: Any) -> bytes:
        builds.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(genesis_mod, "alloc_state_root", counting)
    monkeypatch.setattr(replay_mod, "alloc_state_root", counting)
    d = gov.devnet
    report = _audit(d, to_block=3)
    assert report.passed, [f.line() for f in report.findings]
    assert report.stats["genesisMatches"] is True
    assert len(builds) == 1


def test_replay_uses_senders_recovered_by_the_child_process(gov: GovScenario, monkeypatch: Any) -> None:
    """Senders of a fetched chunk are recovered by the recovery child process while the chunk replays; the
    result is the same, and every sender comes from exactly one place: the child, or the replay itself for
    a block whose answer was not there yet (here: the first block of each chunk)."""
    import co3chain.chain.recovery_process as recovery_module
    import co3chain.chain.senders as senders_module

    inline: list[int] = []  # actual signature recoveries in this process
    real_recover = senders_module.recover_sender
    monkeypatch.setattr(senders_module, "recover_sender", lambda tx: inline.append(1) or real_recover(tx))
    monkeypatch.setattr(recovery_module, "MIN_BATCH_TXS", 1)  # the scenario's chunks are small
    learned: list[int] = []
    real_advance = recovery_module.SenderFeed.advance

    def advance_when_answered(feed: Any, position: int) -> None:
        if feed._recovery is not None:  # test only: let the child answer first, so the counts are exact
            assert feed._recovery.settle(60)
        before = feed.learned
        real_advance(feed, position)
        learned.append(feed.learned - before)

    monkeypatch.setattr(recovery_module.SenderFeed, "advance", advance_when_answered)
    d = gov.devnet
    report = _audit(d)
    assert report.passed, [f.line() for f in report.findings]
    replayed = report.stats["replayedTransactions"]
    assert sum(learned) > 0
    assert len(inline) + sum(learned) == replayed
