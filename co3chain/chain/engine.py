"""Execution engines: what runs a transaction's EVM code on a block's state.

Why an interface: consensus must never depend on which EVM a node runs. The node executes with revm
(:mod:`co3chain.chain.revm_engine`, fast, Rust) by default and keeps py-evm (:class:`PyEvmEngine`, the
reference it has always used) both as a selectable engine (``[chain] engine = "py-evm"``) and as the
independent cross-check (``[chain] cross_check = true`` executes every block with both and halts on any
difference, see :mod:`co3chain.chain.crosscheck`).

Both engines read and write the same py-evm state object (the account trie kept by ``AccountDB`` over the
block's :class:`~co3chain.chain.storage.Overlay`), so state roots, receipts and RocksDB persistence are
shared code; an engine only decides how the EVM part of one transaction is computed. That is also what
lets revm hand a single transaction to py-evm (e.g. one whose code reads ``BLOCKHASH``, which pyrevm
cannot serve) in the middle of a block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from eth.vm.spoof import SpoofTransaction
from eth_utils import ValidationError

from co3chain.errors import Co3Error

#: Engine names accepted by ``[chain] engine``.
ENGINE_NAMES = ("revm", "py-evm")
DEFAULT_ENGINE = "revm"


class EngineDivergence(Co3Error):
    """Two engines computed different results for the same block (cross-check mode): the node halts."""


@dataclass(frozen=True)
class CallOutcome:
    """Result of a read-only call (``eth_call``/``eth_estimateGas``), engine-independent.

    ``gas_spent`` counts intrinsic gas and is taken *before* the refund (the smallest gas limit that can
    succeed is at least this); ``gas_refund`` is the refund the transaction earned.
    """

    success: bool
    reverted: bool
    output: bytes
    gas_spent: int
    gas_refund: int
    error: str = ""


class ExecutionEngine(Protocol):
    """One transaction at a time on a py-evm VM's state (``vm.state``)."""

    name: str

    def apply_transaction(self, vm: Any, header: Any, tx: Any) -> Any:
        """Apply ``tx`` on ``vm.state`` in block ``header``; return the py-evm receipt (cumulative gas).

        Raises ``eth_utils.ValidationError`` for an invalid transaction (state left unchanged).
        """

    def run_call(
        self, vm: Any, sender: bytes, to: bytes, value: int, data: bytes, gas: int, gas_price: int
    ) -> CallOutcome:
        """Execute a call without fees or nonce bump on ``vm.state`` (mutated; callers discard it)."""


#: EIP-3860: a creation transaction's init code may not exceed twice the EIP-170 code size limit.
MAX_INITCODE_SIZE = 2 * 24_576


def check_initcode_size(tx: Any) -> None:
    """Reject a creation transaction with oversized init code, as EIP-3860 says.

    Why here: py-evm 0.12 raises ``OutOfGas`` out of ``apply_transaction`` for it (not a validation
    error), which would abort building the whole block; the transaction is simply invalid.
    """
    if not tx.to and len(tx.data) > MAX_INITCODE_SIZE:
        raise ValidationError(
            f"init code of {len(tx.data)} bytes exceeds the EIP-3860 limit of {MAX_INITCODE_SIZE}"
        )


class PyEvmEngine:
    """py-evm's own interpreter: the reference engine."""

    name = "py-evm"

    def apply_transaction(self, vm: Any, header: Any, tx: Any) -> Any:
        check_initcode_size(tx)
        receipt, _ = vm.apply_transaction(header, tx)
        return receipt

    def run_call(
        self, vm: Any, sender: bytes, to: bytes, value: int, data: bytes, gas: int, gas_price: int
    ) -> CallOutcome:
        state = vm.state
        unsigned = vm.create_unsigned_transaction(
            nonce=state.get_nonce(sender), gas_price=gas_price, gas=gas, to=to, value=value, data=data
        )
        spoof = SpoofTransaction(unsigned, from_=sender)
        comp = state.costless_execute_transaction(spoof)
        from eth.exceptions import Revert

        spent = unsigned.intrinsic_gas + comp.get_gas_used()
        if comp.is_error:
            reverted = isinstance(comp.error, Revert)
            err = "" if reverted else f"{type(comp.error).__name__} {comp.error}".strip()
            return CallOutcome(False, reverted, comp.output if reverted else b"", spent, 0, err)
        return CallOutcome(True, False, comp.output, spent, comp.get_gas_refund())


def make_engine(name: str) -> ExecutionEngine:
    """The engine called ``name`` (one of :data:`ENGINE_NAMES`)."""
    if name == "py-evm":
        return PyEvmEngine()
    if name == "revm":
        from co3chain.chain.revm_engine import RevmEngine

        return RevmEngine()
    raise ValueError(f"unknown execution engine {name!r} (choose one of {', '.join(ENGINE_NAMES)})")


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINE_NAMES",
    "CallOutcome",
    "EngineDivergence",
    "ExecutionEngine",
    "PyEvmEngine",
    "ValidationError",
    "make_engine",
]
