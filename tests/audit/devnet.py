"""In-memory QBFT devnet for audit tests: a real ``NodeChain`` with 4 validators, correct proposer rotation,
validator votes, commit seals, and a JSON-RPC transport into co3chain's own RPC dispatcher (no sockets).

Why in-process: tests build exact chains (chosen timestamps, votes, tampered seals) quickly, and the auditor
still talks plain JSON-RPC, so the same code runs against a real node over HTTP.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from eth_account import Account
from eth_keys import keys
from eth_utils import to_checksum_address
from web3.providers.base import JSONBaseProvider

from co3chain.chain.chain import NodeChain
from co3chain.chain.genesis import Genesis, make_genesis, parse_genesis
from co3chain.consensus.qbft.extradata import QbftExtraData, Vote
from co3chain.consensus.qbft.hashing import sign_commit_seal
from co3chain.consensus.qbft.proposer import select_proposer
from co3chain.consensus.qbft.votes import ValidatorSetTracker
from co3chain.rpc.backend import RpcBackend
from co3chain.rpc.dispatch import CallContext
from co3chain.rpc.methods import build_dispatcher

CHAIN_ID = 31337
GENESIS_TIME = 1_700_000_000


def addr(key: bytes) -> bytes:
    return keys.PrivateKey(key).public_key.to_canonical_address()


VALIDATOR_KEYS = [bytes([0x10 + i]) * 32 for i in range(6)]  # first 4 start as validators
USER_KEYS = [bytes([0x60 + i]) * 32 for i in range(12)]
KEY_OF = {addr(k): k for k in VALIDATOR_KEYS}


class _AutoMinePool:
    """The RPC backend's tx pool: every ``eth_sendRawTransaction`` is sealed into its own block at once."""

    def __init__(self, devnet: Devnet) -> None:
        self.devnet = devnet

    def add(self, raw: bytes) -> bytes:
        block = self.devnet.produce([raw])
        return bytes(block.transactions[0].hash)

    def status(self) -> Any:
        return {"pending": 0, "queued": 0}

    def pending_nonce(self, address: bytes) -> int:
        return self.devnet.chain.state_at().get_nonce(address)


class Devnet:
    """A sealed QBFT chain you can extend block by block."""

    def __init__(self, n_validators: int = 4, epoch: int = 30000, block_period: int = 1, alloc: dict | None = None) -> None:
        vals = [addr(k) for k in VALIDATOR_KEYS[:n_validators]]
        funded = {addr(k): 10**24 for k in USER_KEYS}
        funded.update(alloc or {})
        self.genesis_dict = make_genesis(vals, CHAIN_ID, funded, block_period=block_period, epoch=epoch,
                                         timestamp=GENESIS_TIME, gas_limit=60_000_000)
        self.genesis: Genesis = parse_genesis(self.genesis_dict)
        self.chain = NodeChain.open(None, self.genesis)
        self.chain.clock = lambda: 2**40  # blocks may be far "in the future": tests jump time freely
        self.tracker = ValidatorSetTracker(self.genesis.validators, epoch)
        self.chain.validator_provider = lambda parent: list(self._set_after(parent))
        self._sets: dict[int, tuple[bytes, ...]] = {0: tuple(sorted(vals))}
        dispatcher, _ = build_dispatcher(RpcBackend(chain=self.chain, txpool=_AutoMinePool(self)))
        self.dispatcher = dispatcher
        self.loop = asyncio.new_event_loop()

    def _set_after(self, parent: Any) -> tuple[bytes, ...]:
        return self._sets[parent.block_number]

    def close(self) -> None:
        self.loop.close()
        self.chain.close()

    # -- blocks -------------------------------------------------------------------------------------------
    def produce(self, raw_txs: list[bytes] | None = None, *, timestamp: int | None = None,
                vote: Vote | None = None, round_: int = 0) -> Any:
        """Build, seal (all validators) and import a block; returns the sealed block."""
        parent = self.chain.head
        vals = self._sets[parent.block_number]
        proposer = select_proposer(vals, parent.coinbase, round_)
        builder = self.chain.vm_class.get_transaction_builder()
        txs = [builder.decode(r) for r in (raw_txs or [])]
        extra = QbftExtraData(validators=list(vals), vote=vote, round=round_)
        ts = timestamp if timestamp is not None else parent.timestamp + self.genesis.block_period
        res = self.chain.build_block(txs, proposer, ts, extra.encode())
        if res.rejected:
            raise AssertionError(f"txs rejected: {res.rejected}")
        header = res.block.header
        seals = [sign_commit_seal(KEY_OF[v], header, round_) for v in vals]
        sealed = res.block.copy(header=header.copy(extra_data=extra.with_seals(seals).encode()))
        self.chain.import_block(sealed)
        self._sets[header.block_number] = self.tracker.apply_block(header.block_number, proposer, vote)
        return sealed

    def follower(self) -> tuple[Any, Any]:
        """A fresh in-memory node on this devnet's genesis, set up as a syncing node checks blocks:
        ``(chain, ValidatorSetIndex)``, its clock shared with the devnet."""
        from co3chain.node.sync import ValidatorSetIndex  # only the sync tests need the node layer

        chain = NodeChain.open(None, self.genesis)
        chain.clock = self.chain.clock
        sets = ValidatorSetIndex(chain)
        chain.validator_provider = sets.provider
        return chain, sets

    def produce_empty(self, n: int) -> None:
        for _ in range(n):
            self.produce()

    def time_travel(self, timestamp: int) -> None:
        """Seal an empty block at ``timestamp``: the next transactions run after it."""
        self.produce(timestamp=timestamp)

    @property
    def now(self) -> int:
        return int(self.chain.head.timestamp)

    # -- transactions -------------------------------------------------------------------------------------
    def sign(self, key: bytes, *, to: bytes | str | None = None, data: bytes = b"", gas: int = 3_000_000, value: int = 0) -> bytes:
        sender = addr(key)
        nonce = self.chain.state_at().get_nonce(sender)
        tx: dict[str, Any] = {"nonce": nonce, "gas": gas, "gasPrice": 0, "value": value, "chainId": CHAIN_ID, "data": data}
        if to is not None:
            tx["to"] = to_checksum_address(to)
        return bytes(Account.from_key(key).sign_transaction(tx).raw_transaction)

    # -- JSON-RPC -----------------------------------------------------------------------------------------
    def transport(self, payload: Any) -> Any:
        """JSON-RPC in process: the request goes through co3chain's real dispatcher and method code."""
        result = self.loop.run_until_complete(self.dispatcher.handle_payload(copy.deepcopy(payload), CallContext("http")))
        return result

    def header_json(self, number: int) -> dict[str, Any]:
        return self.transport({"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": [hex(number), False]})["result"]

    def headers_json(self) -> list[dict[str, Any]]:
        return [self.header_json(n) for n in range(self.chain.head.block_number + 1)]


def lying(transport: Callable[[Any], Any], rewrite: Callable[[dict[str, Any], dict[str, Any]], None]) -> Callable[[Any], Any]:
    """Wrap ``transport`` so ``rewrite(request, response)`` may alter each response in place (a lying node)."""

    def send(payload: Any) -> Any:
        resp = transport(payload)
        if isinstance(payload, list):
            by_id = {r["id"]: r for r in resp}
            for req in payload:
                if req["id"] in by_id:
                    rewrite(req, by_id[req["id"]])
        else:
            rewrite(payload, resp)
        return resp

    return send


class DevnetProvider(JSONBaseProvider):
    """web3.py provider over :meth:`Devnet.transport` (deploy scripts and contract calls in tests)."""

    def __init__(self, devnet: Devnet) -> None:
        super().__init__()
        self.devnet = devnet
        self._id = 0

    def make_request(self, method: Any, params: Any) -> Any:
        self._id += 1
        return self.devnet.transport({"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)})

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


@contextmanager
def serve(devnet: Devnet) -> Iterator[str]:
    """Serve the devnet over real HTTP with co3chain's RPC server; yields the URL."""
    from co3chain.rpc.server import RpcApp, RpcServer

    loop = asyncio.new_event_loop()
    server = RpcServer(RpcApp(devnet.dispatcher), "127.0.0.1", 0)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(10)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)
        loop.close()


@contextmanager
def lying_proxy(upstream: str, rewrite: Callable[[dict[str, Any], dict[str, Any]], None]) -> Iterator[str]:
    """An HTTP JSON-RPC proxy in front of ``upstream`` that lets ``rewrite`` alter responses; yields its URL."""
    forward = lying(lambda payload: httpx.post(upstream, json=payload, timeout=60).json(), rewrite)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            out = json.dumps(forward(json.loads(body))).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(10)
