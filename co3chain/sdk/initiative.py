"""Citizen-initiative methods of the Python SDK: ``InitiativeClient(client)`` around a :class:`Client`.

The author's steps (draft, amend, open) and citizens' supports are signed locally as EIP-712 messages for
the deployment's chain and CitizenInitiatives contract, then relayed by the API: nobody needs ETH, and the
API never sees a key. Deadlines default to one hour of chain time (the API reports it with the nonce).
"""

from __future__ import annotations

import time
from typing import Any

from co3chain.initiative import models as im
from co3chain.initiative import typed_data as itd
from co3chain.initiative.content import Content
from co3chain.sdk.client import Client

CONTRACT = "CitizenInitiatives"
#: Default life of a signature, in seconds of chain time.
DEFAULT_VALIDITY = 3600


def _hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()


def content_fields(content: Content) -> dict[str, Any]:
    """A :class:`Content` as the API's ``ContentBody`` fields."""
    return {"textHash": _hex(content.text_hash), "title": content.title, "areaId": str(content.area_id),
            "electorate": str(content.electorate), "mode": content.mode, "votingPeriod": content.voting_period,
            "actions": [{"target": a.target, "value": str(a.value), "calldata": _hex(a.calldata)}
                        for a in content.actions]}


class InitiativeClient:
    """``InitiativeClient(Client(url))``: list and read initiatives, draft, amend, open and support them."""

    def __init__(self, client: Client) -> None:
        self.client = client

    # ------------------------------------------------------------------ reads
    def initiatives(self, limit: int = 20, offset: int = 0) -> im.InitiativeList:
        return self.client._get("/v1/initiatives", im.InitiativeList, limit=limit, offset=offset)

    def initiative(self, initiative_id: int) -> im.InitiativeDetail:
        return self.client._get(f"/v1/initiatives/{initiative_id}", im.InitiativeDetail)

    def supports(self, initiative_id: int, limit: int = 100, offset: int = 0) -> im.InitiativeSupportList:
        return self.client._get(f"/v1/initiatives/{initiative_id}/supports", im.InitiativeSupportList, limit=limit,
                                offset=offset)

    def supporter_status(self, initiative_id: int, supporter: str) -> im.InitiativeSupporterStatus:
        return self.client._get(f"/v1/initiatives/{initiative_id}/supporters/{supporter}", im.InitiativeSupporterStatus)

    def nonce(self, account: str, key: int = 0) -> im.InitiativeNonce:
        return self.client._get(f"/v1/initiatives/nonces/{account}", im.InitiativeNonce, key=key)

    def threshold(self, electorate: int) -> im.InitiativeThreshold:
        return self.client._get(f"/v1/initiatives/thresholds/{electorate}", im.InitiativeThreshold)

    def transaction(self, tx_hash: str) -> im.InitiativeTx:
        return self.client._get(f"/v1/initiatives/tx/{tx_hash}", im.InitiativeTx)

    def wait(self, tx_hash: str, timeout: float = 60.0, poll: float = 0.25) -> im.InitiativeTx:
        """Poll until the relayed transaction is mined; returns what it did (drafted id, created proposal)."""
        end = time.monotonic() + timeout
        while True:
            result = self.transaction(tx_hash)
            if result.status != "pending":
                return result
            if time.monotonic() > end:
                raise TimeoutError(f"transaction {tx_hash} not mined within {timeout:.0f} s")
            time.sleep(poll)

    # ------------------------------------------------------------------ signing
    def _signing(self, account: Any, key: int, nonce: int | None, deadline: int | None) -> tuple[int, str, int, int]:
        chain_id, address = self.client._chain(CONTRACT)
        if nonce is None or deadline is None:
            current = self.nonce(account.address, key)
            nonce = int(current.nonce) if nonce is None else nonce
            deadline = current.chainTime + DEFAULT_VALIDITY if deadline is None else deadline
        return chain_id, address, nonce, deadline

    def sign_draft(self, account: Any, content: Content, *, nonce: int | None = None,
                   deadline: int | None = None) -> im.InitiativeDraftRelay:
        chain_id, address, nonce, deadline = self._signing(account, 0, nonce, deadline)
        typed = itd.draft_typed_data(chain_id, address, content_hash=content.content_hash(), author=account.address,
                                     nonce=nonce, deadline=deadline)
        return im.InitiativeDraftRelay(**content_fields(content), author=account.address, nonce=str(nonce), deadline=deadline,
                             signature=_hex(itd.sign(account.key, typed)))

    def sign_amend(self, account: Any, initiative_id: int, content: Content, *, nonce: int | None = None,
                   deadline: int | None = None) -> im.InitiativeAmendRelay:
        chain_id, address, nonce, deadline = self._signing(account, initiative_id, nonce, deadline)
        typed = itd.amend_typed_data(chain_id, address, initiative_id=initiative_id,
                                     content_hash=content.content_hash(), author=account.address, nonce=nonce,
                                     deadline=deadline)
        return im.InitiativeAmendRelay(**content_fields(content), initiativeId=str(initiative_id), author=account.address,
                             nonce=str(nonce), deadline=deadline, signature=_hex(itd.sign(account.key, typed)))

    def sign_open(self, account: Any, initiative_id: int, version_hash: str | None = None, *,
                  nonce: int | None = None, deadline: int | None = None) -> im.InitiativeOpenRelay:
        version = version_hash or self.initiative(initiative_id).versionHash
        chain_id, address, nonce, deadline = self._signing(account, initiative_id, nonce, deadline)
        typed = itd.open_typed_data(chain_id, address, initiative_id=initiative_id, version_hash=version,
                                    author=account.address, nonce=nonce, deadline=deadline)
        return im.InitiativeOpenRelay(initiativeId=str(initiative_id), versionHash=version, author=account.address,
                            nonce=str(nonce), deadline=deadline, signature=_hex(itd.sign(account.key, typed)))

    def sign_support(self, account: Any, initiative_id: int, version_hash: str | None = None, *,
                     nonce: int | None = None, deadline: int | None = None) -> im.InitiativeSupportRelay:
        """The signed support of ``account`` for the initiative's version ``version_hash`` (default: the
        current one, read from the API: check it is the text the citizen read)."""
        version = version_hash or self.initiative(initiative_id).versionHash
        chain_id, address, nonce, deadline = self._signing(account, initiative_id, nonce, deadline)
        typed = itd.support_typed_data(chain_id, address, initiative_id=initiative_id, version_hash=version,
                                       supporter=account.address, nonce=nonce, deadline=deadline)
        return im.InitiativeSupportRelay(initiativeId=str(initiative_id), versionHash=version, supporter=account.address,
                               nonce=str(nonce), deadline=deadline, signature=_hex(itd.sign(account.key, typed)))

    # ------------------------------------------------------------------ relays
    def relay_draft(self, body: im.InitiativeDraftRelay) -> im.InitiativeRelayAccepted:
        return self.client._post("/v1/relay/initiative-draft", body, im.InitiativeRelayAccepted)

    def relay_amend(self, body: im.InitiativeAmendRelay) -> im.InitiativeRelayAccepted:
        return self.client._post("/v1/relay/initiative-amend", body, im.InitiativeRelayAccepted)

    def relay_open(self, body: im.InitiativeOpenRelay) -> im.InitiativeRelayAccepted:
        return self.client._post("/v1/relay/initiative-open", body, im.InitiativeRelayAccepted)

    def relay_support(self, body: im.InitiativeSupportRelay) -> im.InitiativeRelayAccepted:
        return self.client._post("/v1/relay/initiative-support", body, im.InitiativeRelayAccepted)

    def draft(self, account: Any, content: Content) -> im.InitiativeRelayAccepted:
        """Sign and relay a draft; ``wait(txHash).initiativeId`` is its id once mined."""
        return self.relay_draft(self.sign_draft(account, content))

    def amend(self, account: Any, initiative_id: int, content: Content) -> im.InitiativeRelayAccepted:
        return self.relay_amend(self.sign_amend(account, initiative_id, content))

    def open(self, account: Any, initiative_id: int, version_hash: str | None = None) -> im.InitiativeRelayAccepted:
        return self.relay_open(self.sign_open(account, initiative_id, version_hash))

    def support(self, account: Any, initiative_id: int, version_hash: str | None = None) -> im.InitiativeRelayAccepted:
        """Sign and relay ``account``'s support; the citizen pays no gas."""
        return self.relay_support(self.sign_support(account, initiative_id, version_hash))
