"""Fixtures: an in-memory chain + tx pool + RPC server on a free port, and a deterministic block sealer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_keys import keys
from eth_utils import to_checksum_address

from co3chain.chain.chain import NodeChain
from co3chain.chain.genesis import make_genesis, parse_genesis
from co3chain.node.producer import SingleValidatorProducer
from co3chain.node.txpool import TxPool
from co3chain.rpc.backend import RpcBackend
from co3chain.rpc.methods import EthApi, build_dispatcher
from co3chain.rpc.server import RpcApp, RpcServer

CHAIN_ID = 4242
VALIDATOR_KEY = bytes([7]) * 32
USER_KEYS = [bytes([0x50 + i]) * 32 for i in range(4)]


def addr(key: bytes) -> bytes:
    return keys.PrivateKey(key).public_key.to_canonical_address()


USERS = [addr(k) for k in USER_KEYS]
VALIDATOR = addr(VALIDATOR_KEY)


@dataclass
class Node:
    """Everything a test needs: the chain, the pool, the RPC URL and a way to seal the next block."""

    chain: NodeChain
    txpool: TxPool
    api: EthApi
    producer: SingleValidatorProducer
    url: str
    ws_url: str
    loop: asyncio.AbstractEventLoop

    def seal(self) -> Any:
        """Seal one block with whatever the pool holds (deterministic timestamp: parent + 1)."""
        return self.producer.produce_one(self.chain.head.timestamp + 1)

    def rpc(self, method: str, *params: Any) -> Any:
        """Call and return the full response object (``result`` or ``error``)."""
        r = httpx.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        r.raise_for_status()
        return r.json()

    def call(self, method: str, *params: Any) -> Any:
        resp = self.rpc(method, *params)
        assert "error" not in resp, resp
        return resp["result"]

    def sign(self, key: bytes, **fields: Any) -> str:
        tx: dict[str, Any] = {"gas": 200_000, "value": 0, "chainId": CHAIN_ID, "data": b"", "gasPrice": 0}
        tx.update(fields)
        if isinstance(tx.get("to"), str):
            tx["to"] = to_checksum_address(tx["to"])
        if "maxFeePerGas" in tx:
            tx.pop("gasPrice")
        if "nonce" not in tx:
            tx["nonce"] = int(self.call("eth_getTransactionCount", "0x" + addr(key).hex(), "pending"), 16)
        return "0x" + bytes(Account.from_key(key).sign_transaction(tx).raw_transaction).hex()


def start_node(dev: bool = False, **genesis_kw: Any) -> tuple[Node, Any]:
    alloc = {u: 10**24 for u in [*USERS, VALIDATOR]}
    genesis = parse_genesis(make_genesis([VALIDATOR], CHAIN_ID, alloc, block_period=1, **genesis_kw))
    chain = NodeChain.open(None, genesis)
    pool = TxPool(chain)
    chain.add_import_listener(pool.on_block_imported)
    backend = RpcBackend(
        chain=chain, txpool=pool, dev_keys={VALIDATOR: VALIDATOR_KEY} if dev else {}, coinbase=VALIDATOR
    )
    dispatcher, api = build_dispatcher(backend)
    chain.add_import_listener(api.subscriptions.notify_block_threadsafe)
    producer = SingleValidatorProducer(chain, pool, VALIDATOR_KEY)
    loop = asyncio.new_event_loop()
    server = RpcServer(
        RpcApp(dispatcher, max_body=64 * 1024, on_ws_close=api.subscriptions.drop_connection), "127.0.0.1", 0
    )
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def main() -> None:
            api.subscriptions.start()
            await server.start()
            ready.set()

        loop.run_until_complete(main())
        loop.run_forever()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(10)
    node = Node(
        chain, pool, api, producer, f"http://127.0.0.1:{server.port}", f"ws://127.0.0.1:{server.port}", loop
    )

    def stop() -> None:
        fut = asyncio.run_coroutine_threadsafe(server.stop(), loop)
        fut.result(10)
        asyncio.run_coroutine_threadsafe(api.subscriptions.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)
        chain.close()

    return node, stop


@pytest.fixture
def node() -> Iterator[Node]:
    n, stop = start_node()
    yield n
    stop()


@pytest.fixture
def dev_node() -> Iterator[Node]:
    n, stop = start_node(dev=True)
    yield n
    stop()
