"""Counting delegations after votes: the API relayer's share of liquid delegation.

Why the API counts: ``LiquidDelegation.countDelegations`` only adds weight for delegators it is given, and
nobody else knows which citizens' chains reach a new voter. After the indexer stores a ``VoteCast`` on a
delegable proposal, the counter finds the citizens below that voter at the snapshot (from the indexed pointer
history) and submits them, in batches, from the relayer. Anyone can do the same (the call is permissionless),
so the API cannot withhold delegated weight; `co3chain audit proposal` reports delegations left uncounted.
"""

from __future__ import annotations

import logging
from typing import Any

from co3chain.delegation import index

log = logging.getLogger("co3chain.delegation")

#: Delegators per ``countDelegations`` transaction (each costs at most MAX_DEPTH hops of reads).
BATCH = 40

ACTIVE = 1


class DelegationCounter:
    """Drains the indexer's ``delegation_todo`` queue through the relayer (``run_once`` after each sync)."""

    def __init__(self, chain: Any, store: Any, relayer: Any) -> None:
        self.chain = chain
        self.store = store
        self.relayer = relayer

    @property
    def contract(self) -> Any | None:
        return self.chain.contracts.get("LiquidDelegation")

    def pending(self, proposal_id: int, voter: str) -> list[str]:
        """Citizens below ``voter`` at the proposal's snapshot, not voters, not yet counted."""
        gov = self.chain.governance.functions
        p = self.chain.call(gov.getProposal(proposal_id))
        snapshot, area_id = int(p[1]), int(p[7])
        pointers = index.pointers_at(index.history_rows(self.store.query), snapshot)
        voters = {str(r["voter"]) for r in self.store.query(
            "SELECT voter FROM votes WHERE proposal_id = ? AND type = 'cast'", (str(proposal_id),))}
        below = index.delegators_below(pointers, area_id, voter, voters)
        ld = self.contract.functions
        return [d for d in below if int(self.chain.call(ld.countedWeight(proposal_id, d))) == 0]

    def count(self, proposal_id: int, delegators: list[str]) -> list[str]:
        """Submit ``delegators`` in batches; returns the transaction hashes."""
        hashes = []
        for i in range(0, len(delegators), BATCH):
            fn = self.contract.functions.countDelegations(proposal_id, delegators[i:i + BATCH])
            hashes.append(self.relayer.send_fn(fn))
        return hashes

    def run_once(self) -> int:
        """Process the queued votes; returns the number of transactions sent. Refusals drop the entry (the
        vote closed, the proposal is not delegable); node errors keep it for the next pass."""
        if self.contract is None or self.relayer is None:
            return 0
        sent = 0
        for row in self.store.query("SELECT proposal_id, voter FROM delegation_todo ORDER BY rowid"):
            pid, voter = int(row["proposal_id"]), str(row["voter"])
            try:
                if int(self.chain.call(self.chain.governance.functions.state(pid))) == ACTIVE:
                    sent += len(self.count(pid, self.pending(pid, voter)))
            except Exception as exc:  # a refusal is final for this vote; an unreachable node is not
                status = getattr(exc, "status", None)
                if status == 503:
                    log.warning("delegation counting postponed: %s", exc)
                    return sent
                log.warning("delegation counting for proposal %s after %s's vote refused: %s", pid, voter, exc)
            with self.store.write() as db:
                db.execute("DELETE FROM delegation_todo WHERE proposal_id = ? AND voter = ?", (str(pid), voter))
        return sent
