"""Privacy tests reuse the oracle's eth-tester reward suite and its in-process 2-of-3 operators."""

from tests.oracle.conftest import services, suite, tester_w3  # noqa: F401  (pytest fixtures)
