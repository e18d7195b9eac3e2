"""The oracle's routes mounted under /v1/oracle (with rejected events read-only), and the relayer/PA
sender healing its local nonce counter after another process used the same account."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient

from co3chain.api.app import create_app
from co3chain.api.state import ApiState
from co3chain.oracle.auth import AuthError
from co3chain.oracle.events import ActivityKind, OracleEvent
from co3chain.oracle.store import SqliteQueueStore
from co3chain.sdk import ApiClientError, Client
from tests.api.conftest import CITIZENS, DEPLOYER, World
from tests.api.helpers import PARK, admin_call


def test_oracle_routes_are_mounted_under_v1_oracle(world: World, tmp_path) -> None:
    queue = SqliteQueueStore(str(tmp_path / "queue.sqlite"))
    event = OracleEvent(source="ar-app", source_kind="ar", event_id="e1", citizen=CITIZENS[0].address, area_id=1,
                        activity_id=1, kind=ActivityKind(0), observed_at=1, evidence_hash=b"\x01" * 32, lat=None,
                        lon=None, accuracy_m=None, device_signature_ok=None)
    item, _ = queue.insert_received(event, b"{}", 1, "sig", now=1.0)
    queue.mark_rejected(item.attestation_id, "outside the area geofence", now=2.0)
    started: list[str] = []
    def ingest(*_args, **_kw):
        raise AuthError("missing X-Co3-Signature header")

    failures: list[int] = []
    metrics = SimpleNamespace(auth_failures=SimpleNamespace(inc=lambda: failures.append(1)))
    oracle = SimpleNamespace(operator=SimpleNamespace(store=queue, ingest=ingest, metrics=metrics), store=queue,
                             start_worker=lambda: started.append("start"), stop=lambda: started.append("stop"))
    state = ApiState(chain=world.state.chain, store=world.state.store, indexer=world.state.indexer,
                     relayer=None, run_indexer=False, oracle=oracle, keys=world.state.keys)
    pa = {"X-API-Key": world.pa_key}
    with TestClient(create_app(state)) as http:
        # the listings name a citizen, an area and a time: a PA key is needed (they used to be open)
        for path in ("/v1/oracle/rejected", "/v1/oracle/events", f"/v1/oracle/events/{item.attestation_id}"):
            assert http.get(path).status_code == 401, path
            assert http.get(path, headers={"X-API-Key": "not-a-key"}).status_code == 401, path
        rejected = http.get("/v1/oracle/rejected", headers=pa).json()
        assert [(r["event_id"], r["reason"]) for r in rejected] == [("e1", "outside the area geofence")]
        assert http.get("/v1/oracle/status").json()["rejected"] == 1
        listed = http.get("/v1/oracle/events", params={"state": "rejected"}, headers=pa).json()
        assert listed[0]["state"] == "rejected"
        assert http.get(f"/v1/oracle/events/{item.attestation_id}", headers=pa).json()["event_id"] == "e1"
        status = http.get(f"/v1/oracle/events/{item.attestation_id}/status").json()  # open: names nobody
        assert status["state"] == "rejected" and "citizen" not in status
        assert Client("http://testserver", http=http).oracle_event_status(item.attestation_id)["state"] == "rejected"
        spec = http.get("/openapi.json").json()["paths"]
        assert spec["/v1/oracle/rejected"]["get"]["security"] == [{"ApiKey": []}]
        assert spec["/v1/oracle/events"]["get"]["security"] == [{"ApiKey": []}]
        unsigned = http.post("/v1/oracle/webhooks/ar/checkin", content=b"{}")
        assert unsigned.status_code == 401
        # Refused before the body is read (issue 17): the source headers are checked first.
        assert unsigned.json()["error"]["code"] == "unauthorized"
        assert unsigned.json()["error"]["message"].startswith("missing X-CO3-Source")
        assert failures == [1]
        assert "/v1/oracle/webhooks/ar/checkin" in http.get("/openapi.json").json()["paths"]
        assert Client("http://testserver", api_key=world.pa_key, http=http).oracle_rejected()[0]["event_id"] == "e1"
    assert started == ["start", "stop"]
    # Without an oracle the paths do not exist.
    assert world.http.get("/v1/oracle/rejected").status_code == 404
    queue.close()


def test_sender_resyncs_its_nonce_after_outside_transactions(world: World) -> None:
    pa = world.client(world.pa_key)
    assert pa.wait_for_tx(pa.create_area(PARK, "a").txHash).status == "success"
    # The PA's account sends a transaction behind the API's back: the API's cached nonce is now stale.
    admin_call(world, DEPLOYER, "CommonsToken", "setService", CITIZENS[3].address, True, False)
    second = pa.create_area(PARK, "b")
    assert pa.wait_for_tx(second.txHash).status == "success"
    assert pa.area(2).metadataURI == "b"


def test_relayer_without_role_is_reported_as_server_side(world: World) -> None:
    pa, anon = world.client(world.pa_key), world.client()
    pa.wait_for_tx(pa.register_citizen(CITIZENS[0].address, b"\x09" * 32, world.now() + 10**6).txHash)
    now = world.now()
    created = pa.create_proposal(description="role", vote_start=now + 5, vote_end=now + 100)
    pa.wait_for_tx(created.txHash)
    world.travel(now + 10)
    gov = world.contract("CO3Governance")
    relayer_role = gov.functions.RELAYER_ROLE().call()
    admin_call(world, DEPLOYER, "CO3Governance", "revokeRole", relayer_role, world.state.relayer.address)
    try:
        anon.vote(CITIZENS[0], created.proposalId, 1)
    except ApiClientError as exc:
        assert (exc.status, exc.code) == (503, "relayer_not_authorized")
        assert "AccessControlUnauthorizedAccount" in exc.message
    else:
        raise AssertionError("a relayer without RELAYER_ROLE must not relay")
