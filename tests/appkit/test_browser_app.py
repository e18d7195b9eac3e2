"""A browser app served from another origin checks in and casts a relayed vote with ``@co3chain/sdk``.

Headless Chromium loads a small citizen app (``clients/js/test/browser``, bundled with esbuild as any app
would be) from an origin that is not the API's; the API allows that origin through ``[cors]``. The app signs
a check-in (forwarded by its own same-origin backend, which holds the webhook secret) and a vote (relayed by
the API, cross-origin), then reports to its origin. The test checks the outcome on chain, not only the report.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from co3chain.oracle.auth import Source, sign_headers
from co3chain.sdk import Client
from tests.anvil import ANVIL, free_port

REPO = Path(__file__).resolve().parents[2]
JS = REPO / "clients" / "js"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
ESBUILD = JS / "node_modules" / ".bin" / "esbuild"

pytestmark = [
    pytest.mark.slow, pytest.mark.anvil,
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)"),
    pytest.mark.skipif(not ANVIL.exists(), reason="anvil not installed (npm ci)"),
    pytest.mark.skipif(shutil.which("node") is None, reason="node not installed"),
]

CITIZEN = Account.from_key(keccak(text="browser app citizen"))


def _bundle(out: Path) -> None:
    if not ESBUILD.exists():
        pytest.fail("clients/js dependencies are not installed: run `make clients-js`")
    subprocess.run(["npm", "run", "build", "--silent"], cwd=JS, check=True, capture_output=True, timeout=180)
    subprocess.run([str(ESBUILD), "test/browser/app.mjs", "--bundle", "--format=esm", "--platform=browser",
                    f"--outfile={out}"], cwd=JS, check=True, capture_output=True, timeout=120)


def _app_server(port: int, files: dict[str, tuple[bytes, str]], config: dict[str, Any], api_url: str,
                source: Source, reports: list[dict[str, Any]]) -> ThreadingHTTPServer:
    """The app's origin: static files, ``/config.json``, the AR backend forwarder and ``/report``."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            if self.path == "/config.json":
                return self._send(200, json.dumps(config).encode(), "application/json")
            if self.path in files:
                body, ctype = files[self.path]
                return self._send(200, body, ctype)
            self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/ar-backend/checkin":  # server side: the only place the source secret lives
                resp = httpx.post(f"{api_url}/v1/oracle/webhooks/ar/checkin", content=body, timeout=10,
                                  headers={**sign_headers(source, body, int(time.time())),
                                           "Content-Type": "application/json"})
                return self._send(resp.status_code, resp.content, "application/json")
            if self.path == "/report":
                reports.append(json.loads(body))
                return self._send(204, b"", "text/plain")
            self._send(404, b"not found", "text/plain")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


APP_PORT = free_port()
APP_ORIGIN = f"http://127.0.0.1:{APP_PORT}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from tests.appkit.js_stack import js_stack

    with js_stack(tmp_path_factory.mktemp("stack"), [APP_ORIGIN]) as info:
        yield info


def _headless(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHROMIUM), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(("page", "rendered"), [("/docs", 'class="opblock'), ("/redoc", "api-content")])
def test_docs_render_in_chromium_with_no_network(stack, tmp_path: Path, page: str, rendered: str) -> None:
    """Every host but loopback unresolvable: the page must still render from the API's own assets."""
    out = _headless([f"--user-data-dir={tmp_path / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                     "--virtual-time-budget=15000", "--dump-dom", stack["apiUrl"] + page], timeout=120)
    assert rendered in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]
    assert "/v1/meta" in out.stdout


def test_browser_app_on_another_origin_checks_in_and_votes(stack, tmp_path: Path) -> None:
    bundle = tmp_path / "app.js"
    _bundle(bundle)
    app_port, app_origin = APP_PORT, APP_ORIGIN
    api_url = stack["apiUrl"]
    assert app_origin != api_url
    pa = Client(api_url, api_key=stack["paKey"])
    anon = Client(api_url)
    assert anon.wait_for_tx(pa.register_citizen(CITIZEN.address, keccak(text="browser"), 2**40).txHash).status \
        == "success"
    w3 = Web3(HTTPProvider(stack["rpcUrl"]))
    now = int(w3.eth.get_block("latest")["timestamp"])
    created = pa.create_proposal(description="Browser ballot", vote_start=now + 5, vote_end=now + 3600)
    assert anon.wait_for_tx(created.txHash).status == "success"
    w3.provider.make_request("evm_increaseTime", [10])
    w3.provider.make_request("evm_mine", [])

    config = {"apiUrl": api_url, "citizenKey": "0x" + CITIZEN.key.hex(), "areaId": stack["areaId"],
              "activityId": stack["activityId"], "inside": stack["inside"], "proposalId": created.proposalId,
              "nowMs": (now - 5) * 1000}
    files = {"/": ((JS / "test" / "browser" / "index.html").read_bytes(), "text/html"),
             "/app.js": (bundle.read_bytes(), "text/javascript")}
    reports: list[dict[str, Any]] = []
    source = Source(stack["source"]["name"], "ar", stack["source"]["secret"].encode())
    server = _app_server(app_port, files, config, api_url, source, reports)
    browser = subprocess.Popen(
        [str(CHROMIUM), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--remote-debugging-port=0", app_origin + "/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not reports and time.monotonic() < deadline and browser.poll() is None:
            time.sleep(0.2)
    finally:
        if browser.poll() is None:
            os.killpg(browser.pid, signal.SIGTERM)
            try:
                browser.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(browser.pid, signal.SIGKILL)
        server.shutdown()
    assert reports, "the browser app never reported (see clients/js/test/browser/app.mjs)"
    report = reports[0]
    assert report["ok"], report.get("error")
    assert report["origin"] == app_origin
    assert report["checkinState"] == "confirmed" and report["voteStatus"] == "success"
    # The chain agrees: the vote is counted and the citizen was rewarded for the check-in.
    assert anon.proposal(created.proposalId).results.for_ == "1"
    assert int(anon.citizen(CITIZEN.address).balance) > 0
