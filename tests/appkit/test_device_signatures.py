"""Device signatures as EIP-712 typed data: any language signs the same bytes; the old format is refused with
what to sign; a mismatch names the first differing field."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from co3chain.oracle.device import device_domain, sign_device, social_message
from co3chain.oracle.events import PayloadError, parse_event
from co3chain.oracle.geometry import AreaGeometry
from co3chain.oracle.store import SqliteQueueStore
from co3chain.oracle.validation import ValidationPolicy, Validator
from tests.oracle.helpers import (
    CITIZEN,
    CITIZEN_KEY,
    HUB_ADDRESS,
    INSIDE,
    SQUARE,
    T0,
    FakeChain,
    checkin_body,
)

REPO = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")


@pytest.fixture
def validator(tmp_path):
    store = SqliteQueueStore(tmp_path / "q.db")
    yield Validator(FakeChain(), store, {1: AreaGeometry.from_geojson(1, SQUARE)}, ValidationPolicy())
    store.close()


def verdict(validator: Validator, body: bytes, kind: str = "ar"):
    return validator.validate(parse_event("src", kind, body), T0)


def test_python_signed_checkin_is_accepted(validator) -> None:
    v = verdict(validator, checkin_body())
    assert v.ok, v.reason


def test_old_float_format_is_refused_with_what_to_sign() -> None:
    old = {"event_id": "x", "citizen": CITIZEN, "area_id": 1, "activity_id": 1, "lat": 12.0, "lon": 7.0,
           "accuracy_m": 5.0, "timestamp": T0, "device_signature": "0x" + "11" * 65}
    with pytest.raises(PayloadError) as err:
        parse_event("src", "ar", json.dumps(old).encode())
    text = str(err.value)
    assert "no longer accepted" in text and "lat_e6" in text and "EIP-712" in text
    assert "CheckIn(string eventId,address citizen" in text and "CO3 Device" in text
    # Rows queued before the upgrade still parse (nothing accepted is lost).
    assert parse_event("src", "ar", json.dumps(old).encode(), allow_legacy=True).device_signature_ok is False


def test_mismatch_names_the_first_differing_field(validator) -> None:
    body = json.loads(checkin_body())
    signed = {"domain": {**device_domain(31337, HUB_ADDRESS)},
              "message": {"eventId": body["event_id"], "citizen": body["citizen"], "areaId": 1, "activityId": 1,
                          "latE6": body["lat_e6"], "lonE6": body["lon_e6"], "accuracyMm": body["accuracy_mm"],
                          "timestampMs": body["timestamp_ms"]}}
    tampered = dict(body, lon_e6=body["lon_e6"] + 1, device_signed=signed)
    v = verdict(validator, json.dumps(tampered).encode())
    assert not v.ok and "lonE6" in v.reason and str(body["lon_e6"]) in v.reason
    wrong_chain = dict(body, device_signed={**signed, "domain": {**signed["domain"], "chainId": 1}})
    wrong_chain["accuracy_mm"] += 1
    v = verdict(validator, json.dumps(wrong_chain).encode())
    assert not v.ok and "domain.chainId" in v.reason
    # Without the echo the reason spells out the message and the domain to sign.
    v = verdict(validator, json.dumps(dict(body, lat_e6=body["lat_e6"] + 1)).encode())
    assert not v.ok and "verifyingContract" in v.reason and "latE6" in v.reason


def test_signature_for_another_chain_is_rejected(validator) -> None:
    v = verdict(validator, checkin_body(chain_id=1))
    assert not v.ok and "device signature does not match" in v.reason


def _social(**extra) -> dict:
    return {"event_id": "so-9", "type": "post", "citizen": CITIZEN, "area_id": 1, "activity_id": 2,
            "timestamp_ms": (T0 - 60) * 1000, "evidence_url": "https://social.example/so-9", **extra}


def test_device_signed_social_contribution(validator) -> None:
    body = _social(lat_e6=round(INSIDE[0] * 1e6), lon_e6=round(INSIDE[1] * 1e6), accuracy_mm=4000)
    msg = social_message(event_id="so-9", citizen=CITIZEN, kind="post", area_id=1, activity_id=2,
                         timestamp_ms=body["timestamp_ms"], evidence_hash=keccak(text=body["evidence_url"]),
                         lat_e6=body["lat_e6"], lon_e6=body["lon_e6"], accuracy_mm=4000)
    body["device_signature"] = sign_device(CITIZEN_KEY, "SocialContribution", device_domain(31337, HUB_ADDRESS), msg)
    v = verdict(validator, json.dumps(body).encode(), "social")
    assert v.ok, v.reason
    v = verdict(validator, json.dumps(dict(body, activity_id=3)).encode(), "social")
    assert not v.ok and "device signature does not match" in v.reason
    with pytest.raises(PayloadError, match="timestamp_ms"):
        parse_event("src", "social", json.dumps(dict(body, timestamp=T0, timestamp_ms=None)).encode())


JS_SIGNER = r"""
import { Wallet } from "ethers";
import { privateKeyToAccount } from "viem/accounts";
const [key, domainJson, msgJson, typesJson] = process.argv.slice(2);
const domain = JSON.parse(domainJson), message = JSON.parse(msgJson), types = JSON.parse(typesJson);
const ethersSig = await new Wallet(key).signTypedData(domain, { CheckIn: types }, message);
const viemSig = await privateKeyToAccount(key).signTypedData({ domain, types: { CheckIn: types },
  primaryType: "CheckIn", message });
console.log(JSON.stringify({ ethersSig, viemSig }));
"""


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_checkin_signed_by_ethers_and_viem_is_accepted(validator, tmp_path) -> None:
    from co3chain.oracle.device import CHECKIN_TYPE

    body = json.loads(checkin_body())
    del body["device_signature"]
    message = {"eventId": body["event_id"], "citizen": body["citizen"], "areaId": 1, "activityId": 1,
               "latE6": body["lat_e6"], "lonE6": body["lon_e6"], "accuracyMm": body["accuracy_mm"],
               "timestampMs": body["timestamp_ms"]}
    script = REPO / "tests" / "appkit" / f"_sign_checkin_{tmp_path.name}.mjs"  # inside the repo so node resolves node_modules
    script.write_text(JS_SIGNER)
    try:
        out = subprocess.run([NODE, str(script), "0x" + CITIZEN_KEY.hex(), json.dumps(device_domain(31337, HUB_ADDRESS)),
                              json.dumps(message), json.dumps(CHECKIN_TYPE)], capture_output=True, text=True,
                             timeout=60, check=True).stdout
    finally:
        script.unlink()
    sigs = json.loads(out)
    assert sigs["ethersSig"] == sigs["viemSig"]
    v = verdict(validator, json.dumps(dict(body, device_signature=sigs["ethersSig"])).encode())
    assert v.ok, v.reason
    assert Account.from_key(CITIZEN_KEY).address == CITIZEN
