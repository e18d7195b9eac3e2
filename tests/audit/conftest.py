"""Session fixtures: the compiled suite and one devnet with the deployed suite and finished proposals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from co3chain.contracts.deploy import ArtifactSet
from tests.audit.governance import GovScenario, build_artifacts, build_scenario


@pytest.fixture(scope="session")
def suite_artifacts() -> ArtifactSet:
    return build_artifacts()


@pytest.fixture(scope="session")
def gov(suite_artifacts: ArtifactSet) -> Iterator[GovScenario]:
    s = build_scenario(suite_artifacts)
    yield s
    s.devnet.close()
