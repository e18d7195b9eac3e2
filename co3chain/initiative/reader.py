"""Reading one initiative from a CitizenInitiatives contract into plain values.

Why one reader: the API, the demo, the CLI and the audit all need the same view of an initiative (stored
struct, derived status, title, actions, version hashes); ``call`` lets each use its own error handling
(the API maps reverts to 404s, the others let web3 raise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from co3chain.initiative.content import describe_electorate

STATUS_NAMES = ("Draft", "Collecting", "Expired", "Qualified", "Proposed")
THRESHOLD_KINDS = ("absolute", "percentage")
_FIELDS = ("author", "version", "status", "mode", "snapshot", "votingPeriod", "openedAt", "deadline", "supportCount",
           "required", "areaId", "electorate", "electorateSize", "textHash", "actionsHash", "versionHash", "proposalId")


@dataclass
class InitiativeView:
    """An initiative as the contract reports it now."""

    initiative_id: int
    author: str
    status: str
    version: int
    version_hash: bytes
    title: str
    text_hash: bytes
    area_id: int
    electorate: int
    mode: int
    voting_period: int
    actions_hash: bytes
    snapshot: int
    opened_at: int
    deadline: int
    support_count: int
    required: int
    electorate_size: int
    proposal_id: int | None
    targets: list[str] = field(default_factory=list)
    values: list[int] = field(default_factory=list)
    calldatas: list[bytes] = field(default_factory=list)
    versions: list[bytes] = field(default_factory=list)
    description: str = ""

    @property
    def electorate_name(self) -> str:
        return describe_electorate(self.electorate)

    def to_json(self) -> dict[str, Any]:
        """JSON form (hashes and calldata as hex, big integers as decimal strings)."""
        return {
            "initiativeId": self.initiative_id, "author": self.author, "status": self.status,
            "version": self.version, "versionHash": "0x" + self.version_hash.hex(), "title": self.title,
            "textHash": "0x" + self.text_hash.hex(), "areaId": str(self.area_id), "electorate": str(self.electorate),
            "electorateName": self.electorate_name, "mode": self.mode, "votingPeriod": self.voting_period,
            "actionsHash": "0x" + self.actions_hash.hex(), "snapshot": self.snapshot, "openedAt": self.opened_at,
            "deadline": self.deadline, "supportCount": self.support_count, "required": self.required,
            "electorateSize": self.electorate_size,
            "proposalId": None if self.proposal_id is None else str(self.proposal_id),
            "actions": [{"target": t, "value": str(v), "calldata": "0x" + bytes(d).hex()}
                        for t, v, d in zip(self.targets, self.values, self.calldatas, strict=True)],
            "versions": [{"version": i + 1, "versionHash": "0x" + h.hex()} for i, h in enumerate(self.versions)],
            "description": self.description,
        }


def read_initiative(contract: Any, initiative_id: int, call: Callable[[Any], Any] | None = None, *,
                    full: bool = True) -> InitiativeView:
    """The initiative ``initiative_id``; ``full`` also reads its actions, every version hash and the proposal
    description (a few more calls)."""
    do = call or (lambda fn: fn.call())
    f = contract.functions
    raw = dict(zip(_FIELDS, do(f.getInitiative(initiative_id)), strict=True))
    status = STATUS_NAMES[int(do(f.status(initiative_id)))]
    view = InitiativeView(
        initiative_id=initiative_id, author=raw["author"], status=status, version=int(raw["version"]),
        version_hash=bytes(raw["versionHash"]), title=str(do(f.titleOf(initiative_id))),
        text_hash=bytes(raw["textHash"]), area_id=int(raw["areaId"]), electorate=int(raw["electorate"]),
        mode=int(raw["mode"]), voting_period=int(raw["votingPeriod"]), actions_hash=bytes(raw["actionsHash"]),
        snapshot=int(raw["snapshot"]), opened_at=int(raw["openedAt"]), deadline=int(raw["deadline"]),
        support_count=int(raw["supportCount"]), required=int(raw["required"]),
        electorate_size=int(raw["electorateSize"]),
        proposal_id=int(raw["proposalId"]) if status == "Proposed" else None,
    )
    if full:
        targets, values, calldatas = do(f.actionsOf(initiative_id))
        view.targets, view.values, view.calldatas = list(targets), [int(v) for v in values], [bytes(d) for d in calldatas]
        view.versions = [bytes(do(f.versionHashOf(initiative_id, v))) for v in range(1, view.version + 1)]
        view.description = str(do(f.proposalDescription(initiative_id)))
    return view


def read_threshold(contract: Any, electorate: int, call: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """The threshold in force for ``electorate``: kind name, value, collection window, whether it is its own."""
    do = call or (lambda fn: fn.call())
    (kind, value, window), own = do(contract.functions.thresholdOf(electorate))
    return {"kind": THRESHOLD_KINDS[int(kind)], "value": int(value), "collectionWindow": int(window), "own": bool(own)}
