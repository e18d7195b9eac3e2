"""Lost-key recovery through the API, the Python SDK and ``co3chain recovery`` (in-process app on eth-tester).

A citizen earns tokens and reputation, a registrar initiates a recovery to a rogue key, the old key cancels it
by a relayed signature (no ETH), a second recovery is refused before the delay and then finalized: identity,
tokens and reputation are at the new key, the index lists every step and the event feed announced it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from click.testing import CliRunner
from eth_account import Account
from eth_utils import keccak

from co3chain.cli import cli
from co3chain.recovery.typed_data import cancel_digest, cancel_typed_data
from co3chain.sdk import ops_cli
from co3chain.sdk.recovery import RecoveryClient
from tests.api.conftest import CITIZENS, DEPLOYER, ORACLE_KEYS, World
from tests.api.helpers import PARK, reward
from tests.api.test_relay_flows import _expect, _ok, _register

DEFAULT_DELAY = 7 * 24 * 3600


def _fresh(tag: str) -> Account:
    return Account.from_key(keccak(text=f"api recovery new key {tag}"))


def _earn(world: World, pa, citizen: str) -> None:
    _ok(pa, pa.create_area(PARK, "ipfs://park").txHash)
    now = world.now()
    _ok(pa, pa.create_activity(1, kind=0, starts_at=now - 10, ends_at=now + 10**7, token_reward=40,
                               reputation_reward=7).txHash)
    reward(world, DEPLOYER, ORACLE_KEYS, citizen, 1)


def _initiated(world: World, rc: RecoveryClient, old: str, new: str) -> int:
    _ok(rc.client, rc.initiate(old, new).txHash)
    return rc.settings().recoveryCount


def test_recovery_flow_through_api_and_sdk(world: World) -> None:
    pa, anon = world.client(world.pa_key), world.client()
    registrar, public = RecoveryClient(pa), RecoveryClient(anon)
    alice, bob = CITIZENS[:2]
    _register(world, pa, alice, bob)
    _earn(world, pa, alice.address)
    before = anon.citizen(alice.address)
    assert int(before.balance) > 0 and int(before.reputation.global_) > 0

    settings = public.settings()
    assert settings.delaySeconds == DEFAULT_DELAY and settings.recoveryCount == 0
    assert (settings.minDelaySeconds, settings.maxDelaySeconds) == (10, 60 * 24 * 3600)
    _expect(401, "missing_api_key", public.initiate, alice.address, _fresh("x").address)
    _expect(403, "missing_role", RecoveryClient(world.client(world.outsider_key)).initiate, alice.address,
            _fresh("x").address)
    _expect(422, "contract_rejected", registrar.initiate, alice.address, bob.address)  # new key registered
    _expect(404, "unknown_recovery", public.status, 1)

    # 1. A recovery to a key the citizen does not hold: the old key cancels it by a relayed signature.
    rogue = _fresh("rogue")
    rid = _initiated(world, registrar, alice.address, rogue.address)
    rec = public.status(rid)
    assert (rec.status, rec.oldAccount, rec.newAccount, rec.registrar) == (
        "Pending", alice.address, rogue.address, DEPLOYER.address)
    assert rec.executableAt - rec.initiatedAt == DEFAULT_DELAY and rec.secondsUntilExecutable > 0
    world.sync()
    feed = [json.loads(r["data"]) for r in world.state.store.feed_after(0, 1000) if r["type"] == "recovery"]
    assert feed[-1]["event"] == "initiated" and feed[-1]["oldAccount"] == alice.address
    (item,) = public.history(alice.address).items
    assert (item.event, item.recoveryId, item.newAccount, item.by) == ("initiated", rid, rogue.address,
                                                                     DEPLOYER.address)

    deadline = world.now() + 600
    typed = anon._request("GET", f"/v1/recoveries/{rid}/cancel-typed-data", params={"deadline": deadline})["typedData"]
    kr = world.contract("KeyRecovery")
    expected = cancel_typed_data(world.state.chain.chain_id, kr.address, recovery_id=rid, old_account=alice.address,
                                 nonce=0, deadline=deadline)
    assert kr.functions.cancelDigest(rid, 0, deadline).call() == cancel_digest(typed) == cancel_digest(expected)
    wrong_signer = public.sign_cancel(bob, rid, deadline=deadline)
    _expect(400, "invalid_signature", public.relay_cancel, rid, wrong_signer)
    _expect(409, "wrong_nonce", public.relay_cancel, rid, public.sign_cancel(alice, rid, deadline=deadline, nonce=1))
    _expect(400, "signature_expired", public.relay_cancel, rid, public.sign_cancel(alice, rid, deadline=world.now() - 1))
    _ok(anon, public.cancel(alice, rid, deadline=deadline).txHash)
    assert public.status(rid).status == "Cancelled"
    _expect(409, "recovery_not_pending", public.cancel, alice, rid)
    _expect(409, "recovery_not_pending", public.finalize, rid)

    # 2. The real recovery: too early, then finalized by anyone.
    fresh = _fresh("alice")
    rid2 = _initiated(world, registrar, alice.address, fresh.address)
    _expect(409, "recovery_not_ready", public.finalize, rid2)
    call = public.council_cancel_call(rid2)
    assert call.to == kr.address and call.data == kr.encode_abi("cancel", [rid2])
    world.travel(public.status(rid2).executableAt + 1)
    _ok(anon, public.finalize(rid2).txHash)
    assert public.status(rid2).status == "Finalized"
    moved = anon.citizen(fresh.address)
    assert moved.isCitizen and moved.balance == before.balance and moved.delegate == fresh.address
    assert int(moved.reputation.global_) > 0 and int(moved.reputation.areas["1"]) > 0
    old = anon.citizen(alice.address)
    assert not old.isCitizen and int(old.balance) == 0 and int(old.reputation.global_) == 0
    world.sync()
    events = [(i.recoveryId, i.event) for i in public.history(fresh.address).items]
    assert events == [(rid2, "finalized"), (rid2, "initiated")]
    finalized = public.history(alice.address).items[0]
    assert finalized.tokens == before.balance and finalized.areaDomains == 1
    assert [i.event for i in public.history().items] == ["finalized", "initiated", "cancelled", "initiated"]
    rows = world.state.store.query("SELECT address, status FROM citizens WHERE address IN (?, ?)",
                                   (alice.address, fresh.address))
    assert {r["address"]: r["status"] for r in rows} == {alice.address: "recovered", fresh.address: "registered"}


def test_recovery_routes_are_documented(world: World) -> None:
    paths = world.http.get("/openapi.json").json()["paths"]
    for path in ("/v1/recoveries", "/v1/recoveries/{recovery_id}", "/v1/recoveries/{recovery_id}/cancel",
                 "/v1/recoveries/{recovery_id}/finalize", "/v1/recoveries/{recovery_id}/cancel-typed-data",
                 "/v1/recoveries/{recovery_id}/council-call", "/v1/recovery/settings"):
        assert path in paths, path
    assert paths["/v1/recoveries"]["post"]["security"] == [{"ApiKey": []}]


@pytest.fixture
def run(world: World, monkeypatch):
    monkeypatch.setattr(ops_cli, "make_client", lambda _url, key: world.client(key))
    monkeypatch.setenv("CO3_API_KEY", world.pa_key)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(cli, ["recovery", *args], catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    return invoke


def test_recovery_cli(world: World, run, monkeypatch) -> None:
    pa = world.client(world.pa_key)
    alice, bob = CITIZENS[2:4]
    _register(world, pa, alice, bob)
    rogue, fresh = _fresh("cli-rogue"), _fresh("cli-alice")
    assert "success" in run("initiate", alice.address, rogue.address).output
    status = json.loads(run("--json", "status", "1").output)
    assert status["status"] == "Pending" and status["newAccount"] == rogue.address
    assert "Pending" in run("status", "1").output
    wrong = run("cancel", "1", "--dev-key", bob.key.hex(), ok=False)
    assert "moves " + alice.address in wrong.output and wrong.output.count("\n") <= 2
    assert "success" in run("cancel", "1", "--dev-key", alice.key.hex(), "--deadline", str(world.now() + 600)).output
    assert json.loads(run("--json", "status", "1").output)["status"] == "Cancelled"
    run("initiate", alice.address, fresh.address)
    early = run("finalize", "2", ok=False)
    assert "recovery_not_ready" in early.output
    call = json.loads(run("--json", "council-call", "2").output)
    assert call["function"] == "cancel(uint256)"
    world.travel(world.now() + DEFAULT_DELAY + 5)
    assert "success" in run("finalize", "2").output
    world.sync()
    listing = run("list", "--account", alice.address).output
    assert "recovery 2 finalized" in listing and "recovery 1 cancelled" in listing
    assert f"by OldKeySignature {alice.address}" in listing
    monkeypatch.delenv("CO3_API_KEY")
    assert "CO3_API_KEY" in run("initiate", bob.address, _fresh("cli-bob").address, ok=False).output


def test_handover_gives_recovery_powers_to_contracts_only(tmp_path, monkeypatch, suite_artifacts) -> None:
    from tests.api.conftest import make_world

    world = make_world(tmp_path, monkeypatch, suite_artifacts, handover=True)
    try:
        addresses = {n: e["address"] for n, e in world.manifest["contracts"].items()}
        kr = world.contract("KeyRecovery")
        recovery_role = keccak(text="RECOVERY_ROLE")
        for name in ("CitizenRegistry", "CommonsToken", "Reputation"):
            c = world.contract(name)
            assert c.functions.hasRole(recovery_role, kr.address).call()
            assert not c.functions.hasRole(recovery_role, DEPLOYER.address).call()
        assert kr.functions.hasRole(keccak(text="GUARDIAN_ROLE"), addresses["ConsortiumCouncil"]).call()
        assert kr.functions.hasRole(b"\x00" * 32, addresses["ConsortiumTimelock"]).call()
        assert not kr.functions.hasRole(b"\x00" * 32, DEPLOYER.address).call()
        assert world.manifest["governance"]["recoveryDelaySeconds"] == DEFAULT_DELAY
        assert any(r["contract"] == "Reputation" and r["role"] == "RECOVERY_ROLE" and r["label"] == "KeyRecovery"
                   for r in world.manifest["roles"])
    finally:
        world.state.store.close()


def _rpc_transport(world: World, tamper=None):
    """A JSON-RPC transport over the eth-tester provider (the audit talks JSON-RPC only)."""

    def plain(value):
        return dict(value) if isinstance(value, Mapping) else "0x" + bytes(value).hex()

    def block(tag):
        return int(tag, 16) if isinstance(tag, str) and tag.startswith("0x") else tag

    def call(method: str, params: list):
        eth = world.w3.eth
        if method == "eth_getLogs":
            query = {**params[0], "address": world.w3.to_checksum_address(params[0]["address"]),
                     "fromBlock": block(params[0]["fromBlock"]), "toBlock": block(params[0]["toBlock"])}
            return eth.get_logs(query)
        if method == "eth_getBlockByNumber":
            return eth.get_block(block(params[0]))
        if method == "eth_call":
            return eth.call(params[0], block(params[1]))
        return {"eth_chainId": lambda: hex(eth.chain_id), "eth_blockNumber": lambda: hex(eth.block_number)}[method]()

    def one(req: dict) -> dict:
        try:
            result = call(req["method"], req["params"])
            resp = {"jsonrpc": "2.0", "id": req["id"], "result": result}
        except Exception as exc:
            resp = {"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32000, "message": str(exc)}}
        resp = json.loads(json.dumps(resp, default=plain))
        if tamper is not None:
            tamper(req, resp)
        return resp

    return lambda payload: [one(p) for p in payload] if isinstance(payload, list) else one(payload)


def test_audit_lists_recoveries_and_verifies_moved_balances(world: World) -> None:
    from co3chain.audit.recovery import TRANSFER, audit_recoveries
    from co3chain.audit.rpc import RpcClient

    pa, anon = world.client(world.pa_key), world.client()
    registrar, public = RecoveryClient(pa), RecoveryClient(anon)
    alice, bob = CITIZENS[:2]
    _register(world, pa, alice, bob)
    _earn(world, pa, alice.address)
    rid = _initiated(world, registrar, alice.address, _fresh("audit-rogue").address)
    _ok(anon, public.cancel(alice, rid).txHash)
    fresh = _fresh("audit-alice")
    rid2 = _initiated(world, registrar, alice.address, fresh.address)
    world.travel(public.status(rid2).executableAt + 1)
    _ok(anon, public.finalize(rid2).txHash)
    _initiated(world, registrar, bob.address, _fresh("audit-bob").address)  # still pending

    report = audit_recoveries(RpcClient(_rpc_transport(world)), world.manifest)
    assert report.passed, [f.line() for f in report.findings]
    assert (report.stats["recoveries"], report.stats["finalized"], report.stats["cancelled"],
            report.stats["pending"]) == (3, 1, 1, 1)
    rows = {r["recoveryId"]: r for r in report.checked}
    assert rows[rid]["outcome"] == "cancelled" and rows[rid]["canceller"] == "old key (signature)"
    moved = rows[rid2]
    assert moved["outcome"] == "finalized" and moved["newAccount"] == fresh.address.lower()
    assert moved["tokens"] == moved["recomputedBalance"] == anon.citizen(fresh.address).balance
    assert [f.kind for f in report.findings if f.severity == "warning"] == ["recovery-pending"]
    assert "Audit passed" in report.verdict().headline and report.verdict().listings["Recoveries"]

    # A node that inflates the old key's incoming transfers is caught by the recomputed balance.
    def inflate(req: dict, resp: dict) -> None:
        if req["method"] == "eth_getLogs" and isinstance(resp.get("result"), list):
            for lg in resp["result"]:
                if lg["topics"][0] == "0x" + TRANSFER.hex() and lg["topics"][2].endswith(alice.address[2:].lower()):
                    lg["data"] = "0x" + (int(lg["data"], 16) + 1).to_bytes(32, "big").hex()

    lied = audit_recoveries(RpcClient(_rpc_transport(world, inflate)), world.manifest)
    assert "recovery-balance" in lied.kinds()
