"""Demo step: liquid delegation — a delegated vote, then overridden by a direct one.

Story: the first and third demo citizens trust the second on consortium matters and delegate their vote to
him (EIP-712 signatures relayed by the PA: they pay no gas). On a one-citizen-one-vote proposal he votes For;
the relayer counts the delegations, so his vote weighs 3. Then the first citizen votes Against herself: her
direct vote overrides her delegation for this proposal, and her weight moves from his For to her Against.
Every step is an event that ``co3chain audit proposal`` replays.
"""

from __future__ import annotations

import time
from typing import Any

from web3.logs import DISCARD

from co3chain.contracts import governance_typed_data as gtd
from co3chain.delegation.typed_data import delegate_typed_data, sign_typed

AGAINST, FOR = 0, 1
DESCRIPTION = "Open the community library on Sunday mornings"


def _tally(gov: Any, pid: int) -> dict[str, int]:
    against, for_, abstain = (int(v) for v in gov.functions.proposalVotes(pid).call())
    return {"for": for_, "against": against, "abstain": abstain}


def delegation_step(runner: Any) -> dict[str, Any]:
    """Run the story on ``runner`` (a ``co3chain.contracts.demo.Demo``); returns what happened, read back from
    the chain (``skipped`` when the deployment has no LiquidDelegation)."""
    ld = runner.c.get("LiquidDelegation")
    if ld is None:
        runner.say("liquid delegation skipped: this deployment has no LiquidDelegation contract")
        return {"skipped": "no LiquidDelegation in the deployment"}
    gov, sender, say = runner.c["CO3Governance"], runner.sender, runner.say
    giulia, marco, sara = runner.citizens[0], runner.citizens[1], runner.citizens[2]
    names = runner.names

    expiry = runner.clock.now() + 24 * 3600
    for who in (giulia, sara):
        nonce = int(ld.functions.nonces(who.address).call())
        typed = delegate_typed_data(runner.chain_id, ld.address, delegator=who.address, scope=0,
                                    delegatee=marco.address, nonce=nonce, expiry=expiry)
        data = ld.encode_abi("delegateBySig", args=[who.address, 0, marco.address, nonce, expiry,
                                                    sign_typed(who.key, typed)])
        sender.transact({"to": ld.address, "data": data}, f"{names[who.address]} delegating to {names[marco.address]}")
    say(f"{names[giulia.address]} and {names[sara.address]} delegate their vote to {names[marco.address]} "
        "(signed, relayed)")

    bounds = [int(b) for b in gov.functions.votingBounds().call()]
    delay, duration = runner.clock.windows(bounds)
    vote_start = runner.clock.now() + delay
    vote_end = vote_start + duration
    (pid,) = runner.propose(0, [(0, f"{DESCRIPTION} ({int(time.time())})")], vote_start, vote_end)
    runner.clock.advance_past(vote_start)

    def relay_vote(who: Any, support: int) -> None:
        nonce = int(gov.functions.nonces(who.address, pid).call())
        signature = gtd.sign_ballot(who.key, runner.chain_id, gov.address, proposal_id=pid, support=support,
                                    nonce=nonce)
        data = gov.encode_abi("castVoteBySig", args=[pid, support, who.address, nonce, signature])
        sender.transact({"to": gov.address, "data": data}, f"{names[who.address]} voting")

    relay_vote(marco, FOR)
    receipt = sender.call_fn(ld, "countDelegations", [pid, [giulia.address, sara.address]], "counting delegations")
    counted = ld.events.DelegatedWeightCounted().process_receipt(receipt, errors=DISCARD)
    after_delegation = _tally(gov, pid)
    say(f"{names[marco.address]} votes For; {len(counted)} delegations counted: "
        f"For {after_delegation['for']}, Against {after_delegation['against']}")

    relay_vote(giulia, AGAINST)
    after_override = _tally(gov, pid)
    say(f"{names[giulia.address]} votes Against herself: her delegation is overridden for this proposal: "
        f"For {after_override['for']}, Against {after_override['against']}")
    return {
        "proposalId": hex(pid),
        "description": DESCRIPTION,
        "delegations": [{"delegator": names[w.address], "delegate": names[marco.address]} for w in (giulia, sara)],
        "countedDelegators": [names.get(ev["args"]["delegator"], ev["args"]["delegator"]) for ev in counted],
        "afterDelegation": after_delegation,
        "afterOverride": after_override,
        "delegatedWeightOnRepresentative": int(ld.functions.delegatedWeight(pid, marco.address).call()),
        "representative": names[marco.address],
        "overrider": names[giulia.address],
    }
