"""``co3chain audit chain``: fetch every header over JSON-RPC (batched) and run :class:`ChainVerifier`.

Only standard ``eth_`` methods are used (``eth_blockNumber``, ``eth_getBlockByNumber``), so the audit works
against Besu QBFT nodes as well as co3chain nodes. The consensus parameters and the initial validator set
come from the genesis file the auditor holds, never from the node.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from co3chain.audit.chainverify import ChainParams, ChainVerifier
from co3chain.audit.genesis_check import check_genesis
from co3chain.audit.headers import HeaderError, header_from_json
from co3chain.audit.progress import progress_bar
from co3chain.audit.replay import Divergence, Replayer
from co3chain.audit.report import AuditReport
from co3chain.audit.rpc import RpcClient, RpcError, hex_int
from co3chain.chain.genesis import Genesis
from co3chain.errors import Co3Error


class AuditError(Co3Error):
    """The audit could not run (bad arguments, unreachable node, unusable genesis)."""


@dataclass(frozen=True)
class ChainAuditOptions:
    from_block: int = 1
    to_block: int | None = None
    progress: bool | None = None
    #: re-execute every block from the genesis file (``--replay``)
    replay: bool = False
    #: resume the replay from / save it to this file (``--checkpoint``)
    checkpoint: Path | None = None
    #: compare the node's receipts and account state with the replay
    check_served: bool = True
    #: engine of the replay (``--replay-engine``): py-evm, independent of the node's revm, or revm (faster)
    replay_engine: str = "py-evm"


def chain_params(genesis: Genesis) -> ChainParams:
    return ChainParams(
        epoch_length=genesis.epoch_length, block_period=genesis.block_period, genesis_extra_data=genesis.extra_data
    )


def _fetch_block(client: RpcClient, number: int) -> dict[str, Any]:
    block = client.call("eth_getBlockByNumber", hex(number), False)
    if block is None:
        raise AuditError(f"the node does not know block {number}")
    return block


def audit_chain(
    client: RpcClient, genesis: Genesis, options: ChainAuditOptions = ChainAuditOptions(), params: ChainParams | None = None
) -> AuditReport:
    """Verify blocks ``from_block..to_block`` (default: up to the node's head); returns the report."""
    params = params or chain_params(genesis)
    started = time.perf_counter()
    head = hex_int(client.call("eth_blockNumber"), "eth_blockNumber")
    last = head if options.to_block is None else options.to_block
    from_block = options.from_block
    if from_block < 1:
        raise AuditError("--from must be at least 1 (block 0 is the genesis anchor)")
    if options.replay and from_block != 1:
        raise AuditError("--replay starts at the genesis (or at its --checkpoint); --from cannot be used with it")
    if last > head:
        raise AuditError(f"--to {last} is beyond the node's head {head}")
    report = AuditReport("chain", {})
    replayer: Replayer | None = None
    if options.replay:
        replayer = Replayer(genesis, report, options.checkpoint, options.replay_engine)
        resumed = replayer.resume(client)
        if resumed is not None:
            from_block = resumed + 1
            report.add("replay-resumed", f"replay resumed after block {resumed} from checkpoint {options.checkpoint} "
                                         "(earlier blocks were verified by the run that wrote it)", resumed,
                       severity="info")
    if last < from_block and not (replayer and replayer.stats.resumed_from is not None and from_block == last + 1):
        raise AuditError(f"empty range: from {from_block} to {last}")
    anchor_number = ((from_block - 1) // params.epoch_length) * params.epoch_length
    report.subject.update({
        "fromBlock": from_block,
        "toBlock": last,
        "nodeHead": head,
        "anchorBlock": anchor_number,
        "epochLength": params.epoch_length,
        "blockPeriod": params.block_period,
        "chainId": genesis.chain_id,
        "genesisValidators": ["0x" + v.hex() for v in genesis.validators],
        "replay": options.replay,
    })
    gcheck = check_genesis(client, genesis, report, None if replayer is None else replayer.genesis_state_root)
    report.stats.update(gcheck.to_dict())
    if replayer is not None and not gcheck.matches:
        # Everything the replay finds follows from the other genesis: group it under block 0.
        replayer.divergence = Divergence(0, ["genesis"])
    anchor = header_from_json(_fetch_block(client, anchor_number))
    if anchor_number != 0:
        report.add("anchor", f"validator set taken from epoch block {anchor_number} (not replayed from genesis)",
                   anchor_number, severity="info")
    try:
        verifier = ChainVerifier(params, anchor)
    except ValueError as exc:
        raise AuditError(str(exc)) from None
    report.findings.extend(f for f in verifier.anchor_findings if f.kind != "genesis-mismatch")
    numbers = list(range(anchor_number + 1, last + 1))
    full = replayer is not None
    served_receipts = full and options.check_served
    label = "replaying blocks" if full else "verifying blocks"
    last_timestamp: int | None = None
    with progress_bar(label, len(numbers), options.progress) as advance:
        for start in range(0, len(numbers), client.batch_size):
            chunk = numbers[start : start + client.batch_size]
            blocks = client.batch([("eth_getBlockByNumber", (hex(n), full)) for n in chunk])
            receipts: list[Any] = [None] * len(chunk)
            if served_receipts:
                receipts, served_receipts = _served_receipts(client, report, chunk)
            if replayer is not None:
                replayer.prefetch(blocks)  # senders recovered on the other core while the chunk replays
            for n, block, served in zip(chunk, blocks, receipts, strict=True):
                if block is None:
                    report.add("missing-block", "the node does not return this block", n)
                    continue
                try:
                    header = header_from_json(block)
                except HeaderError as exc:
                    report.add("malformed-header", str(exc), n)
                    continue
                if header.number != n:
                    report.add("wrong-block", f"asked for block {n}, got {header.number}", n)
                last_timestamp = header.timestamp
                report.findings.extend(verifier.verify(header))
                if replayer is not None and n >= from_block:
                    replayer.replay(block, header)
                    if served_receipts:
                        replayer.check_served_receipts(n, served)
            advance(len(chunk))
    if replayer is not None:
        replayer.finish()
        if options.check_served:
            report.stats["servedAccountsChecked"] = replayer.check_served_state(client, last, options.progress)
            report.stats["servedReceiptsChecked"] = replayer.served_receipts_checked
        report.stats.update(replayer.stats.to_dict())
        report.stats["replayStateRoot"] = "0x" + replayer.state_root.hex()
    elapsed = time.perf_counter() - started
    report.stats.update(verifier.stats.to_dict())
    report.stats["finalValidators"] = ["0x" + v.hex() for v in verifier.validators]
    report.stats["lastBlockTimestamp"] = last_timestamp
    report.stats["seconds"] = round(elapsed, 3)
    report.stats["blocksPerSecond"] = round(verifier.stats.blocks / elapsed, 1) if elapsed > 0 else None
    report.stats["rpcRequests"] = client.requests
    return report


def _served_receipts(client: RpcClient, report: AuditReport, chunk: list[int]) -> tuple[list[Any], bool]:
    """The node's receipts of ``chunk`` (``eth_getBlockReceipts``); ``False`` when the node lacks the method."""
    try:
        return client.batch([("eth_getBlockReceipts", (hex(n),)) for n in chunk]), True
    except RpcError as exc:
        report.add("served-receipts", f"the node's receipts are not compared with the replay: {exc}",
                   severity="warning")
        return [None] * len(chunk), False


__all__ = ["AuditError", "ChainAuditOptions", "RpcError", "audit_chain", "chain_params"]
