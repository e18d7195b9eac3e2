"""``node init`` / ``network genesis`` / ``node join`` and the one-line start errors, through the CLI;
the membership policy and the admin_ peer methods in process."""

from __future__ import annotations

import asyncio
import json
import socket
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_keys import keys as eth_keys

from co3chain.chain.genesis import load_genesis
from co3chain.cli import cli
from co3chain.keys import load_private_key
from co3chain.node.config import load_config
from co3chain.node.membership import PeerAdmin, PeerMembership
from co3chain.node.onboarding import genesis_hash
from co3chain.p2p import P2PNode
from co3chain.rpc.admin_methods import register_admin_methods
from co3chain.rpc.dispatch import CallContext, Dispatcher
from co3chain.rpc.errors import RpcError


def run(*args: str, env: dict[str, str] | None = None, ok: bool = True) -> str:
    res = CliRunner().invoke(cli, list(args), env=env)
    if ok:
        assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture(scope="module")
def two_pas(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    root = tmp_path_factory.mktemp("pas")
    a = json.loads(run("node", "init", "--dir", str(root / "a"), "--p2p-host", "pa-a.example.org",
                       "--p2p-port", "30310", "--rpc-port", "18601", "--json"))
    b = json.loads(run("node", "init", "--dir", str(root / "b"), "--p2p-port", "30311", "--rpc-port", "18602",
                       "--json"), )
    return root, a, b


def test_node_init_prints_public_identity_and_keeps_key_private(two_pas: tuple[Path, dict, dict]) -> None:
    root, a, _b = two_pas
    d = root / "a"
    key = load_private_key(d / "key.json", (d / "password").read_text().strip())
    pub = eth_keys.PrivateKey(key).public_key
    assert a["address"] == pub.to_checksum_address()
    assert a["peer"] == f"{pub.to_bytes().hex()}@pa-a.example.org:30310"
    assert a["p2p_bind"] == "0.0.0.0"  # a public advertised host binds every interface
    for name in ("key.json", "password"):
        assert stat.S_IMODE((d / name).stat().st_mode) == 0o600
    assert key.hex() not in (d / "identity.json").read_text()
    again = CliRunner().invoke(cli, ["node", "init", "--dir", str(d)])
    assert again.exit_code == 1 and "already exists" in again.output


def test_node_init_with_password_from_environment(tmp_path: Path) -> None:
    out = json.loads(run("node", "init", "--dir", str(tmp_path / "c"), "--json",
                         env={"CO3CHAIN_PASSWORD": "from-the-vault"}))
    assert not (tmp_path / "c" / "password").exists()
    key = load_private_key(tmp_path / "c" / "key.json", "from-the-vault")
    assert eth_keys.PrivateKey(key).public_key.to_checksum_address() == out["address"]


def test_genesis_from_public_addresses_and_join(two_pas: tuple[Path, dict, dict]) -> None:
    root, a, b = two_pas
    gpath = root / "shared" / "genesis.json"
    out = run("network", "genesis", "--chain-id", "77", "--validator", a["address"], "--validator", b["address"],
              "--block-period", "2", "--alloc", f"{b['address']}=5", "--out", str(gpath))
    genesis = load_genesis(gpath)
    digest = "0x" + genesis_hash(genesis).hex()
    assert f"genesis hash: {digest}" in out
    assert genesis.chain_id == 77 and genesis.block_period == 2
    assert genesis.validators == sorted(bytes.fromhex(x["address"][2:]) for x in (a, b))
    # join: our own peer string is skipped, the genesis copied next to the config
    joined = json.loads(run("node", "join", "--dir", str(root / "a"), "--genesis", str(gpath),
                            "--peer", a["peer"], "--peer", b["peer"], "--json"))
    assert joined["genesisHash"] == digest and joined["validator"] is True
    cfg = load_config(root / "a" / "config.toml")
    assert cfg.genesis == (root / "a" / "genesis.json").resolve()
    assert [str(p) for p in cfg.p2p.peers] == [b["peer"]]
    assert cfg.p2p.host == "0.0.0.0" and cfg.p2p.advertised == "pa-a.example.org" and cfg.p2p.port == 30310
    assert cfg.rpc.host == "127.0.0.1" and cfg.rpc.port == 18601
    assert cfg.password_file == (root / "a" / "password").resolve()
    again = CliRunner().invoke(cli, ["node", "join", "--dir", str(root / "a"), "--genesis", str(gpath)])
    assert again.exit_code == 1 and "--force" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--validator", "0x1234"], "is not an address"),
        (["--validator", "0x" + "11" * 20, "--validator", "0x" + "11" * 20], "twice"),
        (["--validator", "0x" + "11" * 20, "--block-period", "0"], "at least 1"),
        (["--validator", "0x" + "11" * 20, "--gas-limit", "20999"], "--gas-limit must be between 21,000"),
        (["--validator", "0x" + "11" * 20, "--gas-limit", str(2**63)], "(2^63 - 1)"),
    ],
)
def test_network_genesis_rejects_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    res = CliRunner().invoke(cli, ["network", "genesis", "--chain-id", "5", "--out", str(tmp_path / "g.json"), *args])
    assert res.exit_code == 1 and message in res.output
    assert res.output.count("\n") == 1


def test_node_join_rejects_bad_peer(two_pas: tuple[Path, dict, dict], tmp_path: Path) -> None:
    root, _a, _b = two_pas
    g = tmp_path / "g.json"
    run("network", "genesis", "--chain-id", "5", "--validator", "0x" + "11" * 20, "--out", str(g))
    res = CliRunner().invoke(cli, ["node", "join", "--dir", str(root / "b"), "--genesis", str(g),
                                   "--peer", "abcd@host:1"])
    assert res.exit_code == 1 and "--peer" in res.output and "64 bytes" in res.output
    res = CliRunner().invoke(cli, ["node", "join", "--dir", str(tmp_path / "nothing"), "--genesis", str(g)])
    assert res.exit_code == 1 and "node init" in res.output


# -- one-line start errors ----------------------------------------------------------------------------
@pytest.fixture()
def solo(tmp_path: Path) -> Path:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        p2p_port = s.getsockname()[1]
    ident = json.loads(run("node", "init", "--dir", str(tmp_path / "n"), "--rpc-port", "0", "--p2p-port",
                           str(p2p_port), "--json"))
    run("network", "genesis", "--chain-id", "5", "--validator", ident["address"], "--out", str(tmp_path / "g.json"))
    run("node", "join", "--dir", str(tmp_path / "n"), "--genesis", str(tmp_path / "g.json"))
    return tmp_path / "n"


def test_start_port_in_use_is_one_line(solo: Path) -> None:
    cfg = load_config(solo / "config.toml")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        text = (solo / "config.toml").read_text().replace("port = 0", f"port = {port}", 1)
        (solo / "config.toml").write_text(text)
        assert load_config(solo / "config.toml").rpc.port == port != cfg.rpc.port
        res = CliRunner().invoke(cli, ["node", "start", "--config", str(solo / "config.toml")])
    assert res.exit_code == 1
    assert f"rpc port 127.0.0.1:{port} is not available" in res.output and res.output.count("\n") == 1


def test_start_unreadable_keystore_is_one_line(solo: Path) -> None:
    (solo / "key.json").chmod(0o600)
    (solo / "key.json").write_text("{not json")
    res = CliRunner().invoke(cli, ["node", "start", "--config", str(solo / "config.toml")])
    assert res.exit_code == 1 and "keystore" in res.output and res.output.count("\n") == 1


def test_start_with_another_networks_genesis_is_one_line(solo: Path) -> None:
    from co3chain.chain.chain import NodeChain

    chain = NodeChain.open(solo / "data", load_genesis(solo / "genesis.json"))  # data dir of this network
    chain.close()
    doc = json.loads((solo / "genesis.json").read_text())
    doc["gasLimit"] = hex(12_345_678)
    (solo / "genesis.json").write_text(json.dumps(doc))
    res = CliRunner().invoke(cli, ["node", "start", "--config", str(solo / "config.toml")])
    assert res.exit_code == 1 and "another network" in res.output and res.output.count("\n") == 1


# -- membership policy and admin_ methods -------------------------------------------------------------
def _pub(seed: int) -> bytes:
    return eth_keys.PrivateKey(bytes([seed]) * 32).public_key.to_bytes()


def _addr(seed: int) -> bytes:
    return eth_keys.PrivateKey(bytes([seed]) * 32).public_key.to_canonical_address()


def test_voted_out_validator_is_refused_even_when_statically_listed() -> None:
    v1, v2, v3 = _addr(1), _addr(2), _addr(3)
    observer = _pub(9)
    m = PeerMembership([_pub(3), observer], [(v1, v2, v3)], (v1, v2, v3))
    assert _pub(3) in m.allowlist((v1, v2, v3), [])
    added, removed = m.on_validator_set((v1, v2))
    assert removed == {v3} and not added
    entries = m.allowlist((v1, v2), [])
    assert _pub(3) not in entries and v3 not in entries
    assert observer in entries  # a static non-validator peer is the operator's choice
    assert _pub(3) in m.allowlist((v1, v2), [v3])  # voting it back in admits it again
    m.on_validator_set((v1, v2, v3))
    assert _pub(3) in m.allowlist((v1, v2, v3), [])
    # history read at boot: a set that once held v3
    booted = PeerMembership([_pub(3)], [(v1, v2, v3), (v1, v2)], (v1, v2))
    assert booted.former_validators == {v3} and _pub(3) not in booted.allowlist((v1, v2), [])


def test_admin_peer_methods() -> None:
    async def scenario() -> None:
        node = P2PNode(bytes([1]) * 32, "127.0.0.1", 0, allowed_pubkeys=[])
        membership = PeerMembership([], [(_addr(1), _addr(5))], (_addr(1),))  # _addr(5) was voted out
        admin = PeerAdmin(node, membership, lambda: node.update_allowlist(membership.allowlist((_addr(1),), [])))
        d = Dispatcher()
        register_admin_methods(d, admin)
        ctx = CallContext("http")
        observer = f"enode://{_pub(9).hex()}@127.0.0.1:30999"
        assert await d.call("admin_addPeer", [observer], ctx) is True
        assert node.is_allowed(_pub(9)) and [e.pubkey for e in node.static_peers] == [_pub(9)]
        with pytest.raises(RpcError, match="removed from the validator set"):
            await d.call("admin_addPeer", [f"{_pub(5).hex()}@127.0.0.1:30998"], ctx)
        with pytest.raises(RpcError, match="public key"):
            await d.call("admin_addPeer", ["nope@1.2.3.4:1"], ctx)
        assert await d.call("admin_peers", [], ctx) == []
        assert await d.call("admin_removePeer", [observer], ctx) is True
        assert not node.is_allowed(_pub(9)) and node.static_peers == []
        assert await d.call("admin_removePeer", [observer], ctx) is False

    asyncio.run(scenario())


def test_bind_and_advertised_p2p_addresses_are_separate(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from co3chain.node.service import NodeService

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ident = json.loads(run("node", "init", "--dir", str(tmp_path / "n"), "--p2p-host", "pa9.example.org",
                           "--p2p-bind", "127.0.0.1", "--p2p-port", str(port), "--rpc-port", "0", "--json"))
    assert ident["peer"].endswith(f"@pa9.example.org:{port}") and ident["p2p_bind"] == "127.0.0.1"
    run("network", "genesis", "--chain-id", "5", "--validator", ident["address"], "--validator", "0x" + "11" * 20,
        "--out", str(tmp_path / "g.json"))
    run("node", "join", "--dir", str(tmp_path / "n"), "--genesis", str(tmp_path / "g.json"))
    cfg = load_config(tmp_path / "n" / "config.toml")

    async def scenario() -> None:
        svc = NodeService(cfg)
        await svc.start()
        try:
            for _ in range(50):
                if svc.producer is not None and svc.producer.p2p.running:
                    break
                await asyncio.sleep(0.1)
            # listens on the bind address only
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
        finally:
            await svc.stop()

    with caplog.at_level(logging.INFO, logger="co3chain.node.qbft"):
        asyncio.run(scenario())
    assert f"listening 127.0.0.1:{port} peer {ident['pubkey']}@pa9.example.org:{port}" in caplog.text
