"""PA writes (API keys, on-chain role checks, rate limits), areas with off-chain GeoJSON, and the common
error body for every kind of bad request."""

from __future__ import annotations

import copy

import pytest
from eth_utils import keccak

from co3chain.oracle.geometry import geometry_hash
from co3chain.sdk import ApiClientError, Client
from tests.api.conftest import CITIZENS, World
from tests.api.helpers import PARK


def _ok(client: Client, tx_hash: str) -> None:
    assert client.wait_for_tx(tx_hash, timeout=10).status == "success"


def _error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]["message"]


def test_area_geometry_is_stored_off_chain_and_hash_checked(world: World) -> None:
    pa, anon = world.client(world.pa_key), world.client()
    created = pa.create_area(PARK, "ipfs://park")
    assert created.geometryHash == "0x" + geometry_hash(PARK).hex()
    _ok(pa, created.txHash)
    area = anon.area(1)
    assert area.geometryVerified and area.geometry == PARK and area.geometryHash == created.geometryHash
    now = world.now()
    _ok(pa, pa.create_activity(1, kind=3, starts_at=now, ends_at=now + 100, token_reward=10).txHash)
    world.sync()
    assert [a.id for a in anon.areas()] == [1]
    assert anon.areas()[0].geometry == PARK
    assert [(a.id, a.kind, a.tokenReward) for a in anon.area_activities(1)] == [(1, 3, "10")]
    assert anon.activity(1).endsAt == now + 100

    other = copy.deepcopy(PARK)
    other["coordinates"][0][1] = [9.2, 45.46]
    with pytest.raises(ApiClientError) as info:
        pa.upload_geometry(1, other)
    assert (info.value.status, info.value.code) == (409, "geometry_mismatch")
    assert pa.upload_geometry(1, PARK).geometryVerified


def test_unknown_objects_are_404(world: World) -> None:
    pa = world.client(world.pa_key)
    _error(world.http.get("/v1/areas/999"), 404, "unknown_area")
    _error(world.http.get("/v1/activities/7"), 404, "unknown_activity")
    _error(world.http.get("/v1/areas/999/activities"), 404, "unknown_area")
    _error(world.http.get("/v1/attestations/0x" + "00" * 32), 404, "unknown_attestation")
    _error(world.http.get("/v1/no/such/route"), 404, "not_found")
    now = world.now()
    with pytest.raises(ApiClientError) as info:
        pa.create_activity(999, kind=0, starts_at=now, ends_at=now + 1)
    assert (info.value.status, info.value.code) == (404, "unknown_area")
    with pytest.raises(ApiClientError) as info:
        pa.create_proposal(description="x", vote_start=now + 5, vote_end=now + 10, area_id=999)
    assert (info.value.status, info.value.code) == (404, "unknown_area")


def test_pa_writes_need_a_key_and_the_role(world: World) -> None:
    body = {"address": CITIZENS[0].address, "identityHash": "0x" + keccak(text="id").hex(), "expiresAt": 2**40}
    _error(world.http.post("/v1/citizens", json=body), 401, "missing_api_key")
    _error(world.http.post("/v1/citizens", json=body, headers={"X-API-Key": "co3_wrong"}), 401, "invalid_api_key")
    message = _error(world.http.post("/v1/citizens", json=body, headers={"X-API-Key": world.outsider_key}),
                     403, "missing_role")
    assert "REGISTRAR_ROLE" in message
    ok = world.http.post("/v1/citizens", json=body, headers={"X-API-Key": world.pa_key})
    assert ok.status_code == 202 and ok.json()["txHash"].startswith("0x")
    # Registering twice: the registry's custom error comes back before a transaction is sent.
    again = world.http.post("/v1/citizens", json=body, headers={"X-API-Key": world.pa_key})
    assert "AlreadyRegistered" in _error(again, 422, "contract_rejected")
    # An area manager that does not manage the area may not add activities.
    pa = world.client(world.pa_key)
    with pytest.raises(ApiClientError) as info:  # a keyless client on the same transport stays keyless
        world.client().register_citizen(CITIZENS[2].address, b"\x05" * 32, 2**40)
    assert (info.value.status, info.value.code) == (401, "missing_api_key")
    _ok(pa, pa.create_area(PARK, "", managing_pa=CITIZENS[1].address).txHash)
    now = world.now()
    activity = {"kind": 0, "startsAt": now, "endsAt": now + 10}
    _error(world.http.post("/v1/areas/1/activities", json=activity, headers={"X-API-Key": world.pa_key}),
           403, "not_area_manager")


def test_rate_limit_answers_429_with_retry_after(world: World) -> None:
    headers = {"X-API-Key": world.limited_key}
    first = world.http.post("/v1/proposals", json={"description": "x", "voteStart": 1, "voteEnd": 2}, headers=headers)
    _error(first, 403, "missing_role")
    second = world.http.post("/v1/proposals", json={"description": "x", "voteStart": 1, "voteEnd": 2},
                             headers=headers)
    _error(second, 429, "rate_limited")
    assert int(second.headers["Retry-After"]) >= 1


def test_relay_endpoints_are_budgeted_per_client(world: World) -> None:
    from co3chain.api.auth import ClientLimiter

    world.state.relay_limiter = ClientLimiter(0.001, 2)
    for _ in range(2):  # within budget: the request reaches validation
        assert world.http.post("/v1/relay/vote", json={}).status_code == 422
    third = world.http.post("/v1/relay/vote", json={})
    _error(third, 429, "rate_limited")
    assert int(third.headers["Retry-After"]) >= 1
    # a forged X-Forwarded-For from an untrusted peer does not buy a fresh budget
    _error(world.http.post("/v1/relay/delegate", json={}, headers={"X-Forwarded-For": "203.0.113.7"}),
           429, "rate_limited")
    # reads and PA routes are not charged to the relay budget
    assert world.http.get("/v1/health").status_code == 200


def test_oversized_and_malformed_bodies(world: World) -> None:
    big = {"geometry": {"type": "Polygon", "coordinates": [[[0.0, 0.0]] * 1000]}, "metadataURI": ""}
    _error(world.http.post("/v1/areas", json=big, headers={"X-API-Key": world.pa_key}), 413, "payload_too_large")

    def chunks():
        for _ in range(10):
            yield b"x" * 1000

    _error(world.http.post("/v1/relay/vote", content=chunks(), headers={"content-type": "application/json"}),
           413, "payload_too_large")
    message = _error(world.http.post("/v1/relay/vote", json={"proposalId": "1", "support": 7}), 422,
                     "validation_error")
    assert "support" in message
    _error(world.http.post("/v1/relay/vote", content=b"{not json", headers={"content-type": "application/json"}),
           422, "validation_error")
    _error(world.http.get("/v1/citizens/0x1234"), 422, "validation_error")
    _error(world.http.get("/v1/proposals/" + "9" * 79), 422, "validation_error")
    vote = {"proposalId": str(2**256), "support": 1, "voter": CITIZENS[0].address, "nonce": "0",
            "signature": "0x" + "11" * 65}
    _error(world.http.post("/v1/relay/vote", json=vote), 422, "validation_error")
    vote["proposalId"] = "1"
    _error(world.http.post("/v1/relay/vote", json=vote), 400, "invalid_signature")
    _error(world.http.delete("/v1/health"), 405, "method_not_allowed")
    bad_geometry = {"geometry": {"type": "Point", "coordinates": [9.1, 45.4]}}
    _error(world.http.post("/v1/areas", json=bad_geometry, headers={"X-API-Key": world.pa_key}), 422,
           "invalid_geometry")


def test_openapi_docs_are_served(world: World) -> None:
    assert world.http.get("/docs").status_code == 200
    spec = world.http.get("/openapi.json").json()
    assert "/v1/relay/vote" in spec["paths"] and "/v1/citizens/{address}" in spec["paths"]
    assert spec["components"]["securitySchemes"]["ApiKey"]["name"] == "X-API-Key"


def test_unexpected_crash_still_answers_with_the_error_body(world: World) -> None:
    from fastapi.testclient import TestClient

    def boom() -> None:
        raise RuntimeError("bug")

    world.app.add_api_route("/v1/_boom", boom)
    with TestClient(world.app, raise_server_exceptions=False) as http:
        _error(http.get("/v1/_boom"), 500, "internal_error")
