"""Pure QBFT chain verifier: feed headers in order, get findings (no I/O, so tests can feed crafted headers).

Per block ``n`` (parent ``p``) it checks, as Besu's header validation rules do:

* ``hash-mismatch``: the hash the node reported differs from the QBFT hash recomputed from the fields;
* ``parent-link`` / ``gap``: ``parentHash`` is not the recomputed hash of ``p`` / numbers are not consecutive;
* ``timestamp`` / ``future-timestamp``: ``ts(n) < ts(p) + blockperiod`` / more than 1 s ahead of the clock;
* ``header-constant``: difficulty 1, the QBFT mixHash, nonce 0, no ommers;
* ``extradata``: extraData is not canonical QBFT RLP;
* ``validator-set``: the extraData validator list is not the set recomputed from genesis and the votes
  carried by earlier blocks (a change without ⌊n/2⌋+1 votes shows up here);
* ``proposer-not-validator`` / ``wrong-proposer``: the coinbase is not the proposer of the block's round
  or of an earlier round (after a round change QBFT re-proposes the block prepared in an earlier round
  unchanged but for the round, so it keeps that round's proposer as coinbase — as Besu does);
* ``bad-seal`` / ``non-validator-seal`` / ``duplicate-seal`` / ``insufficient-seals``: commit seals must be
  ≥ ⌈2n/3⌉ distinct validators of the set valid at the parent.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth.constants import EMPTY_UNCLE_HASH

from co3chain.audit.headers import Header, header_from_json
from co3chain.audit.report import Finding
from co3chain.consensus.qbft.extradata import ExtraDataError, QbftExtraData
from co3chain.consensus.qbft.hashing import SealError, quorum, recover_signer
from co3chain.consensus.qbft.proposer import select_proposer
from co3chain.consensus.qbft.votes import ValidatorSetTracker

QBFT_MIX_HASH = bytes.fromhex("63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365")
#: A block may be at most this far ahead of the auditor's clock.
MAX_FUTURE_SECONDS = 1


@dataclass(frozen=True)
class ChainParams:
    """The consensus parameters an audit trusts (from the genesis file, never from the node)."""

    epoch_length: int
    block_period: int
    genesis_extra_data: bytes | None = None
    clock: Callable[[], float] = time.time


@dataclass
class VerifierStats:
    blocks: int = 0
    seals: int = 0
    first: int | None = None
    last: int | None = None
    seals_by_validator: Counter = field(default_factory=Counter)
    proposed_by_validator: Counter = field(default_factory=Counter)
    validator_changes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "blocksVerified": self.blocks,
            "sealsVerified": self.seals,
            "firstBlock": self.first,
            "lastBlock": self.last,
            "sealsByValidator": {"0x" + k.hex(): v for k, v in sorted(self.seals_by_validator.items())},
            "proposedByValidator": {"0x" + k.hex(): v for k, v in sorted(self.proposed_by_validator.items())},
            "validatorChanges": self.validator_changes,
        }


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


class ChainVerifier:
    """Streaming verifier. Start it at an anchor header whose validator list is trusted.

    Starting at genesis, the anchor is block 0 and its list is the genesis validators. Starting later, the
    anchor must be an epoch block (pending votes are empty there, so its list is the whole state).
    """

    def __init__(self, params: ChainParams, anchor: Header | dict[str, Any]) -> None:
        self.params = params
        anchor = anchor if isinstance(anchor, Header) else header_from_json(anchor)
        self.stats = VerifierStats()
        self._prev = anchor
        self._prev_hash = anchor.computed_hash()
        self.anchor_findings: list[Finding] = []
        if anchor.number % params.epoch_length != 0:
            raise ValueError(f"anchor block {anchor.number} is not an epoch block")
        try:
            validators = anchor.qbft().validators
        except ExtraDataError as exc:
            raise ValueError(f"anchor block {anchor.number} has no QBFT extraData: {exc}") from exc
        if anchor.number == 0 and params.genesis_extra_data is not None and anchor.extra_data != params.genesis_extra_data:
            self.anchor_findings.append(
                Finding("genesis-mismatch", "block 0 extraData differs from the genesis file", 0)
            )
        if anchor.reported_hash is not None and anchor.reported_hash != self._prev_hash:
            self.anchor_findings.append(
                Finding("hash-mismatch", f"node reports {_hex(anchor.reported_hash)}, recomputed {_hex(self._prev_hash)}",
                        anchor.number)
            )
        self.tracker = ValidatorSetTracker(validators, params.epoch_length, last_block=anchor.number)

    @property
    def validators(self) -> tuple[bytes, ...]:
        """The set that must seal the next block."""
        return self.tracker.validators

    def verify(self, header: Header | dict[str, Any]) -> list[Finding]:
        """Check the next header; returns its findings (empty when valid)."""
        h = header if isinstance(header, Header) else header_from_json(header)
        n = h.number
        out: list[Finding] = []
        prev = self._prev
        self.stats.blocks += 1
        self.stats.first = n if self.stats.first is None else self.stats.first
        self.stats.last = n

        if n != prev.number + 1:
            out.append(Finding("gap", f"expected block {prev.number + 1}, got {n}", n))
        if h.parent_hash != self._prev_hash:
            out.append(Finding("parent-link", f"parentHash {_hex(h.parent_hash)} is not the hash of block "
                                              f"{prev.number} ({_hex(self._prev_hash)})", n))
        out.extend(self._check_constants(h, prev))

        try:
            extra = h.qbft()
        except ExtraDataError as exc:
            out.append(Finding("extradata", f"extraData is not QBFT: {exc}", n))
            self._advance(h, h.plain_hash(), None)
            return out

        computed = h.qbft_hash()
        if h.reported_hash is not None and h.reported_hash != computed:
            out.append(Finding("hash-mismatch", f"node reports {_hex(h.reported_hash)}, recomputed {_hex(computed)}", n))

        expected = self.tracker.validators
        if tuple(extra.validators) != expected:
            out.append(Finding(
                "validator-set",
                "extraData validator list differs from the set recomputed from genesis and votes",
                n,
                details={"listed": [_hex(v) for v in extra.validators], "expected": [_hex(v) for v in expected]},
            ))
        out.extend(self._check_proposer(h, prev, extra, expected))
        out.extend(self._check_seals(h, extra, expected))
        self._advance(h, computed, extra)
        return out

    # -- individual rules --------------------------------------------------------------------------------
    def _check_constants(self, h: Header, prev: Header) -> list[Finding]:
        n = h.number
        out = []
        if h.timestamp < prev.timestamp + self.params.block_period:
            out.append(Finding("timestamp", f"timestamp {h.timestamp} < parent {prev.timestamp} + period "
                                            f"{self.params.block_period}", n))
        if h.timestamp > self.params.clock() + MAX_FUTURE_SECONDS:
            out.append(Finding("future-timestamp", f"timestamp {h.timestamp} is in the future", n))
        bad = []
        if h.difficulty != 1:
            bad.append(f"difficulty {h.difficulty} (must be 1)")
        if h.mix_hash != QBFT_MIX_HASH:
            bad.append(f"mixHash {_hex(h.mix_hash)}")
        if h.nonce != b"\x00" * 8:
            bad.append(f"nonce {_hex(h.nonce)}")
        if h.items[1] != EMPTY_UNCLE_HASH:
            bad.append("ommers present")
        if bad:
            out.append(Finding("header-constant", "; ".join(bad), n))
        return out

    def _check_proposer(self, h: Header, prev: Header, extra: QbftExtraData, expected: Sequence[bytes]) -> list[Finding]:
        n = h.number
        if h.coinbase not in expected:
            return [Finding("proposer-not-validator", f"coinbase {_hex(h.coinbase)} is not a validator", n)]
        # the proposers of rounds 0..round cycle through the set: at most len(expected) distinct ones
        allowed = {select_proposer(expected, prev.coinbase, r) for r in range(min(extra.round, len(expected)) + 1)}
        if h.coinbase not in allowed:
            want = select_proposer(expected, prev.coinbase, extra.round)
            return [Finding("wrong-proposer", f"coinbase {_hex(h.coinbase)} proposed no round up to {extra.round}"
                                              f" (round {extra.round} proposer is {_hex(want)})", n)]
        return []

    def _check_seals(self, h: Header, extra: QbftExtraData, expected: Sequence[bytes]) -> list[Finding]:
        n = h.number
        out: list[Finding] = []
        digest = h.commit_seal_digest()
        valset = set(expected)
        signers: list[bytes] = []
        for i, seal in enumerate(extra.seals):
            try:
                signer = recover_signer(digest, seal)
            except SealError as exc:
                out.append(Finding("bad-seal", f"seal {i}: {exc}", n))
                continue
            self.stats.seals += 1
            if signer not in valset:
                out.append(Finding("non-validator-seal", f"seal {i} signed by {_hex(signer)}, not a validator", n))
                continue
            if signer in signers:
                out.append(Finding("duplicate-seal", f"seal {i}: {_hex(signer)} sealed twice", n))
                continue
            signers.append(signer)
            self.stats.seals_by_validator[signer] += 1
        need = quorum(len(valset))
        if len(signers) < need:
            out.append(Finding("insufficient-seals", f"{len(signers)} valid distinct validator seals, quorum is "
                                                     f"{need} of {len(valset)}", n))
        return out

    def _advance(self, h: Header, computed_hash: bytes, extra: QbftExtraData | None) -> None:
        before = set(self.tracker.validators)
        vote = extra.vote if extra is not None else None
        proposer_ok = h.coinbase in before
        self.stats.proposed_by_validator[h.coinbase] += 1
        try:
            self.tracker.apply_block(h.number, h.coinbase, vote if proposer_ok else None)
        except ValueError:
            # A gap: restart the tally at this block so later blocks are still checked.
            self.tracker.last_block = h.number
        after = set(self.tracker.validators)
        for added in sorted(after - before):
            self.stats.validator_changes.append({"block": h.number, "added": _hex(added), "effectiveFrom": h.number + 1})
        for dropped in sorted(before - after):
            self.stats.validator_changes.append({"block": h.number, "dropped": _hex(dropped), "effectiveFrom": h.number + 1})
        self._prev = h
        self._prev_hash = computed_hash


def verify_headers(params: ChainParams, headers: Sequence[dict[str, Any] | Header]) -> tuple[list[Finding], VerifierStats]:
    """Verify ``headers[1:]`` with ``headers[0]`` as the anchor (genesis or an epoch block)."""
    verifier = ChainVerifier(params, headers[0])
    findings = list(verifier.anchor_findings)
    for h in headers[1:]:
        findings.extend(verifier.verify(h))
    return findings, verifier.stats


def genesis_extra(genesis_validators: Sequence[bytes]) -> bytes:
    """Genesis extraData for ``genesis_validators`` (tests and tooling)."""
    return QbftExtraData(validators=sorted(genesis_validators)).encode()
