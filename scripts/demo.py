"""Run the CO3 demo, brownie-style (``def main()``) or as plain Python.

    .venv-brownie/bin/brownie run scripts/demo.py --network co3-local
    .venv/bin/python scripts/demo.py --rpc http://127.0.0.1:8545 [--manifest deployment.json]
                                                                   (same options as ``co3chain demo``)

Under brownie the demo runs on brownie's own web3 connection (``brownie.web3``) with the PA officer key
from ``CO3CHAIN_DEV_KEY`` (default: the public development key); it reuses the deployment in
``CO3CHAIN_MANIFEST`` (default ``deployment-<network>.json``) when that file exists and deploys otherwise.
``CO3CHAIN_ARTIFACTS`` overrides the artifacts directory, as in scripts/deploy.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def demo_with_brownie() -> None:
    """The demo over brownie's connection; writes the manifest when it had to deploy."""
    from brownie import network, web3
    from eth_account import Account

    from co3chain.contracts import deploy as dep
    from co3chain.contracts.demo import DEV_DEPLOYER_KEY, run_demo

    artifacts = dep.ArtifactSet.committed()  # honours $CO3CHAIN_ARTIFACTS
    officer = Account.from_key(os.environ.get("CO3CHAIN_DEV_KEY") or DEV_DEPLOYER_KEY)
    path = Path(os.environ.get("CO3CHAIN_MANIFEST") or f"deployment-{network.show_active()}.json")
    manifest = dep.load_manifest(path) if path.exists() else None
    result = run_demo(web3, officer, manifest, artifacts=artifacts)
    if manifest is None:
        dep.save_manifest(result.manifest, path)
        print(f"manifest: {path}")


def main() -> None:
    """Entry point for ``brownie run`` and for plain Python (delegates to ``co3chain demo``)."""
    from co3chain.contracts.scripting import in_brownie, run_cli

    if in_brownie():
        demo_with_brownie()
        return
    from co3chain.contracts.cli import demo_cmd

    run_cli(demo_cmd, "scripts/demo.py")


if __name__ == "__main__":
    main()
