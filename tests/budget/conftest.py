"""Fixtures for the participatory-budget tests: the eth-tester chain of tests/contracts and a wired suite."""

from __future__ import annotations

from typing import Any

import pytest

from tests.budget.helpers import BudgetSuite, build_budget_suite
from tests.contracts.conftest import accounts, deploy, tester, w3  # noqa: F401  (shared fixtures)


@pytest.fixture
def suite(w3: Any, accounts: Any, deploy: Any, tester: Any) -> BudgetSuite:  # noqa: F811
    return build_budget_suite(w3, accounts, deploy, tester)
