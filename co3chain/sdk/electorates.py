"""Electorate methods of the Python SDK: ``ElectorateClient(client)`` around a :class:`Client`.

Why a separate class: like :mod:`co3chain.sdk.budget`, it keeps the core client small and shares its transport,
API key and cached deployment. Electorates are named as the API and the CLI name them: ``consortium``,
``pa:N``, ``group:N``, ``union:N`` or the uint256 id (see :mod:`co3chain.electorates`).
"""

from __future__ import annotations

from typing import Any

from co3chain.api import models as m
from co3chain.api.routes import electorates as em
from co3chain.api.routes.operations import CouncilCall
from co3chain.sdk.client import Client


class ElectorateClient:
    """``ElectorateClient(Client(url, api_key=...))``: electorates, groups, PA bindings, scoped proposals."""

    def __init__(self, client: Client) -> None:
        self.client = client

    # ------------------------------------------------------------------ reads
    def electorate(self, electorate: str | int, at: int | None = None) -> em.ElectorateInfo:
        """Kind, owning PA, groups and eligible size (at ``at``, default the latest past second)."""
        return self.client._get(f"/v1/electorates/{electorate}", em.ElectorateInfo, at=at)

    def group(self, group_id: int) -> em.Group:
        return self.client._get(f"/v1/groups/{group_id}", em.Group)

    def citizen_electorates(self, address: str) -> em.CitizenElectorates:
        return self.client._get(f"/v1/citizens/{address}/electorates", em.CitizenElectorates)

    def proposal_electorate(self, proposal_id: int | str) -> em.ProposalElectorate:
        """The electorate of a proposal, its size at the snapshot and the quorum (once the snapshot passed)."""
        return self.client._get(f"/v1/proposals/{proposal_id}/electorate", em.ProposalElectorate)

    # ------------------------------------------------------------------ PA writes (API key)
    def create_group(self, kind: str, *, name: str | None = None, metadata_hash: str | None = None) -> m.TxAccepted:
        """``kind``: district, area-residence or association; ``name`` is hashed unless ``metadata_hash`` is given."""
        body = em.GroupCreate(kind=kind, name=name, metadataHash=metadata_hash)  # type: ignore[arg-type]
        return self.client._post("/v1/groups", body, m.TxAccepted)

    def add_member(self, group_id: int, address: str) -> m.TxAccepted:
        return self.client._post(f"/v1/groups/{group_id}/members", em.GroupMember(address=address), m.TxAccepted)

    def remove_member(self, group_id: int, address: str) -> m.TxAccepted:
        return m.TxAccepted.model_validate(self.client._request("DELETE", f"/v1/groups/{group_id}/members/{address}"))

    def define_union(self, group_ids: list[int]) -> m.TxAccepted:
        return self.client._post("/v1/electorates", em.UnionCreate(groupIds=group_ids), m.TxAccepted)

    def pa_binding_council_call(self, account: str, pa_id: int) -> CouncilCall:
        """The council call that binds ``account`` to PA ``pa_id`` (0 unbinds); submit it through the council."""
        return self.client._post("/v1/pa-accounts/council-call", em.PaBinding(account=account, paId=pa_id),
                                 CouncilCall)

    def propose(self, *, description: str, vote_start: int, vote_end: int, electorate: str | int = "consortium",
                area_id: int = 0, mode: int = 0, commit_reveal: bool = False, reveal_end: int = 0,
                actions: list[dict[str, Any]] | None = None) -> m.ProposalCreated:
        """A proposal voted by ``electorate`` (``proposeFor``); ``actions``: ``{target, value, data}`` calls."""
        body = em.ProposalForCreate(areaId=area_id, electorate=str(electorate), mode=mode, commitReveal=commit_reveal,
                                    voteStart=vote_start, voteEnd=vote_end, revealEnd=reveal_end,
                                    description=description,
                                    actions=[em.Action(**a) for a in actions or []])
        return self.client._post("/v1/proposals/electorate", body, m.ProposalCreated)
