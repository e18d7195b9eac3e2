"""``co3chain ops``: each PA/merchant operation from the command line, against the API (in-process app)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from eth_utils import keccak

from co3chain.cli import cli
from co3chain.sdk import ops_cli
from tests.api.conftest import CITIZENS, DEPLOYER, ORACLE_KEYS, World
from tests.api.helpers import PARK, admin_call, reward
from tests.api.test_relay_flows import _ok, _register


@pytest.fixture
def run(world: World, monkeypatch):
    monkeypatch.setattr(ops_cli, "make_client", lambda _url, key: world.client(key))
    monkeypatch.setenv("CO3_API_KEY", world.pa_key)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(cli, ["ops", *args], catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    return invoke


def test_cli_operations(world: World, run) -> None:
    pa, anon = world.client(world.pa_key), world.client()
    alice, bob = CITIZENS[:2]
    _register(world, pa, alice, bob)
    out = json.loads(run("--json", "citizen", "revoke", bob.address, "--reason", "citizen-request").output)
    assert out["status"] == "success" and anon.citizen(bob.address).revoked
    bad = run("citizen", "renew", bob.address, "--expires-at", str(world.now() + 10**6), ok=False)
    assert "CitizenIsRevoked" in bad.output and bad.output.count("\n") <= 2  # one readable line
    assert "success" in run("citizen", "renew", alice.address, "--expires-at", str(world.now() + 10**7)).output

    _ok(pa, pa.create_area(PARK, "ipfs://park").txHash)
    now = world.now()
    _ok(pa, pa.create_activity(1, kind=0, starts_at=now - 10, ends_at=now + 10**6, token_reward=40).txHash)
    reward(world, DEPLOYER, ORACLE_KEYS, alice.address, 1)
    created = pa.create_proposal(description="cli", vote_start=world.now() + 3600, vote_end=world.now() + 7200)
    _ok(pa, created.txHash)
    run("cancel-proposal", created.proposalId)
    assert anon.proposal(created.proposalId).state == "Canceled"
    run("close-activity", "1")
    assert anon.activity(1).closedAt > 0
    run("close-area", "1")
    assert anon.area(1).closedAt > 0

    shop = CITIZENS[3].address
    call = json.loads(run("--json", "service", "council-call", shop, "--accept").output)
    assert "not accepted" in run("service", "show", shop).output  # council call printed, nothing sent
    token = world.contract("CommonsToken")
    fn, args = token.decode_function_input(call["data"])
    admin_call(world, DEPLOYER, "CommonsToken", fn.fn_name, *args.values())
    assert "accepted (spends burned)" in run("service", "show", shop).output
    _ok(anon, anon.spend(alice, shop, 15, keccak(text="lunch"), world.now() + 3600).txHash)
    world.sync()
    rows = list(csv.reader(io.StringIO(run("service", "statement", shop).output)))
    assert rows[1][4:6] == [alice.address, "15"] and rows[-1][:1] == ["total"] and rows[-1][5] == "15"
    assert json.loads(run("service", "statement", shop, "--format", "json").output)["total"] == "15"


def test_cli_needs_the_key_in_the_environment(world: World, run, monkeypatch) -> None:
    monkeypatch.delenv("CO3_API_KEY")
    result = run("close-area", "1", ok=False)
    assert "$CO3_API_KEY" in result.output


def test_cli_oracle_signer_rotation_prints_the_council_call(world: World, run) -> None:
    hub = world.contract("AttestationHub")
    signers = [CITIZENS[0].address, CITIZENS[1].address, CITIZENS[2].address]
    call = json.loads(run("--json", "rotate-oracle-signers", *signers, "--threshold", "2").output)
    fn, args = hub.decode_function_input(call["data"])
    assert call["to"] == hub.address and sorted(args["signers_"]) == sorted(signers) and args["threshold_"] == 2
    assert "2-of-3" in run("rotate-oracle-signers", *signers, "--threshold", "2").output
    assert "majority" in run("rotate-oracle-signers", *signers, "--threshold", "1", ok=False).output
