"""PA routes /v1/privacy/export and /v1/privacy/erase: API-key and registrar-role checks, one citizen's data
only, erasure of the mounted oracle's evidence, and a log line per request."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

from fastapi.testclient import TestClient

from co3chain.api.app import create_app
from co3chain.api.state import ApiState
from co3chain.oracle.events import parse_event
from co3chain.oracle.store import SqliteQueueStore
from co3chain.sdk import Client
from tests.api.conftest import CITIZENS, DEPLOYER, ORACLE_KEYS, OUTSIDER_PA, World
from tests.api.helpers import PARK, admin_call, reward
from tests.oracle.helpers import social_body

ME, THEM = CITIZENS[0].address, CITIZENS[1].address


def _seed(world: World) -> tuple[str, str]:
    pa = world.client(world.pa_key)
    expires = world.now() + 10**6
    for i, who in enumerate((ME, THEM)):
        pa.wait_for_tx(pa.register_citizen(who, bytes([i + 1]) * 32, expires).txHash)
    pa.wait_for_tx(pa.create_area(PARK, "park").txHash)
    pa.wait_for_tx(pa.create_activity(area_id=1, kind=0, token_reward=5, reputation_reward=1,
                                      starts_at=world.now() - 10, ends_at=world.now() + 10**5).txHash)
    mine = reward(world, DEPLOYER, ORACLE_KEYS, ME, 1)
    theirs = reward(world, DEPLOYER, ORACLE_KEYS, THEM, 1, n=1)
    world.sync()
    return mine, theirs


def test_export_route_returns_the_citizen_only_and_is_logged(world: World, caplog) -> None:
    mine, theirs = _seed(world)
    with caplog.at_level(logging.WARNING, logger="co3chain.privacy"):
        resp = world.http.get("/v1/privacy/export", params={"citizen": ME.lower()},
                              headers={"X-API-Key": world.pa_key})
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert data["citizen"] == ME and data["sources"] == ["api", "chain"]
    assert [r["id"] for r in data["api"]["attestations"]] == [mine]
    assert data["api"]["citizens"][0]["address"] == ME
    assert [e["args"]["id"] for e in data["chain"]["events"] if e["event"] == "AttestationAccepted"] == [mine]
    assert {"CitizenRegistered", "AttestationAccepted"} <= {e["event"] for e in data["chain"]["events"]}
    text = json.dumps(data).lower()
    assert THEM.lower() not in text and theirs not in text
    assert any("privacy export of " + ME in r.getMessage() and "Comune di Test" in r.getMessage()
               for r in caplog.records)


def test_privacy_routes_need_a_registrar_pa_key_and_a_valid_address(world: World) -> None:
    url = "/v1/privacy/export"
    assert world.http.get(url, params={"citizen": ME}).status_code == 401
    outsider = world.http.get(url, params={"citizen": ME}, headers={"X-API-Key": world.outsider_key})
    assert outsider.status_code == 403 and outsider.json()["error"]["code"] == "missing_role"
    bad = world.http.get(url, params={"citizen": "0x1234"}, headers={"X-API-Key": world.pa_key})
    assert bad.status_code == 400 and "not an address" in bad.json()["error"]["message"]
    # Without an oracle mounted there is nothing this API can erase.
    no_oracle = world.http.post("/v1/privacy/erase", params={"citizen": ME}, headers={"X-API-Key": world.pa_key})
    assert no_oracle.status_code == 503


def test_erase_route_erases_the_mounted_oracle_queue(world: World, tmp_path) -> None:
    queue = SqliteQueueStore(tmp_path / "queue.db")
    for who, event_id in ((ME, "mine"), (THEM, "theirs")):
        body = social_body(event_id, citizen=who)
        queue.insert_received(parse_event("social", "social", body, b"\x05" * 32), body, 1, "sig", 1.0)
    oracle = SimpleNamespace(operator=SimpleNamespace(store=queue), store=queue, start_worker=lambda: None,
                             stop=lambda: None)
    state = ApiState(chain=world.state.chain, store=world.state.store, indexer=world.state.indexer,
                     relayer=None, keys=world.state.keys, run_indexer=False, oracle=oracle)
    with TestClient(create_app(state)) as http:
        before = http.get("/v1/privacy/export", params={"citizen": ME}, headers={"X-API-Key": world.pa_key}).json()
        assert [e["event_id"] for e in before["oracle"]["events"]] == ["mine"]
        assert before["oracle"]["events"][0]["body"]["evidence_url"] == "https://social.example/mine"
        outcome = Client("http://testserver", api_key=world.pa_key, http=http).privacy_erase(ME)
        assert outcome["erased"] == 1 and outcome["complete"] is True
        after = http.get("/v1/privacy/export", params={"citizen": ME}, headers={"X-API-Key": world.pa_key}).json()
    (event,) = after["oracle"]["events"]
    assert event["body"] is None and event["evidence_salt"] is None and event["state"] == "rejected"
    theirs = queue.items_of_citizen(THEM)[0]
    assert theirs.body and theirs.evidence_salt  # the other citizen is untouched
    queue.close()


def test_a_registrar_of_another_pa_cannot_read_my_citizens(world: World) -> None:
    _seed(world)
    registrar = world.contract("CitizenRegistry").functions.REGISTRAR_ROLE().call()
    admin_call(world, DEPLOYER, "CitizenRegistry", "grantRole", registrar, OUTSIDER_PA.address)
    other = world.http.get("/v1/privacy/export", params={"citizen": ME}, headers={"X-API-Key": world.outsider_key})
    assert other.status_code == 403 and other.json()["error"]["code"] == "other_pa"
    # An address the index does not know may be asked by any registrar (e.g. oracle-only data).
    unknown = world.http.get("/v1/privacy/export", params={"citizen": CITIZENS[3].address},
                             headers={"X-API-Key": world.outsider_key})
    assert unknown.status_code == 200 and unknown.json()["api"]["citizens"] == []


def test_another_officer_of_the_same_pa_may_answer_but_not_one_of_another_pa(world: World) -> None:
    """Two registry officers of one PA serve each other's citizens: the check compares the PAs the timelock
    bound the accounts to (``paOf``), not the two addresses."""
    _seed(world)
    registry = world.contract("CitizenRegistry").functions
    admin_call(world, DEPLOYER, "CitizenRegistry", "grantRole", registry.REGISTRAR_ROLE().call(), OUTSIDER_PA.address)
    admin_call(world, DEPLOYER, "CitizenRegistry", "setAccountPa", OUTSIDER_PA.address, 2)
    other = world.http.get("/v1/privacy/export", params={"citizen": ME}, headers={"X-API-Key": world.outsider_key})
    assert other.status_code == 403 and other.json()["error"]["code"] == "other_pa"
    registering_pa = registry.paOf(world.state.store.query("SELECT registrar FROM citizens")[0]["registrar"]).call()
    assert registering_pa != 0
    admin_call(world, DEPLOYER, "CitizenRegistry", "setAccountPa", OUTSIDER_PA.address, registering_pa)
    same = world.http.get("/v1/privacy/export", params={"citizen": ME}, headers={"X-API-Key": world.outsider_key})
    assert same.status_code == 200, same.text
    assert same.json()["citizen"] == ME
