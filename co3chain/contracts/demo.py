"""The CO3 story end to end on a real node: a park, AR check-ins, oracle attestations, rewards, a vote.

Why a demo module (not a notebook): ``make run`` and the tests replay it against anvil and our own QBFT
node, so it is the executable description of how the contracts fit together (DESIGN.md data flows 3-5):

1. a PA officer creates a commoning area (a city park, GeoJSON polygon hash + H3 cells) and an AR check-in
   activity with token and reputation rewards;
2. five citizens are registered (pseudonymous addresses, hashed identity references);
3. AR check-ins are attested M-of-N by three oracle keys (threshold 2) and submitted in one batch, which
   mints commons tokens and awards area reputation;
4. three proposals, one per counting mode, are voted: one vote cast directly by the citizen, the others as
   EIP-712 ballots relayed by the PA; time is advanced (``evm_increaseTime`` on dev nodes, waiting on a
   real chain with short windows) and the results are read back from the chain;
5. the trust model at work: a consortium-wide proposal *with an action* (raise the governance quorum) is
   voted, queued in the consortium timelock, waits the delay and is executed by anyone; and the PA council
   (an on-chain majority of the member PAs) vetoes an unlawful proposal during its vote, with a reason.

All keys here are public development keys: never fund them on a shared network.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import h3
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from web3.logs import DISCARD

from co3chain.contracts import governance_typed_data as gtd
from co3chain.contracts import typed_data
from co3chain.contracts.demo_budget import BudgetStep
from co3chain.contracts.demo_electorate import area_vote_step, ensure_officer_pa, render_area_vote
from co3chain.contracts.demo_initiative import initiative_step, render_initiative
from co3chain.contracts.deploy import (
    DEV_INITIATIVE_THRESHOLD,
    DEV_RECOVERY_DELAY,
    DEV_TIMELOCK_DELAY,
    DEV_VOTING_BOUNDS,
    ArtifactSet,
    DeployError,
    TxSender,
    contracts_from_manifest,
    deploy_suite,
    fee_fields,
    node_validators,
    qbft_compatible,
    role_id,
)
from co3chain.errors import Co3Error

#: anvil's first well-known development key (funded on anvil; any key works on a zero-gas-price chain).
DEV_DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

ORACLE_THRESHOLD = 2
TOKEN = 10**18
KIND_AR_CHECKIN = 0
MODES = ("OneCitizenOneVote", "TokenWeighted", "ReputationWeighted")
SUPPORT = {0: "Against", 1: "For", 2: "Abstain"}
AGAINST, FOR, ABSTAIN = 0, 1, 2
STATES = gtd.STATE_NAMES

#: Quorum (percent) the demo's executable proposal sets through the timelock.
DEMO_QUORUM = 15

#: Longest timelock delay the demo waits for in real time (it warps time on development nodes).
MAX_REAL_WAIT_SECONDS = 120

#: The park: Parco del Valentino, Turin (a CO3 pilot city), as a GeoJSON polygon (lon, lat).
PARK_NAME = "Parco del Valentino, Torino"
PARK_POLYGON = [[7.6830, 45.0560], [7.6890, 45.0560], [7.6890, 45.0470], [7.6830, 45.0470], [7.6830, 45.0560]]
H3_RESOLUTION = 10

#: (display name, AR check-ins, spot inside the park as (lat, lon)).
CITIZENS: tuple[tuple[str, int, tuple[float, float]], ...] = (
    ("Alice", 3, (45.0512, 7.6851)),
    ("Bruno", 2, (45.0498, 7.6870)),
    ("Chiara", 1, (45.0530, 7.6842)),
    ("Dario", 2, (45.0480, 7.6861)),
    ("Elena", 1, (45.0545, 7.6877)),
)

ProgressFn = Callable[[str], None]


class DemoError(Co3Error):
    """The demo cannot run on this node or deployment (missing role, unknown oracle set, failed step)."""


def _dev_key(label: str) -> bytes:
    return keccak(text=f"co3chain development key: {label}")


def dev_oracle_accounts() -> list[Any]:
    """The three public development oracle keys (``co3chain deploy --dev-key`` uses them by default)."""
    return [Account.from_key(_dev_key(f"oracle {i}")) for i in range(1, 4)]


def dev_trustee_accounts() -> list[Any]:
    """Four public development keys for the secret-ballot trustees, one per PA (demo only, never stored)."""
    return [Account.from_key(_dev_key(f"trustee {i}")) for i in range(1, 5)]


def dev_citizen_accounts() -> list[Any]:
    """One public development key per demo citizen."""
    return [Account.from_key(_dev_key(f"citizen {name}")) for name, _, _ in CITIZENS]


# --------------------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------------------


@dataclass
class CitizenRow:
    """A citizen's state at the end of the demo."""

    name: str
    address: str
    checkins: int
    tokens: int
    reputation: int
    votes: int


@dataclass
class ProposalRow:
    """A proposal's outcome, read back from the chain."""

    description: str
    mode: str
    proposal_id: int
    votes: list[dict[str, Any]]
    against: int
    for_: int
    abstain: int
    quorum: int
    state: str
    note: str = ""


@dataclass
class DemoResult:
    """Everything the demo did, for the summary table, ``--json`` and the tests."""

    manifest: dict[str, Any]
    chain_id: int
    area_id: int
    activity_id: int
    geometry_hash: str
    h3_cells: int
    attestations: int
    citizens: list[CitizenRow] = field(default_factory=list)
    proposals: list[ProposalRow] = field(default_factory=list)
    #: the secret election (``DemoOutcome.to_json()`` of co3chain/ballot/demo.py), None if it did not run
    secret_election: dict[str, Any] | None = None
    #: the participatory budget round (``BudgetRow`` of co3chain/contracts/demo_budget.py as a dict)
    budget: dict[str, Any] | None = None
    #: the citizen initiative (co3chain/contracts/demo_initiative.py), None if it did not run
    initiative: dict[str, Any] | None = None
    #: the residents-only area vote (co3chain/contracts/demo_electorate.py), None if it did not run
    area_vote: dict[str, Any] | None = None
    #: the liquid-delegation step (co3chain/contracts/demo_delegation.py), None if it did not run
    delegation: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form (the manifest is referenced by its addresses only)."""
        data = asdict(self)
        data["manifest"] = {n: c["address"] for n, c in self.manifest["contracts"].items()}
        for row in data["proposals"]:
            row["proposal_id"] = hex(row["proposal_id"])
        return data


# --------------------------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------------------------


class Clock:
    """Chain time: warped with ``evm_increaseTime`` on development nodes, waited for on real ones."""

    def __init__(self, w3: Any, sender: TxSender, say: ProgressFn, *, warp: bool | None = None,
                 windows: tuple[int, int] | None = None) -> None:
        self.w3 = w3
        self.sender = sender
        self.say = say
        self.can_warp = self._probe_warp() if warp is None else warp
        self.fixed_windows = windows

    def _probe_warp(self) -> bool:
        try:
            response = self.w3.provider.make_request("evm_increaseTime", [0])
        except Exception:
            return False
        return isinstance(response, dict) and "error" not in response

    def now(self) -> int:
        """Timestamp of the latest block."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def block_period(self) -> int:
        """Seconds between the last two blocks (at least 1)."""
        latest = self.w3.eth.get_block("latest")
        if int(latest["number"]) == 0:
            return 1
        parent = self.w3.eth.get_block(int(latest["number"]) - 1)
        return max(1, int(latest["timestamp"]) - int(parent["timestamp"]))

    def windows(self, bounds: Sequence[int] = (0, 2**47, 1, 2**47)) -> tuple[int, int]:
        """(delay before voting opens, voting duration) in seconds for this node, within the governance
        contract's ``bounds`` (min delay, max delay, min period, max period)."""
        if self.fixed_windows is not None:
            delay, duration = self.fixed_windows
        elif self.can_warp:
            delay, duration = 3600, 3 * 24 * 3600
        else:
            period = self.block_period()
            # opens after the proposals are mined (a few blocks), closes after the ballots are (a few more)
            delay, duration = max(8, 3 * period + 4), max(30, 8 * period)
        lo_delay, hi_delay, lo_period, hi_period = (int(b) for b in bounds)
        return min(max(delay, lo_delay), hi_delay), min(max(duration, lo_period), hi_period)

    def advance_past(self, timestamp: int) -> None:
        """Make the latest block's timestamp strictly greater than ``timestamp``."""
        if self.now() > timestamp:
            return
        if self.can_warp:
            delta = timestamp - self.now() + 1
            self.w3.provider.make_request("evm_increaseTime", [delta])
            self.w3.provider.make_request("evm_mine", [])
            return
        self.say(f"waiting for chain time to pass {timestamp} (now {self.now()})")
        period = self.block_period()
        last_number, last_change = int(self.w3.eth.block_number), time.monotonic()
        while self.now() <= timestamp:
            time.sleep(min(1.0, period / 2))
            number = int(self.w3.eth.block_number)
            if number != last_number:
                last_number, last_change = number, time.monotonic()
            elif time.monotonic() - last_change > 2 * period + 1:
                # A chain that only seals blocks with transactions: give it one (0-value self-transfer).
                self.sender.transact({"to": self.sender.address}, "sealing a block to advance chain time")
                last_change = time.monotonic()


# --------------------------------------------------------------------------------------------------------
# Demo
# --------------------------------------------------------------------------------------------------------


def _events(contract: Any, event: str, receipt: Any) -> list[Any]:
    """Decoded ``event`` logs of ``contract`` in ``receipt`` (other contracts' logs are skipped)."""
    return list(getattr(contract.events, event)().process_receipt(receipt, errors=DISCARD))


def park_geojson() -> dict[str, Any]:
    """The park as a GeoJSON Feature."""
    return {
        "type": "Feature",
        "properties": {"name": PARK_NAME, "kind": "urban park"},
        "geometry": {"type": "Polygon", "coordinates": [PARK_POLYGON]},
    }


def geometry_hash(geometry: Mapping[str, Any]) -> bytes:
    """keccak256 of the canonical JSON (sorted keys, no spaces) of a GeoJSON geometry."""
    return keccak(json.dumps(geometry, sort_keys=True, separators=(",", ":")).encode())


def park_cells() -> list[int]:
    """H3 cells (resolution 10) covering the park polygon, as sorted uint64."""
    poly = h3.LatLngPoly([(lat, lon) for lon, lat in PARK_POLYGON[:-1]])
    return sorted(h3.str_to_int(c) for c in h3.h3shape_to_cells(poly, H3_RESOLUTION))


class Demo:
    """One run of the story; each step is a method so failures name the step."""

    def __init__(
        self,
        w3: Any,
        officer: Any,
        manifest: dict[str, Any] | None,
        *,
        artifacts: ArtifactSet | None,
        say: ProgressFn,
        warp: bool | None = None,
        windows: tuple[int, int] | None = None,
        council: Sequence[Any] | None = None,
    ) -> None:
        self.w3 = qbft_compatible(w3)
        self.officer = officer
        #: Keys of council members available here (default: the officer alone).
        self.council_keys = list(council or [officer])
        self.artifacts = artifacts or ArtifactSet.committed()
        self.say = say
        self.sender = TxSender(w3, officer, decoder=self.artifacts.error_decoder())
        self.chain_id = self.sender.chain_id
        if manifest is None:
            say("no deployment given: deploying the suite first")
            manifest = deploy_suite(
                w3,
                officer,
                oracle_signers=[a.address for a in dev_oracle_accounts()],
                oracle_threshold=ORACLE_THRESHOLD,
                validators=node_validators(w3) or [officer.address],
                relayer=officer.address,
                council_members=[a.address for a in self.council_keys],
                timelock_delay=DEV_TIMELOCK_DELAY,
                voting_bounds=DEV_VOTING_BOUNDS,
                recovery_delay=DEV_RECOVERY_DELAY,
                initiative_threshold=DEV_INITIATIVE_THRESHOLD,
                network="co3chain demo",
                artifacts=self.artifacts,
                progress=say,
            )
        self.manifest = manifest
        self.c = contracts_from_manifest(w3, manifest, self.artifacts)
        self.clock = Clock(w3, self.sender, say, warp=warp, windows=windows)
        self.citizens = dev_citizen_accounts()
        self.names = {a.address: name for a, (name, _, _) in zip(self.citizens, CITIZENS, strict=True)}

    # -- checks ------------------------------------------------------------------------------------------

    def check_authority(self) -> list[Any]:
        """The officer's roles and the oracle keys able to sign for the hub's current signer set."""
        needed = [("CitizenRegistry", "REGISTRAR_ROLE"), ("CommoningAreas", "AREA_MANAGER_ROLE"),
                  ("CO3Governance", "PROPOSER_ROLE")]
        for contract, role in needed:
            if not self.c[contract].functions.hasRole(role_id(role), self.officer.address).call():
                raise DemoError(f"{self.officer.address} lacks {role} on {contract}: run the demo with the deployer key")
        gov = self.c["CO3Governance"]
        relayer = role_id("RELAYER_ROLE")
        if not gov.functions.hasRole(relayer, self.officer.address).call():
            # Nobody can simply grant it: the consortium timelock is the admin. Ask the council.
            data = gov.encode_abi("grantRole", args=[relayer, self.officer.address])
            self.through_council(gov.address, data, f"grant RELAYER_ROLE to the PA officer {self.officer.address}")
            if not gov.functions.hasRole(relayer, self.officer.address).call():
                raise DemoError(f"{self.officer.address} cannot relay signed ballots (no RELAYER_ROLE)")
            self.say(f"granted RELAYER_ROLE on CO3Governance to the PA officer {self.officer.address} "
                     "through the council and the timelock")
        hub = self.c["AttestationHub"]
        current = {to_checksum_address(s) for s in hub.functions.getSigners().call()}
        threshold = int(hub.functions.threshold().call())
        oracles = [a for a in dev_oracle_accounts() if a.address in current]
        if len(oracles) < threshold:
            raise DemoError(
                f"the hub's oracle set needs {threshold} signatures but only {len(oracles)} development oracle "
                "keys belong to it: deploy with the default (development) oracle signers"
            )
        return oracles

    def fund(self, accounts: Sequence[Any], amount_wei: int = 10**17) -> None:
        """Give gas money to accounts that send their own transactions, when the chain charges for gas."""
        if not any(fee_fields(self.w3).values()):
            return
        hashes = []
        for acct in accounts:
            if int(self.w3.eth.get_balance(acct.address)) < amount_wei // 2:
                hashes.append(self.sender.send({"to": acct.address, "value": amount_wei}, f"funding {acct.address}"))
        for h in hashes:
            self.sender.wait(h, "funding")

    # -- steps ------------------------------------------------------------------------------------------

    def create_area(self) -> tuple[int, bytes, int]:
        """The park and its H3 cells; returns (areaId, geometryHash, cell count)."""
        feature = park_geojson()
        geo_hash = geometry_hash(feature["geometry"])
        uri = "data:application/geo+json;base64," + base64.b64encode(
            json.dumps(feature, sort_keys=True, separators=(",", ":")).encode()
        ).decode()
        areas = self.c["CommoningAreas"]
        receipt = self.sender.call_fn(areas, "createArea", [self.officer.address, geo_hash, uri], "creating the area")
        area_id = int(_events(areas, "AreaCreated", receipt)[0]["args"]["areaId"])
        cells = park_cells()
        self.sender.call_fn(areas, "setAreaCells", [area_id, cells], "setting the area's H3 cells")
        self.say(f"area #{area_id} {PARK_NAME}: geometry {geo_hash.hex()[:16]}…, {len(cells)} H3 cells (res {H3_RESOLUTION})")
        return area_id, geo_hash, len(cells)

    def create_activity(self, area_id: int) -> int:
        """AR check-in in the park: 5 CO3 and 10 reputation per check-in, at most 3 per citizen."""
        now = self.clock.now()
        areas = self.c["CommoningAreas"]
        receipt = self.sender.call_fn(
            areas, "createActivity",
            [area_id, KIND_AR_CHECKIN, 5 * TOKEN, 10 * TOKEN, now - 3600, now + 30 * 24 * 3600, 3],
            "creating the AR check-in activity",
        )
        activity_id = int(_events(areas, "ActivityCreated", receipt)[0]["args"]["activityId"])
        self.say(f"activity #{activity_id}: AR check-in, 5 CO3 + 10 reputation each, max 3 per citizen")
        return activity_id

    def register_citizens(self) -> None:
        """Register the five citizens (skipping those already registered by an earlier run)."""
        registry = self.c["CitizenRegistry"]
        ensure_officer_pa(self)  # a registrar registers only its own PA's citizens
        expires = self.clock.now() + 365 * 24 * 3600
        hashes = []
        for acct in self.citizens:
            if registry.functions.isCitizen(acct.address).call():
                continue
            identity = keccak(text=f"co3chain demo identity of {self.names[acct.address]} ({acct.address})")
            hashes.append(self.sender.send(
                {"to": registry.address,
                 "data": registry.encode_abi("register", args=[acct.address, identity, expires])},
                f"registering {self.names[acct.address]}",
            ))
        for h in hashes:
            self.sender.wait(h, "registering citizens")
        self.say(f"{len(self.citizens)} citizens registered ({len(hashes)} new)")

    def attest_checkins(self, activity_id: int, oracles: list[Any]) -> int:
        """Sign every AR check-in by a rotating 2-of-3 (and one 3-of-3) oracle quorum, submit as one batch."""
        hub = self.c["AttestationHub"]
        version = int(hub.functions.signerSetVersion().call())
        threshold = int(hub.functions.threshold().call())
        # The oracles sign the activity's reward rule as they read it now (the hub mints exactly that).
        rule = self.c["CommoningAreas"].functions.getActivity(activity_id).call()
        token_reward, reputation_reward = int(rule[3]), int(rule[4])
        now = self.clock.now()
        items, sigs = [], []
        n = 0
        for acct, (name, count, (lat, lon)) in zip(self.citizens, CITIZENS, strict=True):
            for k in range(count):
                evidence = {
                    "app": "co3-ar", "type": "checkin", "citizen": name, "lat": lat, "lon": lon,
                    "h3": h3.latlng_to_cell(lat, lon, H3_RESOLUTION), "seq": k,
                }
                attestation = {
                    "id": keccak(os.urandom(32)),
                    "subject": acct.address,
                    "activityId": activity_id,
                    "kind": KIND_AR_CHECKIN,
                    # Salted like the oracle's commitments (docs/privacy.md): the demo evidence names the citizen.
                    "evidenceHash": keccak(os.urandom(32) + keccak(json.dumps(evidence, sort_keys=True).encode())),
                    "observedAt": now - 600 + 60 * n,
                    "expiresAt": now + 24 * 3600,
                    "tokenReward": token_reward,
                    "reputationReward": reputation_reward,
                    "signerSetVersion": version,
                }
                start = n % len(oracles)
                quorum = len(oracles) if n == 0 else threshold
                keys = [oracles[(start + j) % len(oracles)].key for j in range(quorum)]
                items.append(typed_data.attestation_tuple(attestation))
                sigs.append(typed_data.sign_attestation_multi(keys, self.chain_id, hub.address, attestation))
                n += 1
        receipt = self.sender.call_fn(hub, "submitBatch", [items, sigs], "submitting the check-in attestations")
        rejected = _events(hub, "AttestationRejected", receipt)
        if rejected:
            reason = self.sender.decoder.decode(bytes(rejected[0]["args"]["reason"]))
            raise DemoError(f"{len(rejected)} attestation(s) rejected by the hub, first: {reason}")
        accepted = len(_events(hub, "AttestationAccepted", receipt))
        self.say(f"{accepted} AR check-ins attested by {threshold}-of-{len(oracles)} oracles (tx block "
                 f"{receipt['blockNumber']})")
        return accepted

    def propose(self, area_id: int, proposals: Sequence[tuple[int, str]], vote_start: int, vote_end: int,
                extra: Sequence[tuple[str, str]] = ()) -> list[int]:
        """Create ``(mode, description)`` proposals and the ``extra`` (calldata, description) ones in one go (sent
        back to back, so they land in the same or adjacent blocks before ``vote_start``); ids are read from
        ``ProposalCreated``."""
        gov = self.c["CO3Governance"]
        calls = [(gov.encode_abi("propose", args=[area_id, mode, False, vote_start, vote_end, 0, text]), text)
                 for mode, text in proposals] + list(extra)
        sent = [self.sender.send({"to": gov.address, "data": data}, f"proposing {text!r}") for data, text in calls]
        ids = []
        for tx_hash, (_, text) in zip(sent, calls, strict=True):
            receipt = self.sender.wait(tx_hash, f"proposing {text!r}")
            ids.append(int(_events(gov, "ProposalCreated", receipt)[0]["args"]["proposalId"]))
        return ids

    def vote(self, plan: Sequence[tuple[int, list[tuple[int, int, bool]]]]) -> int:
        """Cast ``(citizen index, support, direct?)`` ballots: direct ones by the citizen, the rest relayed;
        returns how many were cast directly (a network with account permissioning relays them all)."""
        gov = self.c["CO3Governance"]
        pending: list[tuple[TxSender, str, str]] = []
        own: dict[int, TxSender] = {}
        direct_count = 0
        for proposal_id, ballots in plan:
            for idx, support, direct in ballots:
                acct = self.citizens[idx]
                label = f"{self.names[acct.address]} voting {SUPPORT[support]}"
                if direct:
                    sender = own.setdefault(idx, TxSender(self.w3, acct, decoder=self.sender.decoder))
                    data = gov.encode_abi("castVote", args=[proposal_id, support])
                    try:
                        pending.append((sender, sender.send({"to": gov.address, "data": data}, label), label))
                        direct_count += 1
                        continue
                    except DeployError as exc:
                        # a consortium network with account permissioning admits only allow-listed senders:
                        # the citizen's ballot goes through the relayer instead, as citizens' actions should
                        if "not allow-listed" not in str(exc):
                            raise
                        own.pop(idx, None)
                        self.say(f"{label}: the network admits only allow-listed senders; relaying the ballot")
                sender = self.sender
                nonce = int(gov.functions.nonces(acct.address, proposal_id).call())
                signature = gtd.sign_ballot(acct.key, self.chain_id, gov.address, proposal_id=proposal_id,
                                            support=support, nonce=nonce)
                data = gov.encode_abi("castVoteBySig", args=[proposal_id, support, acct.address, nonce, signature])
                pending.append((sender, sender.send({"to": gov.address, "data": data}, label), label))
        for sender, tx_hash, label in pending:
            sender.wait(tx_hash, label)
        return direct_count

    # -- the council and the timelock ---------------------------------------------------------------------

    def _council_signers(self) -> list[Any]:
        """Available council keys that are members, enough for the threshold; raises DemoError otherwise."""
        council = self.c["ConsortiumCouncil"]
        members = [a for a in self.council_keys if council.functions.isMember(a.address).call()]
        need = int(council.functions.threshold().call())
        if len(members) < need:
            raise DemoError(f"the council needs {need} approvals but only {len(members)} member key(s) are "
                            "available to the demo")
        self.fund(members[1:need])
        return members[:need]

    def council_motion(self, targets: list[str], calldatas: list[str], description: str) -> Any:
        """A council motion: proposed by the first member, approved up to the threshold, then executed."""
        council = self.c["ConsortiumCouncil"]
        signers = self._council_signers()
        values = [0] * len(targets)
        data = [bytes.fromhex(c[2:]) for c in calldatas]
        first = signers[0]
        sender = self.sender if first.address == self.officer.address else TxSender(self.w3, first,
                                                                                    decoder=self.sender.decoder)
        receipt = sender.call_fn(council, "propose", [targets, values, data, description], f"council motion: {description}")
        motion = int(_events(council, "MotionProposed", receipt)[0]["args"]["motionId"])
        for member in signers[1:]:
            TxSender(self.w3, member, decoder=self.sender.decoder).call_fn(
                council, "approve", [motion], f"council approval by {member.address}")
        need = int(council.functions.threshold().call())
        self.say(f"council motion {description!r}: {len(signers)} of {len(council.functions.members().call())} "
                 f"members approve (threshold {need})")
        return self.sender.call_fn(council, "execute", [targets, values, data, keccak(text=description)],
                                   f"executing the council motion {description!r}")

    def wait_timelock(self, eta: int) -> None:
        """Wait until the timelock operation is ready (warping on development nodes)."""
        if not self.clock.can_warp and eta - self.clock.now() > MAX_REAL_WAIT_SECONDS:
            raise DemoError(f"the timelock delay ends at {eta}, too far to wait for on a chain without time warp")
        self.clock.advance_past(eta - 1)

    def through_council(self, target: str, data: str, description: str) -> None:
        """A rule change the council schedules in the timelock, then (after the delay) anyone executes."""
        timelock = self.c["ConsortiumTimelock"]
        delay = int(timelock.functions.getMinDelay().call())
        salt = keccak(text=f"{description} @ {self.clock.now()}")
        payload = bytes.fromhex(data[2:])
        schedule = timelock.encode_abi("schedule", args=[target, 0, payload, b"\x00" * 32, salt, delay])
        receipt = self.council_motion([timelock.address], [schedule], description)
        op = _events(timelock, "CallScheduled", receipt)[0]["args"]["id"]
        eta = int(timelock.functions.getTimestamp(op).call())
        self.say(f"timelock: {description!r} scheduled, executable after {delay} s")
        self.wait_timelock(eta)
        self.sender.call_fn(timelock, "execute", [target, 0, payload, b"\x00" * 32, salt], f"executing {description!r}")

    def through_council_batch(self, calls: Sequence[tuple[str, str]], description: str) -> None:
        """Several calls the council schedules as one timelock batch: they run together or not at all."""
        timelock = self.c["ConsortiumTimelock"]
        delay = int(timelock.functions.getMinDelay().call())
        salt = keccak(text=f"{description} @ {self.clock.now()}")
        targets = [t for t, _ in calls]
        payloads = [bytes.fromhex(data[2:]) for _, data in calls]
        values = [0] * len(calls)
        schedule = timelock.encode_abi("scheduleBatch", args=[targets, values, payloads, b"\x00" * 32, salt, delay])
        receipt = self.council_motion([timelock.address], [schedule], description)
        op = _events(timelock, "CallScheduled", receipt)[0]["args"]["id"]
        eta = int(timelock.functions.getTimestamp(op).call())
        self.say(f"timelock: {description!r} ({len(calls)} calls) scheduled, executable after {delay} s")
        self.wait_timelock(eta)
        self.sender.call_fn(timelock, "executeBatch", [targets, values, payloads, b"\x00" * 32, salt],
                            f"executing {description!r}")

    def action_proposal(self, vote_start: int, vote_end: int) -> tuple[str, str, list[Any]]:
        """(calldata, description, actions) of a consortium-wide proposal whose action raises the governance
        quorum to DEMO_QUORUM percent."""
        gov = self.c["CO3Governance"]
        call = bytes.fromhex(gov.encode_abi("setQuorumNumerator", args=[DEMO_QUORUM])[2:])
        actions = [[gov.address], [0], [call]]
        text = f"Raise the consortium quorum to {DEMO_QUORUM} %"
        data = gov.encode_abi("proposeWithActions", args=[[0, False, vote_start, vote_end, 0], *actions, text])
        return data, text, actions

    def queue_and_execute(self, proposal_id: int, actions: list[Any]) -> str:
        """Queue the succeeded proposal in the timelock, wait the delay, execute; returns a note for the table."""
        gov = self.c["CO3Governance"]
        state = STATES[int(gov.functions.state(proposal_id).call())]
        if state != "Succeeded":
            return f"not executed ({state})"
        receipt = self.sender.call_fn(gov, "queue", [proposal_id, *actions], "queueing the proposal's action")
        eta = int(_events(gov, "ProposalQueued", receipt)[0]["args"]["eta"])
        self.say(f"proposal queued in the timelock, executable at {eta}")
        try:
            self.wait_timelock(eta)
        except DemoError as exc:
            self.say(str(exc))
            return "queued in the timelock"
        self.sender.call_fn(gov, "execute", [proposal_id, *actions], "executing the proposal's action")
        now = int(gov.functions.quorumNumerator().call())
        self.say(f"executed by the timelock: the quorum for new proposals is now {now} %")
        return f"timelock executed setQuorumNumerator({DEMO_QUORUM})"

    def council_veto(self, pid: int, text: str) -> str:
        """The council vetoes the (unlawful) proposal ``pid`` during its vote; returns a note for the table."""
        gov = self.c["CO3Governance"]
        reason = "unlawful: public parkland cannot be sold by a local vote (regional law)"
        try:
            self.council_motion([gov.address], [gov.encode_abi("guardianCancel", args=[pid, reason])],
                                f"veto proposal 0x{pid:064x}")
        except (DemoError, DeployError) as exc:
            self.say(f"council veto skipped: {exc}")
            return "not vetoed"
        self.say(f"the council vetoed {text!r}: {reason}")
        return f"vetoed by the council: {reason}"

    def proposal_row(self, proposal_id: int, description: str, mode: int) -> ProposalRow:
        """Tallies, quorum, state and the individual ``VoteCast`` events of one proposal."""
        gov = self.c["CO3Governance"]
        against, for_, abstain = (int(v) for v in gov.functions.proposalVotes(proposal_id).call())
        logs = gov.events.VoteCast().get_logs(from_block=0, argument_filters={"proposalId": proposal_id})
        votes = [
            {"voter": self.names.get(ev["args"]["voter"], ev["args"]["voter"]),
             "support": SUPPORT[int(ev["args"]["support"])], "weight": int(ev["args"]["weight"]),
             "relayed": ev["args"]["voter"] != self.w3.eth.get_transaction(ev["transactionHash"])["from"]}
            for ev in logs
        ]
        return ProposalRow(
            description=description, mode=MODES[mode], proposal_id=proposal_id, votes=votes,
            against=against, for_=for_, abstain=abstain,
            quorum=int(gov.functions.quorum(proposal_id).call()),
            state=STATES[int(gov.functions.state(proposal_id).call())],
        )

    def citizen_rows(self, area_id: int, activity_id: int, proposals: Sequence[ProposalRow]) -> list[CitizenRow]:
        """Balances, area reputation and number of votes per citizen."""
        token, rep, hub = self.c["CommonsToken"], self.c["Reputation"], self.c["AttestationHub"]
        domain = area_id.to_bytes(32, "big")
        rows = []
        for acct in self.citizens:
            name = self.names[acct.address]
            rows.append(CitizenRow(
                name=name,
                address=acct.address,
                checkins=int(hub.functions.claimsOf(activity_id, acct.address).call()),
                tokens=int(token.functions.balanceOf(acct.address).call()),
                reputation=int(rep.functions.scoreOf(acct.address, domain).call()),
                votes=sum(1 for p in proposals for v in p.votes if v["voter"] == name),
            ))
        return rows

    def secret_election(self) -> dict[str, Any]:
        """One secret election, 3 of 4 PA trustees, a few anonymous ballots (see co3chain/ballot/demo.py)."""
        from co3chain.ballot.demo import run_on_consortium

        self.say("secret ballot: 4 PA trustees (any 3 decrypt), anonymous credentials, encrypted votes")
        outcome = run_on_consortium(self, dev_trustee_accounts(), citizens=3)
        if outcome.counts != outcome.expected or not outcome.audit.ok:
            raise DemoError(f"secret election {outcome.election_id} did not verify: counted {outcome.counts}, "
                            f"expected {outcome.expected}")
        return outcome.to_json()

    def run(self) -> DemoResult:
        """The whole story; returns what happened, as read back from the chain."""
        oracles = self.check_authority()
        area_id, geo_hash, n_cells = self.create_area()
        activity_id = self.create_activity(area_id)
        self.register_citizens()
        accepted = self.attest_checkins(activity_id, oracles)
        budget = BudgetStep(self)
        budget.prepare(area_id)  # the council's funding waits the timelock: before the vote windows are set

        bounds = [int(b) for b in self.c["CO3Governance"].functions.votingBounds().call()]
        delay, duration = self.clock.windows(bounds)
        vote_start = self.clock.now() + delay
        vote_end = vote_start + duration
        proposals = [
            (0, "Renovate the playground of Parco del Valentino"),
            (1, "Spend the commons budget on night lighting along the river path"),
            (2, "Make the Sunday community garden a permanent activity"),
        ]
        action_data, action_text, actions = self.action_proposal(vote_start, vote_end)
        veto_text = "Sell the park's riverside meadow to a private developer"
        # Its vote stays open long after the others, so the council's veto lands during it on any chain.
        veto_data = self.c["CO3Governance"].encode_abi(
            "propose", args=[area_id, 0, False, vote_start, vote_end + 3600, 0, veto_text])
        *ids, action_id, veto_id = self.propose(area_id, proposals, vote_start, vote_end,
                                                extra=[(action_data, action_text), (veto_data, veto_text)])
        self.say(f"{len(ids) + 2} proposals created; voting opens at {vote_start}, closes at {vote_end}")
        budget.open_round(area_id, vote_start, vote_end)
        self.clock.advance_past(vote_start)
        self.fund([self.citizens[0], self.citizens[3]])
        # (citizen index, support, cast directly by the citizen?)
        direct = self.vote([
            (ids[0], [(0, FOR, True), (1, FOR, False), (2, FOR, False), (3, AGAINST, False), (4, ABSTAIN, False)]),
            (ids[1], [(0, FOR, False), (1, AGAINST, False), (2, AGAINST, False), (3, FOR, True), (4, AGAINST, False)]),
            (ids[2], [(0, AGAINST, False), (2, FOR, False), (4, FOR, False)]),
            (action_id, [(1, FOR, False), (2, FOR, False), (4, FOR, False)]),
        ])
        self.say(f"16 ballots cast: {direct} directly by citizens, {16 - direct} as EIP-712 signatures relayed by the PA")
        budget.cast_ballots()
        self.clock.advance_past(vote_end)
        rows = [self.proposal_row(pid, text, mode) for pid, (mode, text) in zip(ids, proposals, strict=True)]
        veto_note = self.council_veto(veto_id, veto_text)  # before the timelock wait: its vote is still open
        note = self.queue_and_execute(action_id, actions)
        action_row = self.proposal_row(action_id, f"Raise the consortium quorum to {DEMO_QUORUM} %", 0)
        action_row.note = note
        veto_row = self.proposal_row(veto_id, veto_text, 0)
        veto_row.note = veto_note
        rows += [action_row, veto_row]

        budget_row = budget.close_round()
        initiative = initiative_step(self)
        area_vote = area_vote_step(self, area_id)
        secret = self.secret_election()
        from co3chain.contracts.demo_delegation import delegation_step

        delegation = delegation_step(self)

        return DemoResult(
            manifest=self.manifest,
            chain_id=self.chain_id,
            area_id=area_id,
            activity_id=activity_id,
            geometry_hash="0x" + geo_hash.hex(),
            h3_cells=n_cells,
            attestations=accepted,
            citizens=self.citizen_rows(area_id, activity_id, rows),
            proposals=rows,
            secret_election=secret,
            budget=asdict(budget_row),
            initiative=initiative,
            area_vote=area_vote,
            delegation=delegation,
        )


def _fmt_units(value: int) -> str:
    whole, frac = divmod(value, TOKEN)
    return f"{whole}.{frac * 100 // TOKEN:02d}"


def render(result: DemoResult, console: Any) -> None:
    """Readable summary tables (rich)."""
    from rich.table import Table

    console.print(f"[bold]CO3 demo[/bold] on chain {result.chain_id}: area #{result.area_id} {PARK_NAME} "
                  f"({result.h3_cells} H3 cells), activity #{result.activity_id} AR check-in, "
                  f"{result.attestations} attestations accepted")
    citizens = Table(title="Citizens")
    for col in ("citizen", "address", "check-ins", "CO3", "reputation (area)", "votes"):
        citizens.add_column(col, justify="right" if col not in ("citizen", "address") else "left")
    for row in result.citizens:
        citizens.add_row(row.name, row.address, str(row.checkins), _fmt_units(row.tokens),
                         _fmt_units(row.reputation), str(row.votes))
    console.print(citizens)
    props = Table(title="Proposals")
    for col in ("#", "proposal", "counting", "for", "against", "abstain", "quorum", "result"):
        props.add_column(col, justify="left" if col in ("proposal", "counting", "result") else "right")
    for n, p in enumerate(result.proposals, 1):
        fmt = str if p.mode == "OneCitizenOneVote" else _fmt_units
        result_text = f"{p.state} ({p.note})" if p.note else p.state
        props.add_row(str(n), p.description, p.mode, fmt(p.for_), fmt(p.against), fmt(p.abstain), fmt(p.quorum),
                      result_text)
    console.print(props)
    console.print("proposal ids (auditors: [bold]co3chain audit proposal ID --rpc URL --manifest FILE[/bold]):")
    for n, p in enumerate(result.proposals, 1):
        console.print(f"  #{n} 0x{p.proposal_id:064x}", soft_wrap=True)
    ballots = Table(title="Ballots")
    for col in ("#", "voter", "support", "weight", "how"):
        ballots.add_column(col)
    for n, p in enumerate(result.proposals, 1):
        fmt = str if p.mode == "OneCitizenOneVote" else _fmt_units
        for v in p.votes:
            ballots.add_row(str(n), v["voter"], v["support"], fmt(v["weight"]),
                            "EIP-712 signature, relayed" if v["relayed"] else "direct transaction")
    console.print(ballots)
    if result.budget:
        _render_budget(result.budget, console)
    render_initiative(result.initiative or {}, console)
    render_area_vote(result.area_vote, console)
    if result.secret_election:
        se = result.secret_election
        console.print(f"[bold]Secret election {se['electionId']}[/bold] (3 of 4 PA trustees decrypted; "
                      f"{se['audit']['ballotsVerified']} encrypted ballots, one re-vote):")
        for option, n in zip(se["options"], se["counts"], strict=True):
            console.print(f"  {n:3d}  {option}")
        console.print(f"  auditors: [bold]co3chain audit ballot {se['electionId']} --rpc URL --manifest FILE[/bold]",
                      soft_wrap=True)
    if result.delegation and "skipped" not in result.delegation:
        _render_delegation(result.delegation, console)


def _render_delegation(d: dict[str, Any], console: Any) -> None:
    """Liquid delegation: the delegated vote, then the direct override."""
    a, b = d["afterDelegation"], d["afterOverride"]
    console.print(f"[bold]Liquid delegation[/bold] {d['description']!r}: "
                  f"{', '.join(x['delegator'] for x in d['delegations'])} delegate to {d['representative']}")
    console.print(f"  after counting delegations: For {a['for']}, Against {a['against']}; after "
                  f"{d['overrider']}'s direct vote: For {b['for']}, Against {b['against']}")
    console.print(f"  auditors: [bold]co3chain audit proposal {d['proposalId']} --rpc URL --manifest FILE[/bold]",
                  soft_wrap=True)


def _render_budget(b: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title=f"Participatory budget: round {b['round_id']}, area #{b['area_id']}, "
                        f"{_fmt_units(b['budget'])} CO3, {b['ballots']} approval ballots")
    for col in ("#", "project", "cost", "approvals", "state", "paid"):
        table.add_column(col, justify="left" if col in ("project", "state") else "right")
    for p in b["projects"]:
        table.add_row(str(p["index"]), p["title"], _fmt_units(p["cost"]), str(p["approvals"]), p["state"],
                      _fmt_units(p["paid"]))
    console.print(table)
    console.print(f"  spent {_fmt_units(b['spent'])} CO3 by the rule (most approvals first, funded while the budget "
                  f"lasts); treasury holds {_fmt_units(b['treasury_balance'])} CO3. Auditors: "
                  f"[bold]co3chain audit budget {b['round_id']} --rpc URL --manifest FILE[/bold]", soft_wrap=True)


def run_demo(
    w3: Any,
    officer: Any,
    manifest: dict[str, Any] | None = None,
    *,
    artifacts: ArtifactSet | None = None,
    progress: ProgressFn | None = None,
    console: Any = None,
    quiet: bool = False,
    warp: bool | None = None,
    windows: tuple[int, int] | None = None,
    council: Sequence[Any] | None = None,
) -> DemoResult:
    """Run the demo with ``officer`` (the deployer / PA officer); deploys first when ``manifest`` is None.

    Progress goes to ``progress`` (default: the console); the summary tables are printed unless ``quiet``.
    ``warp`` forces (True) or forbids (False) ``evm_increaseTime`` (default: use it when the node has it);
    ``windows`` = (seconds until voting opens, voting duration) overrides the per-node default (kept within
    the governance contract's voting bounds). ``council`` are the council members' keys available here
    (default: the officer alone), used for the council's motions (veto, role grants through the timelock).
    """
    if console is None:
        from rich.console import Console

        console = Console()
    say = progress or (lambda m: console.print(m, markup=False, highlight=False))
    try:
        result = Demo(w3, officer, manifest, artifacts=artifacts, say=say, warp=warp, windows=windows,
                      council=council).run()
    except DeployError as exc:
        raise DemoError(f"demo failed: {exc}") from None
    if not quiet:
        render(result, console)
    return result
