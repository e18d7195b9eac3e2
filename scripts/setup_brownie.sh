#!/usr/bin/env bash
# Create .venv-brownie/ with eth-brownie, isolated from the main .venv.
#
# Why a separate virtualenv: eth-brownie pins old web3/eth-* versions that conflict with co3chain's
# (web3 7+/8). Brownie is only a second, optional way to run scripts/deploy.py and scripts/demo.py;
# co3chain itself never imports it.
#
# Brownie cannot download solc here (no internet besides PyPI/npm), so the brownie path does not compile:
# scripts/deploy.py loads the committed artifacts (co3chain/contracts/artifacts/*.json) and deploys them
# through brownie's ContractContainer. The co3chain package is put on the venv's path with a .pth file
# (not pip-installed, which would pull web3 8 into this venv).
#
# Usage: scripts/setup_brownie.sh            (idempotent)
# Env overrides: BROWNIE_VERSION, PYTHON, CO3_RPC (default http://127.0.0.1:8545, node1 of `co3chain network up`),
#                CO3_CHAIN_ID (default 1337: must match the --chain-id given to `co3chain network init`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-brownie"
BROWNIE_VERSION="${BROWNIE_VERSION:-1.22.2}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
CO3_RPC="${CO3_RPC:-http://127.0.0.1:8545}"
CO3_CHAIN_ID="${CO3_CHAIN_ID:-1337}"

if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# h3 and rich: scripts/demo.py runs co3chain.contracts.demo (H3 cells of the park, summary tables).
"$VENV/bin/python" -m pip install --quiet "eth-brownie==$BROWNIE_VERSION" "h3>=4.0" "rich>=13"

# The brownie scripts import co3chain (deploy plan, manifest, demo) from the repo; it runs on brownie's web3 7.
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$ROOT" > "$SITE/co3chain-repo.pth"

# Register the networks from brownie-config.yaml in brownie's own network list (idempotent).
cd "$ROOT"
"$VENV/bin/brownie" networks delete co3-local >/dev/null 2>&1 || true
"$VENV/bin/brownie" networks add Ethereum co3-local "host=$CO3_RPC" "chainid=$CO3_CHAIN_ID" >/dev/null
"$VENV/bin/brownie" networks delete anvil-dev >/dev/null 2>&1 || true
# anvil-dev is a live network on purpose: brownie would launch anvil with --quiet, which anvil 1.x reads as an
# EIP-7825 switch. Start it yourself: node_modules/.bin/anvil --port 8546 --hardfork cancun
"$VENV/bin/brownie" networks add Ethereum anvil-dev host=http://127.0.0.1:8546 chainid=31337 >/dev/null

echo "brownie $("$VENV/bin/brownie" --version 2>/dev/null | head -1) ready in $VENV"
