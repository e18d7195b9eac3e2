"""Besu genesis compatibility: case-insensitive keys, Besu's QBFT defaults, refused unsupported options."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from co3chain.chain.genesis import GenesisError, make_genesis, parse_genesis
from co3chain.node.onboarding import genesis_hash

VALIDATOR = "0x" + "ab" * 20


def _genesis() -> dict[str, Any]:
    return make_genesis([VALIDATOR], 1337, {VALIDATOR: 10**18}, block_period=2, request_timeout=4)


def _recase(obj: Any) -> Any:
    """Every key in another case (alloc addresses too), as hand-written Besu files do."""
    if isinstance(obj, dict):
        return {(k.upper() if i % 2 else k[:1].upper() + k[1:]): _recase(v) for i, (k, v) in enumerate(obj.items())}
    return obj


def test_keys_are_case_insensitive_and_hash_is_unchanged() -> None:
    doc = _genesis()
    recased = _recase(copy.deepcopy(doc))
    assert "config" not in recased and ("Config" in recased or "CONFIG" in recased)
    a, b = parse_genesis(doc), parse_genesis(recased)
    assert (a.chain_id, a.block_period, a.request_timeout, a.validators, a.alloc) == (
        b.chain_id, b.block_period, b.request_timeout, b.validators, b.alloc)
    assert genesis_hash(a) == genesis_hash(b)


def test_the_same_key_twice_in_different_case_is_refused() -> None:
    doc = _genesis()
    doc["config"]["ChainId"] = 5
    with pytest.raises(GenesisError, match="twice"):
        parse_genesis(doc)


def test_missing_qbft_options_take_besu_defaults() -> None:
    doc = _genesis()
    doc["config"]["qbft"] = {}
    g = parse_genesis(doc)
    assert (g.block_period, g.request_timeout, g.epoch_length) == (1, 1, 30000)


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda c: c["qbft"].update(validatorcontractaddress="0x" + "00" * 19 + "07"), "validator-contract mode"),
        (lambda c: c["qbft"].update(ValidatorContractAddress="0x" + "00" * 19 + "07"), "validator-contract mode"),
        (lambda c: c.update(transitions={"qbft": [{"block": 10, "blockperiodseconds": 5}]}), "transitions"),
        (lambda c: c["qbft"].update(blockreward="0x10"), "block rewards"),
        (lambda c: c["qbft"].update(miningbeneficiary=VALIDATOR), "miningbeneficiary"),
        (lambda c: c.update(ibft2={}), "QBFT only"),
        (lambda c: c.pop("londonBlock"), "londonBlock"),
        (lambda c: c.update(londonBlock=5), "londonBlock"),
        (lambda c: c.pop("cancunTime"), "pre-Cancun"),
    ],
)
def test_unsupported_options_are_refused(edit: Any, needle: str) -> None:
    doc = _genesis()
    edit(doc["config"])
    with pytest.raises(GenesisError, match=needle):
        parse_genesis(doc)


def test_zero_block_reward_is_accepted() -> None:
    doc = _genesis()
    doc["config"]["qbft"]["blockreward"] = "0x0"
    assert parse_genesis(doc).chain_id == 1337
