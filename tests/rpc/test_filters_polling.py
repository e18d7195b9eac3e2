"""Polled filters deliver every change since the last poll exactly once; ids are quantities (issue 15).

Bug 1: a log filter without ``toBlock`` used to scan only the newest block on each poll, so the logs of
blocks sealed between two polls were lost. Bug 3: ids were 16 random bytes with leading zeros kept,
while the spec types them as quantities; clients that hold ids as integers send them back trimmed.
"""

from __future__ import annotations

import pytest

from co3chain.rpc.filters import canonical_id, new_id
from tests.rpc.conftest import USER_KEYS, Node
from tests.rpc.contract import INCREMENTED_TOPIC
from tests.rpc.test_methods import deploy_counter, err, inc_data


def _increment(node: Node, n: int, addr: str) -> str:
    raw = node.sign(USER_KEYS[0], to=addr, data=bytes.fromhex(inc_data(n)[2:]))
    return node.call("eth_sendRawTransaction", raw)


@pytest.mark.parametrize(
    "criteria",
    [
        {},  # fromBlock/toBlock default to latest: both move with the head
        {"fromBlock": "latest"},
        {"fromBlock": "0x0", "toBlock": "latest"},
        {"topics": [INCREMENTED_TOPIC]},
    ],
)
def test_log_filter_returns_logs_of_every_block_since_last_poll(node: Node, criteria: dict) -> None:
    addr = deploy_counter(node)
    fid = node.call("eth_newFilter", {"address": addr, **criteria})
    sent = []
    for n in (1, 2, 3):  # three blocks between two polls
        sent.append(_increment(node, n, addr))
        node.seal()
    changes = node.call("eth_getFilterChanges", fid)
    assert [lg["transactionHash"] for lg in changes] == sent
    assert len({lg["blockNumber"] for lg in changes}) == 3
    assert node.call("eth_getFilterChanges", fid) == []  # exactly once
    sent = [_increment(node, 4, addr)]
    node.seal()
    node.seal()  # an empty block after it
    assert [lg["transactionHash"] for lg in node.call("eth_getFilterChanges", fid)] == sent


def test_log_filter_respects_a_fixed_to_block(node: Node) -> None:
    addr = deploy_counter(node)
    head = int(node.call("eth_blockNumber"), 16)
    fid = node.call("eth_newFilter", {"address": addr, "toBlock": hex(head + 2)})
    hashes = []
    for n in (1, 2, 3, 4):
        hashes.append(_increment(node, n, addr))
        node.seal()
    assert [lg["transactionHash"] for lg in node.call("eth_getFilterChanges", fid)] == hashes[:2]
    assert node.call("eth_getFilterChanges", fid) == []


def test_block_filter_returns_every_block_once(node: Node) -> None:
    fid = node.call("eth_newBlockFilter")
    blocks = [node.seal() for _ in range(3)]
    assert blocks
    head = int(node.call("eth_blockNumber"), 16)
    expected = [node.call("eth_getBlockByNumber", hex(n), False)["hash"] for n in range(head - 2, head + 1)]
    assert node.call("eth_getFilterChanges", fid) == expected
    assert node.call("eth_getFilterChanges", fid) == []


def test_ids_are_quantities() -> None:
    for _ in range(200):
        fid = new_id()
        assert fid.startswith("0x") and fid == hex(int(fid, 16)) and fid != "0x0"
    assert canonical_id("0x00ab") == "0xab" and canonical_id("0xAB") == "0xab"
    assert canonical_id("ab") is None and canonical_id(5) is None and canonical_id("0xzz") is None


def test_filter_ids_accepted_with_and_without_leading_zeros(node: Node) -> None:
    fid = node.call("eth_newBlockFilter")
    assert fid == hex(int(fid, 16))
    padded = "0x" + fid[2:].rjust(32, "0")
    node.seal()
    assert len(node.call("eth_getFilterChanges", padded)) == 1
    assert node.call("eth_getFilterChanges", fid.upper().replace("0X", "0x")) == []
    assert node.call("eth_uninstallFilter", padded) is True
    assert err(node.rpc("eth_getFilterChanges", fid))["message"] == "filter not found"


def test_log_filter_scans_a_long_gap_in_range_sized_chunks() -> None:
    """A filter not polled for more blocks than the eth_getLogs range cap still gets every log once."""
    from co3chain.rpc.filters import FilterManager
    from co3chain.rpc.params import filter_criteria

    head = [0]
    scanned: list[tuple[int, int]] = []

    def get_logs(_crit, lo: int, hi: int) -> list[dict]:
        scanned.append((lo, hi))
        return [{"blockNumber": hex(n)} for n in range(lo, hi + 1)]

    fm = FilterManager(lambda: head[0], lambda n: b"\x00" * 32, get_logs, lambda c: (head[0], head[0]), max_range=10)
    fid = fm.new_log_filter(filter_criteria({}))
    head[0] = 25
    logs = fm.changes("0x" + fid[2:].rjust(32, "0"))
    assert [int(lg["blockNumber"], 16) for lg in logs] == list(range(1, 26))
    assert scanned == [(1, 10), (11, 20), (21, 25)]
    assert fm.changes(fid) == []
