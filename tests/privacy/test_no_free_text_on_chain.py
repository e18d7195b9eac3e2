"""No personal free text reaches the chain: revocations carry a bounded code, and no function or event of the
contracts that handle citizens takes a string."""

from __future__ import annotations

import time

import pytest
from eth_account import Account
from eth_utils import keccak

from co3chain.contracts.artifacts_dev import artifact
from co3chain.privacy.revocation import MAX_REVOCATION_REASON, RevocationReason
from tests.oracle.chain_helpers import register_citizen

PERSON_CONTRACTS = ("CitizenRegistry", "AttestationHub", "Reputation", "CommonsToken")


def _types(entries: list[dict]) -> list[str]:
    out = []
    for e in entries:
        out.append(e["type"])
        out += _types(e.get("components", []))
    return out


@pytest.mark.parametrize("name", PERSON_CONTRACTS)
def test_no_string_parameter_about_a_person(name: str) -> None:
    abi = artifact(name)["abi"]
    offenders = [item.get("name") for item in abi if item.get("type") in ("function", "event")
                 and "string" in _types(item.get("inputs", []))
                 and item.get("name") not in ("name", "symbol", "version", "CLOCK_MODE", "eip712Domain")]
    assert offenders == []


def test_revocation_codes_are_bounded_and_emitted(suite) -> None:
    assert suite.registry.functions.MAX_REVOCATION_REASON().call() == MAX_REVOCATION_REASON
    person = Account.create().address
    register_citizen(suite, person, int(time.time()) + 86_400)
    fn = suite.registry.functions
    selector = keccak(text="InvalidRevocationReason(uint8)")[:4]
    with pytest.raises(Exception) as err:  # noqa: PT011  (eth-tester's exception type varies; data checked)
        fn.revoke(person, MAX_REVOCATION_REASON + 1).call({"from": suite.admin.address})
    assert repr(selector + (MAX_REVOCATION_REASON + 1).to_bytes(32, "big")) in str(err.value)
    receipt = suite.call(suite.registry, "revoke", person, RevocationReason.KEY_COMPROMISED)
    (event,) = suite.registry.events.CitizenRevoked().process_receipt(receipt)
    assert event["args"]["reasonCode"] == RevocationReason.KEY_COMPROMISED
    assert set(event["args"]) == {"citizen", "identityHash", "reasonCode", "registrar"}
