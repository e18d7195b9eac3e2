"""Commit seals are recovered once per block: the seal book trusts the engine's recovered seals and does not
recover a seal it already holds; the result is the form a book that recovers everything computes."""

from __future__ import annotations

from typing import Any

import pytest

from co3chain.chain.chain import NodeChain
from co3chain.consensus.qbft.extradata import QbftExtraData
from co3chain.consensus.qbft.hashing import recover_seal_signers
from co3chain.node import seal_book
from co3chain.node.seal_book import SealBook
from tests.chain.helpers import VALIDATOR_KEYS, make_test_genesis, produce


@pytest.fixture
def header() -> Any:
    chain = NodeChain.open(None, make_test_genesis(4))
    produce(chain, [], VALIDATOR_KEYS[:3])
    return chain.head


@pytest.fixture
def recoveries(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    calls: list[bytes] = []
    real = seal_book.recover_signer

    def counting(digest: bytes, seal: bytes) -> bytes:
        calls.append(seal)
        return real(digest, seal)

    monkeypatch.setattr(seal_book, "recover_signer", counting)
    return calls


def test_stored_seals_are_recovered_once(header: Any, recoveries: list[bytes]) -> None:
    book = SealBook()
    book.add_stored(header)
    assert len(recoveries) == 3
    book.add_stored(header)  # after the import the same header passes through again
    assert len(recoveries) == 3
    assert book.form(header) is not None


def test_engine_verified_seals_are_not_recovered_and_give_the_same_form(header: Any,
                                                                        recoveries: list[bytes]) -> None:
    extra = QbftExtraData.decode(header.extra_data)
    reference = SealBook()
    reference.add_stored(header)
    recoveries.clear()
    book = SealBook()
    book.add_verified(header, extra.round, recover_seal_signers(header), extra.seals)
    book.add_stored(header)
    assert recoveries == []
    assert book.form(header) == reference.form(header)
