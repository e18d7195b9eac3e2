"""geth-shaped JSON for headers, blocks, transactions, receipts and logs.

Why exact field names and encodings matter: web3.py, ethers and cast validate these shapes (quantities
as minimal hex, data as even-length hex, ``null`` for pending fields) and reject anything else. The
compatibility test compares our objects field-by-field against anvil's.
"""

from __future__ import annotations

from typing import Any

import rlp

from co3chain.chain.chain import LogInfo, ReceiptInfo

ZERO_BLOOM = "0x" + "00" * 256
EMPTY_ROOT = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"


def hq(n: int) -> str:
    """Quantity: minimal hex (``0x0`` for zero)."""
    return hex(n)


def hd(b: bytes) -> str:
    """Data: ``0x`` + even-length hex."""
    return "0x" + b.hex()


def haddr(b: bytes | None) -> str | None:
    return None if not b else "0x" + b.hex()


def hbloom(bloom: int) -> str:
    return "0x" + bloom.to_bytes(256, "big").hex()


def header_json(header: Any) -> dict[str, Any]:
    """Header fields of a block object (geth ``RPCMarshalHeader``, Cancun)."""
    return {
        "number": hq(header.block_number),
        "hash": hd(header.hash),
        "parentHash": hd(header.parent_hash),
        "nonce": hd(header.nonce),
        "mixHash": hd(header.mix_hash),
        "sha3Uncles": hd(header.uncles_hash),
        "logsBloom": hbloom(header.bloom),
        "transactionsRoot": hd(header.transaction_root),
        "stateRoot": hd(header.state_root),
        "receiptsRoot": hd(header.receipt_root),
        "miner": hd(header.coinbase),
        "difficulty": hq(header.difficulty),
        "totalDifficulty": hq(header.block_number + 1),  # QBFT: difficulty 1 per block, as Besu reports
        "extraData": hd(header.extra_data),
        "gasLimit": hq(header.gas_limit),
        "gasUsed": hq(header.gas_used),
        "timestamp": hq(header.timestamp),
        "baseFeePerGas": hq(header.base_fee_per_gas),
        "withdrawalsRoot": hd(header.withdrawals_root),
        "blobGasUsed": hq(header.blob_gas_used),
        "excessBlobGas": hq(header.excess_blob_gas),
        "parentBeaconBlockRoot": hd(header.parent_beacon_block_root),
    }


def block_json(block: Any) -> dict[str, Any]:
    """The block object with full transaction objects (``fullTransactions = true``)."""
    header = block.header
    out = block_json_hashes(header, [], len(rlp.encode(block)))
    bh, num, ts = header.hash, header.block_number, header.timestamp
    out["transactions"] = [
        tx_json(tx, bh, num, i, header.base_fee_per_gas, ts) for i, tx in enumerate(block.transactions)
    ]
    return out


def block_json_hashes(header: Any, tx_hashes: list[bytes], size: int) -> dict[str, Any]:
    """The block object with transaction hashes only (``fullTransactions = false``)."""
    out = header_json(header)
    out["size"] = hq(size)
    out["transactions"] = [hd(h) for h in tx_hashes]
    out["uncles"] = []
    out["withdrawals"] = []
    return out


def _access_list(tx: Any) -> list[dict[str, Any]]:
    return [
        {"address": hd(addr), "storageKeys": ["0x" + k.to_bytes(32, "big").hex() for k in keys]}
        for addr, keys in tx.access_list
    ]


def tx_json(
    tx: Any,
    block_hash: bytes | None,
    block_number: int | None,
    index: int | None,
    base_fee: int | None = 0,
    block_timestamp: int | None = None,
) -> dict[str, Any]:
    """A transaction object; pending transactions have ``null`` block fields (geth).

    ``blockTimestamp`` (added to the spec in 2025, geth 1.16) saves clients a block lookup per tx.
    """
    type_id = tx.type_id or 0
    out: dict[str, Any] = {
        "blockHash": None if block_hash is None else hd(block_hash),
        "blockNumber": None if block_number is None else hq(block_number),
        "blockTimestamp": None if block_timestamp is None else hq(block_timestamp),
        "from": hd(tx.sender),
        "gas": hq(tx.gas),
    }
    if type_id == 2:
        if block_hash is not None and base_fee is not None:
            price = min(tx.max_fee_per_gas, base_fee + tx.max_priority_fee_per_gas)
        else:
            price = tx.max_fee_per_gas
        out["gasPrice"] = hq(price)
        out["maxFeePerGas"] = hq(tx.max_fee_per_gas)
        out["maxPriorityFeePerGas"] = hq(tx.max_priority_fee_per_gas)
    else:
        out["gasPrice"] = hq(tx.gas_price)
    out["hash"] = hd(tx.hash)
    out["input"] = hd(tx.data)
    out["nonce"] = hq(tx.nonce)
    out["to"] = haddr(tx.to)
    out["transactionIndex"] = None if index is None else hq(index)
    out["value"] = hq(tx.value)
    out["type"] = hq(type_id)
    if type_id in (1, 2):
        out["accessList"] = _access_list(tx)
        out["chainId"] = hq(tx.chain_id)
        out["v"] = hq(tx.y_parity)
        out["yParity"] = hq(tx.y_parity)
    else:
        if tx.chain_id is not None:
            out["chainId"] = hq(tx.chain_id)
        out["v"] = hq(tx.v)
    out["r"] = hq(tx.r)
    out["s"] = hq(tx.s)
    return out


def log_json(lg: LogInfo, block_timestamp: int | None = None) -> dict[str, Any]:
    out = {
        "address": hd(lg.address),
        "topics": [hd(t) for t in lg.topics],
        "data": hd(lg.data),
        "blockHash": hd(lg.block_hash),
        "blockNumber": hq(lg.block_number),
        "transactionHash": hd(lg.tx_hash),
        "transactionIndex": hq(lg.tx_index),
        "logIndex": hq(lg.log_index),
        "removed": False,
    }
    if block_timestamp is not None:
        out["blockTimestamp"] = hq(block_timestamp)
    return out


def receipt_json(r: ReceiptInfo, block_timestamp: int | None = None) -> dict[str, Any]:
    return {
        "type": hq(r.type),
        "status": hq(r.status),
        "cumulativeGasUsed": hq(r.cumulative_gas_used),
        "logs": [log_json(lg, block_timestamp) for lg in r.logs],
        "logsBloom": hbloom(r.bloom),
        "transactionHash": hd(r.tx_hash),
        "transactionIndex": hq(r.tx_index),
        "blockHash": hd(r.block_hash),
        "blockNumber": hq(r.block_number),
        "gasUsed": hq(r.gas_used),
        "effectiveGasPrice": hq(r.effective_gas_price),
        "from": hd(r.sender),
        "to": haddr(r.to),
        "contractAddress": haddr(r.contract_address),
    }


def proof_json(p: dict[str, Any]) -> dict[str, Any]:
    """EIP-1186 ``eth_getProof`` result from :meth:`NodeChain.get_proof`'s Python values."""
    return {
        "address": hd(p["address"]),
        "accountProof": [hd(n) for n in p["accountProof"]],
        "balance": hq(p["balance"]),
        "codeHash": hd(p["codeHash"]),
        "nonce": hq(p["nonce"]),
        "storageHash": hd(p["storageHash"]),
        "storageProof": [
            {"key": hq(s["key"]), "value": hq(s["value"]), "proof": [hd(n) for n in s["proof"]]}
            for s in p["storageProof"]
        ],
    }


def raw_tx(tx: Any) -> bytes:
    """The transaction's canonical encoding, as sent to eth_sendRawTransaction (typed: type byte + RLP)."""
    encode = getattr(tx, "encode", None)
    return bytes(encode()) if callable(encode) else rlp.encode(tx)


def unsigned_tx_json(fields: dict[str, Any]) -> dict[str, Any]:
    """An unsigned transaction (eth_fillTransaction's ``tx``) from eth-account style fields."""
    out: dict[str, Any] = {"type": hq(fields.get("type", 0))}
    for key in ("nonce", "gas", "value", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas", "chainId"):
        if key in fields:
            out[key] = hq(int(fields[key]))
    if "maxFeePerGas" in fields:  # the spec's unsigned 1559 object carries the price it would pay at most
        out["gasPrice"] = hq(int(fields["maxFeePerGas"]))
    out["to"] = fields.get("to")
    out["input"] = hd(fields.get("data", b""))
    if "accessList" in fields:
        out["accessList"] = fields["accessList"]
    return out


def simulated_tx_json(call: dict[str, Any], header: Any, index: int) -> dict[str, Any]:
    """A simulated call as a transaction object (eth_simulateV1 ``returnFullTransactions``): unsigned,
    so the signature fields are zero, as geth reports them."""
    tx = call["tx"]
    return {
        "blockHash": hd(header.hash),
        "blockNumber": hq(header.block_number),
        "blockTimestamp": hq(header.timestamp),
        "from": hd(call["sender"]),
        "gas": hq(tx.gas),
        "gasPrice": hq(tx.gas_price),
        "hash": hd(call["hash"]),
        "input": hd(tx.data),
        "nonce": hq(tx.nonce),
        "to": haddr(tx.to),
        "transactionIndex": hq(index),
        "value": hq(tx.value),
        "type": hq(call["type"]),
        **({"accessList": _access_list(tx), "chainId": hq(tx.chain_id), "yParity": "0x0"} if call["type"] else {}),
        "v": "0x0",
        "r": "0x0",
        "s": "0x0",
    }
