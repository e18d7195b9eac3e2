"""Secret ballots for citizens: read an election's public parameters, relay an encrypted ballot.

Why the API never encrypts: the SDK encrypts and proves on the citizen's device (co3chain/ballot/proofs.py)
and signs with a fresh key; the API sees only ciphertexts, proofs, the fresh address and the registrar's
blind signature — nothing that links the ballot to the citizen's registered identity. Checks before gas is
spent: the fresh key signed these ciphertexts (400), the nonce is the next one (409), then the relayer's
pre-flight ``eth_call`` turns any contract refusal (a bad proof, a used credential, voting closed) into a 4xx.
"""

from __future__ import annotations

from typing import Annotated, Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address
from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from co3chain.api import models as m
from co3chain.api.errors import ApiError
from co3chain.api.state import ApiState, get_state, limit_relay_client
from co3chain.ballot.client import ballot_digest

router = APIRouter(prefix="/v1/ballot", tags=["secret ballot"])
State = Annotated[ApiState, Depends(get_state)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": m.ErrorResponse} for code in (400, 404, 409, 413, 422, 429, 502, 503)
}
Num = int | str
#: An election id as the contract stores it (uint256; the API serves ids that fit 63 bits).
ElectionId = Annotated[int, Path(ge=0, lt=2**63)]
PointJson = tuple[Num, Num]
CipherJson = tuple[PointJson, PointJson]


class SecretElection(BaseModel):
    """What a citizen's client needs to encrypt, prove and obtain a credential."""

    electionId: int
    contract: str
    chainId: int
    ceremonyId: int
    proposalId: int
    options: int
    start: int
    end: int
    voters: int
    tallied: bool
    results: list[int]
    electionKey: tuple[str, str] = Field(description="BN254 point (decimal strings)")
    registrarKeyId: int
    registrarModulus: str = Field(description="hex, RSA modulus of the credential issuer")
    registrarExponent: str


class SecretBallotRelay(BaseModel):
    """An encrypted ballot as produced by ``co3chain.ballot.client.SecretBallotClient.prepare_ballot``."""

    electionId: int
    voter: str
    nonce: int
    ciphertexts: list[CipherJson]
    bitProofs: list[tuple[Num, Num, Num, Num]]
    sumProof: tuple[Num, Num]
    previous: list[CipherJson] = Field(default_factory=list)
    credential: str = Field("", description="hex blind-RSA credential; only with the first ballot")
    signature: str = Field(description="hex EIP-191 signature of the fresh key over ballotDigest")


def _contract(state: ApiState) -> Any:
    contract = state.chain.contracts.get("SecretBallot")
    if contract is None:
        raise ApiError(404, "not_deployed", "this deployment has no SecretBallot contract")
    return contract


def _int(v: Num, what: str) -> int:
    try:
        out = int(v, 0) if isinstance(v, str) else int(v)
    except ValueError:
        raise ApiError(422, "validation_error", f"{what} is not an integer") from None
    if not 0 <= out < 2**256:
        raise ApiError(422, "validation_error", f"{what} is out of range")
    return out


def _hex(v: str, what: str) -> bytes:
    try:
        return bytes.fromhex(v[2:] if v.startswith("0x") else v)
    except ValueError:
        raise ApiError(422, "validation_error", f"{what} is not hex") from None


def _ciphers(raw: list[CipherJson], what: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    return [((_int(a[0], what), _int(a[1], what)), (_int(b[0], what), _int(b[1], what))) for a, b in raw]


@router.get("/elections/{election_id}", response_model=SecretElection, responses=ERRORS)
def secret_election(state: State, election_id: ElectionId) -> SecretElection:
    """Public parameters of a secret election (key, options, window, registrar key, results once tallied)."""
    c = state.chain
    sb = _contract(state)
    e = c.call(sb.functions.election(election_id))
    if int(e[5]) == 0:
        raise ApiError(404, "not_found", f"no secret election with id {election_id}")
    key = c.call(sb.functions.electionKey(int(e[0])))
    modulus, exponent, _active = c.call(sb.functions.registrarKey(int(e[1])))
    return SecretElection(
        electionId=election_id, contract=sb.address, chainId=c.chain_id, ceremonyId=int(e[0]),
        registrarKeyId=int(e[1]), proposalId=int(e[2]), start=int(e[3]), end=int(e[4]), options=int(e[5]),
        voters=int(e[6]), tallied=bool(e[8]), results=[int(x) for x in c.call(sb.functions.results(election_id))],
        electionKey=(str(key[0]), str(key[1])), registrarModulus="0x" + bytes(modulus).hex(),
        registrarExponent="0x" + bytes(exponent).hex())


class SecretVoterState(BaseModel):
    electionId: int
    voter: str
    nonce: int = Field(description="ballots cast so far by this credential key (the next ballot uses nonce+1)")
    ballotHash: str


@router.get("/elections/{election_id}/voters/{voter}", response_model=SecretVoterState, responses=ERRORS)
def secret_voter(state: State, election_id: ElectionId, voter: str) -> SecretVoterState:
    """How many ballots a fresh voting key has cast (to number a re-vote)."""
    try:
        voter = to_checksum_address(voter)
    except ValueError:
        raise ApiError(422, "validation_error", "voter is not an address") from None
    nonce, ballot_hash = state.chain.call(_contract(state).functions.voterState(election_id, voter))
    return SecretVoterState(electionId=election_id, voter=voter, nonce=int(nonce),
                            ballotHash="0x" + bytes(ballot_hash).hex())


@router.post("/relay", response_model=m.TxAccepted, status_code=202, responses=ERRORS,
             dependencies=[Depends(limit_relay_client)])
def relay_secret_ballot(state: State, body: SecretBallotRelay) -> m.TxAccepted:
    """Relay an encrypted ballot (first ballot with its credential, or a re-vote with the previous one)."""
    c = state.chain
    sb = _contract(state)
    try:
        voter = to_checksum_address(body.voter)
    except ValueError:
        raise ApiError(422, "validation_error", "voter is not an address") from None
    cts = _ciphers(body.ciphertexts, "ciphertexts")
    digest = ballot_digest(c.chain_id, sb.address, body.electionId, voter, body.nonce, cts)
    signature = _hex(body.signature, "signature")
    try:
        signer = Account.recover_message(encode_defunct(primitive=digest), signature=signature)
    except Exception as exc:  # malformed v/r/s
        raise ApiError(400, "invalid_signature", f"signature cannot be verified: {exc}") from None
    if signer != voter:
        raise ApiError(400, "invalid_signature",
                       f"the ballot is not signed by its voter key {voter} (wrong election, nonce or ciphertexts?)")
    current = int(c.call(sb.functions.voterState(body.electionId, voter))[0])
    if body.nonce != current + 1:
        raise ApiError(409, "wrong_nonce", f"nonce {body.nonce} is not the next ballot number {current + 1}")
    ballot = (voter, body.nonce, cts, [tuple(_int(x, "bitProofs") for x in p) for p in body.bitProofs],
              tuple(_int(x, "sumProof") for x in body.sumProof))
    fn = sb.functions.castBallot(body.electionId, ballot, _hex(body.credential, "credential"),
                                 _ciphers(body.previous, "previous"), signature)
    return m.TxAccepted(txHash=state.relay(fn, ("secret-ballot", voter, body.electionId, body.nonce)))
