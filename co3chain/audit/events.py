"""Governance and token event signatures, log fetching in block windows, and the few views the audit calls.

Why hand-written signatures instead of the artifacts' ABIs: the audit must not depend on the deployer's build
output; these signatures are the public interface documented in docs/INTERFACES.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak

from co3chain.audit.rpc import RpcClient, RpcError, hex_bytes, hex_int


def topic(signature: str) -> bytes:
    return keccak(signature.encode())


PROPOSAL_CREATED = topic("ProposalCreated(uint256,address,uint256,uint8,bool,uint64,uint64,uint64,uint256,string)")
VOTE_CAST = topic("VoteCast(address,uint256,uint8,uint256)")
VOTE_COMMITTED = topic("VoteCommitted(address,uint256,bytes32)")
VOTE_REVEALED = topic("VoteRevealed(address,uint256,uint8,uint256)")
PROPOSAL_CANCELED = topic("ProposalCanceled(uint256)")
PROPOSAL_ELECTORATE = topic("ProposalElectorate(uint256,uint256)")
QUORUM_UPDATED = topic("QuorumNumeratorUpdated(uint256,uint256)")
DELEGATE_VOTES_CHANGED = topic("DelegateVotesChanged(address,uint256,uint256)")
DELEGATE_CHANGED = topic("DelegateChanged(address,address,address)")
VOTE_TOPICS = [VOTE_CAST, VOTE_COMMITTED, VOTE_REVEALED]

#: Block window per eth_getLogs request (our node caps ranges at 10,000 blocks; Besu at 5,000 by default).
LOG_WINDOW = 5000


@dataclass(frozen=True)
class Log:
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    block_hash: bytes
    log_index: int
    tx_hash: bytes

    @classmethod
    def from_json(cls, lg: dict[str, Any]) -> Log:
        return cls(
            hex_bytes(lg["address"], "log address", 20),
            tuple(hex_bytes(t, "topic", 32) for t in lg["topics"]),
            hex_bytes(lg["data"], "log data"),
            hex_int(lg["blockNumber"], "blockNumber"),
            hex_bytes(lg["blockHash"], "blockHash", 32),
            hex_int(lg["logIndex"], "logIndex"),
            hex_bytes(lg.get("transactionHash") or "0x" + "00" * 32, "transactionHash", 32),
        )

    @property
    def key(self) -> tuple[int, int]:
        return self.block_number, self.log_index


def _topic_json(ts: Any) -> Any:
    if ts is None:
        return None
    if isinstance(ts, list):
        return ["0x" + t.hex() for t in ts]
    return "0x" + ts.hex()


def get_logs(client: RpcClient, address: bytes, topics: Sequence[Any], from_block: int, to_block: int) -> list[Log]:
    """All matching logs in ``[from_block, to_block]``, fetched in windows (batched)."""
    calls = []
    for lo in range(from_block, to_block + 1, LOG_WINDOW):
        hi = min(lo + LOG_WINDOW - 1, to_block)
        calls.append(("eth_getLogs", ({"address": "0x" + address.hex(), "topics": [_topic_json(t) for t in topics],
                                        "fromBlock": hex(lo), "toBlock": hex(hi)},)))
    try:
        results = client.batch(calls)
    except RpcError as exc:
        if not _too_many_results(exc):
            raise
        # A busy contract (e.g. a proposal with 100k votes) exceeds the node's result cap: split the windows.
        results = [_logs_bisecting(client, params[0]) for _, params in calls]
    out: list[Log] = []
    for result in results:
        if not isinstance(result, list):
            raise RpcError("eth_getLogs did not return a list")
        out.extend(Log.from_json(lg) for lg in result)
    return sorted(out, key=lambda lg: lg.key)


def _too_many_results(exc: RpcError) -> bool:
    """Does the error say the query matched too many logs (our node, geth, Besu: -32005 / "more than")?"""
    text = str(exc).lower()
    return "-32005" in text or "more than" in text or "too many" in text


def _logs_bisecting(client: RpcClient, query: dict[str, Any]) -> list[Any]:
    """``eth_getLogs`` for ``query``, halving the block range while the node refuses a result this large."""
    lo, hi = int(query["fromBlock"], 16), int(query["toBlock"], 16)
    try:
        return client.call("eth_getLogs", query)
    except RpcError as exc:
        if lo >= hi or not _too_many_results(exc):
            raise
    mid = (lo + hi) // 2
    left = _logs_bisecting(client, {**query, "toBlock": hex(mid)})
    right = _logs_bisecting(client, {**query, "fromBlock": hex(mid + 1)})
    return [*left, *right]


def word(value: int | bytes) -> bytes:
    """A 32-byte topic/argument for an int or an address."""
    return value.rjust(32, b"\x00") if isinstance(value, bytes) else value.to_bytes(32, "big")


def call_data(signature: str, types: Sequence[str], args: Sequence[Any]) -> str:
    return "0x" + (keccak(signature.encode())[:4] + abi_encode(list(types), list(args))).hex()


def eth_call(to: bytes, data: str, block: int) -> tuple[str, tuple[Any, ...]]:
    return "eth_call", ({"to": "0x" + to.hex(), "data": data}, hex(block))


def decode_result(types: Sequence[str], result: Any) -> tuple[Any, ...]:
    return tuple(abi_decode(list(types), hex_bytes(result, "eth_call result")))
