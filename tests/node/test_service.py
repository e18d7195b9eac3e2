"""The assembled node in-process: periodic sealing, RPC, WS heads, metrics, graceful stop and reopen."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import httpx
import pytest
import websockets

from co3chain.node.cli import init_network
from co3chain.node.config import RpcConfig, load_config
from co3chain.node.service import NodeService
from tests.network.netutil import free_port_block


async def rpc(url: str, method: str, *params: object) -> object:
    async with httpx.AsyncClient() as c:
        r = await c.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        return r.json()["result"]


async def wait_height(url: str, n: int, timeout: float = 30) -> int:
    async def loop() -> int:
        while True:
            h = int(await rpc(url, "eth_blockNumber"), 16)
            if h >= n:
                return h
            await asyncio.sleep(0.1)

    return await asyncio.wait_for(loop(), timeout)


def make_config(tmp_path: Path, validators: int = 1):
    # p2p ports from a free block: a fixed 30303 collides with any local network (make run) or parallel test
    init_network(tmp_path / "net", validators, 99, rpc_port=0, p2p_port=free_port_block(validators))
    cfg = load_config(tmp_path / "net" / "node1" / "config.toml")
    return dataclasses.replace(cfg, rpc=RpcConfig(host="127.0.0.1", port=0))


def test_service_seals_serves_and_restarts(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)

    async def first_run() -> int:
        svc = NodeService(cfg)
        await svc.start()
        url = f"http://127.0.0.1:{svc.rpc_port}"
        try:
            async with websockets.connect(f"ws://127.0.0.1:{svc.rpc_port}") as ws:
                await ws.send(
                    json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]})
                )
                sub = json.loads(await ws.recv())["result"]
                note = json.loads(await asyncio.wait_for(ws.recv(), 30))
                assert note["params"]["subscription"] == sub
                assert int(note["params"]["result"]["number"], 16) >= 1
            height = await wait_height(url, 2)
            block = await rpc(url, "eth_getBlockByNumber", "latest", False)
            assert block["miner"] == "0x" + svc.address.hex()
            assert svc.metrics.height._value.get() >= 2 and svc.metrics.blocks._value.get() >= 2
            assert await rpc(url, "net_peerCount") == "0x0"
            assert svc.producer is not None and svc.producer.status()["lastBlock"] >= 1
        finally:
            await svc.stop()
        return height

    height = asyncio.run(first_run())

    async def second_run() -> None:
        svc = NodeService(cfg)
        await svc.start()
        try:
            assert svc.chain.head.block_number >= height  # resumed from disk, not from genesis
            await wait_height(f"http://127.0.0.1:{svc.rpc_port}", height + 1)
        finally:
            await svc.stop()

    asyncio.run(second_run())


def test_multi_validator_network_runs_qbft(tmp_path: Path) -> None:
    from co3chain.node.qbft_driver import QbftProducer

    cfg = make_config(tmp_path, validators=2)

    async def run() -> None:
        svc = NodeService(cfg)
        await svc.start()
        try:
            assert isinstance(svc.producer, QbftProducer)
            assert svc.producer.status()["kind"] == "qbft"
        finally:
            await svc.stop()
            await svc.stop()  # idempotent

    asyncio.run(run())


def test_wrong_password_is_a_clear_error(tmp_path: Path) -> None:
    from co3chain.keys import KeystoreError

    cfg = make_config(tmp_path)

    async def run() -> None:
        with pytest.raises(KeystoreError, match="wrong password"):
            await NodeService(cfg, password="not-it").start()

    asyncio.run(run())


def test_rpc_apis_limit_what_the_node_serves(tmp_path: Path) -> None:
    """``[rpc] apis = ["eth"]``: the assembled node answers eth_ calls and refuses its own qbft_/admin_ methods
    (which exist: the QBFT driver registered them) with -32604."""
    cfg = make_config(tmp_path)
    cfg = dataclasses.replace(cfg, rpc=RpcConfig(host="127.0.0.1", port=0, apis=("eth",)))

    async def run() -> None:
        svc = NodeService(cfg)
        await svc.start()
        url = f"http://127.0.0.1:{svc.rpc_port}"
        try:
            assert int(await rpc(url, "eth_chainId"), 16) == 99
            async with httpx.AsyncClient() as c:
                for method, params in (("qbft_proposeValidatorVote", ["0x" + "11" * 20, True]),
                                       ("admin_peers", []), ("net_version", [])):
                    r = (await c.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                                 "params": params})).json()
                    assert r["error"]["code"] == -32604, (method, r)
            assert svc.producer is not None and svc.producer.pending_votes() == {}  # the vote never reached it
        finally:
            await svc.stop()

    asyncio.run(run())


def test_the_node_keeps_no_parsed_genesis_alloc(tmp_path: Path) -> None:
    """Block 0's state is in the store once the chain is open: the node drops the parsed alloc (hundreds of MiB
    for a large genesis) and still answers for genesis accounts."""
    cfg = make_config(tmp_path)

    async def run() -> None:
        svc = NodeService(cfg)
        await svc.start()
        try:
            assert svc.genesis.alloc == {} and svc.chain.genesis.alloc == {}
            url = f"http://127.0.0.1:{svc.rpc_port}"
            funded = "0x" + svc.address.hex()  # validators are funded in the genesis alloc
            assert int(await rpc(url, "eth_getBalance", funded, "0x0"), 16) > 0
        finally:
            await svc.stop()

    asyncio.run(run())
    asyncio.run(run())  # a restart (stored genesis digest) works the same way
