"""How long a QBFT proposer may execute one block: the fixed bound until verification was measured, then
the larger share the adaptive gas cap protects."""

from __future__ import annotations

from co3chain.chain.chain import NodeChain
from co3chain.node.qbft_driver import (
    BUILD_BUDGET_FRACTION,
    INFORMED_BUILD_FRACTION,
    DriverSettings,
    QbftDriver,
)
from co3chain.node.txpool import TxPool
from tests.chain.helpers import VALIDATOR_KEYS, make_test_genesis


def test_execution_allowance_grows_once_verification_was_measured() -> None:
    chain = NodeChain.open(None, make_test_genesis(4))
    driver = QbftDriver(chain, TxPool(chain), VALIDATOR_KEYS[0], DriverSettings(p2p_port=0))
    timeout = driver.config.request_timeout
    assert driver._exec_allowance() == timeout * BUILD_BUDGET_FRACTION
    driver.budget.observe_build(0.2, 10_000_000)  # our own build says nothing about the others' verification
    assert driver._exec_allowance() == timeout * BUILD_BUDGET_FRACTION
    driver.budget.observe_verify(0.3, 10_000_000)
    assert driver._exec_allowance() == timeout * INFORMED_BUILD_FRACTION
    assert INFORMED_BUILD_FRACTION > BUILD_BUDGET_FRACTION
    driver.budget.observe_verify(0.1, 100)  # too light to tell anything: not a sample
    assert driver.budget.verify_samples == 1
