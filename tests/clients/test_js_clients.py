"""ethers v6 and viem v2 workflows (node's built-in test runner) against our node and anvil.

Each JavaScript test is one workflow step; the pytest test fails if any step fails and reports the count.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.clients.conftest import Endpoint
from tests.rpc.contract import COUNTER_ABI, COUNTER_BYTECODE

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def run_node_tests(script: str, endpoint: Endpoint, tmp_path: Path) -> tuple[int, int, str]:
    """(passed, failed, output) of ``node --test script`` against ``endpoint``."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not installed")
    if not (REPO / "node_modules" / "ethers").exists():
        pytest.skip("npm packages not installed (run `npm ci`)")
    artifact = tmp_path / "counter.json"
    artifact.write_text(json.dumps({"abi": COUNTER_ABI, "bytecode": COUNTER_BYTECODE}))
    env = {
        **os.environ,
        "RPC_URL": endpoint.url,
        "WS_URL": endpoint.ws_url,
        "PRIVATE_KEY": endpoint.key,
        "ARTIFACT": str(artifact),
    }
    proc = subprocess.run(
        [node, "--test", "--test-reporter=tap", str(HERE / script)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
    )
    out = proc.stdout + proc.stderr
    passed = len(re.findall(r"^ok \d+ ", out, re.M))
    failed = len(re.findall(r"^not ok \d+ ", out, re.M))
    print(f"\n{script} on {endpoint.name}: {passed}/{passed + failed} steps passed")
    return passed, failed, out


@pytest.mark.parametrize("script", ["ethers_workflow.test.mjs", "viem_workflow.test.mjs"])
def test_js_client_workflow(script: str, endpoint: Endpoint, tmp_path: Path) -> None:
    passed, failed, out = run_node_tests(script, endpoint, tmp_path)
    failures = [line for line in out.splitlines() if line.startswith("not ok")]
    if endpoint.name == "anvil" and failed and passed:  # the reference's own gaps are measured, not ours
        pytest.xfail(f"anvil passes {passed}/{passed + failed} steps: {'; '.join(failures)}")
    assert failed == 0 and passed > 0, "\n".join(failures) + "\n" + out[-3000:]
