"""End-to-end: ``network init`` + ``node start`` as a real process, used by web3.py and Foundry cast."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware

from co3chain.cli import cli
from co3chain.node.cli import init_network
from tests.node.procs import REPO, free_port, make_network, rpc
from tests.rpc.contract import COUNTER_ABI, COUNTER_BYTECODE

pytestmark = pytest.mark.slow
CAST = REPO / "node_modules" / ".bin" / "cast"


def web3_for(url: str) -> Web3:
    w3 = Web3(Web3.HTTPProvider(url))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)  # QBFT extraData > 32 bytes (as Besu)
    return w3


def test_deploy_logs_errors_and_graceful_stop(tmp_path: Path) -> None:
    node, key = make_network(tmp_path)
    node.start()
    try:
        w3 = web3_for(node.url)
        acct = Account.from_key(key)
        assert w3.eth.chain_id == 1999
        counter = w3.eth.contract(abi=COUNTER_ABI, bytecode=COUNTER_BYTECODE)
        tx = counter.constructor().build_transaction({"from": acct.address, "nonce": 0})
        h = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(h, timeout=30, poll_latency=0.2)
        assert receipt.status == 1 and receipt.contractAddress
        c = w3.eth.contract(address=receipt.contractAddress, abi=COUNTER_ABI)
        tx = c.functions.increment(3).build_transaction({"from": acct.address, "nonce": 1})
        h = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(h, timeout=30, poll_latency=0.2)
        (event,) = c.events.Incremented().process_receipt(receipt)
        assert event.args.by == acct.address and event.args.value == 3
        logs = w3.eth.get_logs({"fromBlock": 0, "address": c.address})
        assert len(logs) == 1 and logs[0]["transactionHash"] == h
        assert c.functions.count().call() == 3
        with pytest.raises(ContractLogicError, match="zero"):
            c.functions.increment(0).call({"from": acct.address})
        # replaying nonce 0 is refused with geth's code and message
        stale = acct.sign_transaction({**tx, "nonce": 0})
        with pytest.raises(Web3RPCError) as exc:
            w3.eth.send_raw_transaction(stale.raw_transaction)
        assert exc.value.rpc_response["error"]["code"] == -32000
        assert "nonce too low" in exc.value.rpc_response["error"]["message"]
        assert "result" in rpc(node.url, "txpool_status")
    finally:
        code = node.terminate()
    assert code == 0
    log = node.log.read_text()
    assert "sealed txs=1" in log and "node stopped at block" in log


def test_foundry_cast(tmp_path: Path) -> None:
    node, key = make_network(tmp_path)
    node.start()
    try:

        def cast(*args: str) -> str:
            out = subprocess.run(
                [str(CAST), *args, "--rpc-url", node.url], capture_output=True, text=True, timeout=60
            )
            assert out.returncode == 0, out.stderr
            return out.stdout.strip()

        assert int(cast("block-number")) >= 0
        acct = Account.from_key(key)
        assert int(cast("balance", acct.address)) == 10**24
        assert cast("chain-id") == "1999"
        dead = "0x000000000000000000000000000000000000dEaD"
        out = cast("send", "--private-key", "0x" + key.hex(), dead, "--value", "1000")
        assert "status               1 (success)" in out
        out = cast("send", "--private-key", "0x" + key.hex(), dead, "--value", "7", "--legacy")
        assert "status               1 (success)" in out
        assert cast("balance", dead) == "1007"
        block = cast("block", "latest", "--json")
        assert '"miner"' in block
        assert cast("nonce", acct.address) == "2"
    finally:
        node.terminate()


def test_kill9_resumes_at_last_committed_block(tmp_path: Path) -> None:
    node, key = make_network(tmp_path)
    node.start()
    acct = Account.from_key(key)
    w3 = web3_for(node.url)
    hashes = []
    for nonce in range(5):
        tx = {
            "to": "0x000000000000000000000000000000000000dEaD",
            "value": 1,
            "gas": 21000,
            "gasPrice": 0,
            "nonce": nonce,
            "chainId": 1999,
        }
        hashes.append(w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction))
    for h in hashes:
        w3.eth.wait_for_transaction_receipt(h, timeout=30, poll_latency=0.2)
    committed = node.wait_height(node.block_number() + 2)
    head_hash = w3.eth.get_block(committed)["hash"]
    time.sleep(0.3)
    node.kill9()

    node.start()
    try:
        restarted_head = node.block_number()
        assert restarted_head >= committed
        assert web3_for(node.url).eth.get_block(committed)["hash"] == head_hash
        for h in hashes:
            assert web3_for(node.url).eth.get_transaction_receipt(h)["status"] == 1
        assert web3_for(node.url).eth.get_balance("0x000000000000000000000000000000000000dEaD") == 5
        node.wait_height(restarted_head + 2)  # and it keeps producing on top
        tx = {
            "to": "0x000000000000000000000000000000000000dEaD",
            "value": 1,
            "gas": 21000,
            "gasPrice": 0,
            "nonce": 5,
            "chainId": 1999,
        }
        h = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
        assert w3.eth.wait_for_transaction_receipt(h, timeout=30, poll_latency=0.2)["status"] == 1
    finally:
        node.terminate()


def test_network_up_and_down(tmp_path: Path) -> None:
    root = tmp_path / "local"
    port = free_port()
    init_network(root, 1, 4321, rpc_port=port, p2p_port=free_port(), dev=True)
    up = CliRunner().invoke(cli, ["network", "up", "--validators", "1", "--dir", str(root)])
    pid_file = root / "node1" / "node.pid"
    try:
        assert up.exit_code == 0, up.output
        url = f"http://127.0.0.1:{port}"
        assert rpc(url, "eth_chainId")["result"] == hex(4321)
        assert rpc(url, "eth_accounts")["result"]  # dev mode from network init --dev
        pid = pid_file.read_text()
        again = CliRunner().invoke(cli, ["network", "up", "--validators", "1", "--dir", str(root)])
        assert again.exit_code == 0, again.output
        assert pid_file.read_text() == pid  # idempotent: the running node is kept
    finally:
        down = CliRunner().invoke(cli, ["network", "down", "--dir", str(root)])
    assert down.exit_code == 0 and "stopped" in down.output
    assert "node stopped at block" in (root / "node1" / "node.log").read_text()


ETHERS_SCRIPT = """
const { ethers } = require(process.argv[4]);
(async () => {
  const p = new ethers.JsonRpcProvider(process.argv[2]);
  const w = new ethers.Wallet(process.argv[3], p);
  const out = { block: await p.getBlockNumber(), chainId: Number((await p.getNetwork()).chainId) };
  out.miner = (await p.getBlock('latest')).miner;
  const tx = await w.sendTransaction({ to: '0x000000000000000000000000000000000000dEaD', value: 5n });
  const r = await tx.wait();
  out.status = r.status;
  out.balance = (await p.getBalance('0x000000000000000000000000000000000000dEaD')).toString();
  try { await w.sendTransaction({ to: '0x000000000000000000000000000000000000dEaD', value: 1n, nonce: 0 }); }
  catch (e) { out.replayError = e.code; }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def test_ethers_js(tmp_path: Path) -> None:
    node_bin = shutil.which("node")
    ethers_dir = REPO / "node_modules" / "ethers"
    if node_bin is None or not ethers_dir.exists():
        pytest.skip("Node.js or ethers not installed")
    node, key = make_network(tmp_path)
    node.start()
    try:
        script = tmp_path / "ethers_check.cjs"
        script.write_text(ETHERS_SCRIPT)
        proc = subprocess.run(
            [node_bin, str(script), node.url, "0x" + key.hex(), str(ethers_dir)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        assert out["chainId"] == 1999 and out["status"] == 1 and out["balance"] == "5"
        assert out["miner"].lower() == Account.from_key(key).address.lower()
        assert out["replayError"] == "NONCE_EXPIRED"
    finally:
        node.terminate()
