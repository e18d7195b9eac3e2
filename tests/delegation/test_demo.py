"""The demo's liquid-delegation step on anvil: a delegated vote counted, then overridden by a direct vote."""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import HTTPProvider, Web3

from co3chain.contracts.demo import DEV_DEPLOYER_KEY, Demo
from co3chain.contracts.demo_delegation import delegation_step
from co3chain.contracts.deploy import ArtifactSet
from tests.deploy.conftest import anvil_url, suite_artifacts  # noqa: F401

pytestmark = [pytest.mark.anvil]


def test_delegated_vote_overridden_by_a_direct_one(anvil_url: str, suite_artifacts: ArtifactSet) -> None:  # noqa: F811
    lines: list[str] = []
    demo = Demo(Web3(HTTPProvider(anvil_url)), Account.from_key(DEV_DEPLOYER_KEY), None, artifacts=suite_artifacts,
                say=lines.append)
    demo.register_citizens()
    out = delegation_step(demo)
    assert out["afterDelegation"] == {"for": 3, "against": 0, "abstain": 0}
    assert out["afterOverride"] == {"for": 2, "against": 1, "abstain": 0}
    assert out["delegatedWeightOnRepresentative"] == 1
    assert len(out["countedDelegators"]) == 2
    assert any("her delegation is overridden" in line for line in lines)
