"""The API's transaction sender estimates gas on the pending block (where its transaction will run), and
falls back to the head once for a node that cannot (eth-tester)."""

from __future__ import annotations

import types
from typing import Any

import pytest
from eth_account import Account

from co3chain.api.sender import TxSender


class _Fn:
    """A bound contract function double: records the block each estimate asked for."""

    def __init__(self, pending_refused: bool = False, gas: int = 40_000) -> None:
        self.blocks: list[Any] = []
        self.pending_refused = pending_refused
        self.gas = gas

    def estimate_gas(self, tx: dict[str, Any], block_identifier: Any = None) -> int:
        self.blocks.append(block_identifier)
        if block_identifier == "pending" and self.pending_refused:
            raise ValueError({"code": -32601, "message": "RPC Endpoint has not been implemented: eth_estimateGas"})
        return self.gas


def _sender() -> TxSender:
    chain = types.SimpleNamespace(call=lambda fn, sender: None, translate=lambda exc: exc)
    return TxSender(chain, Account.from_key(b"\x07" * 32))  # type: ignore[arg-type]


def test_estimates_on_the_pending_block() -> None:
    fn = _Fn()
    assert _sender().preflight(fn) == int(40_000 * 1.25) + 10_000
    assert fn.blocks == ["pending"]


def test_a_node_without_pending_estimates_is_asked_on_the_head_from_then_on() -> None:
    sender, fn = _sender(), _Fn(pending_refused=True)
    sender.preflight(fn)
    sender.preflight(fn)
    assert fn.blocks == ["pending", None, None]


def test_other_estimate_errors_are_not_mistaken_for_a_missing_method() -> None:
    class Reverting(_Fn):
        def estimate_gas(self, tx: dict[str, Any], block_identifier: Any = None) -> int:
            self.blocks.append(block_identifier)
            raise ValueError({"code": 3, "message": "execution reverted"})

    fn = Reverting()
    with pytest.raises(ValueError, match="execution reverted"):
        _sender().preflight(fn)
    assert fn.blocks == ["pending"]


def test_the_deployer_estimates_through_the_same_rule() -> None:
    """co3chain.contracts.deploy.TxSender (deployments, demo steps) asks on the pending block as well."""
    from co3chain.contracts.deploy import TxSender as DeploySender
    from co3chain.contracts.estimate import PendingEstimates

    sender = DeploySender(types.SimpleNamespace(), Account.from_key(b"\x07" * 32))  # type: ignore[arg-type]
    assert isinstance(sender._estimates, PendingEstimates) and sender._estimates.on_pending
