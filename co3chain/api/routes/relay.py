"""Gasless citizen actions: the body carries the citizen's EIP-712 signature, the relayer pays.

Order of checks (cheapest and clearest first): signature recovers to the claimed signer (400), nonce equals
the contract's current one (409), deadline not passed (400), then an ``eth_call`` pre-flight of the exact
transaction so any other contract refusal comes back as a readable 4xx before gas is spent. Only then is
the transaction signed by the relayer and broadcast; the reply is ``{txHash}`` at once (poll ``/v1/tx``).
The API never sees a citizen's key.
"""

from __future__ import annotations

from typing import Annotated, Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from fastapi import APIRouter, Depends

from co3chain.api import convert as cv
from co3chain.api import models as m
from co3chain.api.errors import ApiError
from co3chain.api.state import ApiState, get_state, limit_relay_client
from co3chain.contracts import governance_typed_data as gtd
from co3chain.contracts.typed_data import TOKEN_DOMAIN_NAME, TypedDataError, spend_typed_data

router = APIRouter(prefix="/v1/relay", tags=["relay"], dependencies=[Depends(limit_relay_client)])
State = Annotated[ApiState, Depends(get_state)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": m.ErrorResponse} for code in (400, 404, 409, 413, 422, 429, 502, 503)
}

DELEGATION_TYPE = [
    {"name": "delegatee", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "expiry", "type": "uint256"},
]


def delegation_typed_data(chain_id: int, token_address: str, *, delegatee: str, nonce: int,
                          expiry: int) -> dict[str, Any]:
    """EIP-712 message of ERC20Votes ``delegateBySig`` on ``CommonsToken`` (domain "CO3 Commons", "1")."""
    return {
        "types": {"EIP712Domain": gtd.EIP712_DOMAIN_TYPE, "Delegation": DELEGATION_TYPE},
        "primaryType": "Delegation",
        "domain": {"name": TOKEN_DOMAIN_NAME, "version": "1", "chainId": chain_id,
                   "verifyingContract": cv.address(token_address)},
        "message": {"delegatee": cv.address(delegatee, "delegatee"), "nonce": nonce, "expiry": expiry},
    }


def _recover(typed: dict[str, Any], signature: bytes) -> str:
    try:
        return str(Account.recover_message(encode_typed_data(full_message=typed), signature=signature))
    except Exception as exc:  # malformed v/r/s, point not on the curve...
        raise ApiError(400, "invalid_signature", f"signature cannot be verified: {exc}") from None


def _check_signer(typed: dict[str, Any], signature: bytes, expected: str, who: str) -> None:
    signer = _recover(typed, signature)
    if signer != expected:
        raise ApiError(400, "invalid_signature",
                       f"the signature was not made by the {who} {expected} over this message (recovered {signer};"
                       " wrong chain, contract, nonce or field values?)")


def _check_nonce(given: int, current: int) -> None:
    if given != current:
        raise ApiError(409, "wrong_nonce", f"nonce {given} is not the current nonce {current}"
                                           " (already used, or signed too early)")


def _check_deadline(state: ApiState, deadline: int, what: str) -> None:
    now = state.chain.timestamp()
    if deadline < now:
        raise ApiError(400, "signature_expired", f"{what} {deadline} has passed (chain time {now})")


@router.post("/vote", response_model=m.TxAccepted, status_code=202, responses=ERRORS)
def relay_vote(state: State, body: m.VoteRelay) -> m.TxAccepted:
    """Relay a signed open vote (``Ballot``) to ``CO3Governance.castVoteBySig``."""
    c = state.chain
    pid, nonce, signature = cv.uint(body.proposalId, "proposalId"), cv.uint(body.nonce, "nonce"), cv.sig(body.signature)
    voter = cv.address(body.voter, "voter")
    try:
        typed = gtd.ballot_typed_data(c.chain_id, c.governance.address, proposal_id=pid, support=body.support,
                                      voter=voter, nonce=nonce)
    except TypedDataError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None
    _check_signer(typed, signature, voter, "voter")
    _check_nonce(nonce, int(c.call(c.governance.functions.nonces(voter, pid))))
    fn = c.governance.functions.castVoteBySig(pid, body.support, voter, nonce, signature)
    return m.TxAccepted(txHash=state.relay(fn, ("ballot", voter, pid, nonce)))


@router.post("/commit", response_model=m.TxAccepted, status_code=202, responses=ERRORS)
def relay_commit(state: State, body: m.CommitRelay) -> m.TxAccepted:
    """Relay a signed hidden-vote commitment (``Commitment``) to ``commitVoteBySig``."""
    c = state.chain
    pid, nonce, signature = cv.uint(body.proposalId, "proposalId"), cv.uint(body.nonce, "nonce"), cv.sig(body.signature)
    voter, commitment = cv.address(body.voter, "voter"), cv.b32(body.commitment, "commitment")
    try:
        typed = gtd.commitment_typed_data(c.chain_id, c.governance.address, proposal_id=pid, commitment=commitment,
                                          voter=voter, nonce=nonce)
    except TypedDataError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None
    _check_signer(typed, signature, voter, "voter")
    _check_nonce(nonce, int(c.call(c.governance.functions.nonces(voter, pid))))
    fn = c.governance.functions.commitVoteBySig(pid, commitment, voter, nonce, signature)
    return m.TxAccepted(txHash=state.relay(fn, ("commitment", voter, pid, nonce)))


@router.post("/reveal", response_model=m.TxAccepted, status_code=202, responses=ERRORS)
def relay_reveal(state: State, body: m.RevealRelay) -> m.TxAccepted:
    """Reveal a committed vote (no signature needed: only the right salt opens the commitment)."""
    c = state.chain
    pid, voter, salt = cv.uint(body.proposalId, "proposalId"), cv.address(body.voter, "voter"), cv.b32(body.salt, "salt")
    stored = bytes(c.read(c.governance.functions.commitmentOf(pid, voter),
                          not_found={"UnknownProposal": f"no proposal with id {pid}"}))
    if stored == bytes(32):
        raise ApiError(409, "no_commitment", f"{voter} has no commitment on proposal {pid}")
    if gtd.vote_commitment(pid, voter, body.support, salt) != stored:
        raise ApiError(400, "commitment_mismatch", "support and salt do not open the stored commitment")
    fn = c.governance.functions.revealVote(pid, voter, body.support, salt)
    return m.TxAccepted(txHash=state.relay(fn, ("reveal", voter, pid)))


@router.post("/delegate", response_model=m.TxAccepted, status_code=202, responses=ERRORS)
def relay_delegate(state: State, body: m.DelegateRelay) -> m.TxAccepted:
    """Relay a signed token delegation (ERC20Votes ``Delegation``) to ``CommonsToken.delegateBySig``."""
    c = state.chain
    nonce, expiry, signature = cv.uint(body.nonce, "nonce"), cv.uint(body.expiry, "expiry"), cv.sig(body.signature)
    delegator, delegatee = cv.address(body.delegator, "delegator"), cv.address(body.delegatee, "delegatee")
    typed = delegation_typed_data(c.chain_id, c.token.address, delegatee=delegatee, nonce=nonce, expiry=expiry)
    _check_signer(typed, signature, delegator, "delegator")
    _check_nonce(nonce, int(c.call(c.token.functions.nonces(delegator))))
    _check_deadline(state, expiry, "expiry")
    v = signature[64] if signature[64] >= 27 else signature[64] + 27
    fn = c.token.functions.delegateBySig(delegatee, nonce, expiry, v, signature[:32], signature[32:64])
    # delegateBySig, permit and spendBySig share the token's per-owner nonce: one key space.
    return m.TxAccepted(txHash=state.relay(fn, ("token-nonce", delegator, nonce)))


@router.post("/spend", response_model=m.TxAccepted, status_code=202, responses=ERRORS)
def relay_spend(state: State, body: m.SpendRelay) -> m.TxAccepted:
    """Relay a signed token spend (``Spend``) to ``CommonsToken.spendBySig``."""
    c = state.chain
    owner, service = cv.address(body.owner, "owner"), cv.address(body.service, "service")
    amount, nonce = cv.uint(body.amount, "amount"), cv.uint(body.nonce, "nonce")
    deadline, ref, signature = cv.uint(body.deadline, "deadline"), cv.b32(body.ref, "ref"), cv.sig(body.signature)
    try:
        typed = spend_typed_data(c.chain_id, c.token.address, owner=owner, service=service, amount=amount, ref=ref,
                                 nonce=nonce, deadline=deadline)
    except TypedDataError as exc:
        raise ApiError(422, "validation_error", str(exc)) from None
    _check_signer(typed, signature, owner, "owner")
    _check_nonce(nonce, int(c.call(c.token.functions.nonces(owner))))
    _check_deadline(state, deadline, "deadline")
    fn = c.token.functions.spendBySig(owner, service, amount, ref, deadline, signature)
    return m.TxAccepted(txHash=state.relay(fn, ("token-nonce", owner, nonce)))
