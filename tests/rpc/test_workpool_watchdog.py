"""RpcWorkPool's watchdog sleeps while the pool is idle and still stops an overdue job started later."""

from __future__ import annotations

import time

import pytest

from co3chain.rpc.workpool import RpcTimeout, RpcWorkPool


def test_watchdog_wakes_for_a_job_started_after_an_idle_spell() -> None:
    pool = RpcWorkPool(workers=1, max_pending=2, timeout=0.3)
    try:
        time.sleep(0.3)  # idle: the watchdog is parked on its event
        assert pool._watchdog.is_alive()

        def forever() -> None:
            while True:
                time.sleep(0.001)

        with pytest.raises(RpcTimeout):
            pool.submit(forever).result(timeout=30)
        assert pool.timeouts == 1
        assert pool.submit(lambda: 42).result(timeout=30) == 42  # the worker is free again
    finally:
        pool.shutdown()
    pool._watchdog.join(5)
    assert not pool._watchdog.is_alive()  # shutdown wakes it and it ends


def test_idle_watchdog_ends_at_shutdown() -> None:
    pool = RpcWorkPool(workers=1, max_pending=1)
    watchdog = pool._watchdog
    assert watchdog.is_alive()
    pool.shutdown()
    watchdog.join(5)
    assert not watchdog.is_alive()
