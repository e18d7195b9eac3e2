"""Exponential ElGamal ballots on BN254 with non-interactive Chaum–Pedersen proofs (Fiat–Shamir).

Why these choices: exponential ElGamal ``(rG, mG + rY)`` adds homomorphically, so the contract can keep a
running tally without decrypting anything; the proofs only use point additions and multiplications, which
the EVM offers as precompiles 0x06/0x07.  Every challenge hashes a *domain* that carries the chain id, the
SecretBallot contract, the election id and the voter's credential address: a proof made for another chain,
contract, election or voter never verifies (no replay, no ballot copying).

The byte layout of every challenge is ``keccak256(domain ‖ kind ‖ words…) mod N`` over 32-byte words and
is mirrored exactly by ``contracts/BN254.sol``/``SecretBallot.sol``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from co3chain.ballot import bn254 as ec
from co3chain.ballot.bn254 import G, N, Point

BALLOT_TAG = keccak(text="co3chain.SecretBallot.ballot.v1")
DECRYPT_TAG = keccak(text="co3chain.SecretBallot.decrypt.v1")
CEREMONY_TAG = keccak(text="co3chain.SecretBallot.ceremony.v1")

KIND_BIT = 1
KIND_SUM = 2
KIND_DECRYPT = 3
KIND_COEFF_POK = 4
KIND_TRANSPORT_POK = 5
KIND_COMPLAINT = 6


class ProofError(ValueError):
    """A proof or ciphertext does not verify."""


def _domain(tag: bytes, chain_id: int, contract: str, scope_id: int, actor: str) -> bytes:
    return keccak(abi_encode(["bytes32", "uint256", "address", "uint256", "address"],
                             [tag, chain_id, to_checksum_address(contract), scope_id,
                              to_checksum_address(actor)]))


def ballot_domain(chain_id: int, contract: str, election_id: int, voter: str) -> bytes:
    """Fiat–Shamir domain of one voter's ballot proofs in one election."""
    return _domain(BALLOT_TAG, chain_id, contract, election_id, voter)


def decrypt_domain(chain_id: int, contract: str, election_id: int, trustee: str) -> bytes:
    return _domain(DECRYPT_TAG, chain_id, contract, election_id, trustee)


def ceremony_domain(chain_id: int, contract: str, ceremony_id: int, trustee: str) -> bytes:
    return _domain(CEREMONY_TAG, chain_id, contract, ceremony_id, trustee)


def challenge(domain: bytes, kind: int, *points: Point) -> int:
    data = bytearray(domain)
    data += kind.to_bytes(32, "big")
    for pt in points:
        x, y = ec.to_evm(pt)
        data += x.to_bytes(32, "big") + y.to_bytes(32, "big")
    return int.from_bytes(keccak(bytes(data)), "big") % N


def random_scalar() -> int:
    return secrets.randbelow(N - 1) + 1


@dataclass(frozen=True)
class Ciphertext:
    """``a = rG``, ``b = mG + rY``."""

    a: Point
    b: Point

    def __add__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(ec.add(self.a, other.a), ec.add(self.b, other.b))

    def __sub__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(ec.sub(self.a, other.a), ec.sub(self.b, other.b))

    def to_evm(self) -> tuple[tuple[int, int], tuple[int, int]]:
        return (ec.to_evm(self.a), ec.to_evm(self.b))

    @classmethod
    def from_evm(cls, raw: tuple | list) -> Ciphertext:
        (ax, ay), (bx, by) = raw
        return cls(ec.from_evm(ax, ay), ec.from_evm(bx, by))


ZERO = Ciphertext(None, None)


@dataclass(frozen=True)
class BitProof:
    """Disjunctive Chaum–Pedersen proof that a ciphertext holds 0 or 1 (CDS OR-composition)."""

    c0: int
    c1: int
    z0: int
    z1: int

    def to_evm(self) -> tuple[int, int, int, int]:
        return (self.c0, self.c1, self.z0, self.z1)


@dataclass(frozen=True)
class DleqProof:
    """Chaum–Pedersen proof of equal discrete logs (also used as a Schnorr proof with one base)."""

    c: int
    z: int

    def to_evm(self) -> tuple[int, int]:
        return (self.c, self.z)


def encrypt(key: tuple[int, int], m: int, r: int | None = None) -> tuple[Ciphertext, int]:
    r = random_scalar() if r is None else r
    return Ciphertext(ec.g_mul(r), ec.add(ec.g_mul(m), ec.mul_fixed(key, r))), r


def prove_bit(key: tuple[int, int], ct: Ciphertext, m: int, r: int, domain: bytes) -> BitProof:
    """Prove ``ct`` encrypts ``m ∈ {0,1}`` without revealing which: real branch m, simulated branch 1-m."""
    if m not in (0, 1):
        raise ProofError("only 0 or 1 can be proven")
    sim = 1 - m
    c_sim, z_sim = random_scalar(), random_scalar()
    b_sim_target = ec.sub(ct.b, ec.g_mul(sim))
    a_sim = ec.lincomb([(G, z_sim, True), (ct.a, N - c_sim, False)])
    b_sim = ec.lincomb([(key, z_sim, True), (b_sim_target, N - c_sim, False)])
    w = random_scalar()
    a_real, b_real = ec.g_mul(w), ec.mul_fixed(key, w)
    pts = (a_real, b_real, a_sim, b_sim) if m == 0 else (a_sim, b_sim, a_real, b_real)
    c = challenge(domain, KIND_BIT, ct.a, ct.b, *pts)
    c_real = (c - c_sim) % N
    z_real = (w + c_real * r) % N
    if m == 0:
        return BitProof(c_real, c_sim, z_real, z_sim)
    return BitProof(c_sim, c_real, z_sim, z_real)


def verify_bit(key: tuple[int, int], ct: Ciphertext, proof: BitProof, domain: bytes) -> bool:
    if ct.a is None:
        return False
    b1 = ec.sub(ct.b, G)
    a0 = ec.lincomb([(G, proof.z0, True), (ct.a, N - proof.c0, False)])
    b0 = ec.lincomb([(key, proof.z0, True), (ct.b, N - proof.c0, False)])
    a1 = ec.lincomb([(G, proof.z1, True), (ct.a, N - proof.c1, False)])
    b1p = ec.lincomb([(key, proof.z1, True), (b1, N - proof.c1, False)])
    c = challenge(domain, KIND_BIT, ct.a, ct.b, a0, b0, a1, b1p)
    return (proof.c0 + proof.c1) % N == c and all(0 <= v < N for v in proof.to_evm())


def prove_dleq(base2: Point, key_fixed: tuple[int, int] | None, x: int, h1: Point, h2: Point,
               domain: bytes, kind: int, prefix: tuple[Point, ...] = ()) -> DleqProof:
    """Prove ``h1 = x·G`` and ``h2 = x·base2``; the challenge hashes ``prefix, h1, h2, a, b``."""
    w = random_scalar()
    a = ec.g_mul(w)
    b = ec.mul_fixed(key_fixed, w) if key_fixed is not None else ec.mul(base2, w)
    c = challenge(domain, kind, *prefix, h1, h2, a, b)
    return DleqProof(c, (w + c * x) % N)


def verify_dleq(base2: Point, base2_fixed: bool, h1: Point, h2: Point, proof: DleqProof, domain: bytes,
                kind: int, prefix: tuple[Point, ...] = ()) -> bool:
    if not (0 <= proof.c < N and 0 <= proof.z < N):
        return False
    a = ec.lincomb([(G, proof.z, True), (h1, N - proof.c, False)])
    b = ec.lincomb([(base2, proof.z, base2_fixed), (h2, N - proof.c, False)])
    return challenge(domain, kind, *prefix, h1, h2, a, b) == proof.c


def prove_schnorr(x: int, pub: Point, domain: bytes, kind: int) -> DleqProof:
    """Proof of knowledge of ``x`` with ``pub = xG`` (a dealer's constant term, a transport key)."""
    w = random_scalar()
    c = challenge(domain, kind, pub, ec.g_mul(w))
    return DleqProof(c, (w + c * x) % N)


def verify_schnorr(pub: Point, proof: DleqProof, domain: bytes, kind: int) -> bool:
    if pub is None or not (0 <= proof.c < N and 0 <= proof.z < N):
        return False
    r = ec.lincomb([(G, proof.z, True), (pub, N - proof.c, False)])
    return challenge(domain, kind, pub, r) == proof.c


@dataclass(frozen=True)
class Ballot:
    """One encrypted ballot: a ciphertext and a 0/1 proof per option, and a proof their sum is 1."""

    ciphertexts: tuple[Ciphertext, ...]
    bit_proofs: tuple[BitProof, ...]
    sum_proof: DleqProof

    def to_evm(self) -> tuple[list, list, tuple[int, int]]:
        return ([c.to_evm() for c in self.ciphertexts], [p.to_evm() for p in self.bit_proofs],
                self.sum_proof.to_evm())


def sum_statement(ciphertexts: tuple[Ciphertext, ...] | list[Ciphertext]) -> tuple[Point, Point]:
    """The sum proof's statement: ``(ΣA, ΣB − G)`` must be ``(R·G, R·Y)``."""
    return ec.sum_points([c.a for c in ciphertexts]), ec.sub(ec.sum_points([c.b for c in ciphertexts]), G)


def make_ballot(key: tuple[int, int], choice: int, n_options: int, domain: bytes) -> Ballot:
    """Encrypt a one-choice ballot for option ``choice`` (0-based) and prove it well-formed."""
    if not 0 <= choice < n_options:
        raise ProofError(f"choice {choice} outside 0..{n_options - 1}")
    cts, proofs, rsum = [], [], 0
    for i in range(n_options):
        m = 1 if i == choice else 0
        ct, r = encrypt(key, m)
        cts.append(ct)
        proofs.append(prove_bit(key, ct, m, r, domain))
        rsum = (rsum + r) % N
    sa, sb = sum_statement(cts)
    sum_proof = prove_dleq(key, key, rsum, sa, sb, domain, KIND_SUM)
    return Ballot(tuple(cts), tuple(proofs), sum_proof)


def verify_ballot(key: tuple[int, int], ballot: Ballot, n_options: int, domain: bytes) -> bool:
    if len(ballot.ciphertexts) != n_options or len(ballot.bit_proofs) != n_options:
        return False
    for ct, pr in zip(ballot.ciphertexts, ballot.bit_proofs, strict=True):
        if not verify_bit(key, ct, pr, domain):
            return False
    sa, sb = sum_statement(ballot.ciphertexts)
    return verify_dleq(key, True, sa, sb, ballot.sum_proof, domain, KIND_SUM)


# --- decryption ----------------------------------------------------------------------------------------

def partial_decrypt(share: int, verification_key: Point, ct: Ciphertext, domain: bytes
                    ) -> tuple[Point, DleqProof]:
    """A trustee's ``D = s·A`` with a proof that ``log_G(Y_i) = log_A(D)``."""
    d = ec.mul(ct.a, share)
    return d, prove_dleq(ct.a, None, share, verification_key, d, domain, KIND_DECRYPT, prefix=(ct.a,))


def verify_partial(verification_key: Point, ct: Ciphertext, d: Point, proof: DleqProof, domain: bytes
                   ) -> bool:
    return verify_dleq(ct.a, False, verification_key, d, proof, domain, KIND_DECRYPT, prefix=(ct.a,))


def lagrange_at_zero(indices: list[int]) -> list[int]:
    """Coefficients λ_i with Σ λ_i f(i) = f(0) over Z_N for distinct 1-based indices."""
    if len(set(indices)) != len(indices) or any(i <= 0 for i in indices):
        raise ProofError("trustee indices must be distinct and positive")
    out = []
    for i in indices:
        num, den = 1, 1
        for j in indices:
            if j != i:
                num = num * j % N
                den = den * (j - i) % N
        out.append(num * pow(den, -1, N) % N)
    return out


def combine(ct: Ciphertext, partials: dict[int, Point]) -> Point:
    """``mG = B − Σ λ_i D_i`` from partial decryptions keyed by trustee index."""
    idx = sorted(partials)
    lam = lagrange_at_zero(idx)
    s_a = ec.lincomb([(partials[i], lam_i, False) for i, lam_i in zip(idx, lam, strict=True)])
    return ec.sub(ct.b, s_a)


def discrete_log(target: Point, bound: int) -> int:
    """The ``m ≤ bound`` with ``mG = target`` (baby-step giant-step); raises if there is none."""
    if target is None:
        return 0
    step = max(1, int(bound ** 0.5) + 1)
    baby: dict[Point, int] = {}
    cur: Point = None
    for j in range(step):
        baby.setdefault(cur, j)
        cur = ec.add(cur, G)
    giant = ec.neg(ec.g_mul(step))
    cur = target
    for i in range(step + 1):
        if cur in baby:
            m = i * step + baby[cur]
            if m <= bound:
                return m
        cur = ec.add(cur, giant)
    raise ProofError(f"no tally ≤ {bound} decrypts this ciphertext (wrong shares or corrupted sum)")
