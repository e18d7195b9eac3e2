"""Property tests of the ballot cryptography: honest tallies, malformed ballots, threshold decryption."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from co3chain.ballot import bn254 as ec
from co3chain.ballot import dkg
from co3chain.ballot import proofs as pf

CHAIN, CONTRACT = 31337, "0x" + "11" * 20
VOTER = "0x" + "22" * 20


def _ceremony(n: int, t: int, ceremony_id: int = 1) -> tuple[list[int], list, tuple[int, int]]:
    domains = [pf.ceremony_domain(CHAIN, CONTRACT, ceremony_id, "0x" + f"{i:040x}") for i in range(1, n + 1)]
    tks = [dkg.make_transport_key(d) for d in domains]
    dealings = [dkg.deal(i, t, [tk[1] for tk in tks], ceremony_id, domains[i - 1])[0] for i in range(1, n + 1)]
    assert all(dkg.verify_dealing_pok(d, domains[d.dealer - 1]) for d in dealings)
    shares = [dkg.final_share(dealings, j, tks[j - 1][0], ceremony_id) for j in range(1, n + 1)]
    return shares, dealings, dkg.election_key(dealings)


@pytest.fixture(scope="module")
def ceremony() -> tuple[list[int], list, tuple[int, int]]:
    return _ceremony(4, 3)


def test_shares_match_verification_keys_and_key(ceremony) -> None:
    shares, dealings, key = ceremony
    agg = dkg.aggregate_commitments(dealings)
    for j, s in enumerate(shares, start=1):
        assert ec.g_mul(s) == dkg.verification_key(agg, j)
    # any 3 shares interpolate the same secret, whose public key is the election key
    for subset in ([1, 2, 3], [2, 3, 4], [1, 2, 4]):
        lam = pf.lagrange_at_zero(subset)
        secret = sum(lam_i * shares[i - 1] for lam_i, i in zip(lam, subset, strict=True)) % ec.N
        assert ec.g_mul(secret) == key


def test_bad_share_is_detected(ceremony) -> None:
    _, dealings, _ = ceremony
    tks = [dkg.make_transport_key(b"d" * 32) for _ in range(4)]
    dealing, _ = dkg.deal(1, 3, [tk[1] for tk in tks], 7, b"d" * 32)
    forged = dkg.Dealing(1, dealing.commitments, (dealing.encrypted_shares[0] + 1,) + dealing.encrypted_shares[1:],
                         dealing.ephemeral, dealing.pok)
    with pytest.raises(pf.ProofError):
        dkg.open_share(forged, 1, tks[0][0], 7)
    assert dkg.open_share(forged, 2, tks[1][0], 7)  # the others still verify


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choices=st.lists(st.integers(min_value=0, max_value=2), min_size=1, max_size=25),
       trustees=st.sampled_from([[1, 2, 3], [2, 3, 4], [1, 3, 4], [1, 2, 3, 4]]))
def test_honest_tally(ceremony, choices: list[int], trustees: list[int]) -> None:
    shares, dealings, key = ceremony
    agg = dkg.aggregate_commitments(dealings)
    total = [pf.ZERO] * 3
    for k, choice in enumerate(choices):
        dom = pf.ballot_domain(CHAIN, CONTRACT, 5, "0x" + f"{k + 1:040x}")
        ballot = pf.make_ballot(key, choice, 3, dom)
        assert pf.verify_ballot(key, ballot, 3, dom)
        total = [t + c for t, c in zip(total, ballot.ciphertexts, strict=True)]
    counts = []
    for ct in total:
        partials = {}
        for i in trustees:
            dom = pf.decrypt_domain(CHAIN, CONTRACT, 5, "0x" + f"{i:040x}")
            vk = dkg.verification_key(agg, i)
            d, proof = pf.partial_decrypt(shares[i - 1], vk, ct, dom)
            assert pf.verify_partial(vk, ct, d, proof, dom)
            partials[i] = d
        counts.append(pf.discrete_log(pf.combine(ct, partials), len(choices)))
    assert counts == [choices.count(o) for o in range(3)]


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subset=st.sampled_from([[1, 2], [3, 4], [1, 4], [2, 3]]), votes=st.integers(min_value=1, max_value=8))
def test_fewer_than_threshold_cannot_decrypt(ceremony, subset: list[int], votes: int) -> None:
    """t−1 shares interpolate a wrong secret: the combination is not m·G for any plausible tally."""
    shares, _, key = ceremony
    total = pf.ZERO
    for _ in range(votes):
        total = total + pf.encrypt(key, 1)[0]
    partials = {i: ec.mul(total.a, shares[i - 1]) for i in subset}
    with pytest.raises(pf.ProofError):
        pf.discrete_log(pf.combine(total, partials), 10_000)
    lam = pf.lagrange_at_zero(subset)
    guess = sum(lam_i * shares[i - 1] for lam_i, i in zip(lam, subset, strict=True)) % ec.N
    assert ec.g_mul(guess) != key


def test_malformed_ballots_rejected(ceremony) -> None:
    _, _, key = ceremony
    dom = pf.ballot_domain(CHAIN, CONTRACT, 1, VOTER)
    good = pf.make_ballot(key, 1, 3, dom)
    assert pf.verify_ballot(key, good, 3, dom)
    # a proof for another election, another voter, another contract
    for other in (pf.ballot_domain(CHAIN, CONTRACT, 2, VOTER), pf.ballot_domain(CHAIN, CONTRACT, 1, "0x" + "33" * 20),
                  pf.ballot_domain(CHAIN + 1, CONTRACT, 1, VOTER)):
        assert not pf.verify_ballot(key, good, 3, other)
    # an encrypted 2 cannot carry a valid bit proof
    ct2, r2 = pf.encrypt(key, 2)
    for m in (0, 1):
        fake = pf.prove_bit(key, ct2, m, r2, dom)
        assert not pf.verify_bit(key, ct2, fake, dom)
    # two choices: each bit proves, the sum proof cannot
    cts, bits, rs = [], [], 0
    for m in (1, 1, 0):
        ct, r = pf.encrypt(key, m)
        cts.append(ct)
        bits.append(pf.prove_bit(key, ct, m, r, dom))
        rs += r
    sa, sb = pf.sum_statement(cts)
    bad = pf.Ballot(tuple(cts), tuple(bits), pf.prove_dleq(key, key, rs, sa, sb, dom, pf.KIND_SUM))
    assert all(pf.verify_bit(key, c, b, dom) for c, b in zip(cts, bits, strict=True))
    assert not pf.verify_ballot(key, bad, 3, dom)
    # a tampered ciphertext
    swapped = pf.Ballot((good.ciphertexts[0] + pf.encrypt(key, 0)[0],) + good.ciphertexts[1:], good.bit_proofs,
                        good.sum_proof)
    assert not pf.verify_ballot(key, swapped, 3, dom)


def test_discrete_log_bounds() -> None:
    rng = random.Random(4)
    for m in [0, 1, 2, 99, 100] + [rng.randrange(10_001) for _ in range(5)]:
        assert pf.discrete_log(ec.g_mul(m), 10_000) == m
    with pytest.raises(pf.ProofError):
        pf.discrete_log(ec.g_mul(10_001), 10_000)


def test_trustee_keystore_round_trip(tmp_path) -> None:
    from co3chain.ballot.keystore import load_secret, save_secret
    from co3chain.keys import KeystoreError

    path = tmp_path / "share.json"
    save_secret(path, "pw", 12345, {"role": "share", "ceremony": 1, "index": 2}, scrypt_n=2**10)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "12345" not in path.read_text()
    secret, meta = load_secret(path, "pw")
    assert secret == 12345 and meta["index"] == 2
    with pytest.raises(KeystoreError, match="wrong password"):
        load_secret(path, "nope")
    with pytest.raises(KeystoreError, match="not overwriting"):
        save_secret(path, "pw", 1, {}, scrypt_n=2**10)
