"""IntakeLane: eth_sendRawTransaction's thread keeps arrival order, delivers results and errors, refuses
when full, and never runs a call on the event loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from co3chain.rpc.dispatch import CallContext, Dispatcher
from co3chain.rpc.errors import RpcError
from co3chain.rpc.intake import IntakeLane
from co3chain.rpc.workpool import RpcBusy


def test_calls_run_in_order_on_the_intake_thread_with_results_and_errors() -> None:
    lane = IntakeLane(max_pending=1000)
    seen: list[int] = []

    def work(i: int) -> tuple[int, str]:
        seen.append(i)
        if i % 7 == 3:
            raise ValueError(f"bad {i}")
        return i * i, threading.current_thread().name

    async def main() -> list[object]:
        loop_thread = threading.current_thread().name
        tasks = [asyncio.create_task(lane.run(lambda i=i: work(i))) for i in range(300)]
        out = await asyncio.gather(*tasks, return_exceptions=True)
        for i, r in enumerate(out):
            if i % 7 == 3:
                assert isinstance(r, ValueError) and str(r) == f"bad {i}"
            else:
                assert r[0] == i * i and r[1].startswith("tx-intake") and r[1] != loop_thread
        return out

    try:
        asyncio.run(main())
    finally:
        lane.shutdown()
    assert seen == list(range(300))  # arrival order, one at a time
    assert lane.inflight == 0


def test_busy_when_full_and_the_loop_stays_free() -> None:
    lane = IntakeLane(max_pending=2)
    gate = threading.Event()
    d = Dispatcher()
    d.register("tx_intake", lambda: (gate.wait(5), threading.current_thread().name)[1])
    d.offload["tx_intake"] = lane

    async def main() -> None:
        first = asyncio.create_task(d.call("tx_intake", [], CallContext("http")))
        second = asyncio.create_task(d.call("tx_intake", [], CallContext("http")))
        await asyncio.sleep(0.1)
        assert not first.done() and not second.done()  # the loop runs this line meanwhile
        with pytest.raises(RpcBusy):
            await d.call("tx_intake", [], CallContext("http"))
        gate.set()
        assert (await first).startswith("tx-intake") and (await second).startswith("tx-intake")
        assert lane.busy_refusals == 1
        # room again once they finished
        assert (await d.call("tx_intake", [], CallContext("http"))).startswith("tx-intake")

    try:
        asyncio.run(main())
    finally:
        lane.shutdown()


def test_rpc_errors_reach_the_json_rpc_answer() -> None:
    lane = IntakeLane()
    d = Dispatcher()

    def refuse(raw: str) -> str:
        raise RpcError(-32000, f"nonce too low: {raw}")

    d.register("eth_sendRawTransaction", refuse)
    d.offload["eth_sendRawTransaction"] = lane

    async def main() -> bytes | None:
        body = b'[{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x01"]},' \
            b'{"jsonrpc":"2.0","id":2,"method":"eth_sendRawTransaction","params":["0x02"]}]'
        return await d.handle_bytes(body, CallContext("http"))

    try:
        out = asyncio.run(main())
    finally:
        lane.shutdown()
    assert out is not None
    assert b'"id":1,"error":{"code":-32000,"message":"nonce too low: 0x01"}' in out
    assert b'"id":2,"error":{"code":-32000,"message":"nonce too low: 0x02"}' in out


def test_shutdown_finishes_queued_calls_then_refuses() -> None:
    lane = IntakeLane()
    gate = threading.Event()

    async def main() -> None:
        first = asyncio.create_task(lane.run(lambda: gate.wait(5)))
        later = asyncio.create_task(lane.run(lambda: "done"))
        await asyncio.sleep(0.05)
        stopper = threading.Thread(target=lane.shutdown)
        stopper.start()
        gate.set()
        assert await first is True and await later == "done"
        stopper.join(5)
        with pytest.raises(RuntimeError):
            await lane.run(lambda: None)

    asyncio.run(main())


def test_a_batch_of_raw_transactions_reaches_the_lane_in_order_and_together() -> None:
    lane = IntakeLane()
    d = Dispatcher()
    seen: list[str] = []
    gate = threading.Event()

    def intake(raw: str) -> str:
        gate.wait(5)  # the first call holds the thread until the whole batch is queued
        seen.append(raw)
        if raw == "0x05":
            raise RpcError(-32000, "nonce too low")
        return raw + "ok"

    d.register("eth_sendRawTransaction", intake)
    d.register("eth_chainId", lambda: "0x1")
    d.offload["eth_sendRawTransaction"] = lane
    items = [{"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [f"0x{i:02x}"]} for i in range(8)]
    items.insert(4, {"jsonrpc": "2.0", "id": "c", "method": "eth_chainId"})
    items.append({"jsonrpc": "2.0", "method": "eth_sendRawTransaction", "params": ["0x99"]})  # notification

    async def main() -> Any:
        task = asyncio.create_task(d.handle_payload(items, CallContext("http")))
        await asyncio.sleep(0.1)
        gate.set()
        return await task

    try:
        out = asyncio.run(main())
    finally:
        lane.shutdown()
    assert seen == [f"0x{i:02x}" for i in range(8)] + ["0x99"]
    assert [r["id"] for r in out] == [0, 1, 2, 3, "c", 4, 5, 6, 7]  # request order, notification omitted
    assert out[6]["error"] == {"code": -32000, "message": "nonce too low"}
    assert out[4]["result"] == "0x1" and out[0]["result"] == "0x00ok"
    # first run: one call, then the rest of that run together; second run (after eth_chainId) together
    assert lane.batches <= 4


def test_before_answer_runs_before_any_answer_and_its_error_answers_the_group(tmp_path: Any) -> None:
    """The node writes the journal of a batch in ``before_answer``: no caller may see its result before
    that hook ran, and when the hook fails (full disk) the calls that succeeded get its error instead."""
    from co3chain.node.txjournal import TxJournal

    journal = TxJournal(tmp_path / "j")
    fail = threading.Event()

    def write_batch() -> None:
        if fail.is_set():
            journal._held[threading.get_ident()].clear()
            raise OSError(28, "No space left on device")
        journal.flush_deferred()

    lane = IntakeLane(max_pending=1000, before_answer=write_batch)
    journal.defer_on(lane.thread_id)

    def admit(i: int) -> int:
        if i == 5:
            raise ValueError("nonce too low")
        journal.append(bytes([i]))
        return i

    async def main() -> list[object]:
        async def one(i: int) -> object:
            try:
                r = await lane.run(lambda: admit(i))
            except BaseException as exc:  # noqa: BLE001 - the test looks at it
                return exc
            # the answer arrives only once its record is in the file
            assert bytes([i]) in TxJournal.read(tmp_path / "j")
            return r

        return list(await asyncio.gather(*(one(i) for i in range(50))))

    try:
        out = asyncio.run(main())
        assert [r for r in out if not isinstance(r, BaseException)] == [i for i in range(50) if i != 5]
        assert isinstance(out[5], ValueError)
        assert TxJournal.read(tmp_path / "j") == [bytes([i]) for i in range(50) if i != 5]
        fail.set()
        failed = asyncio.run(main())
        assert all(isinstance(r, OSError) for i, r in enumerate(failed) if i != 5)
        assert isinstance(failed[5], ValueError)  # its own error is kept
    finally:
        lane.shutdown()
        journal.close()
