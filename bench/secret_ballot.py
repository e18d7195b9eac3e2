"""Secret ballots: gas and client time per ballot and per decryption share, audit speed at scale.

Two parts:

* on-chain (eth-tester / py-evm, the precompiles as a node runs them): a 3-of-4 key ceremony, ``--onchain``
  ballots relayed with their credentials, one re-vote, three partial decryptions and the checked tally;
  reports gas used per transaction kind and client time to encrypt + prove one ballot;
* audit at scale: ``--ballots`` (default 10,000) ballots made by simulated citizens, each verified as the
  audit does (0/1 proofs, one-choice proof under the voter's own domain), summed homomorphically,
  decrypted with 3 of 4 shares (with decryption proofs) and the discrete log solved; the decrypted counts
  must equal the choices made.  Reports ballots verified per second.

    .venv/bin/python bench/secret_ballot.py [--onchain 10] [--ballots 10000] [--options 2]

Results also go to bench/results/secret_ballot.json (a part given 0 keeps its earlier figures).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from eth_account import Account  # noqa: E402
from eth_tester import EthereumTester, PyEVMBackend  # noqa: E402
from web3 import EthereumTesterProvider, Web3  # noqa: E402

from co3chain.ballot import bn254 as ec  # noqa: E402
from co3chain.ballot import dkg  # noqa: E402
from co3chain.ballot import proofs as pf  # noqa: E402
from co3chain.ballot.client import cipher, deploy_secret_ballot, send_as  # noqa: E402
from co3chain.ballot.credential import Registrar, blind, finalize  # noqa: E402


def onchain(n_ballots: int, options: int) -> dict:
    tester = EthereumTester(PyEVMBackend())
    w3 = Web3(EthereumTesterProvider(tester))
    people = [Account.create() for _ in range(7)]
    for p in people:
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": p.address, "value": 10**21})
    admin, manager, relayer, *trustees = people
    client, deploy = deploy_secret_ballot(w3, admin, manager)
    f = client.contract.functions
    send_as(w3, f.openCeremony([t.address for t in trustees], 3), admin)
    gas: dict[str, list[int]] = {"deploy": [int(deploy["gasUsed"])]}
    secrets = {}
    for i, t in enumerate(trustees, start=1):
        secrets[i] = client.post_transport_key(t, 1)
    for t in trustees:
        client.post_dealing(t, 1)
    gas["postDealing (t=3 commitments, 4 shares)"] = [int(w3.eth.get_transaction_receipt(
        w3.eth.get_block("latest")["transactions"][0])["gasUsed"])]
    shares = {i: client.settle_shares(trustees[i - 1], 1, secrets[i]) for i in secrets}
    registrar = Registrar.generate(2048)
    send_as(w3, f.addRegistrarKey(registrar.public.modulus_bytes(), registrar.public.exponent_bytes()), admin)
    now = w3.eth.get_block("latest")["timestamp"]
    send_as(w3, f.createElection(1, 1, 0, options, now, now + 10**6), manager)
    key = client.election_key(1)
    info = client.election(1)
    client_times, first = [], None
    for k in range(n_ballots):
        voter = Account.create()
        blinded, st = blind(registrar.public, client.credential_message(1, voter.address))
        cred = finalize(registrar.public, st, registrar.blind_sign(blinded))
        t0 = time.perf_counter()
        body = client.prepare_ballot(1, voter, k % options, nonce=1, info=info, key=key)
        client_times.append(time.perf_counter() - t0)
        gas.setdefault("castBallot (first, with credential)", []).append(
            int(client.relay(relayer, body, cred)["gasUsed"]))
        if first is None:
            first = (voter, body)
    voter, body = first
    revote = client.prepare_ballot(1, voter, 1, [cipher(x) for x in body["ciphertexts"]], info=info, key=key)
    gas["castBallot (re-vote)"] = [int(client.relay(relayer, revote)["gasUsed"])]
    tester.time_travel(now + 10**6 + 1)
    tester.mine_blocks(1)
    for i in (1, 2, 3):
        t0 = time.perf_counter()
        client.post_decryption(trustees[i - 1], 1, shares[i])
        client_times_dec = time.perf_counter() - t0
        rc = w3.eth.get_transaction_receipt(w3.eth.get_block("latest")["transactions"][0])
        gas.setdefault("postDecryption", []).append(int(rc["gasUsed"]))
    client.finalize(relayer, 1)
    rc = w3.eth.get_transaction_receipt(w3.eth.get_block("latest")["transactions"][0])
    gas["finalizeTally (3 trustees)"] = [int(rc["gasUsed"])]
    return {"options": options, "ballots": n_ballots,
            "gas": {k: int(statistics.mean(v)) for k, v in gas.items()},
            "clientSecondsPerBallot": round(statistics.mean(client_times), 4),
            "clientSecondsPerDecryptionTx": round(client_times_dec, 3)}


def audit_at_scale(n_ballots: int, options: int, progress: bool = True) -> dict:
    rng = random.Random(1)
    domains = [pf.ceremony_domain(1, "0x" + "11" * 20, 1, "0x" + f"{i:040x}") for i in range(1, 5)]
    tks = [dkg.make_transport_key(d) for d in domains]
    dealings = [dkg.deal(i, 3, [tk[1] for tk in tks], 1, domains[i - 1])[0] for i in range(1, 5)]
    shares = {j: dkg.final_share(dealings, j, tks[j - 1][0], 1) for j in range(1, 5)}
    agg = dkg.aggregate_commitments(dealings)
    key = agg[0]
    contract = "0x" + "22" * 20
    t0 = time.perf_counter()
    ballots, choices = [], []
    for k in range(n_ballots):
        voter = "0x" + f"{k + 1:040x}"
        choice = rng.randrange(options)
        ballots.append((voter, pf.make_ballot(key, choice, options, pf.ballot_domain(1, contract, 1, voter))))
        choices.append(choice)
        if progress and (k + 1) % 1000 == 0:
            print(f"  made {k + 1} ballots", file=sys.stderr)
    make_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    sums_a: list[list] = [[] for _ in range(options)]
    sums_b: list[list] = [[] for _ in range(options)]
    for k, (voter, ballot) in enumerate(ballots):
        if not pf.verify_ballot(key, ballot, options, pf.ballot_domain(1, contract, 1, voter)):
            raise SystemExit(f"ballot {k} failed to verify")
        for i, ct in enumerate(ballot.ciphertexts):
            sums_a[i].append(ct.a)
            sums_b[i].append(ct.b)
        if progress and (k + 1) % 1000 == 0:
            print(f"  verified {k + 1} ballots", file=sys.stderr)
    totals = [pf.Ciphertext(ec.sum_points(a), ec.sum_points(b)) for a, b in zip(sums_a, sums_b, strict=True)]
    verify_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    counts = []
    for ct in totals:
        partials = {}
        for i in (1, 3, 4):
            dom = pf.decrypt_domain(1, contract, 1, "0x" + f"{i:040x}")
            vk = dkg.verification_key(agg, i)
            d, proof = pf.partial_decrypt(shares[i], vk, ct, dom)
            assert pf.verify_partial(vk, ct, d, proof, dom)
            partials[i] = d
        counts.append(pf.discrete_log(pf.combine(ct, partials), n_ballots))
    decrypt_s = time.perf_counter() - t0
    expected = [choices.count(o) for o in range(options)]
    if counts != expected:
        raise SystemExit(f"decrypted {counts}, cast {expected}")
    return {"ballots": n_ballots, "options": options, "counts": counts,
            "clientSecondsPerBallot": round(make_s / n_ballots, 5),
            "auditBallotsPerSecond": round(n_ballots / verify_s, 1), "auditSeconds": round(verify_s, 1),
            "decryptAndDlogSeconds": round(decrypt_s, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onchain", type=int, default=10, help="ballots relayed on py-evm")
    ap.add_argument("--ballots", type=int, default=10_000, help="ballots for the audit-at-scale run")
    ap.add_argument("--options", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "secret_ballot.json")
    args = ap.parse_args()
    result = json.loads(args.out.read_text()) if args.out.exists() else {}
    if args.onchain:
        result["onchain"] = onchain(args.onchain, args.options)
        print(json.dumps(result["onchain"], indent=2))
    if args.ballots:
        result["audit"] = audit_at_scale(args.ballots, args.options)
        print(json.dumps(result["audit"], indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
