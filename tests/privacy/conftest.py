"""Privacy tests reuse the oracle's eth-tester reward suite (in-process 2-of-3 operators) and the API's world."""

from tests.api.conftest import suite_artifacts, world  # noqa: F401  (pytest fixtures)
from tests.oracle.conftest import services, suite, tester_w3  # noqa: F401  (pytest fixtures)
