"""PA and merchant operations through the API and the Python SDK: revoke/renew, cancel, close, services
(council calldata, not sent) and the merchant statement in JSON and CSV."""

from __future__ import annotations

import csv
import io

import pytest
from eth_utils import keccak

from co3chain.privacy.revocation import RevocationReason
from co3chain.sdk import ApiClientError
from tests.api.conftest import CITIZENS, DEPLOYER, ORACLE_KEYS, World
from tests.api.helpers import PARK, admin_call, reward
from tests.api.test_relay_flows import _ok, _register


def _expect(status: int, code: str, fn, *args, **kw) -> ApiClientError:
    with pytest.raises(ApiClientError) as err:
        fn(*args, **kw)
    assert (err.value.status, err.value.code) == (status, code), err.value
    return err.value


def test_registrar_revokes_and_renews(world: World) -> None:
    pa, outsider, anon = world.client(world.pa_key), world.client(world.outsider_key), world.client()
    alice, bob = CITIZENS[:2]
    _register(world, pa, alice, bob)
    _ok(anon, pa.renew_citizen(alice.address, world.now() + 10**7).txHash)
    assert anon.citizen(alice.address).expiresAt > world.now() + 10**7 - 100
    _expect(403, "missing_role", outsider.revoke_citizen, bob.address, RevocationReason.KEY_COMPROMISED)
    _ok(anon, pa.revoke_citizen(bob.address, RevocationReason.KEY_COMPROMISED).txHash)
    assert anon.citizen(bob.address).revoked
    logs = world.contract("CitizenRegistry").events.CitizenRevoked().get_logs(from_block=0)
    assert [(e["args"]["citizen"], e["args"]["reasonCode"]) for e in logs] == [(bob.address, 1)]
    _expect(422, "validation_error", pa.revoke_citizen, alice.address, 9)  # codes stop at 4
    _expect(422, "contract_rejected", pa.renew_citizen, bob.address, world.now() + 10**7)  # revoked: no renewal


def test_area_manager_closes_activities_and_areas_and_proposer_cancels(world: World) -> None:
    pa, outsider, anon = world.client(world.pa_key), world.client(world.outsider_key), world.client()
    _ok(pa, pa.create_area(PARK, "ipfs://park").txHash)
    now = world.now()
    for _ in range(2):
        _ok(pa, pa.create_activity(1, kind=0, starts_at=now - 10, ends_at=now + 10**6, token_reward=5).txHash)
    _expect(403, "not_area_manager", outsider.close_activity, 1)
    _ok(anon, pa.close_activity(1).txHash)
    assert anon.activity(1).closedAt > 0 and anon.activity(2).closedAt == 0
    _expect(404, "unknown_activity", pa.close_activity, 99)
    _ok(anon, pa.close_area(1).txHash)
    assert anon.area(1).closedAt > 0
    _expect(422, "contract_rejected", pa.close_area, 1)  # already closed

    created = pa.create_proposal(description="to cancel", vote_start=world.now() + 3600,
                                 vote_end=world.now() + 7200)
    _ok(anon, created.txHash)
    _expect(403, "not_proposer", outsider.cancel_proposal, created.proposalId)
    _ok(anon, pa.cancel_proposal(created.proposalId).txHash)
    assert anon.proposal(created.proposalId).state == "Canceled"


def test_services_go_through_the_council_and_statements_add_up(world: World) -> None:
    pa, anon = world.client(world.pa_key), world.client()
    alice = CITIZENS[0]
    shop = CITIZENS[3].address
    _register(world, pa, alice)
    _ok(pa, pa.create_area(PARK, "ipfs://park").txHash)
    now = world.now()
    _ok(pa, pa.create_activity(1, kind=0, starts_at=now - 10, ends_at=now + 10**6, token_reward=50).txHash)
    reward(world, DEPLOYER, ORACLE_KEYS, alice.address, 1)
    assert anon.service(shop) == {"service": shop, "accepted": False, "burnOnSpend": False}

    call = pa.service_council_call(shop, accepted=True, burn_on_spend=True)
    token = world.contract("CommonsToken")
    assert call["to"] == token.address and call["function"] == "setService(address,bool,bool)"
    assert anon.service(shop)["accepted"] is False  # nothing was sent
    # The council's executor (here still the deployer, the admin of this test deployment) runs the call.
    fn, args = token.decode_function_input(call["data"])
    admin_call(world, DEPLOYER, "CommonsToken", fn.fn_name, *args.values())
    assert anon.service(shop)["accepted"] is True

    t0 = world.now()
    for amount, label in ((20, "bus"), (5, "museum")):
        _ok(anon, anon.spend(alice, shop, amount, keccak(text=label), world.now() + 3600).txHash)
    assert pa.service_statement(shop)["count"] == 0  # not indexed yet: the statement says up to which block
    world.sync()
    statement = pa.service_statement(shop)
    assert (statement["count"], statement["total"], statement["burned"]) == (2, "25", "25")
    assert statement["indexedBlock"] == world.w3.eth.block_number
    assert [e["amount"] for e in statement["entries"]] == ["20", "5"]
    assert all(e["owner"] == alice.address for e in statement["entries"])
    assert pa.service_statement(shop, from_ts=0, to_ts=t0 - 1)["count"] == 0
    rows = list(csv.reader(io.StringIO(pa.service_statement_csv(shop))))
    assert rows[0][:6] == ["block", "timestamp", "tx_hash", "log_index", "owner", "amount"]
    assert [r[5] for r in rows[1:]] == ["20", "5", "25"] and rows[-1][0] == "total"
    assert anon.service_statement(CITIZENS[2].address)["count"] == 0
    _expect(422, "validation_error", anon.service_statement, shop, 10, 5)


def test_spend_index_backfills_a_database_indexed_before_it_existed(world: World) -> None:
    """An API database from before the spend index: its own cursor back-fills from the token's deployment."""
    pa, anon = world.client(world.pa_key), world.client()
    alice, shop = CITIZENS[0], CITIZENS[3].address
    _register(world, pa, alice)
    _ok(pa, pa.create_area(PARK, "ipfs://park").txHash)
    now = world.now()
    _ok(pa, pa.create_activity(1, kind=0, starts_at=now - 10, ends_at=now + 10**6, token_reward=50).txHash)
    reward(world, DEPLOYER, ORACLE_KEYS, alice.address, 1)
    admin_call(world, DEPLOYER, "CommonsToken", "setService", shop, True, False)
    _ok(anon, anon.spend(alice, shop, 7, keccak(text="coffee"), world.now() + 3600).txHash)
    world.sync()
    feed_before = world.state.store.feed_head()
    with world.state.store.write() as db:  # as if the table had just been added to an old database
        db.execute("DELETE FROM spends")
        db.execute("DELETE FROM meta WHERE key = 'last_spend_block'")
    assert anon.service_statement(shop)["count"] == 0
    world.sync()
    statement = anon.service_statement(shop)
    assert (statement["count"], statement["total"], statement["burned"]) == (1, "7", "0")
    assert world.state.store.feed_head() == feed_before  # nothing re-announced on the event feed


def test_oracle_signer_rotation_is_a_council_call(world: World) -> None:
    from eth_account import Account

    anon = world.client()
    hub = world.contract("AttestationHub")
    new = sorted((Account.from_key(keccak(text=f"new oracle {i}")).address for i in range(3)), key=lambda a: int(a, 16))
    call = anon.oracle_signers_council_call(list(reversed(new)), 2)
    assert call["to"] == hub.address and call["function"] == "setSigners(address[],uint256)"
    fn, args = hub.decode_function_input(call["data"])
    assert fn.fn_name == "setSigners" and list(args["signers_"]) == new and args["threshold_"] == 2
    version = hub.functions.signerSetVersion().call()
    assert hub.functions.signerSetVersion().call() == version  # nothing sent
    admin_call(world, DEPLOYER, "AttestationHub", "setSigners", new, 2)  # the executor runs it
    assert hub.functions.signerSetVersion().call() == version + 1
    _expect(422, "validation_error", anon.oracle_signers_council_call, new, 1)  # not a majority
    _expect(422, "validation_error", anon.oracle_signers_council_call, [new[0], new[0]], 1)
