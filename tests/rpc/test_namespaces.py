"""``[rpc] apis``: which JSON-RPC namespaces a node serves (Besu's ``--rpc-http-api``).

A node whose RPC is bound to a non-loopback address must not let strangers vote for validators or add peers:
by default it then serves only ``eth``, ``net`` and ``web3``; a disabled method answers -32604 in one line.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from co3chain.node.config import ConfigError, RpcConfig, is_loopback_host, load_config
from co3chain.rpc.dispatch import CallContext, Dispatcher
from co3chain.rpc.errors import METHOD_NOT_ENABLED, METHOD_NOT_FOUND


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.0.0.9", True), ("localhost", True),
                                                ("::1", True), ("[::1]", True), ("0.0.0.0", False),
                                                ("10.0.0.2", False), ("pa1.example.org", False), ("::", False)])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_default_namespaces_follow_the_bind_address() -> None:
    assert RpcConfig(host="127.0.0.1").enabled_namespaces() is None  # the operator's own tools: everything
    assert RpcConfig(host="0.0.0.0").enabled_namespaces() == {"eth", "net", "web3"}
    assert RpcConfig(host="0.0.0.0", apis=("eth", "qbft")).enabled_namespaces() == {"eth", "qbft"}
    assert RpcConfig(host="127.0.0.1", apis=("eth",)).enabled_namespaces() == {"eth"}


def _config(tmp_path: Path, rpc_lines: str) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[node]\ndata_dir = "data"\ngenesis = "genesis.json"\n\n[rpc]\n{rpc_lines}\n', encoding="utf-8")
    return cfg


def test_config_reads_and_checks_apis(tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path, 'host = "0.0.0.0"\napis = ["ETH", "net", "txpool"]'))
    assert cfg.rpc.apis == ("eth", "net", "txpool")
    assert load_config(_config(tmp_path, 'host = "0.0.0.0"')).rpc.apis is None
    with pytest.raises(ConfigError, match="unknown namespace"):
        load_config(_config(tmp_path, 'apis = ["eth", "personal"]'))


def _call(d: Dispatcher, method: str) -> dict:
    body = orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []})
    return orjson.loads(asyncio.run(d.handle_bytes(body, CallContext(transport="http"))))


def test_a_disabled_namespace_answers_method_not_enabled() -> None:
    d = Dispatcher()
    d.register("eth_chainId", lambda: "0x1")
    d.register("admin_peers", lambda: [])
    assert _call(d, "admin_peers")["result"] == []
    d.namespaces = frozenset({"eth", "net", "web3"})
    assert _call(d, "eth_chainId")["result"] == "0x1"
    err = _call(d, "admin_peers")["error"]
    assert err["code"] == METHOD_NOT_ENABLED and "admin" in err["message"]
    assert _call(d, "qbft_nothing")["error"]["code"] == METHOD_NOT_FOUND  # unknown stays "not found"
