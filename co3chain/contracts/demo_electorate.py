"""Demo step: an area vote limited to the area's residents, where a non-resident's ballot is refused.

Why a separate step: the pilots' first complaint (issue 11) was that any citizen of any PA could decide any
area. Here the managing PA's registrar creates the park's AREA_RESIDENCE group, adds the residents, and the PA
proposes with ``proposeFor`` naming that group as the electorate. A registered citizen who does not live there
signs a ballot like everybody else and the chain refuses it (``NoVotingWeight``); the quorum is a share of the
residents, not of the consortium (docs/electorates.md).
"""

from __future__ import annotations

from typing import Any

from eth_utils import keccak
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.logs import DISCARD

from co3chain.contracts import governance_typed_data as gtd
from co3chain.electorates import AREA_RESIDENCE, group_electorate

#: Demo citizens (indexes into ``dev_citizen_accounts``) living by the park, and one who does not.
RESIDENTS = (0, 1, 2)
NON_RESIDENT = 3
QUESTION = "Close the park's riverside road to cars on Sundays (residents decide)"


def ensure_officer_pa(runner: Any) -> int:
    """The demo officer registers citizens and manages the park: it must act for a PA. Deployments made by
    ``deploy_suite`` bind it already; older ones get the binding through the council and the timelock."""
    registry = runner.c["CitizenRegistry"]
    pa = int(registry.functions.paOf(runner.officer.address).call())
    if pa == 0:
        data = registry.encode_abi("setAccountPa", args=[runner.officer.address, 1])
        runner.through_council(registry.address, data, f"bind the PA officer {runner.officer.address} to PA 1")
        pa = int(registry.functions.paOf(runner.officer.address).call())
        runner.say(f"the PA officer {runner.officer.address} now acts for PA {pa} (council + timelock)")
    return pa


def _residents_group(runner: Any) -> int:
    """The park's residents group, with the residents in it: created on the first run, reused afterwards (a
    citizen is in at most one AREA_RESIDENCE group)."""
    registry = runner.c["CitizenRegistry"]
    residents = [runner.citizens[i].address for i in RESIDENTS]
    group_id = next((int(gid) for gid in registry.functions.groupsOf(residents[0]).call()
                     if int(registry.functions.getGroup(gid).call()[1]) == AREA_RESIDENCE), 0)
    if group_id == 0:
        meta = keccak(text="residents of the park's neighbourhood")
        receipt = runner.sender.call_fn(registry, "createGroup", [AREA_RESIDENCE, meta], "creating the residents group")
        group_id = int(registry.events.GroupCreated().process_receipt(receipt, errors=DISCARD)[0]["args"]["groupId"])
    hashes = [
        runner.sender.send({"to": registry.address, "data": registry.encode_abi("addToGroup", args=[group_id, who])},
                           f"adding {runner.names[who]} to the residents")
        for who in residents if group_id not in registry.functions.groupsOf(who).call()
    ]
    for h in hashes:
        runner.sender.wait(h, "adding residents")
    return group_id


def _refusal(runner: Any, proposal_id: int, idx: int) -> str:
    """The error the chain gives the relayed, correctly signed ballot of citizen ``idx`` (simulated)."""
    gov = runner.c["CO3Governance"]
    acct = runner.citizens[idx]
    nonce = int(gov.functions.nonces(acct.address, proposal_id).call())
    signature = gtd.sign_ballot(acct.key, runner.chain_id, gov.address, proposal_id=proposal_id, support=1,
                                nonce=nonce)
    try:
        gov.functions.castVoteBySig(proposal_id, 1, acct.address, nonce, signature).call(
            {"from": runner.officer.address})
    except (ContractCustomError, ContractLogicError) as exc:
        data = exc.data if isinstance(exc.data, str) else getattr(exc, "message", None)
        return runner.sender.decoder.decode(data) or str(exc)
    except ValueError as exc:  # older web3 stacks (brownie's) raise the node's JSON-RPC error as a ValueError
        error = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        data = error.get("data") if isinstance(error.get("data"), str) else None
        if data is None:
            raise
        return runner.sender.decoder.decode(data) or str(error.get("message", exc))
    return "accepted"


def area_vote_step(runner: Any, area_id: int | None = None) -> dict[str, Any]:
    """Run the residents-only area vote on ``runner`` (a :class:`co3chain.contracts.demo.Demo`); returns what
    happened, read back from the chain. ``area_id`` defaults to the last area created."""
    gov, registry = runner.c["CO3Governance"], runner.c["CitizenRegistry"]
    ensure_officer_pa(runner)
    if area_id is None:
        area_id = int(runner.c["CommoningAreas"].functions.areaCount().call())
    group_id = _residents_group(runner)
    electorate = group_electorate(group_id)
    bounds = [int(b) for b in gov.functions.votingBounds().call()]
    delay, duration = runner.clock.windows(bounds)
    start = runner.clock.now() + delay
    end = start + duration
    receipt = runner.sender.call_fn(gov, "proposeFor", [area_id, electorate, [0, False, start, end, 0], [], [], [],
                                                       QUESTION], "proposing the residents-only vote")
    proposal_id = int(gov.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)[0]["args"]["proposalId"])
    runner.say(f"area vote for the residents of area #{area_id} (group #{group_id}, {len(RESIDENTS)} residents)")
    runner.clock.advance_past(start)
    refused = _refusal(runner, proposal_id, NON_RESIDENT)
    outsider = runner.names[runner.citizens[NON_RESIDENT].address]
    runner.say(f"{outsider} (registered, not a resident) signed a ballot: refused by the chain ({refused})")
    runner.vote([(proposal_id, [(0, 1, False), (1, 1, False), (2, 0, False)])])
    runner.clock.advance_past(end)
    against, for_, abstain = (int(v) for v in gov.functions.proposalVotes(proposal_id).call())
    result = {
        "areaId": area_id,
        "groupId": group_id,
        "electorate": hex(electorate),
        "electorateSize": int(registry.functions.getPastElectorateSize(electorate, start).call()),
        "proposalId": f"0x{proposal_id:064x}",
        "question": QUESTION,
        "residents": [runner.names[runner.citizens[i].address] for i in RESIDENTS],
        "refused": {"voter": outsider, "reason": refused},
        "for": for_,
        "against": against,
        "abstain": abstain,
        "quorum": int(gov.functions.quorum(proposal_id).call()),
        "state": gtd.STATE_NAMES[int(gov.functions.state(proposal_id).call())],
    }
    runner.say(f"residents' vote: {for_} for, {against} against, quorum {result['quorum']} of "
               f"{result['electorateSize']} residents: {result['state']}")
    return result


def render_area_vote(result: dict[str, Any] | None, console: Any) -> None:
    """Summary lines for ``co3chain demo``."""
    if not result:
        return
    console.print(f"[bold]Area vote[/bold] (residents of area #{result['areaId']} only, "
                  f"{result['electorateSize']} eligible): {result['question']!r}: {result['for']} for, "
                  f"{result['against']} against, quorum {result['quorum']}, {result['state']}")
    console.print(f"  {result['refused']['voter']}'s ballot refused: {result['refused']['reason']}", soft_wrap=True)
