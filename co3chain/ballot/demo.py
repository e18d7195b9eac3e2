"""One secret election end to end: 4 PA trustees (3 needed), a PA registrar, citizens voting anonymously.

Why a separate module: ``co3chain ballot demo`` runs it on an in-process py-evm chain (no node needed), and
the suite demo can call :func:`run_secret_election` with its own web3, accounts and clock in one line.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_account import Account

from co3chain.audit.secret_ballot import BallotAudit, audit_election
from co3chain.ballot.client import SecretBallotClient, cipher, deploy_secret_ballot, send_as
from co3chain.ballot.credential import Registrar, blind, finalize

OPTIONS = ("keep the park open at night", "close it at 22:00", "close it at sunset")


@dataclass
class DemoOutcome:
    election_id: int
    expected: list[int]
    counts: list[int]
    audit: BallotAudit
    gas_per_ballot: int
    seconds_per_ballot: float

    def to_json(self) -> dict[str, Any]:
        return {"electionId": self.election_id, "options": list(OPTIONS), "counts": self.counts,
                "expected": self.expected, "gasPerBallot": self.gas_per_ballot,
                "clientSecondsPerBallot": round(self.seconds_per_ballot, 4), "audit": self.audit.to_json()}


def run_secret_election(w3: Any, client: SecretBallotClient, admin: Any, manager: Any, relayer: Any,
                        trustees: list[Any], advance_past: Callable[[int], None], citizens: int = 8,
                        say: Callable[[str], None] = print, seed: int = 7, proposal_id: int = 0,
                        voting_seconds: int = 600,
                        admin_call: Callable[[str, list[Any], str], None] | None = None) -> DemoOutcome:
    """Run a 3-of-4 ceremony, an election with ``citizens`` voters (one re-votes), decryption and audit.

    ``admin`` holds DEFAULT_ADMIN_ROLE, ``manager`` ELECTION_MANAGER_ROLE.  On a deployed suite the admin is
    the consortium timelock, so no key can act for it: pass ``admin_call(function name, args, description)``
    instead (e.g. a council motion that schedules the call in the timelock); ``admin`` is then unused.
    """
    rng = random.Random(seed)
    c = client.contract.functions

    def as_admin(name: str, args: list[Any], description: str) -> None:
        if admin_call is not None:
            admin_call(name, args, description)
        else:
            send_as(w3, getattr(c, name)(*args), admin)

    as_admin("openCeremony", [[t.address for t in trustees], 3], "open the secret-ballot key ceremony")
    cid = int(c.ceremonyCount().call())
    say(f"key ceremony {cid}: {len(trustees)} PA trustees, any 3 can decrypt")
    transport = {i: client.post_transport_key(t, cid) for i, t in enumerate(trustees, start=1)}
    for t in trustees:
        client.post_dealing(t, cid)
    shares = {i: client.settle_shares(trustees[i - 1], cid, transport[i]) for i in transport}
    say("  every trustee dealt and checked its share against the public commitments")

    registrar = Registrar.generate(2048)
    as_admin("addRegistrarKey", [registrar.public.modulus_bytes(), registrar.public.exponent_bytes()],
             "approve the PA registrar's blind-signature key")
    key_id = int(c.registrarKeyCount().call())
    now = int(w3.eth.get_block("latest")["timestamp"])
    end = now + voting_seconds
    send_as(w3, c.createElection(cid, key_id, proposal_id, len(OPTIONS), now, end), manager)
    eid = int(c.electionCount().call())
    say(f"secret election {eid}: {len(OPTIONS)} options, credentials from the PA registrar (blind RSA)")

    expected = [0] * len(OPTIONS)
    gas, spent = 0, 0.0
    first_voter, first_body = None, None
    for k in range(citizens):
        voter = Account.create()  # fresh key, never registered anywhere: the registrar sees only a blinded message
        blinded, state = blind(registrar.public, client.credential_message(eid, voter.address))
        cred = finalize(registrar.public, state, registrar.blind_sign(blinded))
        choice = rng.randrange(len(OPTIONS))
        t0 = time.perf_counter()
        body = client.prepare_ballot(eid, voter, choice)
        spent += time.perf_counter() - t0
        gas += int(client.relay(relayer, body, cred)["gasUsed"])
        expected[choice] += 1
        if k == 0:
            first_voter, first_body, first_choice = voter, body, choice
    say(f"  {citizens} encrypted ballots relayed, every proof verified on-chain")
    new_choice = (first_choice + 1) % len(OPTIONS)
    client.relay(relayer, client.prepare_ballot(eid, first_voter, new_choice,
                                                [cipher(x) for x in first_body["ciphertexts"]]))
    expected[first_choice] -= 1
    expected[new_choice] += 1
    say("  one citizen changed their mind: the re-vote replaced the earlier ballot")

    advance_past(end)
    for i in (1, 2, 4):
        client.post_decryption(trustees[i - 1], eid, shares[i])
    say("  trustees 1, 2 and 4 posted partial decryptions with proofs (trustee 3 offline)")
    counts = client.finalize(relayer, eid)
    for name, n in zip(OPTIONS, counts, strict=True):
        say(f"    {n:3d}  {name}")
    report = audit_election(client, eid)
    say(report.render())
    return DemoOutcome(eid, expected, counts, report, gas // max(citizens, 1), spent / max(citizens, 1))


def run_in_process(citizens: int = 8, say: Callable[[str], None] = print) -> DemoOutcome:
    """The demo on an in-process py-evm chain (eth-tester): no node, no network."""
    from eth_tester import EthereumTester, PyEVMBackend
    from web3 import EthereumTesterProvider, Web3

    tester = EthereumTester(PyEVMBackend())
    w3 = Web3(EthereumTesterProvider(tester))
    people = [Account.create() for _ in range(7)]
    for p in people:
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": p.address, "value": 10**21})
    admin, manager, relayer, *trustees = people
    client, _ = deploy_secret_ballot(w3, admin, manager)

    def advance(ts: int) -> None:
        tester.time_travel(ts + 1)
        tester.mine_blocks(1)

    return run_secret_election(w3, client, admin, manager, relayer, trustees, advance, citizens, say)


def run_on_consortium(demo: Any, trustees: list[Any], citizens: int = 3) -> DemoOutcome:
    """The secret election on a deployed suite (``co3chain demo``): ``demo`` is the suite demo
    (:class:`co3chain.contracts.demo.Demo`), whose officer manages the election and relays the ballots.

    Why through the council: after deploy SecretBallot's DEFAULT_ADMIN_ROLE belongs to the consortium
    timelock, so opening the trustee ceremony and approving the registrar key are council motions that the
    timelock executes after its delay, like any other change of rules; they leave events for auditors.
    """
    from co3chain.ballot.client import SecretBallotClient

    sb = demo.c["SecretBallot"]
    client = SecretBallotClient(demo.w3, sb.address)
    demo.fund(trustees)

    def through_council(name: str, args: list[Any], description: str) -> None:
        demo.sender.resync_nonce()  # the officer also signed ballot transactions with its key (send_as)
        demo.through_council(sb.address, sb.encode_abi(name, args=args), description)

    def advance_past(timestamp: int) -> None:
        demo.sender.resync_nonce()  # on a chain without time warp the clock seals blocks with the officer's key
        demo.clock.advance_past(timestamp)

    _, duration = demo.clock.windows()
    try:
        return run_secret_election(demo.w3, client, None, demo.officer, demo.officer, trustees,
                                   advance_past, citizens, demo.say, voting_seconds=duration,
                                   admin_call=through_council)
    finally:
        demo.sender.resync_nonce()
