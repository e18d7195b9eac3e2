"""oracle.toml parsing: paths, secrets from env, key loading (keystore and env), clear errors."""

from __future__ import annotations

import json

import pytest
from eth_account import Account

from co3chain.keys import KeystoreError
from co3chain.oracle.config import ConfigError, KeySpec, load_config, load_db_url
from co3chain.oracle.geometry import AreaGeometry, GeometryError
from tests.oracle.helpers import SIGNER_KEYS, SQUARE

BASE = """
[oracle]
db = "q/oracle.db"
listen = "0.0.0.0:9000"
attestation_ttl = 3600

[[sources]]
name = "ar-app"
kind = "ar"
secret_env = "TEST_AR_SECRET"

[chain]
rpc_url = "http://127.0.0.1:8545"
hub = "0x00000000000000000000000000000000000000a1"
areas = "0x00000000000000000000000000000000000000a2"
registry = "0x00000000000000000000000000000000000000a3"

[signer]
keystore = "k.json"
password_file = "k.pass"

[validation]
max_accuracy_m = 25

[[areas]]
id = 3
geojson = "a.geojson"

[[cosigners]]
url = "http://peer:9000"
"""


def write(tmp_path, text: str):
    path = tmp_path / "oracle.toml"
    path.write_text(text)
    return path


def test_full_config(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TEST_AR_SECRET", "s" * 20)
    cfg = load_config(write(tmp_path, BASE))
    assert cfg.db == str(tmp_path / "q" / "oracle.db") and load_db_url(tmp_path / "oracle.toml") == cfg.db
    assert (cfg.host, cfg.port, cfg.attestation_ttl) == ("0.0.0.0", 9000, 3600)
    assert cfg.sources[0].secret == b"s" * 20 and cfg.policy.max_accuracy_m == 25
    assert cfg.areas == {3: tmp_path / "a.geojson"} and cfg.cosigners == ["http://peer:9000"]
    assert cfg.signer.keystore == tmp_path / "k.json" and cfg.submit is True


def test_keystore_key_is_decrypted(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TEST_AR_SECRET", "s" * 20)
    ks = Account.encrypt(SIGNER_KEYS[0], "pw", kdf="scrypt", iterations=2**10)
    (tmp_path / "k.json").write_text(json.dumps(ks))
    (tmp_path / "k.pass").write_text("pw\n")
    assert load_config(write(tmp_path, BASE)).signer.load() == SIGNER_KEYS[0]
    (tmp_path / "k.pass").write_text("wrong\n")
    with pytest.raises(KeystoreError, match="wrong password"):
        load_config(write(tmp_path, BASE)).signer.load()


def test_env_private_key(monkeypatch) -> None:
    monkeypatch.setenv("K", "0x" + SIGNER_KEYS[1].hex())
    assert KeySpec(private_key_env="K").load() == SIGNER_KEYS[1]
    monkeypatch.setenv("K", "abcd")
    with pytest.raises(ConfigError, match="32-byte"):
        KeySpec(private_key_env="K").load()
    with pytest.raises(ConfigError, match="not set"):
        KeySpec(private_key_env="NOPE_NOT_SET").load()


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace('secret_env = "TEST_AR_SECRET"', 'secret_env = "UNSET_VAR_X"'), "UNSET_VAR_X"),
    (lambda t: t.replace('listen = "0.0.0.0:9000"', 'listen = "nowhere"'), "host:port"),
    (lambda t: t.replace('rpc_url = "http://127.0.0.1:8545"', ""), "rpc_url"),
    (lambda t: t.replace('hub = "0x00000000000000000000000000000000000000a1"', ""), "manifest"),
    (lambda t: t.replace("max_accuracy_m = 25", "max_accuracy_m = -1"), "positive"),
    (lambda t: t.replace("max_accuracy_m = 25", "bogus = 1"), "bogus"),
    (lambda t: t + "\n[oracle\n", "not valid TOML"),
])
def test_config_errors(tmp_path, monkeypatch, edit, message) -> None:
    monkeypatch.setenv("TEST_AR_SECRET", "s" * 20)
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, edit(BASE)))


def test_area_geometry_files(tmp_path) -> None:
    (tmp_path / "a.geojson").write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": SQUARE}))
    geom = AreaGeometry.from_file(3, tmp_path / "a.geojson")
    assert geom.contains(45.071, 7.6855) and not geom.contains(45.08, 7.6855)
    (tmp_path / "b.geojson").write_text(json.dumps({"type": "Point", "coordinates": [7.6, 45.0]}))
    with pytest.raises(GeometryError, match="Polygon"):
        AreaGeometry.from_file(3, tmp_path / "b.geojson")
    swapped = {"type": "Polygon", "coordinates": [[[45.0, 7.0], [45.0, 200.0], [46.0, 7.0], [45.0, 7.0]]]}
    with pytest.raises(GeometryError, match="lon/lat"):
        AreaGeometry.from_geojson(1, swapped)


def test_cli_status_and_errors(tmp_path) -> None:
    from click.testing import CliRunner

    from co3chain.cli import cli
    from co3chain.oracle.store import SqliteQueueStore

    SqliteQueueStore(tmp_path / "q.db").close()
    runner = CliRunner()
    result = runner.invoke(cli, ["oracle", "status", "--db", str(tmp_path / "q.db"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["queue"]["received"] == 0
    result = runner.invoke(cli, ["oracle", "status", "--db", str(tmp_path / "missing.db")])
    assert result.exit_code == 1 and "no oracle queue" in result.output
    result = runner.invoke(cli, ["oracle", "run", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 1 and "not found" in result.output
    (tmp_path / "a.geojson").write_text(json.dumps(SQUARE))
    result = runner.invoke(cli, ["oracle", "geometry-hash", str(tmp_path / "a.geojson")])
    assert result.output.strip() == "0x" + AreaGeometry.from_geojson(1, SQUARE).hash.hex()


def test_privacy_time_resolution_and_submit_schedule(tmp_path, monkeypatch) -> None:
    """Issue 19: [privacy] time_resolution (default one hour) and [submitter] schedule_seconds (default 0)."""
    from co3chain.errors import Co3Error
    from co3chain.oracle.retention import retention_days_of

    monkeypatch.setenv("TEST_AR_SECRET", "s" * 20)
    default = load_config(write(tmp_path, BASE))
    assert (default.time_resolution, default.submitter.schedule_seconds) == (3600, 0)
    assert default.submitter.release_open(1_800_000_123.0)
    text = BASE + "\n[privacy]\nretention_days = 10\ntime_resolution = 900\n" \
                  "\n[submitter]\nschedule_seconds = 600\nschedule_window_seconds = 30\n"
    cfg = load_config(write(tmp_path, text))
    assert (cfg.time_resolution, cfg.retention.retention_days) == (900, 10)
    assert retention_days_of(tmp_path / "oracle.toml") == 10  # the shared table is still read by retention
    sub = cfg.submitter
    assert (sub.schedule_seconds, sub.schedule_window_seconds) == (600, 30)
    assert sub.release_open(1200.0) and sub.release_open(1229.9) and not sub.release_open(1230.0)
    assert sub.next_release(1230.0) == 1800.0 and sub.next_release(1201.0) == 1201.0
    for bad in ("0", "90000", "1.5"):
        with pytest.raises(ConfigError, match="time_resolution|time resolution"):
            load_config(write(tmp_path, BASE + f"\n[privacy]\ntime_resolution = {bad}\n"))
    with pytest.raises(Co3Error, match="schedule_window_seconds"):
        load_config(write(tmp_path, BASE + "\n[submitter]\nschedule_seconds = 10\nschedule_window_seconds = 60\n"))


def test_read_token_of_the_event_listings(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TEST_AR_SECRET", "s" * 20)
    assert load_config(write(tmp_path, BASE)).read_token is None  # listings closed by default
    with_token = BASE.replace('attestation_ttl = 3600', 'attestation_ttl = 3600\nread_token_env = "TEST_READ"')
    monkeypatch.setenv("TEST_READ", "r" * 24)
    assert load_config(write(tmp_path, with_token)).read_token == "r" * 24
    monkeypatch.setenv("TEST_READ", "short")
    with pytest.raises(ConfigError, match="at least 16 characters"):
        load_config(write(tmp_path, with_token))
    monkeypatch.delenv("TEST_READ")
    with pytest.raises(ConfigError, match="TEST_READ"):
        load_config(write(tmp_path, with_token))
