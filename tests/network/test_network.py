"""A 4-PA QBFT network of real node processes on loopback: finality, faults, resync, governance, audit.

The scenarios share one network (module fixture) and run in file order; each starts by bringing every
stopped node back, so a failing scenario does not cascade. Node logs are printed on failure.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account

from co3chain.keys import load_private_key, read_password
from co3chain.p2p import P2PNode
from tests.network.netutil import WAIT, Network, audit_chain, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    network = Network(tmp_path_factory.mktemp("qbft") / "net", 4)
    try:
        network.start_all()
        network.wait_height([0, 1, 2, 3], 2)
        yield network
    finally:
        network.stop_all()


@pytest.fixture(autouse=True)
def all_up(net: Network, request: pytest.FixtureRequest) -> Iterator[None]:
    net.start_all()
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for i in range(len(net.nodes)):
            print(f"---- {net.nodes[i].name} log tail ----\n{net.log_tail(i)}")


def _key(net: Network, i: int) -> bytes:
    d = net.nodes[i].dir
    return load_private_key(d / "key.json", read_password(d / "password"))


def _same_chain(net: Network, indices: list[int], upto: int) -> None:
    for number in range(1, upto + 1):
        hashes = {net.block(i, number)["hash"] for i in indices}  # type: ignore[index]
        assert len(hashes) == 1, f"fork at block {number}: {hashes}"


def test_four_validators_finalize_and_gossip_txs(net: Network) -> None:
    net.wait_height([0, 1, 2, 3], 4)
    _same_chain(net, [0, 1, 2, 3], 4)
    proposers = {net.block(0, n)["miner"] for n in range(1, 5)}  # type: ignore[index]
    assert len(proposers) == 4  # round-robin: every validator proposed one of blocks 1-4
    # a transaction sent to node4 is gossiped, included by whichever proposer, and visible on node1
    sender = Account.from_key(_key(net, 0))
    nonce = int(net.call(3, "eth_getTransactionCount", sender.address, "pending"), 16)
    price = int(net.call(3, "eth_gasPrice"), 16)  # the fixed base fee of new networks (validators are funded)
    tx = sender.sign_transaction({"to": "0x" + "11" * 20, "value": 12345, "gas": 21000, "gasPrice": price,
                                  "nonce": nonce, "chainId": 4242})
    tx_hash = net.call(3, "eth_sendRawTransaction", "0x" + bytes(tx.raw_transaction).hex())
    receipt = wait_until(lambda: net.call(0, "eth_getTransactionReceipt", tx_hash), WAIT, "receipt on node1")
    assert receipt["status"] == "0x1"
    assert net.call(1, "eth_getBalance", "0x" + "11" * 20, "latest") != "0x0"


def test_one_validator_down_blocks_keep_finalizing(net: Network) -> None:
    net.kill(3)
    start = net.height(0)
    net.wait_height([0, 1, 2], start + 6)  # includes the dead proposer's turns (round changes)
    _same_chain(net, [0, 1, 2], start + 6)
    net.start(3)
    net.wait_height([3], start + 6)  # the restarted node catches up


def test_two_down_stalls_without_fork_and_recovers(net: Network) -> None:
    net.kill(2)
    net.kill(3)
    time.sleep(3)  # a block already in flight may still finalize
    stalled = max(net.height(0), net.height(1))
    time.sleep(6)
    assert max(net.height(0), net.height(1)) == stalled, "2 of 4 validators must not finalize blocks"
    _same_chain(net, [0, 1], min(net.height(0), net.height(1)))
    net.start(2)
    net.wait_height([0, 1, 2], stalled + 3)
    _same_chain(net, [0, 1, 2], stalled + 3)


def test_wiped_node_resyncs_and_rejoins(net: Network) -> None:
    net.wipe(1)
    assert not (net.nodes[1].dir / "data").exists()
    target = net.height(0)
    net.start(1)
    net.wait_height([1], target)
    _same_chain(net, [0, 1], target)
    me = Account.from_key(_key(net, 1)).address.lower()

    def proposed_again() -> bool:
        head = net.height(1)
        return any(net.block(1, n)["miner"] == me for n in range(target + 1, head + 1))  # type: ignore[index]

    wait_until(proposed_again, WAIT, "the resynced validator to propose a block")


def test_garbage_peer_is_disconnected(net: Network) -> None:
    cfg_port = net.p2p_base  # node1's p2p port
    # 1. unauthenticated garbage on the TCP port
    with socket.create_connection(("127.0.0.1", cfg_port), timeout=5) as s:
        s.sendall(b"\x00\x00\x00\x10" + b"garbage!" * 64)
        assert _closed_by_remote(s), "node1 kept a connection that sent garbage"
    # 2. an allow-listed, authenticated peer (node4's key while node4 is down) sending a bad QBFT message
    net.kill(3)
    key = _key(net, 3)
    node1_pub = _pubkey(net, 0)

    async def misbehave() -> bool:
        genesis = net.block(0, 0)
        p2p = P2PNode(key, "127.0.0.1", 0, allowed_pubkeys=[node1_pub], network_id=4242,
                      genesis_hash=bytes.fromhex(genesis["hash"][2:]))  # type: ignore[index]
        await p2p.start()
        try:
            await p2p.connect(f"{node1_pub.hex()}@127.0.0.1:{cfg_port}")
            assert len(p2p.peers) == 1
            p2p.broadcast_consensus(b"\x13" + b"\xc3not-a-prepare")
            for _ in range(100):
                if not p2p.peers:
                    return True
                await asyncio.sleep(0.1)
            return False
        finally:
            await p2p.stop()

    assert asyncio.run(misbehave()), "node1 kept a peer that sent a malformed consensus message"
    before = net.height(0)
    net.wait_height([0, 1, 2], before + 2)  # still finalizing (3 of 4 validators up)


def _closed_by_remote(s: socket.socket, timeout: float = 15.0) -> bool:
    """True once the remote closes the socket (EOF or reset); False if it stays open ``timeout`` s."""
    s.settimeout(timeout)
    try:
        while s.recv(4096):
            pass
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return True


def _pubkey(net: Network, i: int) -> bytes:
    from eth_keys import keys

    return keys.PrivateKey(_key(net, i)).public_key.to_bytes()


def test_new_validator_is_voted_in_and_starts_sealing(net: Network) -> None:
    node = net.add_node()
    new = len(net.nodes) - 1
    net.start(new)
    address = node.address if node.address.startswith("0x") else "0x" + node.address
    for i in (0, 1, 2):  # ⌊4/2⌋+1 = 3 votes
        assert net.call(i, "qbft_proposeValidatorVote", address, True) is True
    assert {k.lower() for k in net.call(0, "qbft_getPendingVotes")} == {address.lower()}

    def voted_in() -> int | None:
        head = net.height(0)
        vals = [v.lower() for v in net.call(0, "qbft_getValidatorsByBlockNumber", hex(head))]
        return head if address.lower() in vals else None

    added_at = wait_until(voted_in, 90, "the new validator to be voted in")
    assert net.call(0, "qbft_getPendingVotes") == {}  # applied votes are pruned

    def sealed_by_new() -> bool:
        head = net.height(0)
        return any(net.block(0, n)["miner"].lower() == address.lower()  # type: ignore[index]
                   for n in range(added_at, head + 1))

    wait_until(sealed_by_new, WAIT, "a block proposed by the new validator")
    metrics = {m["address"].lower(): m for m in net.call(0, "qbft_getSignerMetrics")}
    assert int(metrics[address.lower()]["proposedBlockCount"], 16) >= 1


def test_auditor_every_block_sealed_by_quorum(net: Network) -> None:
    head = net.height(0)
    assert audit_chain(net, 0, head) == head


def test_cli_validators_status(net: Network, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from co3chain.node.validators_cli import validators

    result = CliRunner().invoke(validators, ["status", "--rpc", net.nodes[0].rpc, "--json"])
    assert result.exit_code == 0, result.output
    assert '"validators"' in result.output
    result = CliRunner().invoke(validators, ["propose", "0x" + "22" * 20, "--remove", "--rpc", net.nodes[0].rpc])
    assert result.exit_code == 0 and "recorded" in result.output
    result = CliRunner().invoke(validators, ["discard", "0x" + "22" * 20, "--rpc", net.nodes[0].rpc])
    assert result.exit_code == 0 and "discarded" in result.output
