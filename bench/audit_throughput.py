"""Audit throughput: QBFT blocks verified per second and governance votes recomputed per second.

Chain: an in-memory co3chain devnet with 4 validators sealing ``--blocks`` empty blocks (4 commit seals each).
Reported beside each other:

* node import rate: a second ``NodeChain`` importing the sealed blocks (header rules, seal recovery, execution,
  durable write; the full import path of a syncing node);
* verifier core: :func:`co3chain.audit.chainverify.verify_headers` on header dicts (hash rebuild, 4 seal
  recoveries, votes, links) without any I/O;
* full audit: ``audit_chain`` over JSON-RPC (in-process transport into co3chain's RPC dispatcher, batches of
  ``--batch``), i.e. including JSON formatting and parsing.

Votes: the suite is deployed, ``--votes`` citizens are registered and each casts one vote on a
one-citizen-one-vote proposal (``--per-block`` transactions per block); ``audit_proposal`` then re-reads every
voter's eligibility at the snapshot, checks blooms/headers, replays the tally and proves the stored tally. The
report gives votes/s (and a linear extrapolation when ``--votes`` is not 100,000), then ``audit chain`` over that
same chain in blocks/s beside a fresh follower's import of it (every transaction re-executed), and
``audit chain --replay`` over it: every block re-executed by the auditor from the genesis file in a fresh
in-memory state (py-evm), plus the node's receipts and account state compared with the replay.

    .venv/bin/python bench/audit_throughput.py [--blocks 1000] [--votes 2000] [--per-block 250] [--batch 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eth_account import Account  # noqa: E402
from eth_utils import keccak, to_checksum_address  # noqa: E402
from web3 import Web3  # noqa: E402

from co3chain.audit.chain_audit import ChainAuditOptions, audit_chain  # noqa: E402
from co3chain.audit.chainverify import ChainParams, verify_headers  # noqa: E402
from co3chain.audit.proposal import ProposalAuditOptions, audit_proposal  # noqa: E402
from co3chain.audit.rpc import RpcClient  # noqa: E402
from co3chain.chain.chain import NodeChain  # noqa: E402
from tests.audit.devnet import CHAIN_ID, USER_KEYS, Devnet, DevnetProvider, addr  # noqa: E402
from tests.audit.governance import build_artifacts, transact  # noqa: E402


def bench_blocks(n_blocks: int, batch: int) -> None:
    d = Devnet(n_validators=4, epoch=30000)
    t0 = time.perf_counter()
    d.produce_empty(n_blocks)
    produce_s = time.perf_counter() - t0
    blocks = [d.chain.get_block_by_number(i) for i in range(1, n_blocks + 1)]

    follower = NodeChain.open(None, d.genesis)
    follower.clock = d.chain.clock
    follower.validator_provider = d.chain.validator_provider
    t0 = time.perf_counter()
    for b in blocks:
        follower.import_block(b)
    import_s = time.perf_counter() - t0
    follower.close()

    headers = d.headers_json()
    params = ChainParams(epoch_length=d.genesis.epoch_length, block_period=d.genesis.block_period,
                         genesis_extra_data=d.genesis.extra_data, clock=lambda: 2**40)
    t0 = time.perf_counter()
    findings, stats = verify_headers(params, headers)
    core_s = time.perf_counter() - t0
    assert not findings and stats.seals == 4 * n_blocks

    t0 = time.perf_counter()
    report = audit_chain(RpcClient(d.transport, batch), d.genesis, ChainAuditOptions(progress=False), params)
    rpc_s = time.perf_counter() - t0
    assert report.passed
    t0 = time.perf_counter()
    replayed = audit_chain(RpcClient(d.transport, batch), d.genesis, ChainAuditOptions(progress=False, replay=True),
                           params)
    replay_s = time.perf_counter() - t0
    assert replayed.passed and replayed.stats["replayedBlocks"] == n_blocks
    d.close()
    print(f"chain: {n_blocks} blocks, 4 validators, 4 seals per block")
    print(f"  node build+seal+import   {n_blocks / produce_s:10.0f} blocks/s")
    print(f"  node import (follower)   {n_blocks / import_s:10.0f} blocks/s")
    print(f"  audit verifier core      {n_blocks / core_s:10.0f} blocks/s  ({4 * n_blocks / core_s:.0f} seals/s)")
    print(f"  audit over JSON-RPC      {n_blocks / rpc_s:10.0f} blocks/s  (batch {batch})")
    print(f"  audit --replay           {n_blocks / replay_s:10.0f} blocks/s  (empty blocks re-executed)")


def bench_votes(n_votes: int, per_block: int, batch: int) -> None:
    arts = build_artifacts()
    d = Devnet(n_validators=4)
    w3 = Web3(DevnetProvider(d))
    from co3chain.contracts.deploy import deploy_suite

    deployer = Account.from_key(USER_KEYS[0])
    manifest = deploy_suite(w3, deployer, oracle_signers=[deployer.address], oracle_threshold=1,
                            validators=[deployer.address], artifacts=arts)
    registry = w3.eth.contract(address=manifest["contracts"]["CitizenRegistry"]["address"],
                               abi=arts.artifact("CitizenRegistry")["abi"])
    gov = w3.eth.contract(address=manifest["contracts"]["CO3Governance"]["address"],
                          abi=arts.artifact("CO3Governance")["abi"])
    voters = [keccak(text=f"bench-voter-{i}") for i in range(n_votes)]
    t0 = time.perf_counter()
    nonce = w3.eth.get_transaction_count(deployer.address)
    raws = []
    for i, k in enumerate(voters):
        tx = registry.functions.register(to_checksum_address(addr(k)), keccak(text=f"bench-id-{i}"), d.now + 10**8) \
            .build_transaction({"from": deployer.address, "nonce": nonce + i, "gas": 450_000, "gasPrice": 0,
                                "chainId": CHAIN_ID})
        raws.append(bytes(deployer.sign_transaction(tx).raw_transaction))
    produce_all(d, raws, per_block, "registrations")
    vs, ve = d.now + 10, d.now + 10**6
    r = transact(w3, gov.functions.propose(0, 0, False, vs, ve, 0, "bench"), USER_KEYS[0])
    pid = gov.events.ProposalCreated().process_receipt(r)[0]["args"]["proposalId"]
    d.time_travel(vs + 1)
    raws = []
    for i, k in enumerate(voters):
        acct = Account.from_key(k)
        tx = gov.functions.castVote(pid, i % 3).build_transaction(
            {"from": acct.address, "nonce": 0, "gas": 300_000, "gasPrice": 0, "chainId": CHAIN_ID})
        raws.append(bytes(acct.sign_transaction(tx).raw_transaction))
    produce_all(d, raws, per_block, "votes")
    d.time_travel(ve + 1)
    setup_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    report = audit_proposal(RpcClient(d.transport, batch), manifest, pid, ProposalAuditOptions(progress=False))
    audit_s = time.perf_counter() - t0
    assert report.passed, [f.line() for f in report.findings]
    assert report.stats["votes"] == n_votes

    # the same chain, audited block by block (seals, votes, links), and imported by a fresh follower
    n_blocks = d.chain.head.block_number
    params = ChainParams(epoch_length=d.genesis.epoch_length, block_period=d.genesis.block_period,
                         genesis_extra_data=d.genesis.extra_data, clock=lambda: 2**40)
    t0 = time.perf_counter()
    chain_report = audit_chain(RpcClient(d.transport, batch), d.genesis, ChainAuditOptions(progress=False), params)
    chain_s = time.perf_counter() - t0
    assert chain_report.passed
    t0 = time.perf_counter()
    replay_report = audit_chain(RpcClient(d.transport, batch), d.genesis,
                                ChainAuditOptions(progress=False, replay=True), params)
    replay_s = time.perf_counter() - t0
    assert replay_report.passed, [f.line() for f in replay_report.errors]
    import_s = follower_import(d, n_blocks)
    d.close()
    rate = n_votes / audit_s
    print(f"votes: {n_votes} one-citizen-one-vote ballots in blocks of {per_block} (setup {setup_s:.0f} s on-chain)")
    print(f"  proposal audit           {rate:10.0f} votes/s  ({audit_s:.1f} s, {report.stats['rpcRequests']} RPC requests)")
    print(f"  chain audit              {n_blocks / chain_s:10.0f} blocks/s  ({n_blocks} blocks, {chain_s:.1f} s)")
    n_txs = replay_report.stats["replayedTransactions"]
    exec_s = replay_report.stats["replaySeconds"]
    print(f"  chain audit --replay     {n_blocks / replay_s:10.1f} blocks/s  ({n_txs / replay_s:.0f} txs/s, "
          f"{replay_s:.0f} s; {replay_report.stats['servedAccountsChecked']} accounts compared with the node)")
    print(f"    re-execution alone     {n_blocks / exec_s:10.1f} blocks/s  ({n_txs / exec_s:.0f} txs/s)")
    print(f"  node import (follower)   {n_blocks / import_s:10.1f} blocks/s  "
          f"({2 * n_votes / import_s:.0f} txs/s, {import_s:.0f} s: every transaction re-executed)")
    print(f"  node (setup, 2 txs/vote) {2 * n_votes / setup_s:10.0f} txs/s")
    if n_votes != 100_000:
        print(f"  extrapolated: 100,000 votes in ~{100_000 / rate:.0f} s (linear in votes)")


def produce_all(d: Devnet, raws: list[bytes], per_block: int, what: str) -> None:
    """Seal ``raws`` into blocks of ``per_block``, printing progress every tenth (setup is long at 100k)."""
    step = max(1, len(raws) // 10)
    started = time.perf_counter()
    for s in range(0, len(raws), per_block):
        d.produce(raws[s : s + per_block])
        done = min(s + per_block, len(raws))
        if done // step != s // step or done == len(raws):
            print(f"  setup: {done}/{len(raws)} {what} on-chain ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr, flush=True)


def follower_import(d: Devnet, n_blocks: int) -> float:
    """Seconds for a fresh node to import blocks 1..n_blocks of ``d`` (full execution, durable writes)."""
    follower = NodeChain.open(None, d.genesis)
    follower.clock = d.chain.clock
    follower.validator_provider = d.chain.validator_provider
    t0 = time.perf_counter()
    for n in range(1, n_blocks + 1):
        follower.import_block(d.chain.get_block_by_number(n))
    elapsed = time.perf_counter() - t0
    follower.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocks", type=int, default=1000)
    ap.add_argument("--votes", type=int, default=2000)
    ap.add_argument("--per-block", type=int, default=250)
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()
    bench_blocks(args.blocks, args.batch)
    bench_votes(args.votes, args.per_block, args.batch)


if __name__ == "__main__":
    main()
