"""Participatory-budget methods of the Python SDK: ``BudgetClient(client)`` around a :class:`Client`.

Why a separate class: it keeps the core client small; it shares the client's transport, API key and cached
deployment. ``vote`` signs the EIP-712 ``BudgetBallot`` locally (the API never sees the citizen's key) for the
deployment's chain id and ParticipatoryBudget address, then posts it to ``/v1/relay/budget-ballot``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from co3chain.api import models as m
from co3chain.budget import models as bm
from co3chain.budget.rule import selection_mask
from co3chain.budget.typed_data import sign_ballot
from co3chain.sdk.client import Client


class BudgetClient:
    """``BudgetClient(Client(url, api_key=...))``: rounds, projects, results, treasury, ballots."""

    def __init__(self, client: Client) -> None:
        self.client = client

    # ------------------------------------------------------------------ reads
    def rounds(self, limit: int = 20, offset: int = 0) -> bm.RoundList:
        return self.client._get("/v1/budget/rounds", bm.RoundList, limit=limit, offset=offset)

    def round(self, round_id: int) -> bm.RoundDetail:
        return self.client._get(f"/v1/budget/rounds/{round_id}", bm.RoundDetail)

    def project(self, round_id: int, index: int) -> bm.Project:
        return self.client._get(f"/v1/budget/rounds/{round_id}/projects/{index}", bm.Project)

    def voter_status(self, round_id: int, voter: str) -> bm.VoterStatus:
        return self.client._get(f"/v1/budget/rounds/{round_id}/voters/{voter}", bm.VoterStatus)

    def history(self, round_id: int, limit: int = 100, offset: int = 0) -> bm.RoundHistory:
        """The round's indexed events in chain order (ballots, outcome, project steps, payments)."""
        return self.client._get(f"/v1/budget/rounds/{round_id}/history", bm.RoundHistory, limit=limit, offset=offset)

    def treasury(self, areas: Iterable[int] = (0,)) -> bm.Treasury:
        return self.client._get("/v1/budget/treasury", bm.Treasury, area=list(areas))

    # ------------------------------------------------------------------ PA writes (API key)
    def propose_round(self, body: bm.RoundCreate | dict[str, Any]) -> bm.RoundCreated:
        return self.client._post("/v1/budget/rounds", body, bm.RoundCreated)

    def finalize(self, round_id: int) -> m.TxAccepted:
        return self.client._post(f"/v1/budget/rounds/{round_id}/finalize", {}, m.TxAccepted)

    def update_project(self, round_id: int, index: int, state: str, evidence_hash: str) -> m.TxAccepted:
        body = bm.ProjectStatusUpdate(state=state, evidenceHash=evidence_hash)  # type: ignore[arg-type]
        return self.client._post(f"/v1/budget/rounds/{round_id}/projects/{index}/status", body, m.TxAccepted)

    # ------------------------------------------------------------------ citizen ballots (signed locally)
    def sign_ballot(self, account: Any, round_id: int, projects: Iterable[int],
                    nonce: int | None = None) -> bm.BallotRelay:
        """The signed ballot approving ``projects`` (indices) for ``account`` (an eth-account LocalAccount)."""
        chain_id, address = self.client._chain("ParticipatoryBudget")
        if nonce is None:
            nonce = int(self.voter_status(round_id, account.address).nonce)
        selection = selection_mask(projects)
        signature = sign_ballot(account.key, chain_id, address, round_id=round_id, selection=selection, nonce=nonce)
        return bm.BallotRelay(roundId=str(round_id), selection=str(selection), voter=account.address, nonce=str(nonce),
                              signature="0x" + signature.hex())

    def relay_ballot(self, body: bm.BallotRelay) -> m.TxAccepted:
        return self.client._post("/v1/relay/budget-ballot", body, m.TxAccepted)

    def vote(self, account: Any, round_id: int, projects: Iterable[int]) -> m.TxAccepted:
        """Sign and relay ``account``'s ballot; the citizen pays no gas."""
        return self.relay_ballot(self.sign_ballot(account, round_id, projects))
