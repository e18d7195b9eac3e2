"""The demo's participatory budget: a park budget funded by the council, voted by citizens, paid out.

Why it is a step of the demo (and not only of ``co3chain budget``): the pilots judge the trust model on this
path, so ``make run`` must show it end to end on the consortium network —

1. the treasury and the budget contract are deployed next to the suite if the deployment lacks them, with
   their admin handed to the consortium timelock (``co3chain.budget.deploy``);
2. the PA council funds the park's budget in one timelocked batch: the treasury and the works contractor
   become token "services" (their balances cannot vote, so they leave the quorum base of token-weighted
   votes), the timelock mints the
   appropriation into the treasury (granting itself the minter role for that batch only and renouncing it
   in the same batch) and assigns it to the park — no externally owned account ever holds treasury money or a minter role;
3. the park's PA officer opens an approval round with four projects; the citizens approve projects with
   EIP-712 signatures relayed by the PA (they hold no ETH);
4. after the window anyone finalizes: the contract ranks projects by approvals and funds them while the
   budget lasts; the officer starts and delivers the first funded project with evidence hashes, which pays
   it in two tranches from the treasury.

The step is split in ``open_round`` (before the governance votes, so both windows run at the same time on a
real chain) and ``close_round`` (after them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_utils import keccak
from web3.logs import DISCARD

from co3chain.budget.deploy import deploy_budget
from co3chain.budget.rule import compute_outcome, selection_mask
from co3chain.budget.typed_data import sign_ballot
from co3chain.contracts.deploy import contracts_from_manifest, role_id
from co3chain.errors import Co3Error

TOKEN = 10**18
#: Shortest budget vote window the demo deploys with (seconds; production default is one day).
DEMO_MIN_VOTING_PERIOD = 60
#: The park's budget, in CO3.
PARK_BUDGET = 10_000 * TOKEN
#: (project, cost in CO3): what the park's neighbours proposed.
PROJECTS: tuple[tuple[str, int], ...] = (
    ("Benches and drinking fountain along the river path", 3_000),
    ("Rain-water tank for the community garden", 4_500),
    ("Shade sails over the playground", 5_000),
    ("Night lighting of the north entrance", 6_000),
)
#: Which projects each demo citizen approves (index into ``PROJECTS``), in citizen order.
APPROVALS: tuple[tuple[int, ...], ...] = ((0, 1), (1, 2), (0, 1, 3), (2,), (0, 1))
PROJECT_STATES = ("Proposed", "NotFunded", "Funded", "InProgress", "Delivered", "Cancelled")


def contractor_address() -> str:
    """The park's works contractor (a cooperative), payee of the demo's projects: a public development key."""
    return Account.from_key(keccak(text="co3chain development key: contractor Cooperativa del Parco")).address


@dataclass
class BudgetProjectRow:
    """A project of the demo round as read back from the chain."""

    index: int
    title: str
    cost: int
    approvals: int
    state: str
    paid: int


@dataclass
class BudgetRow:
    """The demo round's outcome, for the summary table, ``--json`` and the tests."""

    round_id: int
    area_id: int
    budget: int
    ballots: int
    spent: int
    treasury_balance: int
    projects: list[BudgetProjectRow] = field(default_factory=list)
    note: str = ""


class BudgetStep:
    """Runs the budget story on a ``co3chain.contracts.demo.Demo`` (its sender, clock, council and citizens)."""

    def __init__(self, demo: Any) -> None:
        self.demo = demo
        self.say = demo.say
        self.round_id = 0
        self.area_id = 0

    # -- wiring ------------------------------------------------------------------------------------------

    def ensure_deployed(self) -> None:
        """Deploy the treasury and budget contracts when the deployment has none (admin → the timelock)."""
        d = self.demo
        if "ParticipatoryBudget" in d.manifest["contracts"]:
            return
        executor = d.manifest["contracts"]["ConsortiumTimelock"]["address"]
        self.say("deploying the commons treasury and the participatory budget (admin: the consortium timelock)")
        d.manifest = deploy_budget(d.w3, d.officer, d.manifest, executor=executor, proposers=[d.officer.address],
                                   relayer=d.officer.address, min_voting_period=DEMO_MIN_VOTING_PERIOD,
                                   artifacts=d.artifacts, progress=self.say)
        d.sender.resync_nonce()  # the budget deployer sent from the same key
        d.c = contracts_from_manifest(d.w3, d.manifest, d.artifacts)

    def fund_area(self, area_id: int, amount: int = PARK_BUDGET) -> None:
        """One council motion, one timelock batch: mint the appropriation into the treasury and assign it."""
        d = self.demo
        token, treasury, timelock = d.c["CommonsToken"], d.c["CommonsTreasury"], d.c["ConsortiumTimelock"]
        minter = role_id("MINTER_ROLE")
        calls = []
        # Tokens held by the treasury and by the contractor it pays cannot vote: as accepted services their
        # balances leave the quorum base of token-weighted votes.
        for holder in (treasury.address, contractor_address()):
            if not token.functions.services(holder).call()[0]:
                calls.append((token.address, token.encode_abi("setService", args=[holder, True, False])))
        calls += [
            (token.address, token.encode_abi("grantRole", args=[minter, timelock.address])),
            (token.address, token.encode_abi("mint", args=[treasury.address, amount])),
            (token.address, token.encode_abi("renounceRole", args=[minter, timelock.address])),
            (treasury.address, treasury.encode_abi("assignBudget", args=[area_id, amount])),
        ]
        d.through_council_batch(calls, f"appropriate {amount // TOKEN} CO3 to the budget of area #{area_id}")
        if token.functions.hasRole(minter, timelock.address).call():
            raise Co3Error("the timelock kept the minter role after the funding batch")
        self.say(f"treasury: area #{area_id} budget {int(treasury.functions.budgetOf(area_id).call()) // TOKEN} CO3")

    # -- the round ---------------------------------------------------------------------------------------

    def prepare(self, area_id: int) -> None:
        """Deploy if needed and fund the park's budget through the council and the timelock."""
        self.ensure_deployed()
        self.area_id = area_id
        self.fund_area(area_id)

    def open_round(self, area_id: int, vote_start: int, vote_end: int) -> int:
        """Open the round over the park's budget (window ⊇ [vote_start, vote_end]); returns its end."""
        d = self.demo
        pb = d.c["ParticipatoryBudget"]
        start = max(vote_start, d.clock.now() + 2 * d.clock.block_period())
        end = max(vote_end, start + int(pb.functions.minVotingPeriod().call()))
        projects = [(cost * TOKEN, contractor_address(), keccak(text=title)) for title, cost in PROJECTS]
        receipt = d.sender.call_fn(
            pb, "createRound",
            [area_id, PARK_BUDGET, start, end, 0, 0, keccak(text="Parco del Valentino budget 2027"), projects],
            "opening the park's budget round")
        self.round_id = int(pb.events.RoundCreated().process_receipt(receipt, errors=DISCARD)[0]["args"]["roundId"])
        self.say(f"budget round #{self.round_id}: {len(PROJECTS)} projects, {PARK_BUDGET // TOKEN} CO3, "
                 f"approval ballots from {start} to {end}")
        return end

    def cast_ballots(self) -> int:
        """Every citizen approves its projects by an EIP-712 signature the PA relays; returns the count."""
        d = self.demo
        pb = d.c["ParticipatoryBudget"]
        pending = []
        for acct, chosen in zip(d.citizens, APPROVALS, strict=True):
            selection = selection_mask(chosen)
            nonce = int(pb.functions.nonces(acct.address, self.round_id).call())
            signature = sign_ballot(acct.key, d.chain_id, pb.address, round_id=self.round_id, selection=selection,
                                    nonce=nonce)
            data = pb.encode_abi("castBallotBySig", args=[self.round_id, selection, acct.address, nonce, signature])
            label = f"{d.names[acct.address]} approving projects {list(chosen)}"
            pending.append((d.sender.send({"to": pb.address, "data": data}, label), label))
        for tx_hash, label in pending:
            d.sender.wait(tx_hash, label)
        self.say(f"{len(pending)} budget ballots relayed (approval voting, signed by the citizens)")
        return len(pending)

    def close_round(self) -> BudgetRow:
        """Finalize, check the outcome against the published rule, start and deliver the first funded project."""
        d = self.demo
        pb, treasury = d.c["ParticipatoryBudget"], d.c["CommonsTreasury"]
        end = int(pb.functions.getRound(self.round_id).call()[6])
        d.clock.advance_past(end)
        receipt = d.sender.call_fn(pb, "finalize", [self.round_id], "finalizing the budget round")
        mask = int(pb.events.RoundFinalized().process_receipt(receipt, errors=DISCARD)[0]["args"]["fundedMask"])
        approvals = [sum(1 for chosen in APPROVALS if i in chosen) for i in range(len(PROJECTS))]
        expected = compute_outcome(PARK_BUDGET, approvals, [cost * TOKEN for _, cost in PROJECTS])
        if mask != expected.funded_mask:
            raise Co3Error(f"the contract funded {mask:#x}, the published rule gives {expected.funded_mask:#x}")
        funded = [i for i in expected.ranking if mask >> i & 1]  # most approved first
        self.say(f"round #{self.round_id} finalized: funded {[PROJECTS[i][0] for i in funded]}")
        note = ""
        if funded:
            first = funded[0]  # the citizens' favourite is built first
            d.sender.call_fn(pb, "startProject", [self.round_id, first, keccak(text="works contract signed")],
                             "starting the first funded project (first tranche paid)")
            d.sender.call_fn(pb, "deliverProject", [self.round_id, first, keccak(text="delivery report, photos")],
                             "delivering it (the rest paid)")
            note = f"{PROJECTS[first][0]!r} delivered and paid in two tranches"
            self.say(note)
        rnd = pb.functions.getRound(self.round_id).call()
        rows = []
        for i, (title, _) in enumerate(PROJECTS):
            cost, _payee, state, approved, paid, _details = pb.functions.getProject(self.round_id, i).call()
            rows.append(BudgetProjectRow(index=i, title=title, cost=int(cost), approvals=int(approved),
                                         state=PROJECT_STATES[int(state)], paid=int(paid)))
        token = d.c["CommonsToken"]
        return BudgetRow(round_id=self.round_id, area_id=self.area_id, budget=int(rnd[1]), ballots=int(rnd[12]),
                         spent=int(rnd[2]), treasury_balance=int(token.functions.balanceOf(treasury.address).call()),
                         projects=rows, note=note)
