"""POST /v1/citizens with a raw ``identityReference``: the API hashes it with the consortium identity key of
``[privacy]`` (so the key never sits on an officer's computer) and the chain gets exactly the HMAC that
``co3chain privacy identity-hash`` computes; without a key, or with both or neither field, a clear 4xx/503."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from co3chain.api.app import create_app
from co3chain.api.config import ApiConfigError, parse_config
from co3chain.api.state import ApiState
from co3chain.privacy.identity import identity_hash, new_key_file
from co3chain.sdk import Client
from tests.api.conftest import CITIZENS, World

KEY = bytes(range(32))


def _with_key(world: World, key: bytes | None) -> TestClient:
    s = world.state
    state = ApiState(chain=s.chain, store=s.store, indexer=s.indexer, relayer=s.relayer, keys=s.keys,
                     run_indexer=False, identity_key=key)
    return TestClient(create_app(state))


def test_the_api_hashes_a_raw_reference_with_the_consortium_key(world: World) -> None:
    with _with_key(world, KEY) as http:
        pa = Client("http://testserver", api_key=world.pa_key, http=http)
        accepted = pa.register_citizen(CITIZENS[2].address, None, 2**40, identity_reference=" rssmra80a01l219x ")
        pa.wait_for_tx(accepted.txHash)
    record = world.contract("CitizenRegistry").functions.getCitizen(CITIZENS[2].address).call()
    assert record[0] == identity_hash(KEY, "RSSMRA80A01L219X", "fiscal-code")  # same as the CLI's hash


def test_refusals_are_clear(world: World) -> None:
    body = {"address": CITIZENS[3].address, "expiresAt": 2**40}
    with _with_key(world, None) as http:
        no_key = http.post("/v1/citizens", json={**body, "identityReference": "X1"},
                           headers={"X-API-Key": world.pa_key})
        assert no_key.status_code == 503 and no_key.json()["error"]["code"] == "identity_key_unavailable"
        both = http.post("/v1/citizens", json={**body, "identityReference": "X1", "identityHash": "0x" + "11" * 32},
                         headers={"X-API-Key": world.pa_key})
        neither = http.post("/v1/citizens", json=body, headers={"X-API-Key": world.pa_key})
        assert both.status_code == 422 and neither.status_code == 422
        assert "exactly one of identityHash or identityReference" in both.text
    with _with_key(world, KEY) as http:
        bad_kind = http.post("/v1/citizens", json={**body, "identityReference": "X1", "referenceKind": "fiscal code!"},
                             headers={"X-API-Key": world.pa_key})
        assert bad_kind.status_code == 422 and bad_kind.json()["error"]["code"] == "invalid_identity_reference"


def test_privacy_table_loads_the_encrypted_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    new_key_file(tmp_path / "identity-key.json", "pw-identity", key=KEY, scrypt_n=2**10)
    monkeypatch.setenv("CO3_IDENTITY_KEY_PASSWORD", "pw-identity")
    cfg = parse_config({"privacy": {"identity_key_file": "identity-key.json",
                                    "password_env": "CO3_IDENTITY_KEY_PASSWORD"}}, tmp_path)
    assert cfg.identity_key is not None and cfg.identity_key.load() == KEY
    assert parse_config({}, tmp_path).identity_key is None
    with pytest.raises(ApiConfigError, match="unknown keys"):
        parse_config({"privacy": {"identity_key_file": "k.json", "key": "0x00"}}, tmp_path)
    monkeypatch.delenv("CO3_IDENTITY_KEY_PASSWORD")
    with pytest.raises(ApiConfigError, match="CO3_IDENTITY_KEY_PASSWORD"):
        cfg.identity_key.load()
