"""Four validators in one process running QBFT over the p2p transport: agreement, rotation, fault tolerance."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from pathlib import Path

import httpx
from eth_account import Account
from eth_utils import to_checksum_address

from co3chain.consensus.qbft.hashing import recover_seal_signers
from co3chain.keys import load_private_key, read_password
from co3chain.node.cli import init_network
from co3chain.node.config import P2PSection, PeerAddress, RpcConfig, load_config
from co3chain.node.qbft_driver import QbftProducer
from co3chain.node.service import NodeService
from tests.node.procs import free_port


def configs(root: Path, n: int) -> list:
    summary = init_network(root, n, 777, request_timeout=2)
    ports = [free_port() for _ in range(n)]
    pubs = [bytes.fromhex(node["enode"].split("@")[0]) for node in summary["nodes"]]
    out = []
    for k in range(n):
        cfg = load_config(root / f"node{k + 1}" / "config.toml")
        peers = tuple(PeerAddress(pubs[j], "127.0.0.1", ports[j]) for j in range(n) if j != k)
        out.append(
            dataclasses.replace(
                cfg,
                rpc=RpcConfig(host="127.0.0.1", port=0),
                p2p=P2PSection(host="127.0.0.1", port=ports[k], peers=peers),
            )
        )
    return out


async def wait_all(services: list[NodeService], height: int, timeout: float = 90) -> None:
    async def loop() -> None:
        while min(s.chain.head.block_number for s in services) < height:
            await asyncio.sleep(0.1)

    await asyncio.wait_for(loop(), timeout)


def test_four_validators_agree_rotate_survive_one_down_and_resync(tmp_path: Path) -> None:
    cfgs = configs(tmp_path / "net", 4)

    async def scenario() -> None:
        services = [NodeService(c) for c in cfgs]
        for s in services:
            await s.start()
        try:
            assert all(isinstance(s.producer, QbftProducer) for s in services)
            await wait_all(services, 4)
            hashes = {s.chain.get_canonical_hash(4) for s in services}
            assert len(hashes) == 1  # one chain, no forks
            validators = set(services[0].chain.validators_at(0))
            proposers = set()
            for n in range(1, 5):
                header = services[0].chain.get_header_by_number(n)
                signers = recover_seal_signers(header)
                assert len(set(signers)) >= 3 and set(signers) <= validators  # quorum 3 of 4
                proposers.add(bytes(header.coinbase))
            assert len(proposers) >= 3  # the proposer rotates
            assert all(s.peer_count() == 3 for s in services)

            # a transaction sent to node 2 reaches the proposer through gossip and is committed everywhere
            node2 = services[1]
            key = load_private_key(cfgs[1].keystore, read_password(cfgs[1].password_file))
            tx = Account.from_key(key).sign_transaction(
                {
                    "nonce": 0,
                    "gas": 21000,
                    "gasPrice": 0,
                    "value": 9,
                    "chainId": 777,
                    "to": to_checksum_address("0x" + "ee" * 20),
                }
            )
            async with httpx.AsyncClient() as c:
                body = {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "eth_sendRawTransaction",
                    "params": ["0x" + bytes(tx.raw_transaction).hex()],
                }
                r = await c.post(f"http://127.0.0.1:{node2.rpc_port}", json=body)
                assert "result" in r.json(), r.json()

            async def included() -> None:
                while any(s.chain.get_transaction_location(bytes(tx.hash)) is None for s in services):
                    await asyncio.sleep(0.1)

            await asyncio.wait_for(included(), 60)

            # one validator down: 3 of 4 still make quorum (with a round change on its turn)
            await services[3].stop()
            alive = services[:3]
            start = max(s.chain.head.block_number for s in alive)
            await wait_all(alive, start + 5)
            assert len({s.chain.get_canonical_hash(start + 5) for s in alive}) == 1

            # it comes back with an empty data directory: it resyncs from its peers and rejoins consensus
            shutil.rmtree(cfgs[3].data_dir)
            services[3] = NodeService(cfgs[3])
            await services[3].start()
            target = max(s.chain.head.block_number for s in alive) + 3
            await wait_all(services, target)
            assert len({s.chain.get_canonical_hash(target) for s in services}) == 1
            assert services[3].chain.get_transaction_location(bytes(tx.hash)) is not None
        finally:
            for s in services:
                await s.stop()

    asyncio.run(scenario())
