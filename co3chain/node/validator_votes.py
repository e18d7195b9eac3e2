"""This node's pending validator-set votes (``qbft_proposeValidatorVote`` …), persisted in the data dir.

Why persisted: an operator's vote is a governance act; a node restart (upgrade, crash) must not silently
forget it, otherwise a validator add/drop that was half-way through its ⌊n/2⌋+1 votes would stall.
The file is small JSON (``{"0xaddress": true|false}``) written atomically (temp file + rename), so a crash
while writing leaves the old or the new content, never a torn file.

The vote selection rule (which vote goes into the next proposed block) is
:class:`co3chain.consensus.qbft.votes.PendingVotes`; this module adds persistence and input checking.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from eth_utils import is_hex_address, to_canonical_address

from co3chain.consensus.qbft.extradata import Vote
from co3chain.consensus.qbft.votes import PendingVotes
from co3chain.errors import Co3Error

VOTES_FILE = "validator-votes.json"


class VoteStoreError(Co3Error):
    """The votes file is unreadable or holds something that is not a vote map."""


class PersistentVotes:
    """Pending add/drop votes of this node, backed by ``<data_dir>/validator-votes.json`` (or memory).

    Thread-safe: RPC handlers propose/discard while the consensus driver asks for the next vote.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._votes = PendingVotes()
        if path is not None and path.exists():
            for address, add in self._read(path).items():
                self._votes.propose(address, add)

    @classmethod
    def in_data_dir(cls, data_dir: Path | None) -> PersistentVotes:
        return cls(None if data_dir is None else data_dir / VOTES_FILE)

    @staticmethod
    def _read(path: Path) -> dict[bytes, bool]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise VoteStoreError(f"cannot read validator votes file {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise VoteStoreError(f"validator votes file {path} must hold a JSON object")
        out: dict[bytes, bool] = {}
        for key, value in data.items():
            if not is_hex_address(key) or not isinstance(value, bool):
                raise VoteStoreError(f"validator votes file {path}: bad entry {key!r}: {value!r}")
            out[to_canonical_address(key)] = value
        return out

    def _save(self) -> None:
        if self.path is None:
            return
        doc = {"0x" + a.hex(): add for a, add in sorted(self._votes.pending().items())}
        tmp = self.path.with_suffix(".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def propose(self, address: bytes, add: bool) -> None:
        """Record (or replace) this node's vote to add (``True``) or drop (``False``) ``address``."""
        if len(address) != 20:
            raise ValueError("validator address must be 20 bytes")
        with self._lock:
            self._votes.propose(bytes(address), bool(add))
            self._save()

    def discard(self, address: bytes) -> bool:
        """Withdraw the vote on ``address``; ``True`` if there was one."""
        with self._lock:
            had = bytes(address) in self._votes.pending()
            self._votes.discard(bytes(address))
            if had:
                self._save()
            return had

    def pending(self) -> dict[bytes, bool]:
        with self._lock:
            return self._votes.pending()

    def next_vote(
        self, validators: Sequence[bytes], block_number: int, epoch_length: int, eligible: set[bytes] | None = None
    ) -> Vote | None:
        """The vote for block ``block_number`` (see :meth:`PendingVotes.next_vote`).

        ``eligible``: if given, *add* votes are only cast for these addresses (the driver passes the
        validators it sees online and synced, so that a vote never makes the set lose its quorum — the
        "adding a validator to a one-validator network halts it" failure mode). Drop votes are always cast.
        """
        with self._lock:
            if eligible is None:
                return self._votes.next_vote(validators, block_number, epoch_length)
            filtered = PendingVotes()
            for address, add in self._votes.pending().items():
                if not add or address in eligible:
                    filtered.propose(address, add)
            filtered._cursor = self._votes._cursor  # keep the round-robin position across calls
            vote = filtered.next_vote(validators, block_number, epoch_length)
            self._votes._cursor = filtered._cursor
            return vote

    def prune_applied(self, validators: Sequence[bytes]) -> None:
        """Forget votes that the validator set already reflects (Besu keeps them; they are no-ops).

        Keeping them would be harmless for selection (useless votes are skipped) but would show as
        "pending" forever in ``qbft_getPendingVotes`` and the CLI; an applied vote is done.
        """
        current = set(validators)
        with self._lock:
            done = [a for a, add in self._votes.pending().items() if add == (a in current)]
            for address in done:
                self._votes.discard(address)
            if done:
                self._save()
