"""The operators' JSON-RPC client keeps what a node's refusal says (code, data) and fails in one line."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from co3chain.errors import Co3Error
from co3chain.node import localnet
from co3chain.node.rpcclient import RpcCallError, rpc_call

REVERT_DATA = "0x5c975abb"  # some custom error selector


class _Node(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        method = request["method"]
        if method == "eth_chainId":
            self._send(200, {"jsonrpc": "2.0", "id": request["id"], "result": "0x539"})
        elif method == "eth_estimateGas":
            self._send(200, {"jsonrpc": "2.0", "id": request["id"],
                             "error": {"code": 3, "message": "execution reverted", "data": REVERT_DATA}})
        elif method == "broken":
            self._send(200, b"<html>not json</html>")
        else:
            self._send(503, b"busy")

    def _send(self, status: int, body: object) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Node)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_result(url: str) -> None:
    assert rpc_call(url, "eth_chainId") == "0x539"


def test_error_object_keeps_code_and_data(url: str) -> None:
    with pytest.raises(RpcCallError) as caught:
        rpc_call(url, "eth_estimateGas", {"to": "0x" + "00" * 20})
    assert caught.value.code == 3 and caught.value.data == REVERT_DATA
    assert caught.value.rpc_message == "execution reverted"
    assert str(caught.value) == "eth_estimateGas failed: execution reverted (code 3)"
    assert isinstance(caught.value, Co3Error)  # the CLI prints it as one line and exits 1


@pytest.mark.parametrize(("method", "needle"), [("broken", "did not answer JSON"), ("other", "answered HTTP 503")])
def test_not_json_rpc(url: str, method: str, needle: str) -> None:
    with pytest.raises(RpcCallError, match=needle) as caught:
        rpc_call(url, method)
    assert caught.value.code is None


def test_unreachable() -> None:
    with pytest.raises(RpcCallError, match="cannot reach node RPC at http://127.0.0.1:9/") as caught:
        rpc_call("http://127.0.0.1:9/", "eth_chainId", timeout=2)
    assert caught.value.code is None and caught.value.data is None


def test_local_network_tooling_sees_its_own_error_type(url: str) -> None:
    """``network up`` and the test harness wait and retry on LocalnetError only."""
    with pytest.raises(localnet.LocalnetError, match="execution reverted"):
        localnet.rpc_call(url, "eth_estimateGas", {})
