"""Loopback throughput of the co3chain p2p transport between two nodes.

Usage: ``.venv/bin/python bench/p2p_throughput.py [--seconds 1.0] [--sizes 128,1024,16384,262144]``

Both nodes run in this process on one event loop, so every number includes *both* ends' work (encryption,
decryption, RLP, keccak dedup) on one core: a lower bound for two machines. Reported per case: messages/s and
payload MB/s (1 MB = 10^6 bytes), CPU time per message and CPU share of wall time (below 100 % when the
machine is shared or the loop waits) for CONSENSUS messages of each size, TX batches (100 × 120-byte txs per
message) and GET_BLOCKS/BLOCKS round trips (128 blocks of 20 kB per request).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from co3chain.p2p import NodeKey, P2PConfig, P2PHandlers, P2PNode, Peer

GENESIS = b"\x42" * 32
HIGH_WATER_FRAMES = 512
HIGH_WATER_BYTES = 16 * 1024 * 1024


class Counter:
    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0

    def consensus(self, peer: Peer, raw: bytes) -> bool:
        self.messages += 1
        self.bytes += len(raw)
        return False  # no relay: there is nobody else anyway

    def txs(self, peer: Peer, raw_txs: list[bytes]) -> bool:
        self.messages += len(raw_txs)
        self.bytes += sum(map(len, raw_txs))
        return False


async def _pair(counter: Counter, blocks: list[bytes]) -> tuple[P2PNode, P2PNode, Peer]:
    ka, kb = NodeKey(), NodeKey()
    config = P2PConfig(send_queue_frames=HIGH_WATER_FRAMES * 4)
    sender = P2PNode(ka.private_key, "127.0.0.1", 0, [], {kb.public_key}, 1, GENESIS, P2PHandlers(), config)
    receiver_handlers = P2PHandlers(
        on_consensus=counter.consensus,
        on_tx=counter.txs,
        get_blocks=lambda start, count: blocks[start : start + count],
    )
    receiver = P2PNode(
        kb.private_key, "127.0.0.1", 0, [], {ka.public_key}, 1, GENESIS, receiver_handlers, config
    )
    await receiver.start()
    await sender.start()
    peer = await sender.connect(receiver.enode)
    return sender, receiver, peer


async def _pace(peer: Peer) -> None:
    """Keep the send queue short so the benchmark measures the transport, not an ever-growing queue."""
    while peer.queued_frames > HIGH_WATER_FRAMES or peer.queued_bytes > HIGH_WATER_BYTES:
        if not peer.connected:
            raise SystemExit(f"benchmark peer disconnected: {peer.close_reason}")
        await asyncio.sleep(0.0005)


def _report(case: str, messages: int, nbytes: int, wall: float, cpu: float) -> None:
    print(
        f"{case:<28}{messages / wall:>14,.0f}{nbytes / wall / 1e6:>10.1f}{cpu / messages * 1e6:>12.1f}{cpu / wall:>8.0%}"
    )


async def _stream(peer: Peer, counter: Counter, make, seconds: float) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    target_messages = 0
    start = time.perf_counter()
    i = 0
    while time.perf_counter() - start < seconds:
        sent = make(i)
        target_messages += sent
        i += 1
        await _pace(peer)
        if i % 32 == 0:
            await asyncio.sleep(0)  # let the writer and the receiver run
    while counter.messages < target_messages:
        await asyncio.sleep(0.001)
    return time.perf_counter() - start, counter.messages, counter.bytes


async def main(seconds: float, sizes: list[int]) -> None:
    blocks = [bytes([i % 256]) * 20_000 for i in range(128)]
    print(f"{'case':<28}{'messages/s':>14}{'MB/s':>10}{'CPU us/msg':>12}{'CPU':>8}")
    for size in sizes:
        counter = Counter()
        sender, receiver, peer = await _pair(counter, blocks)
        body = b"q" * max(size - 8, 1)
        cpu = time.process_time()
        elapsed, n, nbytes = await _stream(
            peer,
            counter,
            lambda i: sender.broadcast_consensus(i.to_bytes(8, "big") + body),  # noqa: B023
            seconds,
        )
        _report(f"CONSENSUS {size} B", n, nbytes, elapsed, time.process_time() - cpu)
        await sender.stop()
        await receiver.stop()

    counter = Counter()
    sender, receiver, peer = await _pair(counter, blocks)
    pad = b"t" * 112

    def batch(i: int) -> int:
        sender.broadcast_txs((i * 100 + j).to_bytes(8, "big") + pad for j in range(100))
        return 100

    cpu = time.process_time()
    elapsed, n, nbytes = await _stream(peer, counter, batch, seconds)
    _report("TX (batches of 100 x 120 B)", n, nbytes, elapsed, time.process_time() - cpu)

    rounds, got = 0, 0
    cpu = time.process_time()
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        got += sum(map(len, await sender.request_blocks(peer, 0, 128)))
        rounds += 1
    elapsed = time.perf_counter() - start
    _report("BLOCKS (128 x 20 kB/req)", rounds * 128, got, elapsed, time.process_time() - cpu)
    await sender.stop()
    await receiver.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="duration of each case")
    parser.add_argument("--sizes", default="128,1024,16384,262144", help="CONSENSUS message sizes in bytes")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, [int(s) for s in args.sizes.split(",")]))
