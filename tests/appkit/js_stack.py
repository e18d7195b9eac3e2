"""A live stack for the JavaScript SDK's tests: anvil + the deployed suite + the API with its oracle mounted.

Run as ``python -m tests.appkit.js_stack --dir DIR [--cors ORIGIN]``: it prints one JSON line describing the
stack (URLs, the PA API key, the AR source's HMAC secret, the seeded area/activity), then serves until its
standard input closes — so the stack always dies with the Node test process that started it, even on a crash.

Why the oracle runs inside the API here: a check-in must travel the whole way (webhook → validation →
signature → ``AttestationHub`` → token mint) with one process to start; the multi-operator set-up is tested by
the Python oracle suite.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from eth_account import Account
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from co3chain.api.app import build_state, create_app
from co3chain.api.config import new_api_key, parse_config
from co3chain.contracts import compiler
from co3chain.contracts.deploy import DEV_VOTING_BOUNDS, ArtifactSet, deploy_suite, save_manifest
from co3chain.sdk import Client
from tests.anvil import ANVIL_KEY, free_port, running_anvil
from tests.oracle.helpers import SQUARE

RELAYER = Account.from_key(keccak(text="js stack relayer"))
ORACLE = Account.from_key(keccak(text="js stack oracle"))
AR_SECRET = "js-stack-ar-secret-0123456789"


def _artifacts() -> ArtifactSet:
    return ArtifactSet.committed() if compiler.artifacts_are_fresh() else ArtifactSet.from_build(compiler.compile_project())


def _oracle_toml(rpc_url: str, manifest: dict) -> str:
    c = manifest["contracts"]
    return f"""
[oracle]
db = "oracle.db"
poll_interval = 0.1
submit = true

[[sources]]
name = "ar-app"
kind = "ar"
secret_env = "CO3_JS_AR_SECRET"

[chain]
rpc_url = "{rpc_url}"
hub = "{c['AttestationHub']['address']}"
areas = "{c['CommoningAreas']['address']}"
registry = "{c['CitizenRegistry']['address']}"

[signer]
private_key_env = "CO3_JS_ORACLE_KEY"

[validation]
max_per_activity_per_day = 1000
dedup_window_s = 0

[[areas]]
id = 1
geojson = "area1.geojson"
"""


@contextmanager
def js_stack(workdir: Path, cors: list[str]) -> Iterator[dict[str, Any]]:
    """The running stack; yields its description (what ``serve`` prints)."""
    workdir.mkdir(parents=True, exist_ok=True)
    with running_anvil() as rpc_url:
        w3 = Web3(HTTPProvider(rpc_url))
        deployer = Account.from_key(ANVIL_KEY)
        for acct in (RELAYER, ORACLE):
            w3.provider.make_request("anvil_setBalance", [acct.address, hex(10**21)])
        manifest = deploy_suite(w3, deployer, oracle_signers=[ORACLE.address], oracle_threshold=1,
                                validators=[deployer.address], relayer=RELAYER.address, network="anvil",
                                artifacts=_artifacts(), voting_bounds=DEV_VOTING_BOUNDS)  # short demo votes
        save_manifest(manifest, workdir / "deployment.json")
        (workdir / "area1.geojson").write_text(json.dumps(SQUARE))
        (workdir / "oracle.toml").write_text(_oracle_toml(rpc_url, manifest))
        os.environ.update({"CO3_JS_RELAYER_KEY": RELAYER.key.hex(), "CO3_JS_PA_KEY": ANVIL_KEY,
                           "CO3_JS_ORACLE_KEY": ORACLE.key.hex(), "CO3_JS_AR_SECRET": AR_SECRET})
        pa_key, pa_hash = new_api_key()
        config = parse_config({
            "api": {"db": "api.sqlite"},
            "relayer": {"private_key_env": "CO3_JS_RELAYER_KEY", "client_rate": 1000, "client_burst": 1000},
            "indexer": {"poll_interval": 0.2},
            "keys": [{"hash": pa_hash, "pa": "Comune JS", "private_key_env": "CO3_JS_PA_KEY", "rate": 1000,
                      "burst": 1000}],
            "oracle": {"config": "oracle.toml"},
            "cors": {"allow_origins": cors, "allow_headers": ["Content-Type", "X-API-Key"]},
        }, workdir)
        state = build_state(config, manifest, rpc_url=rpc_url)
        app = create_app(state, cors=config.cors)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while not server.started:
                if time.monotonic() > deadline or not thread.is_alive():
                    raise RuntimeError("API server did not start")
                time.sleep(0.05)
            api_url = f"http://127.0.0.1:{port}"
            pa = Client(api_url, api_key=pa_key)
            created = pa.create_area(SQUARE, "ipfs://js-stack-area")
            assert pa.wait_for_tx(created.txHash).status == "success"
            now = int(w3.eth.get_block("latest")["timestamp"])
            act = pa.create_activity(1, kind=0, starts_at=now - 60, ends_at=now + 30 * 86_400,
                                     token_reward=10 * 10**18, reputation_reward=5)
            assert pa.wait_for_tx(act.txHash).status == "success"
            info: dict[str, Any] = {"rpcUrl": rpc_url, "apiUrl": api_url, "paKey": pa_key, "chainId": int(w3.eth.chain_id),
                    "source": {"name": "ar-app", "secret": AR_SECRET}, "areaId": 1, "activityId": 1,
                    "inside": {"latE6": 45_071_000, "lonE6": 7_685_500}}
            yield info
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            state.store.close()


def serve(workdir: Path, cors: list[str]) -> None:
    """Print the stack's description as one JSON line, then serve until standard input closes."""
    with js_stack(workdir, cors) as info:
        print(json.dumps(info), flush=True)
        sys.stdin.read()  # until the parent closes our stdin (or dies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--cors", action="append", default=[])
    args = parser.parse_args()
    serve(args.dir, args.cors)


if __name__ == "__main__":
    main()
