"""Genesis block hash of any Besu genesis file (pre-London to Prague), as Besu computes it.

The pre-London expectations are recomputed here from first principles (a hand-written RLP encoder and
pycryptodome's keccak, a one-leaf state trie), independent of the ``rlp``/``eth_hash``/trie code the
module uses; the Olympic vector is Besu's own (GenesisStateTest: header RLP and hash of genesis-olympic).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from Crypto.Hash import keccak as _keccak

from co3chain.audit.genesis_check import genesis_hash as audit_genesis_hash
from co3chain.chain.genesis import GenesisError, make_genesis, parse_genesis
from co3chain.chain.genesis_hash import besu_genesis_header, genesis_report
from co3chain.cli import cli
from co3chain.node.onboarding import genesis_hash

VALIDATOR = "0x" + "ab" * 20
FUNDED = "0x" + "cd" * 20
GWEI = 10**9


def keccak(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()


def rlp(item: Any) -> bytes:
    """Minimal RLP (Yellow Paper appendix B): bytes, non-negative ints, lists."""
    if isinstance(item, list):
        payload = b"".join(rlp(x) for x in item)
        return _length(len(payload), 0xC0) + payload
    if isinstance(item, int):
        item = item.to_bytes((item.bit_length() + 7) // 8, "big")
    if len(item) == 1 and item[0] < 0x80:
        return item
    return _length(len(item), 0x80) + item


def _length(n: int, offset: int) -> bytes:
    if n < 56:
        return bytes([offset + n])
    be = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(be)]) + be


EMPTY_TRIE = keccak(rlp(b""))


def one_account_state_root(address: bytes, balance: int) -> bytes:
    """A trie holding one account is one leaf: [hex-prefix(0x20 ‖ keccak(address)), rlp(account)]."""
    account = rlp([0, balance, EMPTY_TRIE, keccak(b"")])
    return keccak(rlp([b"\x20" + keccak(address), account]))


def _qbft_genesis(**fork_overrides: Any) -> dict[str, Any]:
    doc = make_genesis([VALIDATOR], 1337, {FUNDED: 5 * 10**18})
    for key in ("berlinBlock", "londonBlock", "shanghaiTime", "cancunTime"):
        doc["config"].pop(key)
    doc["config"].update(fork_overrides)
    return doc


def _hash_from_first_principles(doc: dict[str, Any], optional: list[Any]) -> bytes:
    fields = [
        b"\x00" * 32, keccak(rlp([])), b"\x00" * 20,
        one_account_state_root(bytes.fromhex(FUNDED[2:]), 5 * 10**18),
        EMPTY_TRIE, EMPTY_TRIE, b"\x00" * 256, 1, 0, int(doc["gasLimit"], 16), 0, int(doc["timestamp"], 16),
        bytes.fromhex(doc["extraData"][2:]), bytes.fromhex(doc["mixHash"][2:]), b"\x00" * 8,
    ]
    return keccak(rlp(fields + optional))


def test_cancun_at_genesis_equals_the_node_block_0() -> None:
    doc = make_genesis([VALIDATOR], 1337, {FUNDED: 10**18}, timestamp=1_700_000_000)
    header = besu_genesis_header(doc)
    assert (header.layout, len(header.rlp_fields())) == ("Cancun", 20)
    assert header.hash == genesis_hash(doc)  # what NodeChain stores as block 0
    report = genesis_report(doc)
    assert report["runnable"] is True and report["reason"] is None
    assert report["hash"] == "0x" + genesis_hash(doc).hex()


def test_pre_london_header_has_no_base_fee_and_matches_an_independent_hash() -> None:
    doc = _qbft_genesis(berlinBlock=0)
    doc.pop("baseFeePerGas")
    header = besu_genesis_header(doc)
    assert header.base_fee is None and len(header.rlp_fields()) == 15 and header.layout == "pre-London"
    assert header.hash == _hash_from_first_principles(doc, [])
    report = genesis_report(doc)
    assert report["runnable"] is False and "londonBlock" in report["reason"]
    with pytest.raises(GenesisError, match="londonBlock"):
        parse_genesis(doc)  # still refused for running


def test_pre_london_file_with_an_explicit_base_fee_gets_it_as_besu_does() -> None:
    doc = _qbft_genesis()  # keeps "baseFeePerGas": "0x0": Besu includes any explicit base fee
    header = besu_genesis_header(doc)
    assert header.base_fee == 0 and len(header.rlp_fields()) == 16
    assert header.hash == _hash_from_first_principles(doc, [0])


def test_london_at_genesis_without_base_fee_gets_besu_default_1_gwei() -> None:
    doc = _qbft_genesis(londonBlock=0)
    doc.pop("baseFeePerGas")
    header = besu_genesis_header(doc)
    assert header.base_fee == GWEI and header.layout == "London"
    assert header.hash == _hash_from_first_principles(doc, [GWEI])
    explicit = _qbft_genesis(londonBlock=0)
    assert besu_genesis_header(explicit).base_fee == 0


def test_runnable_file_without_base_fee_gets_1_gwei_in_the_node_block_0_too() -> None:
    doc = make_genesis([VALIDATOR], 1337, {FUNDED: 10**18})
    doc.pop("baseFeePerGas")
    assert parse_genesis(doc).base_fee == GWEI
    assert genesis_hash(doc) == besu_genesis_header(doc).hash
    assert audit_genesis_hash(parse_genesis(doc)) == genesis_hash(doc)  # the auditor's own code agrees
    assert genesis_report(doc)["runnable"] is True


def test_shanghai_without_cancun_adds_withdrawals_root_only() -> None:
    doc = _qbft_genesis(londonBlock=0, shanghaiTime=0)
    header = besu_genesis_header(doc)
    assert header.layout == "Shanghai" and len(header.rlp_fields()) == 17
    assert header.withdrawals_root == EMPTY_TRIE and header.blob_gas_used is None
    assert header.hash == _hash_from_first_principles(doc, [0, EMPTY_TRIE])
    # Cancun scheduled after genesis: still a Shanghai header
    later = _qbft_genesis(londonBlock=0, shanghaiTime=0, cancunTime=int(doc["timestamp"], 16) + 1)
    assert besu_genesis_header(later).hash == header.hash


def test_shanghai_without_london_stops_at_the_missing_base_fee() -> None:
    doc = _qbft_genesis(shanghaiTime=0)
    doc.pop("baseFeePerGas")
    header = besu_genesis_header(doc)
    assert header.withdrawals_root is not None and len(header.rlp_fields()) == 15  # Besu's encoder
    assert header.hash == _hash_from_first_principles(doc, [])


def test_fork_time_at_or_before_genesis_timestamp_counts_and_prague_adds_requests_hash() -> None:
    doc = _qbft_genesis(londonBlock=0, pragueTime=5)
    doc["timestamp"] = hex(5)
    header = besu_genesis_header(doc)  # Shanghai and Cancun inherit from Prague
    assert header.layout == "Prague" and len(header.rlp_fields()) == 21
    empty_requests = hashlib.sha256(b"").digest()
    assert header.hash == _hash_from_first_principles(doc, [0, EMPTY_TRIE, 0, 0, b"\x00" * 32, empty_requests])
    assert genesis_report(doc)["runnable"] is False


def test_missing_mix_hash_is_zero_in_both_paths() -> None:
    doc = make_genesis([VALIDATOR], 1337, {FUNDED: 10**18})
    doc.pop("mixHash")
    assert parse_genesis(doc).mix_hash == b"\x00" * 32
    assert genesis_hash(doc) == besu_genesis_header(doc).hash == audit_genesis_hash(parse_genesis(doc))


def test_required_fields_and_unknown_later_forks_are_refused() -> None:
    for field in ("difficulty", "gasLimit"):
        doc = make_genesis([VALIDATOR], 1337)
        doc.pop(field)
        with pytest.raises(GenesisError, match=field):
            besu_genesis_header(doc)
    doc = make_genesis([VALIDATOR], 1337)
    doc["config"]["amsterdamTime"] = 0
    with pytest.raises(GenesisError, match="amsterdam"):
        besu_genesis_header(doc)


# Besu GenesisStateTest, Olympic genesis (values only): pre-London, ethash, no config section.
_OLYMPIC_BIG = "1606938044258990275541962092341162602522202993782792835301376"
OLYMPIC = {
    "alloc": {
        **{f"{i:040x}": {"balance": "01"} for i in range(1, 5)},
        **{a: {"balance": _OLYMPIC_BIG} for a in (
            "dbdbdb2cbd23b783741e8d7fcf51e459b497e4a6", "e6716f9544a56c530d868e4bfbacb172315bdead",
            "b9c015918bdaba24b4ff057a92a3873d6eb201be", "1a26338f0d905e295fccb71fa9ea849ffa12aaf4",
            "2ef47100e0787b915105fd5e3f4ff6752079d5cb", "cd2a3d9f938e13cd947ec05abc7fe734df8dd826",
            "6c386a4b26f73c802f34673f7248bb118f97424a", "e4157b34ea9615cfbde6b4fda419828124b70c78",
        )},
    },
    "nonce": "0x000000000000002a", "difficulty": "0x020000", "mixhash": "0x" + "00" * 32,
    "coinbase": "0x" + "00" * 20, "timestamp": "0x00", "parentHash": "0x" + "00" * 32, "extraData": "0x",
    "gasLimit": "0x2fefd8",
}
OLYMPIC_HASH = "0xfd4af92a79c7fc2fd8bf0d342f2e832e1d4f485c85b9152d2039e03bc604fdca"
OLYMPIC_STATE_ROOT = "0x9178d0f23c965d81f0834a4c72c6253ce6830f4022b1359aaebfc1ecba442d4e"


def test_besu_olympic_vector() -> None:
    header = besu_genesis_header(copy.deepcopy(OLYMPIC))
    assert "0x" + header.state_root.hex() == OLYMPIC_STATE_ROOT
    assert "0x" + header.hash.hex() == OLYMPIC_HASH
    assert header.layout == "pre-London" and header.nonce == (0x2A).to_bytes(8, "big")


def test_cli_genesis_hash(tmp_path: Path) -> None:
    path = tmp_path / "olympic.json"
    path.write_text(json.dumps(OLYMPIC))
    res = CliRunner().invoke(cli, ["network", "genesis-hash", "--genesis", str(path)])
    assert res.exit_code == 0, res.output
    assert f"genesis hash: {OLYMPIC_HASH}" in res.output and "cannot run" in res.output
    runnable = tmp_path / "genesis.json"
    runnable.write_text(json.dumps(make_genesis([VALIDATOR], 1337)))
    res = CliRunner().invoke(cli, ["network", "genesis-hash", "--genesis", str(runnable), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["runnable"] is True and out["headerFields"] == 20
    assert out["hash"] == "0x" + genesis_hash(make_genesis([VALIDATOR], 1337)).hex()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = CliRunner().invoke(cli, ["network", "genesis-hash", "--genesis", str(bad)])
    assert res.exit_code != 0 and "not valid JSON" in res.output


def test_chain_from_a_genesis_without_base_fee_still_seals_free_blocks() -> None:
    from co3chain.chain.chain import NodeChain
    from co3chain.chain.genesis import make_genesis as mk
    from tests.chain.helpers import CHAIN_ID, USER_KEYS, USERS, VALIDATOR_KEYS, addr, produce, sign_tx

    doc = mk([addr(VALIDATOR_KEYS[0])], CHAIN_ID, {u: 10**20 for u in USERS}, block_period=1)
    doc.pop("baseFeePerGas")
    chain = NodeChain.open(None, parse_genesis(doc))
    try:
        assert chain.genesis_header.base_fee_per_gas == GWEI
        assert chain.genesis_header.hash == besu_genesis_header(doc).hash
        sealed, _ = produce(chain, [sign_tx(USER_KEYS[0], chain, to=USERS[1], value=1)])
        assert sealed.header.block_number == 1 and sealed.header.base_fee_per_gas == 0
        assert chain.head.hash == sealed.header.hash
    finally:
        chain.close()
