"""Result schemas of the execution-apis OpenRPC specification, written as compact Python data.

Derived by reading ethereum/execution-apis ``src/eth/*.yaml``, ``src/txpool/pool.yaml`` and
``src/schemas/*.yaml`` (2026 main branch); not a copy of its files. The notation:

* a string names a primitive: ``uint`` (minimal hex quantity), ``bytes`` (even-length hex),
  ``bytesN`` / ``hash32`` / ``address`` (fixed length), ``byte``, ``bool``, ``str``, ``null``,
  ``number`` (JSON number), ``int`` (JSON integer);
* ``("list", S)``, ``("map", S)`` (an object with any keys, values S), ``("any", S1, S2, ...)``;
* a dict is an object: ``"key"`` is required, ``"key?"`` optional; ``CLOSED: True`` forbids other keys
  (the spec's ``additionalProperties: false``).

:func:`validate` returns the list of violations (empty = valid).
"""

from __future__ import annotations

import re
from typing import Any

CLOSED = "__closed__"

_PATTERNS = {
    "uint": r"0x(0|[1-9a-f][0-9a-f]*)",
    "uint64": r"0x(0|[1-9a-f][0-9a-f]{0,15})",
    "uint256": r"0x(0|[1-9a-f][0-9a-f]{0,63})",
    "byte": r"0x[0-9a-f]{1,2}",
    "bytes": r"0x([0-9a-f]{2})*",
    "bytesMax32": r"0x[0-9a-f]{0,64}",
    "bytes4": r"0x[0-9a-f]{8}",
    "bytes8": r"0x[0-9a-f]{16}",
    "bytes32": r"0x[0-9a-f]{64}",
    "hash32": r"0x[0-9a-f]{64}",
    "address": r"0x[0-9a-f]{40}",
    "bytes65": r"0x[0-9a-f]{130}",
    "bytes256": r"0x[0-9a-f]{512}",
    "uintDecimal": r"(0|[1-9][0-9]*)",
}
_COMPILED = {k: re.compile("^" + v + "$", re.IGNORECASE) for k, v in _PATTERNS.items()}
_COMPILED["uint"] = re.compile("^" + _PATTERNS["uint"] + "$")  # quantities: lower-case, no leading zero


def validate(schema: Any, value: Any, path: str = "$") -> list[str]:
    if isinstance(schema, str):
        return _primitive(schema, value, path)
    if isinstance(schema, tuple):
        op = schema[0]
        if op == "list":
            if not isinstance(value, list):
                return [f"{path}: expected array, got {type(value).__name__}"]
            return [e for i, v in enumerate(value) for e in validate(schema[1], v, f"{path}[{i}]")]
        if op == "map":
            if not isinstance(value, dict):
                return [f"{path}: expected object, got {type(value).__name__}"]
            return [e for k, v in value.items() for e in validate(schema[1], v, f"{path}.{k}")]
        if op == "any":
            errors: list[str] = []
            for option in schema[1:]:
                found = validate(option, value, path)
                if not found:
                    return []
                errors.extend(found)
            return [f"{path}: matches none of {len(schema) - 1} alternatives ({'; '.join(errors[:4])})"]
        raise ValueError(f"bad schema {schema!r}")
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return [f"{path}: expected object, got {type(value).__name__}"]
        errors = []
        known = set()
        for key, sub in schema.items():
            if key == CLOSED:
                continue
            name, optional = (key[:-1], True) if key.endswith("?") else (key, False)
            known.add(name)
            if name not in value:
                if not optional:
                    errors.append(f"{path}: missing {name}")
                continue
            errors.extend(validate(sub, value[name], f"{path}.{name}"))
        if schema.get(CLOSED):
            errors.extend(f"{path}: unexpected field {k}" for k in value if k not in known)
        return errors
    raise ValueError(f"bad schema {schema!r}")


def _primitive(name: str, value: Any, path: str) -> list[str]:
    if name == "null":
        return [] if value is None else [f"{path}: expected null"]
    if name == "bool":
        return [] if isinstance(value, bool) else [f"{path}: expected boolean"]
    if name == "str":
        return [] if isinstance(value, str) else [f"{path}: expected string"]
    if name == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected number"]
    if name == "int":
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{path}: expected integer"]
    pattern = _COMPILED[name]
    if not isinstance(value, str) or not pattern.match(value):
        return [f"{path}: expected {name}, got {value!r:.80}"]
    return []


def _merge(*parts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in parts:
        out.update(p)
    return out


# -- transactions ---------------------------------------------------------------------------------------
ACCESS_LIST = ("list", {"address": "address", "storageKeys": ("list", "hash32")})
_TO = ("any", "null", "address")
LEGACY_UNSIGNED = {
    "type": "byte", "nonce": "uint", "to?": _TO, "gas": "uint", "value": "uint", "input": "bytes",
    "gasPrice": "uint", "chainId?": "uint",
}
T2930_UNSIGNED = _merge(LEGACY_UNSIGNED, {"chainId": "uint", "accessList": ACCESS_LIST})
T1559_UNSIGNED = _merge(T2930_UNSIGNED, {"maxPriorityFeePerGas": "uint", "maxFeePerGas": "uint"})
T4844_UNSIGNED = _merge(
    T1559_UNSIGNED,
    {"to": "address", "maxFeePerBlobGas": "uint", "blobVersionedHashes": ("list", "hash32"), "gasPrice?": "uint"},
)
T7702_UNSIGNED = _merge(
    T1559_UNSIGNED, {"to": "address", "authorizationList": ("list", ("map", "str")), "gasPrice?": "uint"}
)
_TYPED_SIG = {"yParity": "uint", "v?": "uint", "r": "uint", "s": "uint"}
_LEGACY_SIG = {"v": "uint", "r": "uint", "s": "uint"}
SIGNED = (
    "any",
    _merge(T7702_UNSIGNED, _TYPED_SIG),
    _merge(T4844_UNSIGNED, _TYPED_SIG),
    _merge(T1559_UNSIGNED, _TYPED_SIG),
    _merge(T2930_UNSIGNED, _TYPED_SIG),
    _merge(LEGACY_UNSIGNED, _LEGACY_SIG),
)
UNSIGNED = ("any", T7702_UNSIGNED, T4844_UNSIGNED, T1559_UNSIGNED, T2930_UNSIGNED, LEGACY_UNSIGNED)
_MINED_CONTEXT = {
    "blockHash": "hash32", "blockNumber": "uint", "blockTimestamp": "uint", "from": "address", "hash": "hash32",
    "transactionIndex": "uint",
}
_POOL_CONTEXT = {
    "blockHash?": "null", "blockNumber?": "null", "blockTimestamp?": "null", "from": "address", "hash": "hash32",
    "transactionIndex?": "null",
}
TX_INFO = ("any", *(_merge(s, _MINED_CONTEXT) for s in SIGNED[1:]))
PENDING_TX = ("any", *(_merge(s, _POOL_CONTEXT) for s in SIGNED[1:]))
TX_ANY = ("any", TX_INFO, PENDING_TX)

# -- blocks, receipts, logs -------------------------------------------------------------------------------
WITHDRAWAL = {"index": "uint64", "validatorIndex": "uint64", "address": "address", "amount": "uint256"}
BLOCK = {
    "hash": "hash32", "parentHash": "hash32", "sha3Uncles": "hash32", "miner": "address", "stateRoot": "hash32",
    "transactionsRoot": "hash32", "receiptsRoot": "hash32", "logsBloom": "bytes256", "difficulty?": "uint",
    "number": "uint", "gasLimit": "uint", "gasUsed": "uint", "timestamp": "uint", "extraData": "bytes",
    "mixHash": "hash32", "nonce": "bytes8", "baseFeePerGas?": "uint", "withdrawalsRoot?": "hash32",
    "blobGasUsed?": "uint", "excessBlobGas?": "uint", "parentBeaconBlockRoot?": "hash32", "size": "uint",
    "transactions": ("any", ("list", "hash32"), ("list", TX_INFO)), "withdrawals?": ("list", WITHDRAWAL),
    "uncles": ("list", "hash32"), "requestsHash?": "hash32", "blockAccessListHash?": "hash32",
}
LOG = {
    CLOSED: True, "removed?": "bool", "logIndex?": "uint", "transactionIndex?": "uint", "transactionHash": "hash32",
    "blockHash?": "hash32", "blockNumber?": "uint", "blockTimestamp?": "uint", "address?": "address",
    "data?": "bytes", "topics?": ("list", "bytes32"),
}
RECEIPT = {
    CLOSED: True, "type?": "byte", "transactionHash": "hash32", "transactionIndex": "uint", "blockHash": "hash32",
    "blockNumber": "uint", "from": "address", "to?": _TO, "cumulativeGasUsed": "uint", "gasUsed": "uint",
    "blobGasUsed?": "uint", "contractAddress?": _TO, "logs": ("list", LOG), "logsBloom": "bytes256",
    "root?": "hash32", "status?": "uint", "effectiveGasPrice": "uint", "blobGasPrice?": "uint",
}
FILTER_RESULTS = ("any", ("list", "hash32"), ("list", LOG))

# -- state, fees, client --------------------------------------------------------------------------------
PROOF = {
    "address": "address", "accountProof": ("list", "bytes"), "balance": "uint256", "codeHash": "hash32",
    "nonce": "uint64", "storageHash": "hash32",
    "storageProof": ("list", {"key": "bytesMax32", "value": "uint256", "proof": ("list", "bytes")}),
}
FEE_HISTORY = {
    CLOSED: True, "oldestBlock": "uint", "baseFeePerGas": ("list", "uint"), "baseFeePerBlobGas?": ("list", "uint"),
    "gasUsedRatio": ("list", "number"), "blobGasUsedRatio?": ("list", "number"),
    "reward?": ("list", ("list", "uint")),
}
SYNCING = ("any", "bool", {CLOSED: True, "startingBlock?": "uint", "currentBlock?": "uint", "highestBlock?": "uint"})
_CONFIG_OBJECT = {
    CLOSED: True, "activationTime": "number",
    "blobSchedule": {CLOSED: True, "baseFeeUpdateFraction": "int", "max": "int", "target": "int"},
    "chainId": "uint", "forkId": "bytes4", "precompiles": ("map", "address"), "systemContracts": ("map", "address"),
}
CONFIG = {CLOSED: True, "current": _CONFIG_OBJECT, "next": ("any", _CONFIG_OBJECT, "null"),
          "last": ("any", _CONFIG_OBJECT, "null")}
ACCESS_LIST_RESULT = {CLOSED: True, "accessList?": ACCESS_LIST, "error?": "str", "gasUsed?": "uint"}
_CALL_RESULT = (
    "any",
    {"status": "uint", "returnData": "bytes", "gasUsed": "uint", "maxUsedGas?": "uint", "logs": ("list", LOG)},
    {"status": "uint", "returnData": "bytes", "gasUsed": "uint", "maxUsedGas?": "uint",
     "error": {"code": "int", "message": "str", "data?": "str"}},
)
SIMULATE_RESULT = ("list", _merge(BLOCK, {"calls": ("list", _CALL_RESULT)}))
_RESOURCE = {"disabled": "bool", "oldestBlock?": "uint",
             "deleteStrategy?": {CLOSED: True, "type": "str", "retentionBlocks": "uint"}}
CAPABILITIES = {"head": {CLOSED: True, "number": "uint", "hash": "hash32"}, "state": _RESOURCE, "tx": _RESOURCE,
                "logs": _RESOURCE, "receipts": _RESOURCE, "blocks": _RESOURCE, "stateproofs": _RESOURCE}
TXPOOL_STATUS = {"pending": "uint", "queued": "uint"}
TXPOOL_CONTENT = {"pending": ("map", ("map", PENDING_TX)), "queued": ("map", ("map", PENDING_TX))}
TXPOOL_CONTENT_FROM = {"pending": ("map", PENDING_TX), "queued": ("map", PENDING_TX)}

#: method -> result schema, for every method of the specification's eth_ and txpool_ namespaces.
RESULTS: dict[str, Any] = {
    # block.yaml
    "eth_getBlockByHash": ("any", BLOCK, "null"),
    "eth_getBlockByNumber": ("any", BLOCK, "null"),
    "eth_getBlockTransactionCountByHash": ("any", "uint", "null"),
    "eth_getBlockTransactionCountByNumber": ("any", "uint", "null"),
    "eth_getBlockReceipts": ("any", ("list", RECEIPT), "null"),
    "eth_getBlockAccessList": ("any", ("list", {"address": "address"}), "null"),
    # capabilities.yaml
    "eth_capabilities": CAPABILITIES,
    # client.yaml
    "eth_chainId": "uint",
    "eth_syncing": SYNCING,
    "eth_coinbase": "address",
    "eth_accounts": ("list", "address"),
    "eth_blockNumber": "uint",
    "eth_config": CONFIG,
    "net_version": "uintDecimal",
    # execute.yaml
    "eth_call": "bytes",
    "eth_estimateGas": "uint",
    "eth_createAccessList": ACCESS_LIST_RESULT,
    "eth_simulateV1": SIMULATE_RESULT,
    # fee_market.yaml
    "eth_gasPrice": "uint",
    "eth_baseFee": "uint",
    "eth_blobBaseFee": "uint",
    "eth_maxPriorityFeePerGas": "uint",
    "eth_feeHistory": FEE_HISTORY,
    # fill.yaml
    "eth_fillTransaction": {"tx": UNSIGNED, "raw?": "bytes"},
    # filter.yaml
    "eth_newFilter": "uint",
    "eth_newBlockFilter": "uint",
    "eth_newPendingTransactionFilter": "uint",
    "eth_uninstallFilter": "bool",
    "eth_getFilterChanges": FILTER_RESULTS,
    "eth_getFilterLogs": FILTER_RESULTS,
    "eth_getLogs": FILTER_RESULTS,
    # sign.yaml
    "eth_sign": "bytes65",
    "eth_signTransaction": {"raw": "bytes", "tx": SIGNED},
    # state.yaml
    "eth_getBalance": "uint",
    "eth_getStorageAt": "hash32",
    "eth_getStorageValues": ("map", ("list", "bytes")),
    "eth_getTransactionCount": "uint",
    "eth_getCode": "bytes",
    "eth_getProof": PROOF,
    # submit.yaml
    "eth_sendTransaction": "hash32",
    "eth_sendRawTransaction": "hash32",
    # transaction.yaml
    "eth_getTransactionByHash": ("any", TX_ANY, "null"),
    "eth_getTransactionByBlockHashAndIndex": ("any", TX_INFO, "null"),
    "eth_getTransactionByBlockNumberAndIndex": ("any", TX_INFO, "null"),
    "eth_getTransactionReceipt": ("any", RECEIPT, "null"),
    # txpool/pool.yaml
    "txpool_status": TXPOOL_STATUS,
    "txpool_content": TXPOOL_CONTENT,
    "txpool_contentFrom": TXPOOL_CONTENT_FROM,
}
