"""Three PAs build a network sharing only public identities and the genesis; a fourth is voted in; one is
voted out and cut off. Every node is a real ``co3chain node start`` process in its own directory.

Only the documented CLI is used to create the nodes (``node init`` → ``network genesis`` → ``node join``);
the only things passed between the PAs' directories are the ``--json`` identities and genesis.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from co3chain.node import localnet
from co3chain.node.localnet import LocalnetError, LocalNode, rpc_call
from tests.network.netutil import WAIT, free_port_block, wait_until

pytestmark = pytest.mark.slow

CO3 = [sys.executable, "-m", "co3chain.cli"]
CHAIN_ID = 7313


def co3(*args: str, env: dict[str, str] | None = None) -> str:
    res = subprocess.run([*CO3, *args], capture_output=True, text=True, timeout=120,
                         env={**os.environ, **(env or {})})
    assert res.returncode == 0, f"co3chain {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout


class PA:
    """One PA's machine: a directory of its own, its node process, its public identity."""

    def __init__(self, root: Path, name: str, rpc_port: int, p2p_port: int, env: dict[str, str] | None = None,
                 metrics_port: int = 0):
        self.dir = root / name
        self.env = env or {}
        self.metrics_port = metrics_port
        self.identity = json.loads(co3("node", "init", "--dir", str(self.dir), "--p2p-host", "127.0.0.1",
                                       "--p2p-port", str(p2p_port), "--rpc-port", str(rpc_port),
                                       "--metrics-port", str(metrics_port), "--json", env=self.env))
        self.node = LocalNode(name, self.dir, f"http://127.0.0.1:{rpc_port}", self.identity["address"])

    @property
    def address(self) -> str:
        return self.identity["address"]

    @property
    def peer(self) -> str:
        return self.identity["peer"]

    def join(self, genesis: Path, peers: list[str]) -> dict:
        args = ["node", "join", "--dir", str(self.dir), "--genesis", str(genesis), "--json"]
        for p in peers:
            args += ["--peer", p]
        return json.loads(co3(*args, env=self.env))

    def start(self) -> None:
        localnet.start_node(self.node, extra_env=self.env)

    def stop(self) -> None:
        localnet.stop_node(self.node, timeout=10)

    def call(self, method: str, *params: object) -> object:
        return rpc_call(self.node.rpc, method, *params)

    def height(self) -> int:
        return int(self.call("eth_blockNumber"), 16)  # type: ignore[arg-type]

    def validators(self) -> list[str]:
        return [v.lower() for v in self.call("qbft_getValidatorsByBlockNumber", "latest")]  # type: ignore[union-attr]

    def log(self) -> str:
        return self.node.log_file.read_text(errors="replace") if self.node.log_file.exists() else ""


@pytest.fixture(scope="module")
def pas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[PA]]:
    root = tmp_path_factory.mktemp("multiparty")
    rpc, p2p, metrics = free_port_block(4), free_port_block(4), free_port_block(1)
    # PA3 keeps its password out of the filesystem (CO3CHAIN_PASSWORD)
    env3 = {"CO3CHAIN_PASSWORD": "pa3-secret-from-vault"}
    pas = [PA(root, "pa1", rpc, p2p, metrics_port=metrics), PA(root, "pa2", rpc + 1, p2p + 1), PA(root, "pa3", rpc + 2, p2p + 2, env3)]
    assert not (pas[2].dir / "password").exists()
    assert (pas[0].dir / "password").stat().st_mode & 0o077 == 0
    # the coordinator sees only the three public addresses
    genesis = root / "coordinator" / "genesis.json"
    args = ["network", "genesis", "--chain-id", str(CHAIN_ID), "--request-timeout", "2", "--out", str(genesis),
            "--json"]
    for pa in pas:
        args += ["--validator", pa.address]
    announced = json.loads(co3(*args))["hash"]
    peers = [pa.peer for pa in pas]
    for pa in pas:  # every PA uses the same peer list (its own entry is skipped) and compares the hash
        joined = pa.join(genesis, peers)
        assert joined["genesisHash"] == announced and joined["validator"] is True
        assert len(joined["peers"]) == 2
    pas.append(PA(root, "pa4", rpc + 3, p2p + 3))  # joins later
    try:
        for pa in pas[:3]:
            pa.start()
        yield pas
    finally:
        for pa in pas:
            pa.stop()


@pytest.fixture(autouse=True)
def _logs_on_failure(pas: list[PA], request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for pa in pas:
            print(f"---- {pa.node.name} log tail ----\n{pa.log()[-3000:]}")


def _wait_height(pas: list[PA], height: int, timeout: float = WAIT) -> None:
    wait_until(lambda: all(pa.height() >= height for pa in pas), timeout, f"height {height}")


def test_three_pas_finalize_blocks(pas: list[PA]) -> None:
    three = pas[:3]
    _wait_height(three, 4)
    for n in range(1, 5):
        hashes = {pa.call("eth_getBlockByNumber", hex(n), False)["hash"] for pa in three}  # type: ignore[index]
        assert len(hashes) == 1, f"fork at block {n}"
    assert sorted(three[0].validators()) == sorted(pa.address.lower() for pa in three)
    # PA1's Prometheus endpoint: standard names, live peers, import times of blocks finalized here
    def scrape() -> dict[str, float]:
        text = httpx.get(f"http://127.0.0.1:{three[0].metrics_port}/metrics", timeout=10).text
        return {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
                if line and not line.startswith("#")}

    values = wait_until(lambda: (v := scrape())["p2p_peers"] == 2 and v, WAIT, "PA1 metrics with 2 peers")
    assert values["ethereum_peer_count"] == 2
    assert values["ethereum_blockchain_height"] >= 4 and values["co3chain_consensus_is_validator"] == 1
    imports = sum(v for k, v in values.items() if k.startswith("co3chain_block_import_seconds_count"))
    assert imports >= 3  # finalized here ("sealed") or fetched ("synced") when PA1 fell behind
    assert values["process_resident_memory_bytes"] > 0


def test_fourth_pa_is_voted_in_and_seals(pas: list[PA]) -> None:
    pa4 = pas[3]
    # PA4 knows the others' public peer strings; nobody edits PA1-3's files
    pa4.join(pas[0].dir / "genesis.json", [pa.peer for pa in pas[:3]])
    pa4.start()
    for pa in pas[:2]:  # ⌊3/2⌋+1 = 2 votes
        out = co3("validators", "propose", pa4.address, "--rpc", pa.node.rpc)
        assert "recorded" in out
    wait_until(lambda: pa4.address.lower() in pas[0].validators(), 90, "PA4 voted in")
    added = pas[0].height()
    _wait_height([pa4], added)  # synced

    def sealed_by_pa4() -> bool:
        head = pas[0].height()
        return any(pas[0].call("eth_getBlockByNumber", hex(n), False)["miner"].lower()  # type: ignore[index]
                   == pa4.address.lower() for n in range(added, head + 1))

    wait_until(sealed_by_pa4, WAIT, "a block proposed by PA4")


def test_removed_pa_is_cut_off(pas: list[PA]) -> None:
    pa3 = pas[2]
    others = [pas[0], pas[1], pas[3]]
    if pas[3].address.lower() not in pas[0].validators():
        pytest.skip("needs the fourth PA voted in")
    for pa in others:  # ⌊4/2⌋+1 = 3 votes
        co3("validators", "propose", pa3.address, "--remove", "--rpc", pa.node.rpc)
    wait_until(lambda: pa3.address.lower() not in pas[0].validators(), 90, "PA3 voted out")
    # PA3 still lists the others as static peers and they list PA3: it is refused all the same
    wait_until(lambda: int(pa3.call("net_peerCount"), 16) == 0, 20, "PA3 disconnected")  # type: ignore[arg-type]
    stuck = pa3.height()
    start = pas[0].height()
    _wait_height(others, start + 3)
    time.sleep(2)  # PA3's dialers retry meanwhile
    assert int(pa3.call("net_peerCount"), 16) == 0  # type: ignore[arg-type]
    assert pa3.height() <= stuck + 1
    assert "voted out of the validator set" in pas[0].log()
    assert "cannot connect to peer" in pa3.log()  # the refused side says so too
    assert "not allowed" in pas[0].log() or "NOT_ALLOWED" in pas[0].log()


def test_observer_node_admitted_at_run_time_with_admin_add_peer(pas: list[PA]) -> None:
    pa1, pa3 = pas[0], pas[2]
    # A non-validator node admitted with admin_addPeer. Its ports are picked now, right before it starts:
    # ports picked when the module began can be taken by a parallel test by the time it runs.
    observer = PA(pa1.dir.parent, "observer", free_port_block(1), free_port_block(1))
    pas.append(observer)  # the fixture stops it
    observer.join(pa1.dir / "genesis.json", [pa1.peer])
    observer.start()
    wait_until(lambda: observer.height() >= 0, WAIT, "observer RPC up")
    time.sleep(2)  # its dialer has tried PA1 by now
    assert int(observer.call("net_peerCount"), 16) == 0  # type: ignore[arg-type]  # not a validator: refused
    assert pa1.call("admin_addPeer", observer.peer) is True
    wait_until(lambda: int(observer.call("net_peerCount"), 16) == 1, WAIT, "observer connected")  # type: ignore[arg-type]
    _wait_height([observer], pa1.height())  # it syncs the chain
    listed = pa1.call("admin_peers")
    assert observer.identity["pubkey"] in {p["id"] for p in listed}  # type: ignore[union-attr]
    if pa3.address.lower() not in pa1.validators():  # a voted-out PA cannot be re-admitted this way
        with pytest.raises(LocalnetError, match="removed from the validator set"):
            pa1.call("admin_addPeer", pa3.peer)
    assert pa1.call("admin_removePeer", observer.peer) is True
    wait_until(lambda: int(observer.call("net_peerCount"), 16) == 0, 20, "observer dropped")  # type: ignore[arg-type]
    observer.stop()


def test_backup_while_running_then_restore_on_a_new_machine_catches_up(pas: list[PA], tmp_path: Path) -> None:
    """The documented upgrade/migration path: hot backup, stop, restore elsewhere, start, catch up."""
    pa2 = pas[1]
    _wait_height([pa2], 3)
    archive = tmp_path / "pa2.tar.gz"
    manifest = json.loads(co3("node", "backup", "--dir", str(pa2.dir), "--out", str(archive), "--include-key",
                              "--json"))
    assert manifest["headNumber"] >= 3 and manifest["includesKey"] is True
    assert int(pa2.call("net_peerCount"), 16) >= 1  # type: ignore[arg-type]  # the node kept running
    pa2.stop()
    # stopped: the others keep finalizing without it (PA1 and PA4 are 2 of 3 validators, or 3 of 4)
    live = [pa for pa in pas if pa is not pa2 and pa.address.lower() in pas[0].validators()]
    start = pas[0].height()
    _wait_height(live, start + 3)
    # "new machine": an empty directory, the archive and the password the operator keeps elsewhere
    new_dir = tmp_path / "pa2-new"
    restored = json.loads(co3("node", "restore", "--dir", str(new_dir), "--from", str(archive), "--json"))
    assert restored["headHash"] == manifest["headHash"]
    (new_dir / "password").write_text((pa2.dir / "password").read_text())
    (new_dir / "password").chmod(0o600)
    moved = LocalNode("pa2-new", new_dir, pa2.node.rpc, pa2.address)
    localnet.start_node(moved)
    try:
        target = pas[0].height()
        wait_until(lambda: int(rpc_call(moved.rpc, "eth_blockNumber"), 16) >= target, WAIT,
                   "the restored node to catch up")
        block = pas[0].call("eth_getBlockByNumber", hex(target), False)["hash"]  # type: ignore[index]
        assert rpc_call(moved.rpc, "eth_getBlockByNumber", hex(target), False)["hash"] == block
    finally:
        localnet.stop_node(moved, timeout=10)
