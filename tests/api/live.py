"""A real stack for slow tests and the benchmark: anvil + deployed suite + the API served by uvicorn.

Why a real server: the concurrency of the relayer (lock + local nonce), the background indexer thread and
SSE over a socket only show up with a real node and a real HTTP server.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from eth_account import Account
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from co3chain.api.app import build_state, create_app
from co3chain.api.config import new_api_key, parse_config
from co3chain.api.state import ApiState
from co3chain.contracts.deploy import ArtifactSet, deploy_suite
from tests.anvil import ANVIL_KEY, free_port, running_anvil

REPO = Path(__file__).resolve().parents[2]
RELAYER = Account.from_key(keccak(text="live api relayer"))


@contextmanager
def anvil() -> Iterator[str]:
    """anvil (cancun) on a free port; yields its URL and stops the process afterwards."""
    with running_anvil() as url:
        yield url


@dataclass
class LiveStack:
    rpc_url: str
    api_url: str
    w3: Web3
    state: ApiState
    pa_key: str
    deployer: Any

    def increase_time(self, seconds: int) -> None:
        self.w3.provider.make_request("evm_increaseTime", [seconds])
        self.w3.provider.make_request("evm_mine", [])


@contextmanager
def live_stack(tmp: Path, artifacts: ArtifactSet) -> Iterator[LiveStack]:
    """anvil with the suite deployed and the API (indexer thread running) on a free port."""
    with anvil() as rpc_url:
        w3, manifest = deploy_on(rpc_url, artifacts)
        deployer = Account.from_key(ANVIL_KEY)
        pa_key, pa_hash = new_api_key()
        os.environ["CO3_LIVE_RELAYER_KEY"] = RELAYER.key.hex()
        os.environ["CO3_LIVE_PA_KEY"] = ANVIL_KEY
        config = parse_config({
            "api": {"db": "api.sqlite"},
            # one loopback client stands for every citizen here: no per-client relay budget
            "relayer": {"private_key_env": "CO3_LIVE_RELAYER_KEY", "client_rate": 100000, "client_burst": 100000},
            "indexer": {"poll_interval": 0.2},
            "keys": [{"hash": pa_hash, "pa": "Comune Live", "private_key_env": "CO3_LIVE_PA_KEY", "rate": 1000,
                      "burst": 1000}],
        }, tmp)
        state = build_state(config, manifest, rpc_url=rpc_url, artifacts=artifacts)
        app = create_app(state)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            for _ in range(200):
                if server.started:
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError("API server did not start")
            yield LiveStack(rpc_url, f"http://127.0.0.1:{port}", w3, state, pa_key, deployer)
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            state.store.close()
            os.environ.pop("CO3_LIVE_RELAYER_KEY", None)
            os.environ.pop("CO3_LIVE_PA_KEY", None)


def deploy_on(rpc_url: str, artifacts: ArtifactSet) -> tuple[Web3, dict[str, Any]]:
    """Deploy the suite on ``rpc_url`` from anvil's dev account, with :data:`RELAYER` funded and granted."""
    w3 = Web3(HTTPProvider(rpc_url))
    deployer = Account.from_key(ANVIL_KEY)
    w3.provider.make_request("anvil_setBalance", [RELAYER.address, hex(10**21)])
    manifest = deploy_suite(w3, deployer, oracle_signers=[deployer.address], oracle_threshold=1,
                            validators=[deployer.address], relayer=RELAYER.address, network="anvil",
                            artifacts=artifacts, voting_bounds=(0, 2**40, 1, 2**40))
    return w3, manifest


@contextmanager
def api_process(tmp: Path, rpc_url: str, manifest: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``co3chain api serve`` as a child process (config and manifest files in ``tmp``); yields
    (API URL, PA API key). The relayer and PA keys reach it through environment variables."""
    from co3chain.contracts.deploy import save_manifest

    pa_key, pa_hash = new_api_key()
    manifest_path = save_manifest(manifest, tmp / "deployment.json")
    config_path = tmp / "api.toml"
    config_path.write_text(
        '[api]\ndb = "api.sqlite"\n[relayer]\nprivate_key_env = "CO3_API_RELAYER_KEY"\n'
        "client_rate = 100000\nclient_burst = 100000\n"  # the load generator is one client for all citizens
        '[indexer]\npoll_interval = 0.2\n'
        f'[[keys]]\nhash = "{pa_hash}"\npa = "Comune Bench"\nprivate_key_env = "CO3_API_PA_KEY"\n'
        "rate = 100000\nburst = 100000\n", encoding="utf-8")
    port = free_port()
    env = {**os.environ, "CO3_API_RELAYER_KEY": RELAYER.key.hex(), "CO3_API_PA_KEY": ANVIL_KEY}
    exe = REPO / ".venv" / "bin" / "co3chain"
    proc = subprocess.Popen([str(exe), "api", "serve", "--rpc", rpc_url, "--manifest", str(manifest_path),
                             "--config", str(config_path), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"co3chain api serve exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(url + "/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("co3chain api serve did not answer within 30 s")
        yield url, pa_key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
