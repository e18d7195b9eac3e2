"""SecretBallot on py-evm: ballots, malformed ballots, re-votes, decryption proofs, the checked tally."""

from __future__ import annotations

import pytest
from eth_account import Account

from co3chain.ballot import bn254 as ec
from co3chain.ballot import proofs as pf
from co3chain.ballot.client import BallotClientError, send_as, sign_ballot

from .conftest import OPTIONS, Setup


def _reverts(setup: Setup, fn, name: str) -> None:
    with pytest.raises(BallotClientError, match=name):
        send_as(setup.w3, fn, setup.relayer)


def test_key_matches_dkg_and_trustee_shares(setup: Setup) -> None:
    c = setup.client
    key = c.election_key(setup.ceremony_id)
    lam = pf.lagrange_at_zero([1, 2, 4])
    secret = sum(lv * setup.shares[i] for lv, i in zip(lam, [1, 2, 4], strict=True)) % ec.N
    assert ec.g_mul(secret) == key
    for i, s in setup.shares.items():
        assert tuple(c.contract.functions.verificationKey(setup.ceremony_id, i).call()) == ec.g_mul(s)


def test_admin_powers_are_role_guarded(setup: Setup) -> None:
    f = setup.client.contract.functions
    _reverts(setup, f.openCeremony([setup.relayer.address], 1), "AccessControlUnauthorizedAccount")
    _reverts(setup, f.addRegistrarKey(b"\x80" * 256, b"\x03"), "AccessControlUnauthorizedAccount")
    _reverts(setup, f.createElection(1, 1, 0, 2, 0, 2**40), "AccessControlUnauthorizedAccount")


def test_registrar_key_serves_one_election(setup: Setup) -> None:
    """A blinded message hides its election id: a key reused across elections would let credentials cross."""
    f = setup.client.contract.functions
    manager = setup.admin
    send_as(setup.w3, f.grantRole(f.ELECTION_MANAGER_ROLE().call(), manager.address), setup.admin)
    with pytest.raises(BallotClientError, match=r"RegistrarKeyInUse\(1, 1\)"):
        send_as(setup.w3, f.createElection(1, 1, 0, 2, 0, 2**40), manager)


def test_full_election_tally_and_wrong_claims(setup: Setup) -> None:
    voters = [Account.create() for _ in range(5)]
    choices = [0, 2, 2, 1, 2]
    for v, ch in zip(voters, choices, strict=True):
        setup.vote(v, ch)
    f = setup.client.contract.functions
    trustee = setup.trustees[0]
    with pytest.raises(BallotClientError, match="VotingNotEnded"):
        setup.client.post_decryption(trustee, 1, setup.shares[1])
    setup.end_voting()
    with pytest.raises(BallotClientError, match="VotingClosed"):
        setup.vote(Account.create(), 0)
    # a wrong partial decryption (another trustee's share, or a proof made for another election) is rejected
    with pytest.raises(BallotClientError, match="not trustee 1's current share"):
        setup.client.post_decryption(trustee, 1, setup.shares[2])
    totals = setup.client.totals(1)
    dom = pf.decrypt_domain(setup.client.chain_id, setup.client.address, 1, trustee.address)
    wrong = [pf.partial_decrypt(setup.shares[2], ec.g_mul(setup.shares[2]), ct, dom) for ct in totals]
    with pytest.raises(BallotClientError, match="InvalidProof"):  # on-chain: proof against trustee 1's key fails
        send_as(setup.w3, f.postDecryption(1, [ec.to_evm(d) for d, _ in wrong], [p.to_evm() for _, p in wrong]),
                trustee)
    dom_other = pf.decrypt_domain(setup.client.chain_id, setup.client.address, 2, trustee.address)
    vk = ec.g_mul(setup.shares[1])
    parts = [pf.partial_decrypt(setup.shares[1], vk, ct, dom_other) for ct in totals]
    with pytest.raises(BallotClientError, match="InvalidProof"):
        send_as(setup.w3, f.postDecryption(1, [ec.to_evm(d) for d, _ in parts], [p.to_evm() for _, p in parts]),
                trustee)
    # two trustees are not enough
    for i in (1, 3):
        setup.client.post_decryption(setup.trustees[i - 1], 1, setup.shares[i])
    with pytest.raises(BallotClientError, match="2 of the 3"):
        setup.client.compute_tally(1)
    with pytest.raises(BallotClientError, match="InvalidTrusteeIndices"):
        send_as(setup.w3, f.finalizeTally(1, [1, 3, 4], [1, 1, 3]), setup.relayer)
    setup.client.post_decryption(setup.trustees[3], 1, setup.shares[4])
    with pytest.raises(BallotClientError, match="AlreadyPosted"):
        setup.client.post_decryption(setup.trustees[3], 1, setup.shares[4])
    # a false claim is refused on-chain
    for wrong in ([2, 1, 2], [1, 2, 3], [1, 1, 2]):
        with pytest.raises(BallotClientError, match="WrongTally"):
            send_as(setup.w3, f.finalizeTally(1, [1, 3, 4], wrong), setup.relayer)
    assert setup.client.finalize(setup.relayer, 1) == [1, 1, 3]
    assert f.results(1).call() == [1, 1, 3]
    with pytest.raises(BallotClientError, match="AlreadyTallied"):
        setup.client.finalize(setup.relayer, 1)


def _forged_body(setup: Setup, voter, cts, bits, sum_proof, nonce: int = 1) -> dict:
    c = setup.client
    return {"electionId": 1, "voter": voter.address, "nonce": nonce, "ciphertexts": cts, "bitProofs": bits,
            "sumProof": sum_proof, "previous": [],
            "signature": sign_ballot(voter, c.chain_id, c.address, 1, nonce, cts)}


def test_malformed_ballots_rejected_on_chain(setup: Setup) -> None:
    c = setup.client
    key = c.election_key(setup.ceremony_id)
    voter = Account.create()
    cred = setup.credential(voter)
    dom = c.ballot_domain(1, voter.address)

    # a 2 in an option (with the best proof one can make: a bit proof for 1 over an encryption of 2)
    ct2, r2 = pf.encrypt(key, 2)
    rest = [pf.encrypt(key, 0) for _ in range(OPTIONS - 1)]
    cts = [ct2] + [ct for ct, _ in rest]
    bits = [pf.prove_bit(key, ct2, 1, r2, dom)] + [pf.prove_bit(key, ct, 0, r, dom) for ct, r in rest]
    body = _forged_body(setup, voter, [x.to_evm() for x in cts], [b.to_evm() for b in bits], (1, 1))
    with pytest.raises(BallotClientError, match="InvalidProof"):
        c.relay(setup.relayer, body, cred)

    # two choices: valid bit proofs, but the sum is 2
    enc = [pf.encrypt(key, m) for m in (1, 1, 0)]
    cts = [ct for ct, _ in enc]
    bits = [pf.prove_bit(key, ct, m, r, dom) for (ct, r), m in zip(enc, (1, 1, 0), strict=True)]
    sa, sb = pf.sum_statement(cts)
    sp = pf.prove_dleq(key, key, sum(r for _, r in enc) % ec.N, sa, sb, dom, pf.KIND_SUM)
    body = _forged_body(setup, voter, [x.to_evm() for x in cts], [b.to_evm() for b in bits], sp.to_evm())
    with pytest.raises(BallotClientError, match=f"InvalidProof|{OPTIONS}"):
        c.relay(setup.relayer, body, cred)

    # a ballot proven for another election (domain of election 2) or another voter
    for dom_other in (pf.ballot_domain(c.chain_id, c.address, 2, voter.address),
                      pf.ballot_domain(c.chain_id, c.address, 1, Account.create().address)):
        ballot = pf.make_ballot(key, 1, OPTIONS, dom_other)
        cts, bits, sp = ballot.to_evm()
        with pytest.raises(BallotClientError, match="InvalidProof"):
            c.relay(setup.relayer, _forged_body(setup, voter, cts, bits, sp), cred)

    # wrong number of options, a bad credential, a signature by another key
    short = c.prepare_ballot(1, voter, 0)
    short["ciphertexts"], short["bitProofs"] = short["ciphertexts"][:2], short["bitProofs"][:2]
    with pytest.raises(BallotClientError, match="LengthMismatch"):
        c.relay(setup.relayer, short, cred)
    good = c.prepare_ballot(1, voter, 0)
    with pytest.raises(BallotClientError, match="InvalidCredential"):
        c.relay(setup.relayer, good, setup.credential(Account.create()))
    with pytest.raises(BallotClientError, match="InvalidCredential"):
        c.relay(setup.relayer, good, bytes(len(cred)))
    stolen = dict(good, signature=sign_ballot(Account.create(), c.chain_id, c.address, 1, 1, good["ciphertexts"]))
    with pytest.raises(BallotClientError, match="InvalidVoterSignature"):
        c.relay(setup.relayer, stolen, cred)

    # the honest ballot passes once; replaying it is refused
    c.relay(setup.relayer, good, cred)
    with pytest.raises(BallotClientError, match="BadNonce"):
        c.relay(setup.relayer, good, cred)
    assert c.election(1).voters == 1


def test_revote_replaces_and_keeps_accumulator(setup: Setup) -> None:
    c = setup.client
    alice, bob = Account.create(), Account.create()
    _, first = setup.vote(alice, 0)
    setup.vote(bob, 1)
    before = c.totals(1)
    prev = [pf.Ciphertext.from_evm(x) for x in first["ciphertexts"]]
    # a re-vote that lies about the previous ballot is refused
    fake_prev = [pf.encrypt(c.election_key(1), 0)[0] for _ in range(OPTIONS)]
    body = c.prepare_ballot(1, alice, 2, fake_prev)
    with pytest.raises(BallotClientError, match="PreviousBallotMismatch"):
        c.relay(setup.relayer, body)
    body = c.prepare_ballot(1, alice, 2, prev)
    receipt = c.relay(setup.relayer, body)
    ev = c.contract.events.BallotCast().process_receipt(receipt)[0]["args"]
    assert ev["replaced"] and ev["ballot"]["nonce"] == 2
    new = [pf.Ciphertext.from_evm(x) for x in body["ciphertexts"]]
    assert c.totals(1) == [t - p + n for t, p, n in zip(before, prev, new, strict=True)]
    assert c.election(1).voters == 2
    # the credential cannot be used for a second voter slot: it names alice's key
    setup.end_voting()
    for i in (2, 3, 4):
        c.post_decryption(setup.trustees[i - 1], 1, setup.shares[i])
    assert c.finalize(setup.relayer, 1) == [0, 1, 1]


def test_bad_dealer_is_disqualified_by_proven_complaint() -> None:
    """A trustee that deals a bad share is caught: the victim proves it on-chain, the dealer's polynomial
    leaves the key, and the remaining ceremony still decrypts; a false complaint is refused."""
    from eth_tester import EthereumTester, PyEVMBackend
    from web3 import EthereumTesterProvider, Web3

    from co3chain.ballot import dkg
    from co3chain.ballot.client import deploy_secret_ballot, point

    tester = EthereumTester(PyEVMBackend())
    w3 = Web3(EthereumTesterProvider(tester))
    admin, *trustees = [Account.from_key(bytes([0xD0 + i]) * 32) for i in range(4)]
    for a in [admin, *trustees]:
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": a.address, "value": 10**21})
    c, _ = deploy_secret_ballot(w3, admin)
    addr = c.address
    f = c.contract.functions
    send_as(w3, f.openCeremony([t.address for t in trustees], 2), admin)
    secrets = {i: c.post_transport_key(t, 1) for i, t in enumerate(trustees, start=1)}
    c.post_dealing(trustees[0], 1)
    c.post_dealing(trustees[1], 1)
    # trustee 3 cheats: trustee 2's share is off by one
    tks = [point(f.transportKey(1, j).call()) for j in (1, 2, 3)]
    dom3 = pf.ceremony_domain(c.chain_id, addr, 1, trustees[2].address)
    dealing, _ = dkg.deal(3, 2, tks, 1, dom3)
    enc = list(dealing.encrypted_shares)
    enc[1] = (enc[1] + 1) % ec.N
    send_as(w3, f.postDealing(1, [ec.to_evm(p) for p in dealing.commitments], enc, ec.to_evm(dealing.ephemeral),
                              dealing.pok.to_evm()), trustees[2])
    # trustee 1 (whose shares are fine) confirms first, with a share that still includes dealer 3
    stale = c.settle_shares(trustees[0], 1, secrets[1])
    # trustee 2 cannot complain falsely about trustee 1's honest dealing
    honest = next(d for d in c.dealings(1) if d.dealer == 1)
    tk2 = point(f.transportKey(1, 2).call())
    dh, proof = dkg.complaint(honest, secrets[2], tk2, pf.ceremony_domain(c.chain_id, addr, 1, trustees[1].address))
    with pytest.raises(BallotClientError, match="FalseComplaint"):
        send_as(w3, f.complain(1, 1, list(honest.encrypted_shares), ec.to_evm(dh), proof.to_evm()), trustees[1])
    shares = {2: c.settle_shares(trustees[1], 1, secrets[2])}  # proves dealer 3 bad, then confirms
    assert f.isDisqualified(1, 3).call() and not f.isDisqualified(1, 1).call()
    info = f.ceremony(1).call()[0]
    assert info[4] == 1 and not info[6]  # trustee 1's confirmation was cleared; only trustee 2's counts
    shares[1] = c.settle_shares(trustees[0], 1, secrets[1])
    shares[3] = c.settle_shares(trustees[2], 1, secrets[3])
    assert shares[1] != stale
    n, t, complete, _, agg = c.ceremony(1)
    assert complete and agg[0] == dkg.election_key([d for d in c.dealings(1)])
    lam = pf.lagrange_at_zero([1, 3])
    assert ec.g_mul((lam[0] * shares[1] + lam[1] * shares[3]) % ec.N) == agg[0]
