"""Transaction gossip in the QBFT driver: one loop wake-up per batch of locally accepted transactions."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from co3chain.chain.chain import NodeChain
from co3chain.node.qbft_driver import DriverSettings, QbftDriver
from co3chain.node.txpool import TxPool
from tests.chain.helpers import VALIDATOR_KEYS, make_test_genesis


class _FakeP2P:
    running = True

    def __init__(self) -> None:
        self.sent: list[list[bytes]] = []

    def broadcast_txs(self, raws: Any, exclude: Any = None) -> int:
        self.sent.append(list(raws))
        return 1


def _driver() -> QbftDriver:
    chain = NodeChain.open(None, make_test_genesis(4))
    return QbftDriver(chain, TxPool(chain), VALIDATOR_KEYS[0], DriverSettings(p2p_port=0))


def test_transactions_accepted_off_the_loop_wake_it_once_per_batch() -> None:
    """The RPC intake thread accepts many transactions per wake-up: they must not cost one cross-thread
    call (self-pipe write + loop wake-up) each. Fails on the per-transaction ``call_soon_threadsafe``."""
    driver = _driver()
    fake = _FakeP2P()
    driver.p2p = fake  # type: ignore[assignment]
    loop = asyncio.new_event_loop()
    wakeups = 0
    original = loop.call_soon_threadsafe

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal wakeups
        wakeups += 1
        return original(*args, **kwargs)

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    driver._loop = loop
    raws = [bytes([i]) * 10 for i in range(100)]
    try:
        worker = threading.Thread(target=lambda: [driver.gossip_tx(r) for r in raws])
        worker.start()
        worker.join()
        assert wakeups == 1
        loop.run_until_complete(asyncio.sleep(0))
        assert fake.sent == [raws]  # one batch, in acceptance order
        # the next batch after the flush wakes the loop again, once
        worker = threading.Thread(target=lambda: [driver.gossip_tx(r) for r in raws[:5]])
        worker.start()
        worker.join()
        loop.run_until_complete(asyncio.sleep(0))
        assert wakeups == 2 and fake.sent == [raws, raws[:5]]
        assert driver.gossip_wakeups == 2
    finally:
        loop.close()


def test_gossip_from_the_loop_itself_is_batched_per_tick() -> None:
    driver = _driver()
    fake = _FakeP2P()
    driver.p2p = fake  # type: ignore[assignment]

    async def main() -> None:
        driver._loop = asyncio.get_running_loop()
        for i in range(3):
            driver.gossip_tx(bytes([i]))
        await asyncio.sleep(0)

    asyncio.run(main())
    assert fake.sent == [[b"\x00", b"\x01", b"\x02"]] and driver.gossip_wakeups == 0
