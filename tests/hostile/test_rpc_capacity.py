"""Finding 2: RPC execution has its own bounded, time-limited pool; consensus and import keep theirs."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from co3chain.rpc.workpool import RPC_LANE, LaneExecutor, RpcBusy, RpcTimeout, RpcWorkPool
from tests.hostile.attacks import LOOP_INITCODE, call_flood, measure
from tests.node.procs import NodeProcess


def _spin(seconds: float) -> str:
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:  # pure Python, like the py-evm interpreter loop
        n += 1
    return "done"


def test_pool_refuses_when_full_and_recovers() -> None:
    pool = RpcWorkPool(workers=1, max_pending=2, timeout=5)
    release = threading.Event()
    try:
        a = pool.submit(release.wait, 5)
        b = pool.submit(release.wait, 5)
        with pytest.raises(RpcBusy) as info:
            pool.submit(lambda: 1)
        assert info.value.code == -32005 and "busy" in info.value.message
        release.set()
        assert a.result(5) and b.result(5)
        assert pool.submit(lambda: 7).result(5) == 7
        assert pool.busy_refusals == 1
    finally:
        pool.shutdown()


def test_overdue_job_is_interrupted_and_frees_its_worker() -> None:
    pool = RpcWorkPool(workers=1, max_pending=4, timeout=0.3)
    try:
        t0 = time.monotonic()
        slow = pool.submit(_spin, 30)
        with pytest.raises(RpcTimeout, match=r"execution aborted \(timeout = 0.3s\)"):
            slow.result(5)
        assert time.monotonic() - t0 < 3
        assert pool.submit(lambda: "next").result(5) == "next"
        assert pool.inflight == 0 and pool.timeouts == 1
    finally:
        pool.shutdown()


def test_lane_executor_keeps_node_work_off_the_rpc_pool() -> None:
    rpc = RpcWorkPool(workers=1, max_pending=1, timeout=5)
    lanes = LaneExecutor(rpc, node_workers=2)
    release = threading.Event()

    async def main() -> None:
        asyncio.get_running_loop().set_default_executor(lanes)

        async def rpc_task() -> None:
            RPC_LANE.set(True)
            await asyncio.to_thread(release.wait, 5)

        hog = asyncio.create_task(rpc_task())
        await asyncio.sleep(0.1)

        async def rpc_again() -> None:
            RPC_LANE.set(True)
            await asyncio.to_thread(lambda: None)

        with pytest.raises(RpcBusy):
            await asyncio.create_task(rpc_again())
        # consensus/import work (no RPC mark) still runs at once
        name = await asyncio.wait_for(asyncio.to_thread(lambda: threading.current_thread().name), 2)
        assert not name.startswith("rpc-worker")
        release.set()
        await hog

    try:
        asyncio.run(main())
    finally:
        lanes.shutdown()


def test_looping_eth_call_is_aborted_with_a_clear_error(live_node: NodeProcess) -> None:
    t0 = time.monotonic()
    r = httpx.post(live_node.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_call",
                                        "params": [{"data": LOOP_INITCODE, "gas": hex(50_000_000)}, "latest"]},
                   timeout=60).json()
    assert time.monotonic() - t0 < 10
    if "error" in r and "timeout" in r["error"]["message"]:
        assert r["error"]["message"] == "execution aborted (timeout = 5s)"
    else:  # a fast engine may finish 50M gas within the limit: then it is an out-of-gas failure
        assert "error" in r, r


def test_blocks_keep_coming_under_eth_call_flood(live_node: NodeProcess) -> None:
    url = live_node.url
    result = measure(url, [lambda stop: call_flood(url, stop) for _ in range(6)], seconds=12)
    assert result.block_share >= 0.75, f"{result.blocks} blocks in {result.slots} slots under eth_call flood"
    assert result.honest_failures == 0 and result.honest_latencies


def test_dispatcher_offloads_marked_methods_and_answers_busy_when_full() -> None:
    from co3chain.rpc.dispatch import CallContext, Dispatcher

    d = Dispatcher()
    gate = threading.Event()
    d.register("tx_intake", lambda: (gate.wait(5), threading.current_thread().name)[1])
    pool = RpcWorkPool(workers=1, max_pending=1, timeout=float("inf"), name="tx-intake")
    d.offload["tx_intake"] = pool

    async def main() -> None:
        first = asyncio.create_task(d.call("tx_intake", [], CallContext("http")))
        await asyncio.sleep(0.1)
        assert not first.done()  # the loop is free while the method runs on the intake thread
        with pytest.raises(RpcBusy):
            await d.call("tx_intake", [], CallContext("http"))
        gate.set()
        assert (await first).startswith("tx-intake")

    try:
        asyncio.run(main())
    finally:
        pool.shutdown()
