"""Dealerless t-of-n key generation (Joint-Feldman / Pedersen DKG) for the election key.

Why no dealer: a dealer would know the whole key and could decrypt every ballot.  Here each trustee ``i``
picks its own random polynomial ``f_i`` of degree ``t-1``, publishes Feldman commitments ``C_ik = a_ik·G``
(with a proof it knows ``a_i0``), and sends ``f_i(j)`` to every trustee ``j`` encrypted to ``j``'s transport
key (posted on-chain, so the delivery itself is auditable).  Trustee ``j`` checks each share against the
commitments; its final share is ``s_j = Σ_i f_i(j)``.  The election key is ``Y = Σ_i C_i0`` and the public
verification key of trustee ``j`` is ``Y_j = Σ_k j^k · Σ_i C_ik`` — anyone can compute both from chain data,
nobody ever holds ``Σ_i a_i0``.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import encode as abi_encode
from eth_utils import keccak

from co3chain.ballot import bn254 as ec
from co3chain.ballot.bn254 import N, Point
from co3chain.ballot.proofs import (
    KIND_COEFF_POK,
    KIND_COMPLAINT,
    KIND_TRANSPORT_POK,
    DleqProof,
    ProofError,
    prove_dleq,
    prove_schnorr,
    random_scalar,
    verify_schnorr,
)


@dataclass(frozen=True)
class Dealing:
    """What trustee ``dealer`` (1-based) publishes: commitments, encrypted shares, ephemeral key, PoK."""

    dealer: int
    commitments: tuple[Point, ...]
    encrypted_shares: tuple[int, ...]
    ephemeral: Point
    pok: DleqProof


def share_pad(ephemeral_dh: Point, ceremony_id: int, dealer: int, recipient: int) -> int:
    """One-time pad for the share ``dealer → recipient`` from the Diffie–Hellman point ``r·T_j``."""
    x, y = ec.to_evm(ephemeral_dh)
    return int.from_bytes(keccak(abi_encode(["string", "uint256", "uint256", "uint256", "uint256", "uint256"],
                                            ["co3chain.dkg.share", ceremony_id, dealer, recipient, x, y])),
                          "big") % N


def eval_poly(coeffs: list[int], x: int) -> int:
    acc = 0
    for a in reversed(coeffs):
        acc = (acc * x + a) % N
    return acc


def commitment_at(commitments: tuple[Point, ...] | list[Point], index: int) -> Point:
    """``Σ_k index^k · C_k`` — what ``f(index)·G`` must equal."""
    return ec.lincomb([(c, pow(index, k, N), False) for k, c in enumerate(commitments)])


def make_transport_key(domain: bytes) -> tuple[int, Point, DleqProof]:
    """A trustee's transport key pair for receiving shares, with a proof of possession."""
    x = random_scalar()
    pub = ec.g_mul(x)
    return x, pub, prove_schnorr(x, pub, domain, KIND_TRANSPORT_POK)


def deal(dealer: int, threshold: int, transport_keys: list[Point], ceremony_id: int, domain: bytes,
         coeffs: list[int] | None = None) -> tuple[Dealing, list[int]]:
    """Trustee ``dealer``'s dealing; returns it and its secret polynomial (kept only in memory)."""
    if not 1 <= threshold <= len(transport_keys):
        raise ProofError(f"threshold {threshold} outside 1..{len(transport_keys)}")
    coeffs = coeffs or [random_scalar() for _ in range(threshold)]
    commitments = tuple(ec.g_mul(a) for a in coeffs)
    r = random_scalar()
    ephemeral = ec.g_mul(r)
    enc = []
    for j, tk in enumerate(transport_keys, start=1):
        pad = share_pad(ec.mul(tk, r), ceremony_id, dealer, j)
        enc.append((eval_poly(coeffs, j) + pad) % N)
    pok = prove_schnorr(coeffs[0], commitments[0], domain, KIND_COEFF_POK)
    return Dealing(dealer, commitments, tuple(enc), ephemeral, pok), coeffs


def open_share(dealing: Dealing, recipient: int, transport_secret: int, ceremony_id: int) -> int:
    """Decrypt and check the share ``dealing.dealer → recipient``; raise if it does not match the commitments."""
    pad = share_pad(ec.mul(dealing.ephemeral, transport_secret), ceremony_id, dealing.dealer, recipient)
    share = (dealing.encrypted_shares[recipient - 1] - pad) % N
    if ec.g_mul(share) != commitment_at(dealing.commitments, recipient):
        raise ProofError(f"trustee {dealing.dealer} dealt trustee {recipient} a share that does not match its"
                         " public commitments: do not use this ceremony's key; raise it with the council")
    return share


def verify_dealing_pok(dealing: Dealing, domain: bytes) -> bool:
    return verify_schnorr(dealing.commitments[0], dealing.pok, domain, KIND_COEFF_POK)


def aggregate_commitments(dealings: list[Dealing]) -> list[Point]:
    t = len(dealings[0].commitments)
    return [ec.sum_points([d.commitments[k] for d in dealings]) for k in range(t)]


def election_key(dealings: list[Dealing]) -> Point:
    return aggregate_commitments(dealings)[0]


def verification_key(aggregate: list[Point], index: int) -> Point:
    return commitment_at(aggregate, index)


def final_share(dealings: list[Dealing], recipient: int, transport_secret: int, ceremony_id: int) -> int:
    return sum(open_share(d, recipient, transport_secret, ceremony_id) for d in dealings) % N


def complaint(dealing: Dealing, transport_secret: int, transport_key: Point, domain: bytes
              ) -> tuple[Point, DleqProof]:
    """Evidence against a dealer: the DH point ``x_j·E_i`` and a proof it is formed with our transport key.

    Revealing it exposes only this one share (already useless); the contract recomputes the share from it.
    """
    dh = ec.mul(dealing.ephemeral, transport_secret)
    proof = prove_dleq(dealing.ephemeral, None, transport_secret, transport_key, dh, domain, KIND_COMPLAINT,
                       prefix=(dealing.ephemeral,))
    return dh, proof
