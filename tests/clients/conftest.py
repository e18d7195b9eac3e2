"""One auto-mining co3chain node and one anvil per test module, for the real-client workflows.

Our node seals a block whenever its pool holds transactions (polled every 50 ms, timestamps advance one
second per block), so clients that wait for receipts or poll filters see blocks arrive as on a live
chain. Our node runs with the fixed base fee of new networks (``network init``'s default), so the clients'
default fee logic is what is tested; anvil starts at the same base fee and mines each transaction at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account

from co3chain.chain.genesis import DEFAULT_FIXED_BASE_FEE
from tests.anvil import ANVIL_KEY, require_anvil, running_anvil
from tests.rpc.conftest import USER_KEYS, start_node


@dataclass
class Endpoint:
    name: str
    url: str
    ws_url: str
    key: str  # 0x-hex private key of a funded account

    @property
    def address(self) -> str:
        return Account.from_key(self.key).address


def _auto_seal(node, stop: threading.Event) -> None:
    while not stop.is_set():
        if len(node.txpool):
            try:
                node.seal()
            except Exception:  # a failed seal is retried on the next tick; the test sees missing receipts
                time.sleep(0.2)
        stop.wait(0.05)


@pytest.fixture(scope="module", params=["co3chain", "anvil"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[Endpoint]:
    if request.param == "co3chain":
        node, stop_node = start_node(base_fee=DEFAULT_FIXED_BASE_FEE)
        stop = threading.Event()
        t = threading.Thread(target=_auto_seal, args=(node, stop), daemon=True)
        t.start()
        try:
            yield Endpoint("co3chain", node.url, node.ws_url, "0x" + USER_KEYS[0].hex())
        finally:
            stop.set()
            t.join(5)
            stop_node()
    else:
        require_anvil()
        with running_anvil("--block-base-fee-per-gas", str(DEFAULT_FIXED_BASE_FEE)) as url:
            yield Endpoint("anvil", url, url.replace("http://", "ws://"), ANVIL_KEY)


def pytest_configure(config: pytest.Config) -> None:
    # web3's module_testing (imported by test_web3py_ethmodule.py) marks its async suite with it
    config.addinivalue_line("markers", "asyncio: web3.py's async module tests (not run here)")
