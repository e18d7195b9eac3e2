"""Finding 7: transactions the node accepted survive ``kill -9`` and are re-admitted on start."""

from __future__ import annotations

import time
from pathlib import Path

from eth_account import Account
from eth_hash.auto import keccak

from co3chain.node.txjournal import TxJournal
from tests.node.procs import make_network, rpc


def test_journal_reads_complete_records_and_ignores_a_torn_tail(tmp_path: Path) -> None:
    j = TxJournal(tmp_path / "j")
    j.append(b"\x01\x02")
    j.append(b"\x03" * 300)
    j.sync()
    with open(tmp_path / "j", "ab") as fh:
        fh.write((500).to_bytes(4, "big") + b"\x04" * 10)  # the crash hit mid-record
    assert TxJournal.read(tmp_path / "j") == [b"\x01\x02", b"\x03" * 300]
    j.attach(lambda: [b"\x09"], lambda: 1)
    j.compact()
    assert TxJournal.read(tmp_path / "j") == [b"\x09"]
    j.append(b"\x0a")
    j.close()
    assert TxJournal.read(tmp_path / "j") == [b"\x09"]  # close compacts to the live set


def test_accepted_transactions_survive_kill_9(tmp_path: Path) -> None:
    node, _ = make_network(tmp_path)
    node.start()
    acct = Account.from_key(keccak(b"journal user"))
    hashes = []
    try:
        node.wait_height(1)
        for nonce in range(1, 6):  # a nonce gap: they wait in the pool until nonce 0 arrives
            raw = acct.sign_transaction({"chainId": 1999, "nonce": nonce, "gas": 21_000, "gasPrice": 0,
                                         "to": "0x" + "33" * 20, "value": 0}).raw_transaction
            resp = rpc(node.url, "eth_sendRawTransaction", "0x" + bytes(raw).hex())
            hashes.append(resp["result"])
    finally:
        node.kill9()
    node.start()
    try:
        assert int(rpc(node.url, "txpool_status")["result"]["queued"], 16) == 5
        raw = acct.sign_transaction({"chainId": 1999, "nonce": 0, "gas": 21_000, "gasPrice": 0,
                                     "to": "0x" + "33" * 20, "value": 0}).raw_transaction
        rpc(node.url, "eth_sendRawTransaction", "0x" + bytes(raw).hex())
        deadline = time.time() + 20
        while time.time() < deadline:
            if all(rpc(node.url, "eth_getTransactionReceipt", h)["result"] for h in hashes):
                break
            time.sleep(0.3)
        assert all(rpc(node.url, "eth_getTransactionReceipt", h)["result"] for h in hashes)
    finally:
        node.terminate()
