"""The API's view of the chain: web3, the suite's contract objects and readable revert reasons.

Why one object: every route needs the same contracts, chain id and error decoding; and the distinction
"the node is unreachable" (503) vs "the contract refused" (4xx) must be made in one place, the same way
for anvil, our QBFT node and eth-tester (which reports reverts differently from JSON-RPC nodes).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address
from web3.exceptions import ContractLogicError, ProviderConnectionError, Web3RPCError

from co3chain.api.errors import ApiError
from co3chain.contracts.deploy import ArtifactSet, ErrorDecoder, qbft_compatible
from co3chain.errors import Co3Error

#: Contracts the API needs from the manifest.
REQUIRED = ("CitizenRegistry", "CommonsToken", "Reputation", "CommoningAreas", "AttestationHub", "CO3Governance")

_ETH_TESTER_REVERT = re.compile(r"execution reverted: (b(['\"]).*\2)", re.DOTALL)


class Reverted(Exception):
    """A call or transaction the contract refused; ``reason`` is the decoded custom error."""

    def __init__(self, reason: str, data: bytes | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.data = data


def is_connection_error(exc: BaseException) -> bool:
    """True when ``exc`` means the node could not be reached (as opposed to an answer we dislike)."""
    return isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                            ProviderConnectionError, ConnectionError, TimeoutError))


def revert_data(exc: BaseException) -> bytes | None:
    """Raw revert bytes from a web3 or eth-tester revert exception, None if it carries none."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    if isinstance(data, bytes):
        return data
    text = str(exc.args[0]) if exc.args else ""
    match = _ETH_TESTER_REVERT.fullmatch(text)
    if match:
        try:
            raw = ast.literal_eval(match.group(1))
        except (ValueError, SyntaxError):
            return None
        return raw if isinstance(raw, bytes) else None
    return None


def _is_revert(exc: BaseException) -> bool:
    if isinstance(exc, ContractLogicError):
        return True
    name = exc.__class__.__name__
    if name == "TransactionFailed":  # eth-tester
        return True
    return isinstance(exc, Web3RPCError) and "revert" in str(exc).lower()


@dataclass(frozen=True)
class _Codec:
    selector: bytes
    inputs: list[str]
    outputs: list[str]
    output_abi: list[dict[str, Any]]


def _abi_type(item: Mapping[str, Any]) -> str:
    typ = str(item["type"])
    if typ.startswith("tuple"):
        return f"({','.join(_abi_type(c) for c in item['components'])}){typ[5:]}"
    return typ


def _checksummed(item: Mapping[str, Any], value: Any) -> Any:
    """Decoded ABI value with addresses checksummed (eth_abi returns them lowercase), through structs/arrays."""
    typ = str(item["type"])
    if typ.endswith("]"):
        inner = {**item, "type": typ[: typ.rfind("[")]}
        return [_checksummed(inner, v) for v in value]
    if typ == "tuple":
        return tuple(_checksummed(c, v) for c, v in zip(item["components"], value, strict=True))
    if typ == "address":
        return to_checksum_address(value)
    return value


@dataclass
class ChainContext:
    """web3 plus the deployed suite described by the manifest."""

    w3: Any
    manifest: Mapping[str, Any]
    contracts: dict[str, Any]
    decoder: ErrorDecoder
    chain_id: int
    _codecs: dict[tuple[str, str, int], _Codec] = field(default_factory=dict, repr=False)

    @classmethod
    def from_manifest(cls, w3: Any, manifest: Mapping[str, Any], artifacts: ArtifactSet | None = None) -> ChainContext:
        """Bind the manifest's contracts with the ABIs of ``artifacts`` (default: the committed ones)."""
        qbft_compatible(w3)
        arts = artifacts or ArtifactSet.committed()
        missing = [n for n in REQUIRED if n not in manifest.get("contracts", {})]
        if missing:
            raise Co3Error(f"deployment manifest lacks {', '.join(missing)}: the API needs the whole suite")
        contracts = {
            name: w3.eth.contract(address=to_checksum_address(entry["address"]), abi=arts.artifact(name)["abi"])
            for name, entry in manifest["contracts"].items()
            if name in arts.artifacts
        }
        return cls(w3, manifest, contracts, arts.error_decoder(), int(manifest["chainId"]))

    # ------------------------------------------------------------------ contracts
    @property
    def registry(self) -> Any:
        return self.contracts["CitizenRegistry"]

    @property
    def token(self) -> Any:
        return self.contracts["CommonsToken"]

    @property
    def reputation(self) -> Any:
        return self.contracts["Reputation"]

    @property
    def areas(self) -> Any:
        return self.contracts["CommoningAreas"]

    @property
    def hub(self) -> Any:
        return self.contracts["AttestationHub"]

    @property
    def governance(self) -> Any:
        return self.contracts["CO3Governance"]

    # ------------------------------------------------------------------ calls
    def reason(self, exc: BaseException) -> str:
        """Readable reason of a revert exception (decoded custom error when possible)."""
        data = revert_data(exc)
        decoded = self.decoder.decode(data) if data else None
        return decoded or (getattr(exc, "message", None) or str(exc))

    def call(self, fn: Any, *, sender: str | None = None, block: Any = "latest") -> Any:
        """``fn.call()`` with errors mapped: revert → :class:`Reverted`, unreachable node → 503.

        Why not ``fn.call()`` itself: web3's contract-call path re-resolves and re-encodes the ABI on every
        call, which was most of the API's CPU per read under load; the codec per function is cached here and
        the ``eth_call`` goes through ``w3.eth.call`` (same formatters and errors on every provider).
        """
        codec = self._codec(fn)
        tx: dict[str, Any] = {"to": fn.address, "data": codec.selector + abi_encode(codec.inputs, list(fn.args))}
        if sender:
            tx["from"] = sender
        try:
            raw = self.w3.eth.call(tx, block)
        except Exception as exc:
            raise self.translate(exc) from None
        try:
            values = abi_decode(codec.outputs, bytes(raw))
        except Exception as exc:
            raise ApiError(502, "node_error", f"undecodable answer to {fn.fn_name}: {exc}") from None
        fixed = [_checksummed(item, value) for item, value in zip(codec.output_abi, values, strict=True)]
        return fixed[0] if len(fixed) == 1 else tuple(fixed)

    def _codec(self, fn: Any) -> _Codec:
        key = (fn.address, fn.abi_element_identifier if isinstance(fn.abi_element_identifier, str) else fn.fn_name,
               len(fn.args))
        codec = self._codecs.get(key)
        if codec is None:
            abi = fn.abi
            inputs = [_abi_type(i) for i in abi.get("inputs", [])]
            outputs = abi.get("outputs", [])
            codec = _Codec(keccak(text=f"{abi['name']}({','.join(inputs)})")[:4], inputs,
                           [_abi_type(o) for o in outputs], list(outputs))
            self._codecs[key] = codec
        return codec

    def translate(self, exc: BaseException) -> Exception:
        """Map a web3 exception to :class:`Reverted` or an :class:`ApiError`."""
        if isinstance(exc, (ApiError, Reverted)):
            return exc
        if is_connection_error(exc):
            return ApiError(503, "node_unavailable", f"the blockchain node is unreachable ({exc.__class__.__name__})")
        if _is_revert(exc):
            return Reverted(self.reason(exc), revert_data(exc))
        return ApiError(502, "node_error", f"the node answered unexpectedly: {exc}")

    def read(self, fn: Any, *, not_found: dict[str, str] | None = None) -> Any:
        """A view call whose revert means "no such object": ``not_found`` maps error names to 404 messages;
        any other revert is a 502 (views should not revert otherwise)."""
        try:
            return self.call(fn)
        except Reverted as exc:
            for name, message in (not_found or {}).items():
                if exc.reason.startswith(name + "("):
                    code = "unknown_" + name[len("Unknown"):].lower() if name.startswith("Unknown") else "not_found"
                    raise ApiError(404, code, message) from None
            raise ApiError(502, "node_error", f"view call reverted: {exc.reason}") from None

    def head(self) -> int:
        try:
            return int(self.w3.eth.block_number)
        except Exception as exc:
            raise self.translate(exc) from None

    def timestamp(self) -> int:
        """Timestamp of the latest block: what the next transaction's checks are closest to."""
        try:
            return int(self.w3.eth.get_block("latest")["timestamp"])
        except Exception as exc:
            raise self.translate(exc) from None
