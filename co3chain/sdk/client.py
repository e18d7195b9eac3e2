"""Typed client of the co3chain API, with helpers that sign citizens' EIP-712 messages locally.

Why sign in the SDK: the API relays but never holds citizens' keys; an app holding a citizen's
``LocalAccount`` calls ``client.vote(account, proposal_id, support)`` and the SDK fetches the nonce, signs
the ``Ballot`` for the deployment's chain and governance contract, and posts it to ``/v1/relay/vote``.
Results are the API's pydantic models (:mod:`co3chain.api.models`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from eth_account import Account
from pydantic import BaseModel

from co3chain.api import models as m
from co3chain.contracts import governance_typed_data as gtd
from co3chain.contracts.typed_data import sign_spend, spend_typed_data

T = TypeVar("T", bound=BaseModel)

DELEGATION_TYPE = [
    {"name": "delegatee", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "expiry", "type": "uint256"},
]


class ApiClientError(Exception):
    """The API answered with an error body (``code``, ``message``) or could not be reached."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SseEvent:
    id: int
    type: str
    data: dict[str, Any]


def _hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()


class Client:
    """``Client(base_url, api_key=None)``; pass ``http=`` an ``httpx.Client`` (e.g. FastAPI's TestClient)."""

    def __init__(self, base_url: str = "http://127.0.0.1:8080", api_key: str | None = None, *,
                 http: httpx.Client | None = None, timeout: float = 30.0) -> None:
        # Sent per request (not set on the httpx client) so clients sharing one transport keep their own key.
        self._headers = {"X-API-Key": api_key} if api_key else {}
        self.http = http if http is not None else httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self._deployment: dict[str, Any] | None = None
        self._meta: dict[str, Any] | None = None

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing
    def _request(self, method: str, path: str, *, json_body: Any = None, params: dict[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = self.http.request(method, path, json=json_body, params=clean or None, headers=self._headers)
        except httpx.HTTPError as exc:
            raise ApiClientError(0, "unreachable", f"cannot reach the API: {exc}") from None
        if response.status_code >= 400:
            try:
                err = response.json()["error"]
                code, message = str(err["code"]), str(err["message"])
            except (ValueError, KeyError, TypeError):
                code, message = "http_error", response.text[:500]
            raise ApiClientError(response.status_code, code, message)
        return response.json()

    def _get(self, path: str, model: type[T], **params: Any) -> T:
        return model.model_validate(self._request("GET", path, params=params))

    def _post(self, path: str, body: BaseModel | dict[str, Any], model: type[T], method: str = "POST") -> T:
        payload = body.model_dump(by_alias=True, exclude_none=True) if isinstance(body, BaseModel) else body
        return model.model_validate(self._request(method, path, json_body=payload))

    # ------------------------------------------------------------------ meta
    def health(self) -> m.Health:
        return self._get("/v1/health", m.Health)

    def deployment(self, refresh: bool = False) -> dict[str, Any]:
        """The deployment manifest (cached: chain id and addresses do not change)."""
        if self._deployment is None or refresh:
            self._deployment = self._request("GET", "/v1/deployment")
        return self._deployment

    def meta(self) -> dict[str, Any]:
        """``/v1/meta``: chain id, addresses and ABI hashes, EIP-712 domains and types (cached)."""
        if self._meta is None:
            self._meta = dict(self._request("GET", "/v1/meta"))
        return self._meta

    def sign_checkin(self, account: Any, *, event_id: str, area_id: int, activity_id: int, lat_e6: int, lon_e6: int,
                     accuracy_mm: int, timestamp_ms: int) -> dict[str, Any]:
        """A device-signed check-in webhook body (EIP-712 ``CheckIn`` in this deployment's device domain).

        Give it to the AR source's server, which posts it with its HMAC headers
        (:func:`co3chain.oracle.auth.sign_headers`) to ``/v1/oracle/webhooks/ar/checkin``.
        """
        from co3chain.oracle.device import checkin_message, sign_device

        domain = self.meta()["eip712"]["domains"]["device"]
        message = checkin_message(event_id=event_id, citizen=account.address, area_id=area_id,
                                  activity_id=activity_id, lat_e6=lat_e6, lon_e6=lon_e6, accuracy_mm=accuracy_mm,
                                  timestamp_ms=timestamp_ms)
        return {"event_id": event_id, "citizen": account.address, "area_id": area_id, "activity_id": activity_id,
                "lat_e6": lat_e6, "lon_e6": lon_e6, "accuracy_mm": accuracy_mm, "timestamp_ms": timestamp_ms,
                "device_signature": sign_device(account.key, "CheckIn", domain, message),
                "device_signed": {"domain": domain, "message": message}}

    def _chain(self, contract: str) -> tuple[int, str]:
        dep = self.deployment()
        return int(dep["chainId"]), str(dep["contracts"][contract]["address"])

    def tx(self, tx_hash: str) -> m.TxStatus:
        return self._get(f"/v1/tx/{tx_hash}", m.TxStatus)

    def wait_for_tx(self, tx_hash: str, timeout: float = 60.0, poll: float = 0.25) -> m.TxStatus:
        """Poll ``/v1/tx/{hash}`` until it is mined (success or failed); TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = self.tx(tx_hash)
                if status.status != "pending":
                    return status
            except ApiClientError as exc:
                if exc.code != "unknown_transaction":
                    raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"transaction {tx_hash} not mined within {timeout:.0f}s")
            time.sleep(poll)

    # ------------------------------------------------------------------ reads
    def areas(self, managing_pa: str | None = None, open: bool | None = None, limit: int = 100,
              offset: int = 0) -> list[m.Area]:
        return self._get("/v1/areas", m.AreaList, managingPA=managing_pa, open=open, limit=limit, offset=offset).items

    def area(self, area_id: int) -> m.Area:
        return self._get(f"/v1/areas/{area_id}", m.Area)

    def area_activities(self, area_id: int, limit: int = 100, offset: int = 0) -> list[m.Activity]:
        return self._get(f"/v1/areas/{area_id}/activities", m.ActivityList, limit=limit, offset=offset).items

    def activity(self, activity_id: int) -> m.Activity:
        return self._get(f"/v1/activities/{activity_id}", m.Activity)

    def citizen(self, address: str) -> m.Citizen:
        return self._get(f"/v1/citizens/{address}", m.Citizen)

    def citizen_attestations(self, address: str, limit: int = 100, offset: int = 0) -> list[m.Attestation]:
        return self._get(f"/v1/citizens/{address}/attestations", m.AttestationList, limit=limit, offset=offset).items

    def proposals(self, area_id: int | None = None, proposer: str | None = None, status: str | None = None,
                  limit: int = 20, offset: int = 0) -> list[m.Proposal]:
        return self._get("/v1/proposals", m.ProposalList, areaId=area_id, proposer=proposer, status=status,
                         limit=limit, offset=offset).items

    def proposal(self, proposal_id: int | str) -> m.Proposal:
        return self._get(f"/v1/proposals/{proposal_id}", m.Proposal)

    def proposal_votes(self, proposal_id: int | str, limit: int = 100, offset: int = 0) -> list[m.Vote]:
        return self._get(f"/v1/proposals/{proposal_id}/votes", m.VoteList, limit=limit, offset=offset).items

    def voter_status(self, proposal_id: int | str, voter: str) -> m.VoterStatus:
        return self._get(f"/v1/proposals/{proposal_id}/voters/{voter}", m.VoterStatus)

    def attestations(self, subject: str | None = None, activity_id: int | None = None, limit: int = 100,
                     offset: int = 0) -> list[m.Attestation]:
        return self._get("/v1/attestations", m.AttestationList, subject=subject, activityId=activity_id,
                         limit=limit, offset=offset).items

    def attestation(self, attestation_id: str) -> m.Attestation:
        return self._get(f"/v1/attestations/{attestation_id}", m.Attestation)

    def events(self, since: int | None = None, types: list[str] | None = None,
               limit: int | None = None) -> Iterator[SseEvent]:
        """Iterate over the SSE stream (blocking); stops after ``limit`` events when given."""
        params = {k: v for k, v in {"since": since, "types": ",".join(types) if types else None,
                                    "limit": limit}.items() if v is not None}
        with self.http.stream("GET", "/v1/events", params=params, headers=self._headers, timeout=None) as response:
            if response.status_code >= 400:
                response.read()
                err = response.json().get("error", {})
                raise ApiClientError(response.status_code, err.get("code", "http_error"), err.get("message", ""))
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if not line:
                    if "data" in fields:
                        yield SseEvent(int(fields.get("id", 0)), fields.get("event", "message"),
                                       json.loads(fields["data"]))
                    fields = {}
                elif not line.startswith(":") and ":" in line:
                    key, value = line.split(":", 1)
                    fields[key] = value.lstrip(" ")

    def oracle_event_status(self, attestation_id: str) -> dict[str, Any]:
        """Where one oracle event stands (state, reason, transaction); open, names nobody."""
        return dict(self._request("GET", f"/v1/oracle/events/{attestation_id}/status"))

    def oracle_rejected(self, limit: int = 100) -> list[dict[str, Any]]:
        """Events the oracle rejected, with reasons (PA API key; only when the API runs with an oracle)."""
        return list(self._request("GET", "/v1/oracle/rejected", params={"limit": limit}))

    # ------------------------------------------------------------------ raw relay
    def relay_vote(self, body: m.VoteRelay) -> m.TxAccepted:
        return self._post("/v1/relay/vote", body, m.TxAccepted)

    def relay_commit(self, body: m.CommitRelay) -> m.TxAccepted:
        return self._post("/v1/relay/commit", body, m.TxAccepted)

    def relay_reveal(self, body: m.RevealRelay) -> m.TxAccepted:
        return self._post("/v1/relay/reveal", body, m.TxAccepted)

    def relay_delegate(self, body: m.DelegateRelay) -> m.TxAccepted:
        return self._post("/v1/relay/delegate", body, m.TxAccepted)

    def relay_spend(self, body: m.SpendRelay) -> m.TxAccepted:
        return self._post("/v1/relay/spend", body, m.TxAccepted)

    # ------------------------------------------------------------------ signing helpers (citizen side)
    # ------------------------------------------------------------------ secret ballots (co3chain/ballot)
    def secret_election(self, election_id: int) -> dict[str, Any]:
        """Public parameters of a secret election: key, options, window, registrar RSA key, results."""
        return dict(self._request("GET", f"/v1/ballot/elections/{int(election_id)}"))

    def prepare_secret_ballot(self, voter: Any, election_id: int, choice: int,
                              previous: dict[str, Any] | None = None) -> dict[str, Any]:
        """Encrypt ``choice`` (0-based) and prove it *on this machine*, signed by the fresh ``voter`` key.

        ``previous`` is the body of this key's last ballot (a re-vote replaces it). Keep the returned body if
        you may vote again. Nothing secret leaves the device: the API sees ciphertexts and proofs only.
        """
        from co3chain.ballot import proofs as pf
        from co3chain.ballot.client import sign_ballot

        e = self.secret_election(election_id)
        key = (int(e["electionKey"][0]), int(e["electionKey"][1]))
        dom = pf.ballot_domain(int(e["chainId"]), e["contract"], int(election_id), voter.address)
        state = self._request("GET", f"/v1/ballot/elections/{int(election_id)}/voters/{voter.address}")
        nonce = int(state["nonce"]) + 1
        cts, bits, sum_proof = pf.make_ballot(key, choice, int(e["options"]), dom).to_evm()
        as_str = [[[str(v) for v in p] for p in c] for c in cts]
        return {"electionId": int(election_id), "voter": voter.address, "nonce": nonce, "ciphertexts": as_str,
                "bitProofs": [[str(v) for v in b] for b in bits], "sumProof": [str(v) for v in sum_proof],
                "previous": previous["ciphertexts"] if previous else [],
                "signature": "0x" + sign_ballot(voter, int(e["chainId"]), e["contract"], int(election_id), nonce,
                                                cts).hex()}

    def relay_secret_ballot(self, body: dict[str, Any], credential: bytes = b"") -> m.TxAccepted:
        """Send a prepared ballot through the API's relayer (``credential`` only with the first ballot)."""
        return self._post("/v1/ballot/relay", {**body, "credential": "0x" + credential.hex()}, m.TxAccepted)

    def sign_vote(self, account: Any, proposal_id: int | str, support: int, nonce: int | None = None) -> m.VoteRelay:
        """A ``VoteRelay`` body signed by ``account`` (nonce fetched from the API when not given)."""
        pid = int(proposal_id)
        if nonce is None:
            nonce = int(self.voter_status(pid, account.address).nonce)
        chain_id, gov = self._chain("CO3Governance")
        typed = gtd.ballot_typed_data(chain_id, gov, proposal_id=pid, support=support, voter=account.address,
                                      nonce=nonce)
        signature = Account.sign_typed_data(account.key, full_message=typed).signature
        return m.VoteRelay(proposalId=str(pid), support=support, voter=account.address, nonce=str(nonce),
                           signature=_hex(signature))

    def vote(self, account: Any, proposal_id: int | str, support: int) -> m.TxAccepted:
        """Sign an open vote with the citizen's key and relay it; returns ``{txHash}``."""
        return self.relay_vote(self.sign_vote(account, proposal_id, support))

    def commit(self, account: Any, proposal_id: int | str, support: int,
               salt: bytes | None = None) -> tuple[m.TxAccepted, bytes]:
        """Commit a hidden vote; returns the tx and the salt (keep it: it is needed to reveal)."""
        pid = int(proposal_id)
        salt = salt or gtd.random_salt()
        commitment = gtd.vote_commitment(pid, account.address, support, salt)
        nonce = int(self.voter_status(pid, account.address).nonce)
        chain_id, gov = self._chain("CO3Governance")
        typed = gtd.commitment_typed_data(chain_id, gov, proposal_id=pid, commitment=commitment,
                                          voter=account.address, nonce=nonce)
        signature = Account.sign_typed_data(account.key, full_message=typed).signature
        body = m.CommitRelay(proposalId=str(pid), commitment=_hex(commitment), voter=account.address,
                             nonce=str(nonce), signature=_hex(signature))
        return self.relay_commit(body), salt

    def reveal(self, voter: str, proposal_id: int | str, support: int, salt: bytes) -> m.TxAccepted:
        """Reveal a committed vote during the reveal phase."""
        return self.relay_reveal(m.RevealRelay(proposalId=str(int(proposal_id)), voter=voter, support=support,
                                               salt=_hex(salt)))

    def delegate(self, account: Any, delegatee: str, expiry: int, nonce: int | None = None) -> m.TxAccepted:
        """Delegate the citizen's token voting power (ERC20Votes ``Delegation`` signature)."""
        if nonce is None:
            nonce = int(self.citizen(account.address).tokenNonce)
        chain_id, token = self._chain("CommonsToken")
        typed = {
            "types": {"EIP712Domain": gtd.EIP712_DOMAIN_TYPE, "Delegation": DELEGATION_TYPE},
            "primaryType": "Delegation",
            "domain": {"name": "CO3 Commons", "version": "1", "chainId": chain_id, "verifyingContract": token},
            "message": {"delegatee": delegatee, "nonce": nonce, "expiry": expiry},
        }
        signature = Account.sign_typed_data(account.key, full_message=typed).signature
        return self.relay_delegate(m.DelegateRelay(delegator=account.address, delegatee=delegatee, nonce=str(nonce),
                                                   expiry=str(expiry), signature=_hex(signature)))

    def spend(self, account: Any, service: str, amount: int, ref: bytes, deadline: int,
              nonce: int | None = None) -> m.TxAccepted:
        """Spend tokens at a participating service (``Spend`` signature)."""
        if nonce is None:
            nonce = int(self.citizen(account.address).tokenNonce)
        chain_id, token = self._chain("CommonsToken")
        typed = spend_typed_data(chain_id, token, owner=account.address, service=service, amount=amount, ref=ref,
                                 nonce=nonce, deadline=deadline)
        signature = sign_spend(account.key, typed)
        return self.relay_spend(m.SpendRelay(owner=account.address, service=service, amount=str(amount),
                                             ref=_hex(ref), nonce=str(nonce), deadline=str(deadline),
                                             signature=_hex(signature)))

    # ------------------------------------------------------------------ PA writes (need api_key)
    def register_citizen(self, address: str, identity_hash: bytes | None, expires_at: int, *,
                         identity_reference: str | None = None, reference_kind: str = "fiscal-code") -> m.TxAccepted:
        """Register ``address``: with a ready ``identity_hash``, or (``identity_hash=None``) with the raw
        ``identity_reference`` for an API that holds the consortium identity key and hashes it itself."""
        body = m.CitizenCreate(address=address, expiresAt=expires_at, referenceKind=reference_kind,
                               identityHash=None if identity_hash is None else _hex(identity_hash),
                               identityReference=identity_reference)
        return self._post("/v1/citizens", body, m.TxAccepted)

    def create_area(self, geometry: dict[str, Any], metadata_uri: str = "",
                    managing_pa: str | None = None) -> m.AreaCreated:
        return self._post("/v1/areas", m.AreaCreate(geometry=geometry, metadataURI=metadata_uri,
                                                    managingPA=managing_pa), m.AreaCreated)

    def upload_geometry(self, area_id: int, geometry: dict[str, Any]) -> m.Area:
        return self._post(f"/v1/areas/{area_id}/geometry", m.GeometryUpload(geometry=geometry), m.Area, method="PUT")

    def create_activity(self, area_id: int, *, kind: int, starts_at: int, ends_at: int, token_reward: int = 0,
                        reputation_reward: int = 0, max_claims_per_citizen: int = 0) -> m.TxAccepted:
        body = m.ActivityCreate(kind=kind, tokenReward=str(token_reward), reputationReward=str(reputation_reward),
                                startsAt=starts_at, endsAt=ends_at, maxClaimsPerCitizen=max_claims_per_citizen)
        return self._post(f"/v1/areas/{area_id}/activities", body, m.TxAccepted)

    def create_proposal(self, *, description: str, vote_start: int, vote_end: int, area_id: int = 0, mode: int = 0,
                        commit_reveal: bool = False, reveal_end: int = 0) -> m.ProposalCreated:
        body = m.ProposalCreate(areaId=area_id, mode=mode, commitReveal=commit_reveal, voteStart=vote_start,
                                voteEnd=vote_end, revealEnd=reveal_end, description=description)
        return self._post("/v1/proposals", body, m.ProposalCreated)

    # ------------------------------------------------------------------ PA and merchant operations
    def revoke_citizen(self, address: str, reason_code: int) -> m.TxAccepted:
        """Revoke a citizen (registrar); ``reason_code`` is a :class:`co3chain.privacy.revocation.RevocationReason`."""
        return m.TxAccepted.model_validate(self._request("POST", f"/v1/citizens/{address}/revoke",
                                                         json_body={"reasonCode": int(reason_code)}))

    def renew_citizen(self, address: str, expires_at: int) -> m.TxAccepted:
        return m.TxAccepted.model_validate(self._request("POST", f"/v1/citizens/{address}/renew",
                                                         json_body={"expiresAt": expires_at}))

    def cancel_proposal(self, proposal_id: int | str) -> m.TxAccepted:
        """Cancel a pending proposal this PA created."""
        return m.TxAccepted.model_validate(self._request("POST", f"/v1/proposals/{proposal_id}/cancel"))

    def close_area(self, area_id: int) -> m.TxAccepted:
        return m.TxAccepted.model_validate(self._request("POST", f"/v1/areas/{area_id}/close"))

    def close_activity(self, activity_id: int) -> m.TxAccepted:
        return m.TxAccepted.model_validate(self._request("POST", f"/v1/activities/{activity_id}/close"))

    def service(self, address: str) -> dict[str, Any]:
        """``{service, accepted, burnOnSpend}`` of a merchant."""
        return dict(self._request("GET", f"/v1/services/{address}"))

    def service_council_call(self, address: str, accepted: bool, burn_on_spend: bool = True) -> dict[str, Any]:
        """The council proposal (``to``, ``data``, ``description``) that accepts or removes a service; the API
        sends nothing: the change is held by the council's timelock executor."""
        return dict(self._request("POST", f"/v1/services/{address}/council-call",
                                  json_body={"accepted": accepted, "burnOnSpend": burn_on_spend}))

    def oracle_signers_council_call(self, signers: list[str], threshold: int) -> dict[str, Any]:
        """The council proposal that rotates the oracle signer set (nothing is sent)."""
        return dict(self._request("POST", "/v1/oracle-signers/council-call",
                                  json_body={"signers": signers, "threshold": threshold}))

    def service_statement(self, address: str, from_ts: int = 0, to_ts: int = 2**63 - 1) -> dict[str, Any]:
        """A merchant's statement for ``[from_ts, to_ts)``: every spend, the total and the burned part (JSON)."""
        return dict(self._request("GET", f"/v1/services/{address}/statement",
                                  params={"from": from_ts, "to": to_ts, "format": "json"}))

    def service_statement_csv(self, address: str, from_ts: int = 0, to_ts: int = 2**63 - 1) -> str:
        """The same statement as CSV (one row per spend, then a total row)."""
        response = self.http.get(f"/v1/services/{address}/statement", headers=self._headers,
                                 params={"from": from_ts, "to": to_ts, "format": "csv"})
        if response.status_code >= 400:
            err = response.json().get("error", {})
            raise ApiClientError(response.status_code, err.get("code", "http_error"), err.get("message", ""))
        return response.text

    # ------------------------------------------------------------------ data-subject requests (PA registrar key)
    def privacy_export(self, citizen: str) -> dict[str, Any]:
        """Everything the API's oracle queue, index and the chain hold about ``citizen`` (JSON)."""
        return self._request("GET", "/v1/privacy/export", params={"citizen": citizen})

    def privacy_erase(self, citizen: str) -> dict[str, Any]:
        """Erase ``citizen``'s off-chain evidence in the API's oracle queue; on-chain records stay, unlinked."""
        return self._request("POST", "/v1/privacy/erase", params={"citizen": citizen})
