"""Node metrics: standard Besu/geth names, live values read at scrape time, block-time histogram."""

from __future__ import annotations

from types import SimpleNamespace

from prometheus_client import generate_latest

from co3chain.node.metrics import NodeMetrics


def _sample(metrics: NodeMetrics, name: str) -> float | None:
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    return None


def test_genesis_to_block_1_gap_is_not_a_block_time() -> None:
    m = NodeMetrics()
    m.on_block(1, 0, 0, interval=1_764_000_000)  # genesis timestamp 0 (1970) to block 1
    assert _sample(m, "co3chain_block_time_seconds_count") == 0
    m.on_block(2, 3, 63_000, interval=1)
    assert _sample(m, "co3chain_block_time_seconds_count") == 1
    assert _sample(m, "co3chain_block_time_seconds_sum") == 1


def test_standard_names_and_live_values() -> None:
    m = NodeMetrics()
    state = {"peers": 2, "pending": 5, "queued": 1}
    producer = SimpleNamespace(round_changes=4, finalized_blocks=9, status=lambda: {"isValidator": True})
    service = SimpleNamespace(
        peer_count=lambda: state["peers"],
        txpool=SimpleNamespace(status=lambda: {"pending": state["pending"], "queued": state["queued"]}),
        producer=producer,
    )
    m.bind_node(service)
    m.on_block(7, 1, 21_000, interval=1)
    assert _sample(m, "ethereum_blockchain_height") == 7 and _sample(m, "chain_head_block") == 7
    assert _sample(m, "ethereum_peer_count") == 2 and _sample(m, "p2p_peers") == 2
    assert _sample(m, "txpool_pending") == 5 and _sample(m, "txpool_queued") == 1
    assert _sample(m, "co3chain_consensus_round_changes") == 4
    assert _sample(m, "co3chain_consensus_is_validator") == 1
    state["peers"] = 3  # read at scrape time, not at the last block
    assert _sample(m, "p2p_peers") == 3
    text = generate_latest(m.registry).decode()
    assert "process_cpu_seconds_total" in text and "process_resident_memory_bytes" in text


def test_grafana_dashboard_uses_only_exported_metrics() -> None:
    import json
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "node" / "grafana-dashboard.json").read_text())
    m = NodeMetrics()
    m.bind_node(SimpleNamespace(peer_count=lambda: 0, txpool=SimpleNamespace(status=lambda: {}), producer=None))
    m.on_block(2, 0, 0, interval=1)
    exported = {s.name for family in m.registry.collect() for s in family.samples}
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    for expr in exprs:
        names = set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", expr))  # every selector names a metric
        assert names, expr
        assert names <= exported, f"{expr}: {names - exported} not exported"


def test_import_times_by_kind() -> None:
    m = NodeMetrics()
    m.observe_import(0.02, "sealed")
    m.observe_import(0.5, "synced")
    m.observe_import(0.1, "synced")
    assert _sample_labels(m, "co3chain_block_import_seconds_count", how="synced") == 2
    assert _sample_labels(m, "co3chain_block_import_seconds_count", how="sealed") == 1


def _sample_labels(metrics: NodeMetrics, name: str, **labels: str) -> float | None:
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None


def test_sender_recovery_child_is_visible(monkeypatch) -> None:
    """The child's CPU is not in process_cpu_seconds_total: the node exports it, 0 before any child."""
    import co3chain.chain.recovery_process as recovery_module

    m = NodeMetrics()
    monkeypatch.setattr(recovery_module, "_SHARED", None)
    assert _sample(m, "co3chain_sender_recovery_running") == 0
    assert _sample(m, "co3chain_sender_recovery_cpu_seconds") == 0
    child = recovery_module.RecoveryProcess()
    monkeypatch.setattr(recovery_module, "_SHARED", child)
    try:
        child.submit(recovery_module.TRANSACTIONS, [])
        assert child.settle(60)
        assert _sample(m, "co3chain_sender_recovery_running") == 1
        assert _sample(m, "co3chain_sender_recovery_cpu_seconds") > 0
    finally:
        child.close()
    assert _sample(m, "co3chain_sender_recovery_running") == 0
