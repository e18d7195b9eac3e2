"""The eth_, net_, web3_, qbft_ and txpool_ JSON-RPC methods over an :class:`RpcBackend`.

Semantics follow geth where clients depend on them: unknown blocks give ``null`` for block/tx lookups
but a -32000 "header not found" error for state queries; ``pending``/``safe``/``finalized`` resolve to
the head (QBFT blocks are final when imported); reverts are code 3 with the revert bytes in ``data``.
Execution-heavy calls (eth_call, eth_estimateGas, eth_getLogs, eth_getProof) run in a worker thread so
one slow call does not stall eth_sendRawTransaction traffic on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from collections import OrderedDict
from typing import Any

import rlp
from eth_abi import decode as abi_decode
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

from co3chain.chain.chain import CallFailed, CallReverted, NodeChain, ReceiptInfo
from co3chain.rpc import formatters as fmt
from co3chain.rpc import params as P
from co3chain.rpc.backend import RpcBackend
from co3chain.rpc.dispatch import CallContext, Dispatcher
from co3chain.rpc.errors import ExecutionReverted, InvalidParams, RpcError, ServerError
from co3chain.rpc.filters import FilterManager, SubscriptionManager

_ERROR_SELECTOR = bytes.fromhex("08c379a0")
_RECEIPT_CACHE_BLOCKS = 32
#: eth_getStorageValues: total slots per request (geth's limit)
_MAX_STORAGE_VALUES = 1024
#: Cancun (EIP-4844) blob base fee constants
_MIN_BLOB_BASE_FEE = 1
_BLOB_BASE_FEE_UPDATE_FRACTION = 3_338_477
_TARGET_BLOB_GAS_PER_BLOCK = 393_216
#: EIP-7910 names of the Cancun precompiles (0x01..0x0a)
_CANCUN_PRECOMPILES = (
    "ECREC", "SHA256", "RIPEMD160", "ID", "MODEXP", "BN254_ADD", "BN254_MUL", "BN254_PAIRING", "BLAKE2F",
    "KZG_POINT_EVALUATION",
)
_BEACON_ROOTS_ADDRESS = "0x000f3df6d732807ef1319fb7b8bb8522d0beac02"
#: eth_simulateV1 limits (geth: 256 blocks)
_MAX_SIMULATED_BLOCKS = 256
_MAX_SIMULATED_CALLS = 1000
#: the pending block executes at most this long (a huge pool must not stall the RPC worker)
_PENDING_BUILD_SECONDS = 1.0


def _fake_exponential(factor: int, numerator: int, denominator: int) -> int:
    """EIP-4844's integer approximation of ``factor * e ** (numerator / denominator)``."""
    i, output, accum = 1, 0, factor * denominator
    while accum > 0:
        output += accum
        accum = (accum * numerator) // (denominator * i)
        i += 1
    return output // denominator


def blob_base_fee(excess_blob_gas: int) -> int:
    return _fake_exponential(_MIN_BLOB_BASE_FEE, excess_blob_gas, _BLOB_BASE_FEE_UPDATE_FRACTION)


def _next_excess_blob_gas(header: Any) -> int:
    used = (header.excess_blob_gas or 0) + (header.blob_gas_used or 0)
    return max(0, used - _TARGET_BLOB_GAS_PER_BLOCK)


def _revert_reason(data: bytes) -> str | None:
    if data[:4] == _ERROR_SELECTOR:
        try:
            return str(abi_decode(["string"], data[4:])[0])
        except Exception:
            return None
    return None


def _check_fixed_arrays(typed_data: dict[str, Any]) -> None:
    """Refuse EIP-712 values whose fixed-size arrays (``T[n]``) have another length, as geth does;
    eth-account would encode them anyway, signing something the dapp did not describe."""
    types = typed_data.get("types") or {}

    def check(type_name: str, value: Any) -> None:
        if type_name.endswith("]"):
            inner, _, size = type_name[:-1].rpartition("[")
            if not isinstance(value, list):
                raise ValueError(f"expected an array for {type_name}")
            if size and len(value) != int(size):
                raise ValueError(f"Expected {size} items for array type {type_name}, got {len(value)} items")
            for item in value:
                check(inner, item)
        elif type_name in types and isinstance(value, dict):
            for field in types[type_name]:
                if isinstance(field, dict) and field.get("name") in value:
                    check(str(field.get("type", "")), value[field["name"]])

    primary = typed_data.get("primaryType")
    if isinstance(primary, str):
        check(primary, typed_data.get("message"))


def _txpool_error(exc: Exception) -> RpcError | None:
    """Map ``TxPoolError(code, message)`` (duck-typed: ``code`` and ``message`` attributes)."""
    code = getattr(exc, "code", None)
    if isinstance(code, int):
        return RpcError(code, str(getattr(exc, "message", None) or exc), getattr(exc, "data", None))
    return None


class EthApi:
    """Implements the methods and registers them on a :class:`Dispatcher` (:meth:`register`)."""

    def __init__(self, backend: RpcBackend) -> None:
        self.b = backend
        self.chain: NodeChain = backend.chain
        self.filters = FilterManager(
            head_number=lambda: self.chain.head.block_number,
            block_hash_at=self.chain.get_canonical_hash,
            get_logs=self._logs_json,
            resolve_range=self._resolve_range,
            max_range=backend.max_log_range,
        )
        self.subscriptions = SubscriptionManager(self._block_receipts)
        self._receipt_cache: OrderedDict[bytes, list[ReceiptInfo]] = OrderedDict()
        self._pending_cache: tuple[tuple[bytes, tuple[bytes, ...]], Any, Any] | None = None

    # -- helpers -------------------------------------------------------------------------------------
    def _header(self, ref: P.BlockRef, *, required: bool = True) -> Any:
        chain = self.chain
        if ref.hash is not None:
            header = chain.get_header_by_hash(ref.hash)
        elif ref.number is not None:
            header = chain.get_header_by_number(ref.number)
        elif ref.tag == "earliest":
            header = chain.genesis_header
        else:
            header = chain.head
        if header is None and required:
            raise ServerError("header not found")
        return header

    def _state_view(self, ref: P.BlockRef) -> tuple[NodeChain, Any]:
        """(chain, header) to read the state of ``ref`` from. ``pending``: the pending block (geth/anvil),
        i.e. the state after the pool's executable transactions *and* the next block's context (number,
        timestamp), also when the pool is empty.

        Why the context matters with an empty pool: a transaction about to be sent never runs in the head
        block. Estimated there, a contract that checkpoints by ``block.timestamp`` (votes, electorates,
        reputation) updates the head block's checkpoint in place instead of pushing a new one, so the
        estimate came out ~20,000 gas per checkpoint short and the API's revocation right after a
        registration ran out of gas (seen in the JS SDK's live test). ``eth_getBlockByNumber("pending")``
        already answered this block."""
        if ref.tag == "pending":
            block, overlay = self._pending()
            return self.chain.with_store(overlay), block.header
        return self.chain, self._header(ref)

    async def _state_view_async(self, ref: P.BlockRef) -> tuple[NodeChain, Any]:
        """:meth:`_state_view` off the event loop when it may execute the pool (``pending``)."""
        if ref.tag == "pending":
            return await asyncio.to_thread(self._state_view, ref)
        return self._state_view(ref)

    def _state(self, ref: P.BlockRef) -> Any:
        chain, header = self._state_view(ref)
        return chain.state_at(header)

    def _block(self, ref: P.BlockRef) -> Any:
        if ref.tag == "pending":
            return self._pending_block()
        header = self._header(ref, required=False)
        return None if header is None else self.chain.get_block_by_hash(header.hash)

    def _block_receipts(self, block: Any) -> list[ReceiptInfo]:
        h = block.hash
        cached = self._receipt_cache.get(h)
        if cached is None:
            cached = self.chain.block_receipt_infos(block)
            self._receipt_cache[h] = cached
            while len(self._receipt_cache) > _RECEIPT_CACHE_BLOCKS:
                self._receipt_cache.popitem(last=False)
        return cached

    def _number_of(self, ref: P.BlockRef) -> int:
        if ref.number is not None:
            return ref.number
        if ref.tag == "earliest":
            return 0
        if ref.hash is not None:
            return self._header(ref).block_number
        return self.chain.head.block_number

    def _resolve_range(self, crit: P.FilterCriteria) -> tuple[int, int]:
        if crit.block_hash is not None:
            header = self.chain.get_header_by_hash(crit.block_hash)
            if header is None:
                raise ServerError("unknown block")
            return header.block_number, header.block_number
        lo, hi = self._number_of(crit.from_block), self._number_of(crit.to_block)
        if lo > hi and crit.to_block.tag is None:
            raise RpcError(-32602, "invalid block range params")
        return lo, hi

    def _logs_json(self, crit: P.FilterCriteria, lo: int, hi: int) -> list[dict[str, Any]]:
        hi = min(hi, self.chain.head.block_number)
        if lo > hi:
            return []
        if hi - lo + 1 > self.b.max_log_range:
            raise RpcError(-32005, f"query exceeds max block range {self.b.max_log_range}")
        topics = [None if t is None else sorted(t) for t in crit.topics]
        logs = self.chain.get_logs(lo, hi, sorted(crit.addresses) or None, topics)
        if len(logs) > self.b.max_log_results:
            raise RpcError(-32005, f"query returned more than {self.b.max_log_results} results")
        stamps: dict[int, int] = {}
        return [
            fmt.log_json(lg, self._timestamp_of(lg.block_number, stamps))
            for lg in logs
            if P.log_matches(crit, lg.address, lg.topics)
        ]

    def _timestamp_of(self, number: int, cache: dict[int, int] | None = None) -> int | None:
        if cache is not None and number in cache:
            return cache[number]
        header = self.chain.get_header_by_number(number)
        ts = None if header is None else header.timestamp
        if cache is not None and ts is not None:
            cache[number] = ts
        return ts

    def _call_dict(self, args: P.CallArgs) -> dict[str, Any]:
        tx: dict[str, Any] = {"value": args.value, "data": args.data}
        if args.sender is not None:
            tx["from"] = args.sender
        if args.to is not None:
            tx["to"] = args.to
        if args.gas is not None:
            tx["gas"] = args.gas
        price = args.gas_price if args.gas_price is not None else args.max_fee_per_gas
        if price is not None:
            tx["gasPrice"] = price
        if args.access_list:
            tx["accessList"] = args.access_list
        return tx

    @staticmethod
    def _override_dict(ov: dict[bytes, P.AccountOverride]) -> dict[bytes, dict[str, Any]] | None:
        if not ov:
            return None
        out: dict[bytes, dict[str, Any]] = {}
        for addr, o in ov.items():
            d: dict[str, Any] = {}
            if o.balance is not None:
                d["balance"] = o.balance
            if o.nonce is not None:
                d["nonce"] = o.nonce
            if o.code is not None:
                d["code"] = o.code
            if o.state is not None:
                d["state"] = o.state
            if o.state_diff is not None:
                d["stateDiff"] = o.state_diff
            out[addr] = d
        return out

    # -- web3 / net ----------------------------------------------------------------------------------
    def web3_clientVersion(self) -> str:
        return self.b.client_version

    def web3_sha3(self, data: Any) -> str:
        return fmt.hd(keccak(P.data(data)))

    def net_version(self) -> str:
        return str(self.b.network_id or self.chain.chain_id)

    def net_listening(self) -> bool:
        return True

    def net_peerCount(self) -> str:
        return fmt.hq(self.b.peer_count())

    # -- chain info ----------------------------------------------------------------------------------
    def eth_chainId(self) -> str:
        return fmt.hq(self.chain.chain_id)

    def eth_blockNumber(self) -> str:
        return fmt.hq(self.chain.head.block_number)

    def eth_syncing(self) -> Any:
        return self.b.syncing()

    @property
    def _base_fee(self) -> int:
        """Every next block's base fee: fixed by genesis (0 on a free-gas network), a consensus rule."""
        return self.chain.genesis.fixed_base_fee

    def eth_gasPrice(self) -> str:
        # geth's answer: suggested tip + base fee; the tip is 0 (proposers order by arrival, not by tip)
        return fmt.hq(self._base_fee)

    def eth_maxPriorityFeePerGas(self) -> str:
        return "0x0"

    def eth_feeHistory(self, block_count: Any, newest: Any, percentiles: Any = None) -> dict[str, Any]:
        count = P.quantity(block_count, "blockCount", maximum=1024)
        if percentiles is not None:
            if not isinstance(percentiles, list) or any(
                not isinstance(p, int | float) or isinstance(p, bool) or not 0 <= p <= 100
                for p in percentiles
            ):
                raise InvalidParams("invalid reward percentiles")
            if any(b < a for a, b in zip(percentiles, percentiles[1:], strict=False)):
                raise InvalidParams("reward percentiles must be ascending")
        last = self._header(P.block_number_or_tag(newest, "newestBlock")).block_number
        count = min(count, last + 1)
        oldest = last - count + 1
        ratios, blob_fees, blob_ratios, base_fees = [], [], [], []
        h = None
        for n in range(oldest, last + 1):
            h = self.chain.get_header_by_number(n)
            base_fees.append(fmt.hq(h.base_fee_per_gas or 0) if h else "0x0")
            ratios.append(h.gas_used / h.gas_limit if h and h.gas_limit else 0.0)
            blob_fees.append(fmt.hq(blob_base_fee(h.excess_blob_gas or 0)) if h else "0x1")
            blob_ratios.append(0.0 if h is None else (h.blob_gas_used or 0) / (2 * _TARGET_BLOB_GAS_PER_BLOCK))
        if h is not None:  # the fee of the block after the newest, as geth appends
            blob_fees.append(fmt.hq(blob_base_fee(_next_excess_blob_gas(h))))
        out: dict[str, Any] = {
            "oldestBlock": fmt.hq(oldest if count else last),
            "baseFeePerGas": base_fees + [fmt.hq(self._base_fee)],
            "gasUsedRatio": ratios,
            "baseFeePerBlobGas": blob_fees if count else ["0x1"],
            "blobGasUsedRatio": blob_ratios,
        }
        if percentiles:
            out["reward"] = [["0x0"] * len(percentiles) for _ in range(count)]
        return out

    # -- state ---------------------------------------------------------------------------------------
    def eth_getBalance(self, address: Any, block: Any = None) -> str:
        addr = P.address(address)
        return fmt.hq(self._state(P.block_ref(block)).get_balance(addr))

    def eth_getCode(self, address: Any, block: Any = None) -> str:
        addr = P.address(address)
        return fmt.hd(self._state(P.block_ref(block)).get_code(addr))

    def eth_getStorageAt(self, address: Any, slot: Any, block: Any = None) -> str:
        addr = P.address(address)
        if isinstance(slot, str) and len(slot) == 66:
            key = int.from_bytes(P.hash32(slot, "slot"), "big")
        else:
            key = P.quantity(slot, "slot")
        state = self._state(P.block_ref(block))
        return "0x" + state.get_storage(addr, key).to_bytes(32, "big").hex()

    def eth_getTransactionCount(self, address: Any, block: Any = None) -> str:
        addr = P.address(address)
        ref = P.block_ref(block)
        nonce = self._state(ref).get_nonce(addr)
        if ref.tag == "pending":  # also the queued-but-executable ones the pending block had no room for
            nonce = max(nonce, self.b.txpool.pending_nonce(addr))
        return fmt.hq(nonce)

    async def eth_getProof(self, address: Any, keys: Any, block: Any = None) -> dict[str, Any]:
        addr = P.address(address)
        if not isinstance(keys, list):
            raise InvalidParams("invalid storage keys: expected list")
        slots = []
        for k in keys:
            if isinstance(k, str) and len(k) == 66:
                slots.append(int.from_bytes(P.hash32(k, "storage key"), "big"))
            else:
                slots.append(P.quantity(k, "storage key"))
        chain, header = await self._state_view_async(P.block_ref(block))
        proof = await asyncio.to_thread(chain.get_proof, addr, slots, header)
        out = fmt.proof_json(proof)
        for entry, original in zip(out["storageProof"], keys, strict=True):
            entry["key"] = original  # geth echoes the key as requested
        return out

    # -- execution -----------------------------------------------------------------------------------
    async def _run_call(self, run: Any, tx: Any, block: Any, overrides: Any) -> Any:
        """``run(call_dict, header, state_override)`` in a worker thread, with geth's error mapping
        (reverts: code 3 with the revert data; other failures: -32000)."""
        args = P.call_args(tx)
        chain, header = await self._state_view_async(P.block_ref(block))
        ov = self._override_dict(P.state_overrides(overrides))
        try:
            return await asyncio.to_thread(getattr(chain, run), self._call_dict(args), header, ov)
        except CallReverted as exc:
            raise ExecutionReverted(exc.data, _revert_reason(exc.data)) from None
        except CallFailed as exc:
            raise ServerError(str(exc)) from None

    async def eth_call(self, tx: Any, block: Any = None, overrides: Any = None) -> str:
        return fmt.hd(await self._run_call("call", tx, block, overrides))

    async def eth_estimateGas(self, tx: Any, block: Any = None, overrides: Any = None) -> str:
        return fmt.hq(await self._run_call("estimate_gas", tx, block, overrides))

    # -- transactions --------------------------------------------------------------------------------
    def eth_sendRawTransaction(self, raw: Any) -> str:
        data = P.data(raw, "raw transaction")
        if not data:
            raise InvalidParams("empty transaction")
        try:
            tx_hash = self.b.txpool.add(data)
        except RpcError:
            raise
        except Exception as exc:
            mapped = _txpool_error(exc)
            if mapped is None:
                raise
            raise mapped from None
        self.filters.on_pending_tx(tx_hash)
        self.subscriptions.notify_pending_threadsafe(tx_hash)
        return fmt.hd(tx_hash)

    def eth_getTransactionByHash(self, tx_hash: Any) -> dict[str, Any] | None:
        h = P.hash32(tx_hash, "transaction hash")
        found = self.chain.get_transaction(h)
        if found is not None:
            tx, loc = found
            return fmt.tx_json(
                tx, loc.block_hash, loc.block_number, loc.index, 0, self._timestamp_of(loc.block_number)
            )
        getter = getattr(self.b.txpool, "get", None)
        pending = getter(h) if getter is not None else None
        if pending is not None:
            return fmt.tx_json(pending, None, None, None, None)
        return None

    def eth_getTransactionReceipt(self, tx_hash: Any) -> dict[str, Any] | None:
        h = P.hash32(tx_hash, "transaction hash")
        loc = self.chain.get_transaction_location(h)
        if loc is None:
            return None
        block = self.chain.get_block_by_hash(loc[0]) if loc[0] not in self._receipt_cache else None
        infos = self._receipt_cache.get(loc[0]) if block is None else self._block_receipts(block)
        if infos is None:
            return None
        return fmt.receipt_json(infos[loc[2]], self._timestamp_of(loc[1]))

    def eth_getBlockReceipts(self, block: Any) -> list[dict[str, Any]] | None:
        b = self._block(P.block_ref(block, default=None))
        if b is None:
            return None
        return [fmt.receipt_json(r, b.header.timestamp) for r in self._block_receipts(b)]

    def eth_getTransactionByBlockNumberAndIndex(self, block: Any, index: Any) -> dict[str, Any] | None:
        return self._tx_by_index(self._block(P.block_number_or_tag(block)), index)

    def eth_getTransactionByBlockHashAndIndex(self, block_hash: Any, index: Any) -> dict[str, Any] | None:
        return self._tx_by_index(self._block(P.BlockRef(hash=P.hash32(block_hash, "block hash"))), index)

    def _tx_by_index(self, block: Any, index: Any) -> dict[str, Any] | None:
        i = P.quantity(index, "index")
        if block is None or i >= len(block.transactions):
            return None
        return fmt.tx_json(block.transactions[i], block.hash, block.number, i, 0, block.header.timestamp)

    # -- blocks --------------------------------------------------------------------------------------
    async def eth_getBlockByNumber(self, block: Any, full: Any = False) -> dict[str, Any] | None:
        ref, full_txs = P.block_number_or_tag(block), P.boolean(full, "fullTransactions")
        if ref.tag == "pending":  # executes the pool's transactions: off the event loop
            return await asyncio.to_thread(self._block_json, ref, full_txs)
        return self._block_json(ref, full_txs)

    def _pending_block(self) -> Any:
        return self._pending()[0]

    def _pending(self) -> tuple[Any, Any]:
        """(block, state overlay) this node would propose next: head + 1 with the pool's executable
        transactions (nonce order per sender, higher tip first), executed on the head state. Cached until
        the head or the pool's selection changes; the overlay holds the pending state's trie nodes."""
        head = self.chain.head
        select = getattr(self.b.txpool, "pending_transactions", None)
        txs = list(select()) if callable(select) else []
        key = (head.hash, tuple(tx.hash for tx in txs))
        cached = self._pending_cache
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        coinbase = self.b.coinbase or head.coinbase
        timestamp = max(head.timestamp + 1, int(time.time()))
        builder = self.chain.open_block(coinbase, timestamp, head.extra_data)
        builder.add(txs, time.monotonic() + _PENDING_BUILD_SECONDS)
        block = builder.finish()
        self._pending_cache = (key, block, builder.overlay)
        return block, builder.overlay

    def eth_getBlockByHash(self, block_hash: Any, full: Any = False) -> dict[str, Any] | None:
        return self._block_json(P.BlockRef(hash=P.hash32(block_hash, "block hash")),
                                P.boolean(full, "fullTransactions"))

    def _block_json(self, ref: P.BlockRef, full: bool) -> dict[str, Any] | None:
        if ref.tag == "pending":
            # hash of the unsealed header (QBFT hashes exclude seals): what the block would be if proposed
            # now; the spec's Block requires it, and anvil gives it (geth nulls hash/nonce/miner)
            out = fmt.block_json(self._pending_block())
            if not full:
                out["transactions"] = [tx["hash"] for tx in out["transactions"]]
            return out
        if full:
            b = self._block(ref)
            return None if b is None else fmt.block_json(b)
        found = self._tx_hashes(ref)
        return None if found is None else fmt.block_json_hashes(*found)

    def _tx_hashes(self, ref: P.BlockRef) -> tuple[Any, list[bytes], int] | None:
        """(header, transaction hashes, RLP size) of a stored block, without decoding its transactions."""
        header = self._header(ref, required=False)
        summary = None if header is None else self.chain.get_block_tx_hashes(header.hash)
        return None if summary is None else (header, *summary)

    def _tx_count(self, ref: P.BlockRef) -> str | None:
        if ref.tag == "pending":
            return fmt.hq(len(self._pending_block().transactions))
        found = self._tx_hashes(ref)
        return None if found is None else fmt.hq(len(found[1]))

    def eth_getBlockTransactionCountByNumber(self, block: Any) -> str | None:
        return self._tx_count(P.block_number_or_tag(block))

    def eth_getBlockTransactionCountByHash(self, block_hash: Any) -> str | None:
        return self._tx_count(P.BlockRef(hash=P.hash32(block_hash, "block hash")))

    def eth_getUncleCountByBlockNumber(self, block: Any) -> str | None:
        return None if self._block(P.block_number_or_tag(block)) is None else "0x0"

    def eth_getUncleCountByBlockHash(self, block_hash: Any) -> str | None:
        return None if self._block(P.BlockRef(hash=P.hash32(block_hash, "block hash"))) is None else "0x0"

    # -- logs and filters ----------------------------------------------------------------------------
    async def eth_getLogs(self, criteria: Any) -> list[dict[str, Any]]:
        crit = P.filter_criteria(criteria)
        lo, hi = self._resolve_range(crit)
        return await asyncio.to_thread(self._logs_json, crit, lo, hi)

    def eth_newFilter(self, criteria: Any) -> str:
        return self.filters.new_log_filter(P.filter_criteria(criteria))

    def eth_newBlockFilter(self) -> str:
        return self.filters.new_block_filter()

    def eth_newPendingTransactionFilter(self) -> str:
        return self.filters.new_pending_filter()

    async def eth_getFilterChanges(self, fid: Any) -> list[Any]:
        return await asyncio.to_thread(self.filters.changes, fid)

    async def eth_getFilterLogs(self, fid: Any) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.filters.logs, fid)

    def eth_uninstallFilter(self, fid: Any) -> bool:
        return self.filters.uninstall(fid)

    def eth_subscribe(self, kind: Any, criteria: Any = None, *, ctx: CallContext) -> str:
        if not isinstance(kind, str):
            raise InvalidParams("invalid subscription type")
        crit = P.filter_criteria(criteria) if kind == "logs" else None
        if crit is not None and (crit.block_hash is not None):
            raise InvalidParams("blockHash is not supported in a logs subscription")
        return self.subscriptions.subscribe(kind, ctx, crit)

    def eth_unsubscribe(self, sid: Any, *, ctx: CallContext) -> bool:
        return self.subscriptions.unsubscribe(sid, ctx)

    # -- qbft / txpool -------------------------------------------------------------------------------
    def qbft_getValidatorsByBlockNumber(self, block: Any) -> list[str]:
        header = self._header(P.block_number_or_tag(block))
        return [fmt.hd(v) for v in self.chain.validators_at(header.block_number)]

    def qbft_getValidatorsByBlockHash(self, block_hash: Any) -> list[str]:
        header = self._header(P.BlockRef(hash=P.hash32(block_hash, "block hash")))
        return [fmt.hd(v) for v in self.chain.validators_at(header.block_number)]

    def qbft_proposeValidatorVote(self, address: Any, add: Any) -> bool:
        consensus = self._consensus("qbft_proposeValidatorVote")
        consensus.propose_vote(P.address(address), P.boolean(add, "add"))
        return True

    def qbft_discardValidatorVote(self, address: Any) -> bool:
        consensus = self._consensus("qbft_discardValidatorVote")
        return bool(consensus.discard_vote(P.address(address)))

    def qbft_getPendingVotes(self) -> dict[str, bool]:
        consensus = self._consensus("qbft_getPendingVotes")
        return {fmt.hd(a): bool(add) for a, add in consensus.pending_votes().items()}

    def _consensus(self, method: str) -> Any:
        if self.b.consensus is None:
            raise RpcError(-32601, f"the method {method} does not exist/is not available")
        return self.b.consensus

    def txpool_status(self) -> dict[str, str]:
        status = self.b.txpool.status()
        if not isinstance(status, dict):
            status = {"pending": getattr(status, "pending", 0), "queued": getattr(status, "queued", 0)}
        return {
            k: (v if isinstance(v, str) else fmt.hq(int(v)))
            for k, v in status.items()
            if k in ("pending", "queued")
        }

    def txpool_content(self) -> dict[str, Any]:
        """geth's shape: ``{pending|queued: {checksum address: {decimal nonce: tx object}}}``."""
        return {
            kind: {
                to_checksum_address(sender): {str(n): fmt.tx_json(tx, None, None, None, None) for n, tx in by_nonce.items()}
                for sender, by_nonce in senders.items()
            }
            for kind, senders in self._pool_content().items()
        }

    def txpool_contentFrom(self, address: Any) -> dict[str, Any]:
        addr = P.address(address)
        return {
            kind: {str(n): fmt.tx_json(tx, None, None, None, None) for n, tx in senders.get(addr, {}).items()}
            for kind, senders in self._pool_content().items()
        }

    def txpool_inspect(self) -> dict[str, Any]:
        """geth's one-line summaries: ``"to: value wei + gas gas × price wei"``."""

        def summary(tx: Any) -> str:
            to = to_checksum_address(tx.to) if tx.to else "contract creation"
            price = tx.max_fee_per_gas if (tx.type_id or 0) >= 2 else tx.gas_price
            return f"{to}: {tx.value} wei + {tx.gas} gas × {price} wei"

        return {
            kind: {
                to_checksum_address(sender): {str(n): summary(tx) for n, tx in by_nonce.items()}
                for sender, by_nonce in senders.items()
            }
            for kind, senders in self._pool_content().items()
        }

    def _pool_content(self) -> dict[str, dict[bytes, dict[int, Any]]]:
        content = getattr(self.b.txpool, "content", None)
        out = content() if callable(content) else {}
        return {"pending": out.get("pending", {}), "queued": out.get("queued", {})}

    # -- client / config -----------------------------------------------------------------------------
    def eth_coinbase(self) -> str:
        if self.b.coinbase is None:
            raise ServerError("etherbase must be explicitly specified")  # geth's message
        return fmt.hd(self.b.coinbase)

    def eth_baseFee(self) -> str:
        return fmt.hq(self._base_fee)  # the next block's base fee: fixed by genesis (a consensus rule)

    def eth_blobBaseFee(self) -> str:
        """The next block's blob base fee (EIP-4844 formula; this chain carries no blobs, so 1 wei)."""
        return fmt.hq(blob_base_fee(_next_excess_blob_gas(self.chain.head)))

    def eth_config(self) -> dict[str, Any]:
        """EIP-7910: every fork is active from genesis (Cancun rules), no fork is scheduled."""
        genesis_hash = self.chain.genesis_header.hash
        current = {
            "activationTime": 0,
            # blob transactions are refused on this chain: no blob space per block
            "blobSchedule": {"baseFeeUpdateFraction": _BLOB_BASE_FEE_UPDATE_FRACTION, "max": 0, "target": 0},
            "chainId": fmt.hq(self.chain.chain_id),
            "forkId": "0x" + zlib.crc32(genesis_hash).to_bytes(4, "big").hex(),
            "precompiles": {name: "0x" + f"{i + 1:040x}" for i, name in enumerate(_CANCUN_PRECOMPILES)},
            "systemContracts": {"BEACON_ROOTS_ADDRESS": _BEACON_ROOTS_ADDRESS},
        }
        return {"current": current, "next": None, "last": None}

    def eth_capabilities(self) -> dict[str, Any]:
        """What history this node serves: everything from genesis (no pruning of blocks, receipts, logs
        or state), so every resource starts at block 0 with no delete strategy."""
        head = self.chain.head
        resource = {"disabled": False, "oldestBlock": "0x0"}
        out: dict[str, Any] = {"head": {"number": fmt.hq(head.block_number), "hash": fmt.hd(head.hash)}}
        for name in ("state", "tx", "logs", "receipts", "blocks", "stateproofs"):
            out[name] = dict(resource)
        return out

    def eth_getBlockAccessList(self, block: Any) -> None:
        """EIP-7928 block access lists exist from Amsterdam on; this chain runs Cancun rules, so no block
        has one: ``null`` (the spec's "not found"). Unknown blocks are ``null`` too."""
        self._block(P.block_ref(block, default=None))
        return None

    # -- raw transactions ----------------------------------------------------------------------------
    def eth_getRawTransactionByHash(self, tx_hash: Any) -> str | None:
        h = P.hash32(tx_hash, "transaction hash")
        found = self.chain.get_transaction(h)
        if found is not None:
            return fmt.hd(fmt.raw_tx(found[0]))
        getter = getattr(self.b.txpool, "get", None)
        pending = getter(h) if getter is not None else None
        return None if pending is None else fmt.hd(fmt.raw_tx(pending))

    def eth_getRawTransactionByBlockHashAndIndex(self, block_hash: Any, index: Any) -> str | None:
        block = self._block(P.BlockRef(hash=P.hash32(block_hash, "block hash")))
        return self._raw_by_index(block, index)

    def eth_getRawTransactionByBlockNumberAndIndex(self, block: Any, index: Any) -> str | None:
        return self._raw_by_index(self._block(P.block_number_or_tag(block)), index)

    def _raw_by_index(self, block: Any, index: Any) -> str | None:
        i = P.quantity(index, "index")
        if block is None or i >= len(block.transactions):
            return None
        return fmt.hd(fmt.raw_tx(block.transactions[i]))

    # -- state (batch) / access lists ------------------------------------------------------------------
    def eth_getStorageValues(self, requests: Any, block: Any = None) -> dict[str, list[str]]:
        if not isinstance(requests, dict):
            raise InvalidParams("invalid storage requests: expected object {address: [slots]}")
        parsed: list[tuple[str, bytes, list[int]]] = []
        total = 0
        for address, slots in requests.items():
            if not isinstance(slots, list):
                raise InvalidParams("invalid storage requests: slots must be a list")
            total += len(slots)
            parsed.append((address, P.address(address), [self._slot(k) for k in slots]))
        if total > _MAX_STORAGE_VALUES:
            raise InvalidParams(f"too many slots (max {_MAX_STORAGE_VALUES})")
        state = self._state(P.block_ref(block))
        return {
            address: ["0x" + state.get_storage(addr, k).to_bytes(32, "big").hex() for k in keys]
            for address, addr, keys in parsed
        }

    @staticmethod
    def _slot(value: Any) -> int:
        """A storage slot: up to 32 bytes of hex (``bytesMax32``), or a quantity."""
        if isinstance(value, str) and value[:2] in ("0x", "0X") and len(value) <= 66:
            body = value[2:] or "0"
            try:
                return int(body, 16)
            except ValueError:
                raise InvalidParams(f"invalid storage slot {value!r}") from None
        return P.quantity(value, "storage slot")

    async def eth_createAccessList(self, tx: Any, block: Any = None, overrides: Any = None) -> dict[str, Any]:
        args = P.call_args(tx)
        chain, header = await self._state_view_async(P.block_ref(block))
        ov = self._override_dict(P.state_overrides(overrides))
        try:
            found, gas_used, _revert, error = await asyncio.to_thread(
                chain.create_access_list, self._call_dict(args), header, ov
            )
        except CallFailed as exc:
            raise ServerError(str(exc)) from None
        out: dict[str, Any] = {
            "accessList": [
                {"address": fmt.hd(a), "storageKeys": ["0x" + k.to_bytes(32, "big").hex() for k in keys]}
                for a, keys in found
            ],
            "gasUsed": fmt.hq(gas_used),
        }
        if error is not None:
            out["error"] = error
        return out

    async def eth_simulateV1(self, payload: Any, block: Any = None) -> list[dict[str, Any]]:
        """Calls in one or more simulated blocks on top of ``block``, state carried between them."""
        if not isinstance(payload, dict) or not isinstance(payload.get("blockStateCalls"), list):
            raise InvalidParams("invalid payload: expected {blockStateCalls: [...]}")
        specs = payload["blockStateCalls"]
        if len(specs) > _MAX_SIMULATED_BLOCKS:
            raise RpcError(-38026, f"too many blocks (max {_MAX_SIMULATED_BLOCKS})")
        blocks: list[dict[str, Any]] = []
        total = 0
        for spec in specs:
            if not isinstance(spec, dict):
                raise InvalidParams("invalid block state call: expected object")
            calls = spec.get("calls") or []
            if not isinstance(calls, list):
                raise InvalidParams("invalid calls: expected list")
            total += len(calls)
            ov = spec.get("blockOverrides") or {}
            if not isinstance(ov, dict):
                raise InvalidParams("invalid blockOverrides: expected object")
            overrides: dict[str, Any] = {}
            for key in ("number", "time", "gasLimit", "baseFeePerGas"):
                if ov.get(key) is not None:
                    overrides[key] = P.quantity(ov[key], f"blockOverrides.{key}")
            if ov.get("feeRecipient") is not None:
                overrides["feeRecipient"] = P.address(ov["feeRecipient"], "blockOverrides.feeRecipient")
            blocks.append({
                "blockOverrides": overrides,
                "stateOverrides": self._override_dict(P.state_overrides(spec.get("stateOverrides"))),
                "calls": [
                    {**self._call_dict(args), **({"nonce": args.nonce} if args.nonce is not None else {})}
                    for args in (P.call_args(c, "call") for c in calls)
                ],
            })
        if total > _MAX_SIMULATED_CALLS:
            raise RpcError(-38026, f"too many calls (max {_MAX_SIMULATED_CALLS})")
        full = bool(payload.get("returnFullTransactions"))
        header = self._header(P.block_ref(block))
        try:
            results = await asyncio.to_thread(
                self.chain.simulate, blocks, header, bool(payload.get("validation")),
                bool(payload.get("traceTransfers")),
            )
        except CallFailed as exc:
            raise RpcError(getattr(exc, "code", -32000), str(exc)) from None
        return [self._simulated_block_json(r, full) for r in results]

    def _simulated_block_json(self, result: dict[str, Any], full: bool) -> dict[str, Any]:
        hdr = result["header"]
        out = fmt.block_json_hashes(hdr, [c["hash"] for c in result["calls"]], 0)
        out["size"] = fmt.hq(len(rlp.encode(hdr)))
        if full:
            out["transactions"] = [
                fmt.simulated_tx_json(c, hdr, i) for i, c in enumerate(result["calls"])
            ]
        calls, log_index = [], 0
        for i, c in enumerate(result["calls"]):
            entry: dict[str, Any] = {
                "status": fmt.hq(c["status"]),
                "returnData": fmt.hd(c["output"]),
                "gasUsed": fmt.hq(c["gasUsed"]),
                "maxUsedGas": fmt.hq(c["maxUsedGas"]),  # before the refund: the gas limit it needs
            }
            if c["status"]:
                logs = []
                for address, topics, data in c["logs"]:
                    logs.append({
                        "address": fmt.hd(address), "topics": [fmt.hd(t) for t in topics], "data": fmt.hd(data),
                        "blockHash": fmt.hd(hdr.hash), "blockNumber": fmt.hq(hdr.block_number),
                        "blockTimestamp": fmt.hq(hdr.timestamp), "transactionHash": fmt.hd(c["hash"]),
                        "transactionIndex": fmt.hq(i), "logIndex": fmt.hq(log_index), "removed": False,
                    })
                    log_index += 1
                entry["logs"] = logs
            elif c["reverted"]:
                reason = _revert_reason(c["output"])
                entry["error"] = {
                    "code": 3,
                    "message": "execution reverted" + (f": {reason}" if reason else ""),
                    "data": fmt.hd(c["output"]),
                }
            else:
                entry["error"] = {"code": -32015, "message": c["error"] or "execution failed"}
            calls.append(entry)
        out["calls"] = calls
        return out

    # -- filling and signing -------------------------------------------------------------------------
    async def _fill(self, tx: Any) -> dict[str, Any]:
        """eth-account fields for ``tx`` with geth's defaults: pending nonce, estimated gas, chain id, and
        EIP-1559 fees (type 2) unless a gas price or type 0/1 is given."""
        args = P.call_args(tx)
        if args.chain_id is not None and args.chain_id != self.chain.chain_id:
            raise InvalidParams(f"chainId does not match node's (have={args.chain_id}, want={self.chain.chain_id})")
        nonce = args.nonce
        if nonce is None:
            nonce = 0
            if args.sender is not None:
                nonce = int(self.eth_getTransactionCount(fmt.hd(args.sender), "pending"), 16)
        gas = args.gas
        if gas is None:
            gas = int(await self.eth_estimateGas(tx), 16)
        fields: dict[str, Any] = {
            "nonce": nonce,
            "gas": gas,
            "value": args.value,
            "data": args.data,
            "chainId": self.chain.chain_id,
        }
        if args.to is not None:
            fields["to"] = to_checksum_address(args.to)
        if args.gas_price is not None or args.type in (0, 1):
            fields["gasPrice"] = args.gas_price if args.gas_price is not None else self._base_fee
            if args.type == 1 or (args.access_list and args.type is None):
                fields["type"] = 1
        else:
            tip = args.max_priority_fee_per_gas or 0
            fields["maxPriorityFeePerGas"] = tip
            # geth's default cap: twice the base fee plus the tip (the base fee never moves here anyway)
            fields["maxFeePerGas"] = (
                args.max_fee_per_gas if args.max_fee_per_gas is not None else 2 * self._base_fee + tip
            )
            fields["type"] = 2
        if args.access_list or fields.get("type") in (1, 2):
            fields["accessList"] = [
                {"address": fmt.hd(a), "storageKeys": ["0x" + k.to_bytes(32, "big").hex() for k in keys]}
                for a, keys in args.access_list
            ]
        return fields

    async def eth_fillTransaction(self, tx: Any) -> dict[str, Any]:
        fields = await self._fill(tx)
        out = fmt.unsigned_tx_json(fields)
        if out.get("to") is not None:
            out["to"] = out["to"].lower()
        return {"tx": out}

    def _dev_key(self, address: Any) -> bytes:
        addr = P.address(address, "from") if address is not None else None
        if addr is None:
            raise InvalidParams("missing from")
        key = self.b.dev_keys.get(addr)
        if key is None:
            raise ServerError("unknown account")
        return key

    def eth_sign(self, address: Any, message: Any) -> str:
        """EIP-191 ``personal_sign`` of ``message`` with a dev key (v = 27/28, as geth)."""
        key = self._dev_key(address)
        signed = Account.sign_message(encode_defunct(primitive=P.data(message, "message")), key)
        return fmt.hd(bytes(signed.signature))

    def eth_signTypedData_v4(self, address: Any, typed_data: Any) -> str:
        """EIP-712 signature of ``typed_data`` (object, or its JSON text as MetaMask sends) with a dev key."""
        key = self._dev_key(address)
        if isinstance(typed_data, str):
            try:
                typed_data = json.loads(typed_data)
            except ValueError:
                raise InvalidParams("invalid typed data: not JSON") from None
        if not isinstance(typed_data, dict):
            raise InvalidParams("invalid typed data: expected object")
        try:
            _check_fixed_arrays(typed_data)
            message = encode_typed_data(full_message=typed_data)
        except Exception as exc:
            raise InvalidParams(f"invalid typed data: {exc}") from None
        return fmt.hd(bytes(Account.sign_message(message, key).signature))

    def eth_signTypedData(self, address: Any, typed_data: Any) -> str:
        """geth's name for the same signature (web3.py's ``sign_typed_data`` calls it)."""
        return self.eth_signTypedData_v4(address, typed_data)

    async def _signed(self, tx: Any) -> bytes:
        if not isinstance(tx, dict):
            raise InvalidParams("invalid transaction: expected object")
        key = self._dev_key(tx.get("from"))
        fields = await self._fill(tx)
        return bytes(Account.sign_transaction(fields, key).raw_transaction)

    async def eth_signTransaction(self, tx: Any) -> dict[str, Any]:
        raw = await self._signed(tx)
        decoded = self.chain.vm_class.get_transaction_builder().decode(raw)
        return {"raw": fmt.hd(raw), "tx": fmt.tx_json(decoded, None, None, None, None)}

    # -- dev accounts --------------------------------------------------------------------------------
    def eth_accounts(self) -> list[str]:
        return [fmt.hd(a) for a in self.b.dev_keys]

    async def eth_sendTransaction(self, tx: Any) -> str:
        return self.eth_sendRawTransaction(fmt.hd(await self._signed(tx)))

    # -- registration --------------------------------------------------------------------------------
    def register(self, d: Dispatcher) -> None:
        """Register every public method; dev-only methods only when dev keys are configured."""
        dev_only = {"eth_sendTransaction", "eth_sign", "eth_signTransaction", "eth_signTypedData_v4", "eth_signTypedData"}
        consensus_only = {"qbft_proposeValidatorVote", "qbft_discardValidatorVote", "qbft_getPendingVotes"}
        namespaces = ("eth_", "net_", "web3_", "qbft_", "txpool_")
        for name in dir(self):
            if not name.startswith(namespaces):
                continue
            if name in dev_only and not self.b.dev_keys:
                continue
            if name in consensus_only and self.b.consensus is None:
                continue
            d.register(name, getattr(self, name), with_context=name in ("eth_subscribe", "eth_unsubscribe"))


def build_dispatcher(backend: RpcBackend) -> tuple[Dispatcher, EthApi]:
    """A dispatcher with every method of :class:`EthApi` registered."""
    api = EthApi(backend)
    d = Dispatcher()
    api.register(d)
    return d, api
