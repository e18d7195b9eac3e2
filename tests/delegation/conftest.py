"""Delegation tests reuse the contract tests' eth-tester fixtures."""

from tests.contracts.conftest import accounts, deploy, tester, w3  # noqa: F401
