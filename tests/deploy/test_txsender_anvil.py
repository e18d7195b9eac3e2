"""TxSender against anvil: revert reasons decoded both at estimation and for a mined, reverted tx."""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import HTTPProvider, Web3

from co3chain.contracts import deploy as dep
from co3chain.contracts.deploy import ArtifactSet, DeployError
from tests.anvil import ANVIL_KEY

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def test_reverts_are_named(anvil_url: str, suite_artifacts: ArtifactSet):
    w3 = Web3(HTTPProvider(anvil_url))
    officer = Account.from_key(ANVIL_KEY)
    sender = dep.TxSender(w3, officer, decoder=suite_artifacts.error_decoder())
    art = suite_artifacts.artifact("CitizenRegistry")
    receipt = sender.transact(
        {"data": art["bytecode"] + dep.encode_constructor_args(art["abi"], [officer.address]).hex()}, "deploying"
    )
    registry = w3.eth.contract(address=receipt["contractAddress"], abi=art["abi"])
    args = [officer.address, b"\x01" * 32, 2**40]
    expected = f"AccessControlUnauthorizedAccount({officer.address}, REGISTRAR_ROLE)"
    with pytest.raises(DeployError, match=r"registering would revert: " + expected.replace("(", r"\(").replace(")", r"\)")):
        sender.call_fn(registry, "register", args, "registering")
    # with an explicit gas limit there is no estimation: the tx is mined, reverts, and is replayed for the reason
    tx_hash = sender.send({"to": registry.address, "data": registry.encode_abi("register", args=args), "gas": 200_000},
                          "registering")
    with pytest.raises(DeployError, match=r"registering reverted \(tx 0x[0-9a-f]{64}, block \d+\): " + expected
                       .replace("(", r"\(").replace(")", r"\)")):
        sender.wait(tx_hash, "registering")
    # the local nonce stayed in step with the node after the revert
    assert sender.transact({"to": officer.address}, "self-transfer")["status"] == 1
