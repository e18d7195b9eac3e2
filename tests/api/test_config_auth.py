"""api.toml parsing, API-key hashing and the token bucket (deterministic clock)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from co3chain.api.auth import ClientLimiter, KeyRing, TokenBucket
from co3chain.api.cli import api
from co3chain.api.config import ApiConfigError, ApiKeyEntry, hash_api_key, load_config, parse_config
from co3chain.api.errors import ApiError
from co3chain.oracle.config import KeySpec


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_token_bucket_refills_at_its_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5)
    clock.t += 0.5
    assert bucket.take() == 0.0
    clock.t += 100
    assert [bucket.take() for _ in range(4)][:3] == [0.0, 0.0, 0.0]


def test_keyring_authenticates_by_hash_and_limits() -> None:
    clock = FakeClock()
    ring = KeyRing(clock)
    ring.add(ApiKeyEntry(hash_api_key("secret-1"), "PA one", KeySpec(private_key_env="X"), rate=1.0, burst=1),
             sender=object())
    assert ring.authenticate("secret-1").name == "PA one"
    with pytest.raises(ApiError) as info:
        ring.authenticate("secret-1")
    assert (info.value.status, info.value.headers["Retry-After"]) == (429, "1")
    clock.t += 1.0
    assert ring.authenticate("secret-1").name == "PA one"
    for bad, code in ((None, "missing_api_key"), ("", "missing_api_key"), ("secret-2", "invalid_api_key")):
        with pytest.raises(ApiError) as info:
            ring.authenticate(bad)
        assert (info.value.status, info.value.code) == (401, code)


def test_load_config_resolves_paths_and_validates(tmp_path: Path) -> None:
    good = tmp_path / "api.toml"
    good.write_text(f"""
[api]
db = "data/api.sqlite"
max_body_bytes = 1000
[relayer]
keystore = "relayer.json"
password_file = "relayer.pass"
client_rate = 0.5
client_burst = 3
trusted_proxies = ["127.0.0.1"]
[indexer]
poll_interval = 0.2
from_block = 5
[[keys]]
hash = "{hash_api_key('k')}"
pa = "Comune"
private_key_env = "PA_KEY"
rate = 3
burst = 4
[oracle]
config = "oracle.toml"
""")
    config = load_config(good)
    assert config.db == str(tmp_path / "data" / "api.sqlite")
    assert config.relayer.keystore == tmp_path / "relayer.json"
    assert config.max_body_bytes == 1000 and config.indexer.from_block == 5
    assert config.keys[0].pa == "Comune" and (config.keys[0].rate, config.keys[0].burst) == (3.0, 4)
    assert config.oracle_config == tmp_path / "oracle.toml"
    assert (config.relay_limits.client_rate, config.relay_limits.client_burst) == (0.5, 3)
    assert config.relay_limits.trusted_proxies == ("127.0.0.1",)
    defaults = parse_config({}, tmp_path).relay_limits
    assert (defaults.client_rate, defaults.client_burst, defaults.trusted_proxies) == (5.0, 20, ())

    bad_cases = [
        ({"keys": [{"hash": "abc", "pa": "x", "private_key_env": "K"}]}, "sha256"),
        ({"keys": [{"hash": hash_api_key("a"), "private_key_env": "K"}]}, "pa"),
        ({"keys": [{"hash": hash_api_key("a"), "pa": "x"}]}, "keystore"),
        ({"keys": [{"hash": hash_api_key("a"), "pa": "x", "private_key_env": "K", "rate": 0}]}, "rate"),
        ({"keys": [{"hash": hash_api_key("a"), "pa": "x", "private_key_env": "K"}] * 2}, "distinct"),
        ({"api": {"max_body_bytes": "big"}}, "max_body_bytes"),
        ({"indexer": {"from_block": -1}}, "from_block"),
        ({"relayer": {"password_file": "x"}}, "keystore"),
        ({"relayer": {"private_key_env": "K", "client_rate": 0}}, "client_rate"),
        ({"relayer": {"private_key_env": "K", "client_burst": "many"}}, "client_burst"),
        ({"relayer": {"private_key_env": "K", "trusted_proxies": "10.0.0.1"}}, "trusted_proxies"),
    ]
    for data, needle in bad_cases:
        with pytest.raises(ApiConfigError, match=needle):
            parse_config(data, tmp_path)
    with pytest.raises(ApiConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("[api\n")
    with pytest.raises(ApiConfigError, match="TOML"):
        load_config(tmp_path / "broken.toml")


def test_new_key_command_prints_a_key_and_its_hash() -> None:
    import json

    result = CliRunner().invoke(api, ["new-key", "--pa", "Comune", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["pa"] == "Comune" and hash_api_key(out["key"]) == out["hash"]


def test_client_limiter_budgets_each_address_and_stays_bounded() -> None:
    now = [0.0]
    limiter = ClientLimiter(1.0, 2, max_clients=3, clock=lambda: now[0])
    limiter.check("10.0.0.1")
    limiter.check("10.0.0.1")
    with pytest.raises(ApiError) as exc:
        limiter.check("10.0.0.1")
    assert exc.value.status == 429 and exc.value.headers == {"Retry-After": "1"}
    limiter.check("10.0.0.2")  # another client has its own budget
    now[0] = 1.0
    limiter.check("10.0.0.1")  # refilled
    for n in range(3, 8):
        limiter.check(f"10.0.0.{n}")
    assert len(limiter) == 3  # least recently seen addresses dropped


def test_client_limiter_trusts_forwarded_for_only_from_listed_proxies() -> None:
    limiter = ClientLimiter(1.0, 1, trusted_proxies=["127.0.0.1"])
    assert limiter.client_of("127.0.0.1", "6.6.6.6, 203.0.113.7") == "203.0.113.7"  # the hop the proxy added
    assert limiter.client_of("127.0.0.1", None) == "127.0.0.1"
    assert limiter.client_of("198.51.100.9", "203.0.113.7") == "198.51.100.9"  # spoofed header ignored
    assert limiter.client_of(None, None) == "unknown"
