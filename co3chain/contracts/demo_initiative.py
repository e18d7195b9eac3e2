"""Demo step: a citizen initiative reaches its threshold and goes to vote by itself.

Bruno drafts an initiative for the citizens of the officer's PA (the consortium when the registry names no PA
for the officer), amends it once (two versions, each hash on-chain), opens it for supports, and citizens
support it by EIP-712 signatures that the PA's relayer submits (nobody pays gas but the relayer). The support
that reaches the council's threshold makes CitizenInitiatives call ``CO3Governance.proposeFor``: the proposal
exists in the same transaction, voted by the same electorate. Every step is a signed message, as a citizen's
app would send it through the API's relay routes.
"""

from __future__ import annotations

from typing import Any

from eth_utils import keccak

from co3chain.contracts.deploy import role_id
from co3chain.contracts.governance_typed_data import STATE_NAMES
from co3chain.initiative import typed_data as itd
from co3chain.initiative.content import Content, describe_electorate

#: The initiative's text (its keccak256 is what goes on-chain; the text itself is published by the app).
TITLE_V1 = "Open the community garden shed on Sundays"
TITLE_V2 = "Open the community garden shed on Sundays and lend its tools for free"
TEXT_V1 = "We ask the consortium to open the tool shed of the community garden every Sunday, 9:00-13:00."
TEXT_V2 = TEXT_V1 + " Tools are lent for free to registered citizens and returned the same day."
#: Index of the author among the demo citizens (Bruno).
AUTHOR = 1
#: Seconds a signature stays valid in the demo.
VALIDITY = 3600


def _electorate(runner: Any) -> int:
    """The officer's PA electorate if the registry knows electorates and the officer's PA, else the consortium."""
    registry = runner.c["CitizenRegistry"]
    try:
        electorate = int(registry.functions.defaultElectorateOf(runner.officer.address).call())
    except Exception:  # a registry without electorates (older deployment)
        return 0
    if electorate and all(registry.functions.isEligibleVoterAt(c.address, electorate, runner.clock.now() - 1).call()
                          for c in runner.citizens[:1]):
        return electorate
    return 0


def _relay(runner: Any, contract: Any, fn: str, args: list[Any], label: str) -> Any:
    return runner.sender.call_fn(contract, fn, args, label)


def _ensure_relayer(runner: Any, ci: Any) -> None:
    """The officer relays the signed steps; a deployment without that grant asks the council for it."""
    relayer = role_id("RELAYER_ROLE")
    if ci.functions.hasRole(relayer, runner.officer.address).call():
        return
    data = ci.encode_abi("grantRole", args=[relayer, runner.officer.address])
    runner.through_council(ci.address, data, f"grant RELAYER_ROLE on CitizenInitiatives to {runner.officer.address}")


def initiative_step(runner: Any) -> dict[str, Any]:
    """Run the initiative story on ``runner`` (a :class:`co3chain.contracts.demo.Demo`); returns what happened."""
    ci = runner.c.get("CitizenInitiatives")
    if ci is None:
        runner.say("citizen initiative skipped: this deployment has no CitizenInitiatives contract")
        return {"skipped": "no CitizenInitiatives contract in the deployment"}
    _ensure_relayer(runner, ci)
    chain_id, address = runner.chain_id, ci.address
    author = runner.citizens[AUTHOR]
    name = runner.names
    electorate = _electorate(runner)
    period = max(int(runner.c["CO3Governance"].functions.votingBounds().call()[2]), 3600)

    def deadline() -> int:
        return runner.clock.now() + VALIDITY

    v1 = Content.build(text_hash=keccak(text=TEXT_V1), title=TITLE_V1, electorate=electorate, voting_period=period)
    nonce = int(ci.functions.nonces(author.address, 0).call())
    dl = deadline()
    sig = itd.sign(author.key, itd.draft_typed_data(chain_id, address, content_hash=v1.content_hash(),
                                                    author=author.address, nonce=nonce, deadline=dl))
    receipt = _relay(runner, ci, "draftBySig", [v1.as_tuple(), author.address, nonce, dl, sig],
                     f"relaying {name[author.address]}'s signed draft")
    iid = int(ci.events.InitiativeDrafted().process_receipt(receipt)[0]["args"]["initiativeId"])

    v2 = Content.build(text_hash=keccak(text=TEXT_V2), title=TITLE_V2, electorate=electorate, voting_period=period)
    nonce, dl = int(ci.functions.nonces(author.address, iid).call()), deadline()
    sig = itd.sign(author.key, itd.amend_typed_data(chain_id, address, initiative_id=iid,
                                                    content_hash=v2.content_hash(), author=author.address,
                                                    nonce=nonce, deadline=dl))
    _relay(runner, ci, "amendBySig", [iid, v2.as_tuple(), author.address, nonce, dl, sig],
           f"relaying {name[author.address]}'s signed amendment")
    versions = ["0x" + bytes(ci.functions.versionHashOf(iid, v).call()).hex() for v in (1, 2)]

    nonce, dl = int(ci.functions.nonces(author.address, iid).call()), deadline()
    sig = itd.sign(author.key, itd.open_typed_data(chain_id, address, initiative_id=iid, version_hash=v2.content_hash(),
                                                   author=author.address, nonce=nonce, deadline=dl))
    _relay(runner, ci, "openBySig", [iid, v2.content_hash(), author.address, nonce, dl, sig],
           f"relaying {name[author.address]}'s signed opening")
    info = ci.functions.getInitiative(iid).call()
    required, size = int(info[9]), int(info[12])
    kind, value, _window = ci.functions.thresholdOf(electorate).call()[0]
    rule = f"{value} supports" if int(kind) == 0 else f"{int(value) / 100:g} % of {size} citizens"
    runner.say(f"initiative #{iid} {TITLE_V2!r} (2 versions) open for supports in {describe_electorate(electorate)}: "
               f"{required} needed ({rule})")

    supporters: list[str] = []
    proposal_id: int | None = None
    for citizen in runner.citizens:
        if proposal_id is not None:
            break
        if not ci.functions.isEligibleSupporter(iid, citizen.address).call():
            continue
        nonce, dl = int(ci.functions.nonces(citizen.address, iid).call()), deadline()
        sig = itd.sign(citizen.key, itd.support_typed_data(chain_id, address, initiative_id=iid,
                                                           version_hash=v2.content_hash(), supporter=citizen.address,
                                                           nonce=nonce, deadline=dl))
        receipt = _relay(runner, ci, "supportBySig", [iid, citizen.address, nonce, dl, sig],
                         f"relaying {name[citizen.address]}'s signed support")
        supporters.append(name[citizen.address])
        proposed = ci.events.InitiativeProposed().process_receipt(receipt)
        if proposed:
            proposal_id = int(proposed[0]["args"]["proposalId"])
    gov = runner.c["CO3Governance"]
    result: dict[str, Any] = {
        "initiativeId": iid, "title": TITLE_V2, "author": name[author.address], "versions": versions,
        "electorate": describe_electorate(electorate), "electorateSize": size, "required": required, "rule": rule,
        "supporters": supporters, "proposalId": None if proposal_id is None else hex(proposal_id),
    }
    if proposal_id is None:
        runner.say(f"initiative #{iid}: {len(supporters)} supports of {required}, not enough eligible citizens")
        return result
    proposal = gov.functions.getProposal(proposal_id).call()
    result.update(voteStart=int(proposal[1]), voteEnd=int(proposal[2]),
                  state=STATE_NAMES[int(gov.functions.state(proposal_id).call())])
    runner.say(f"initiative #{iid} reached {required} supports ({', '.join(supporters)}): it went to vote by itself "
               f"as proposal 0x{proposal_id:064x}, voting {result['voteStart']} → {result['voteEnd']}")
    return result


def render_initiative(data: dict[str, Any], console: Any) -> None:
    """The initiative's lines in the demo summary."""
    if not data or "skipped" in data:
        return
    console.print(f"[bold]Citizen initiative #{data['initiativeId']}[/bold] by {data['author']}: "
                  f"‘{data['title']}’ ({len(data['versions'])} versions, electorate {data['electorate']})")
    console.print(f"  supports {len(data['supporters'])} of {data['required']} needed ({data['rule']}), all "
                  f"EIP-712 signatures relayed: {', '.join(data['supporters'])}")
    if data.get("proposalId"):
        console.print(f"  went to vote by itself: proposal {data['proposalId']} ({data['state']}, voting "
                      f"{data['voteStart']} → {data['voteEnd']})", soft_wrap=True)
        console.print(f"  auditors: [bold]co3chain audit initiative {data['initiativeId']} --rpc URL --manifest "
                      "FILE[/bold]", soft_wrap=True)
