"""``/v1/meta`` (self-configuration), CORS from ``[cors]`` (off by default) and docs served without a CDN."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from fastapi.testclient import TestClient

from co3chain.api.app import create_app
from co3chain.api.config import ApiConfigError, CorsSettings, parse_config, parse_cors
from co3chain.api.routes.meta import abi_hash
from co3chain.contracts import governance_typed_data as gtd
from co3chain.initiative import typed_data as itd
from tests.api.conftest import CITIZENS

APP = "https://app.example.org"


def test_meta_describes_chain_contracts_domains_and_abi_hashes(world) -> None:
    meta = world.http.get("/v1/meta").json()
    assert meta["chainId"] == world.w3.eth.chain_id
    for name, entry in world.manifest["contracts"].items():
        if name in meta["contracts"]:
            assert meta["contracts"][name]["address"] == entry["address"]
            assert meta["contracts"][name]["abiHash"] == abi_hash(world.contract(name).abi)
    assert {"CO3Governance", "CommonsToken", "AttestationHub"} <= set(meta["contracts"])
    domains = meta["eip712"]["domains"]
    assert domains["device"]["verifyingContract"] == world.contract("AttestationHub").address
    assert set(meta["eip712"]["actions"]) == {"vote", "commit", "delegate", "spend", "checkin", "support",
                                              "cancelRecovery", "draftInitiative", "amendInitiative",
                                              "openInitiative", "supportInitiative", "delegateVote",
                                              "undelegateVote"}  # no ParticipatoryBudget in this deployment
    assert "budget" not in domains or domains["budget"] is None
    assert domains["recovery"]["verifyingContract"] == world.contract("KeyRecovery").address
    assert domains["delegation"]["verifyingContract"] == world.contract("LiquidDelegation").address
    # An initiative support built only from /v1/meta hashes exactly like the SDK's reference message.
    initiatives = world.contract("CitizenInitiatives").address
    support = {"initiativeId": 3, "versionHash": "0x" + "ab" * 32, "supporter": CITIZENS[1].address, "nonce": 0,
               "deadline": 2**40}
    from_meta = {"types": {"EIP712Domain": meta["eip712"]["types"]["EIP712Domain"],
                           "SupportInitiative": meta["eip712"]["types"]["SupportInitiative"]},
                 "primaryType": "SupportInitiative", "domain": domains["initiative"], "message": support}
    reference = itd.support_typed_data(world.w3.eth.chain_id, initiatives, initiative_id=3,
                                       version_hash="0x" + "ab" * 32, supporter=CITIZENS[1].address, nonce=0,
                                       deadline=2**40)
    assert gtd.typed_data_digest(from_meta) == gtd.typed_data_digest(reference)
    # A client that only reads /v1/meta signs exactly what the contracts verify.
    voter = CITIZENS[0]
    typed = {"types": {"EIP712Domain": meta["eip712"]["types"]["EIP712Domain"],
                       "Ballot": meta["eip712"]["types"]["Ballot"]},
             "primaryType": "Ballot", "domain": domains["governance"],
             "message": {"proposalId": 7, "support": 1, "voter": voter.address, "nonce": 0}}
    reference = gtd.ballot_typed_data(world.w3.eth.chain_id, world.contract("CO3Governance").address,
                                      proposal_id=7, support=1, voter=voter.address, nonce=0)
    assert gtd.typed_data_digest(typed) == gtd.typed_data_digest(reference)
    sig = Account.sign_typed_data(voter.key, full_message=typed).signature
    assert Account.recover_message(encode_typed_data(full_message=reference), signature=sig) == voter.address


def test_cors_is_off_by_default(world) -> None:
    pre = world.http.options("/v1/health", headers={"Origin": APP, "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in pre.headers
    assert "access-control-allow-origin" not in world.http.get("/v1/health", headers={"Origin": APP}).headers
    assert parse_config({}, Path(".")).cors.enabled is False


def test_cors_allows_only_configured_origins(world) -> None:
    app = create_app(world.state, cors=parse_cors({"allow_origins": [APP]}))
    http = TestClient(app)
    pre = http.options("/v1/relay/vote", headers={"Origin": APP, "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "content-type"})
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == APP
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert http.get("/v1/health", headers={"Origin": APP}).headers["access-control-allow-origin"] == APP
    other = http.options("/v1/relay/vote", headers={"Origin": "https://evil.example",
                                                    "Access-Control-Request-Method": "POST"})
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    # Errors answered by the API (here 404) still carry the header, so the browser shows the message.
    missing = http.get("/v1/areas/999", headers={"Origin": APP})
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == APP


@pytest.mark.parametrize(("table", "needle"), [
    ({"allow_origins": ["https://app.example.org/"]}, "not an origin"),
    ({"allow_origins": ["app.example.org"]}, "not an origin"),
    ({"allow_origins": "https://a.example"}, "list"),
    ({"allow_origin": ["https://a.example"]}, "unknown keys"),
    ({"max_age": -1}, "max_age"),
])
def test_bad_cors_config_is_refused_with_a_readable_message(table, needle) -> None:
    with pytest.raises(ApiConfigError, match=needle):
        parse_cors(table)


def test_cors_defaults() -> None:
    assert CorsSettings().enabled is False and parse_cors({"allow_origins": ["*"]}).enabled


def _asset_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html) + re.findall(r"url:\s*'([^']+)'", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_only_local_assets_and_they_are_served(world, page) -> None:
    resp = world.http.get(page)
    assert resp.status_code == 200
    html = resp.text
    assert "cdn" not in html.lower() and "https://" not in html and "http://" not in html, html
    urls = _asset_urls(html)
    assert any(u.endswith(".js") for u in urls), urls
    for url in urls:
        got = world.http.get(url)
        assert got.status_code == 200 and len(got.content) > 0, url
    assert world.http.get("/openapi.json").json()["paths"]["/v1/meta"]


def test_python_sdk_signs_a_checkin_in_the_deployment_domain(world) -> None:
    """The SDK's check-in body verifies against the domain the oracle derives from the chain."""
    from co3chain.oracle.events import parse_event

    body = world.client().sign_checkin(CITIZENS[1], event_id="py-1", area_id=1, activity_id=1, lat_e6=45_071_000,
                                       lon_e6=7_685_500, accuracy_mm=4_000, timestamp_ms=1_800_000_000_000)
    event = parse_event("ar-app", "ar", json.dumps(body).encode())
    hub = world.contract("AttestationHub").address
    assert event.device is not None and event.device.problem(world.w3.eth.chain_id, hub, CITIZENS[1].address) is None
    assert "chainId" in event.device.problem(1, hub, CITIZENS[1].address)
