"""An initiative's content (one version) and the hashes CitizenInitiatives computes over it.

Why in Python too: the author's wallet signs the content hash (``DraftInitiative``/``AmendInitiative``), the
API checks a relayed draft before paying for it, and the audit recomputes every version hash from the
``InitiativeVersioned``/``InitiativeActions`` events. All must agree byte for byte with the contract's
``contentHash`` and ``hashActions`` (the tests compare them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode
from eth_utils import keccak

from co3chain.contracts.typed_data import TypedDataError, check_address, check_bytes32, check_uint

#: Limits of the contract (CitizenInitiatives.MAX_ACTIONS, MAX_CALLDATA_BYTES, MAX_TITLE_BYTES).
MAX_ACTIONS = 10
MAX_CALLDATA_BYTES = 4096
MAX_TITLE_BYTES = 200
#: CO3Governance counting modes, by their index.
MODES = ("OneCitizenOneVote", "TokenWeighted", "ReputationWeighted")
#: Electorate id tags (IElectorates): top byte of the id.
ELECTORATE_TAG_SHIFT = 248
ELECTORATE_KINDS = {0: "consortium", 1: "pa", 2: "group", 3: "union"}


class InitiativeError(TypedDataError):
    """An initiative's content or a signed step is malformed."""


def electorate_id(kind: str, number: int = 0) -> int:
    """The IElectorates id of ``kind`` (consortium, pa, group, union) number ``number``."""
    tags = {v: k for k, v in ELECTORATE_KINDS.items()}
    if kind not in tags:
        raise InitiativeError(f"electorate kind must be one of {', '.join(tags)}, got {kind!r}")
    if kind == "consortium":
        return 0
    if not 1 <= number < 2**ELECTORATE_TAG_SHIFT:
        raise InitiativeError(f"electorate number must be positive, got {number}")
    return (tags[kind] << ELECTORATE_TAG_SHIFT) | number


def describe_electorate(electorate: int) -> str:
    """Readable form of an electorate id: ``consortium``, ``pa 3``, ``group 7``, ``union 2``."""
    if electorate == 0:
        return "consortium"
    tag, number = electorate >> ELECTORATE_TAG_SHIFT, electorate & ((1 << ELECTORATE_TAG_SHIFT) - 1)
    return f"{ELECTORATE_KINDS.get(tag, f'kind {tag}')} {number}"


def parse_electorate(text: str | int) -> int:
    """An electorate from ``consortium``, ``pa:3``, ``group:7``, ``union:2`` or a raw integer id."""
    if isinstance(text, int):
        return check_uint("electorate", text, 256)
    value = str(text).strip().lower()
    if value == "consortium":
        return 0
    if ":" in value:
        kind, _, number = value.partition(":")
        try:
            return electorate_id(kind, int(number, 0))
        except ValueError:
            raise InitiativeError(f"electorate: {text!r} is not KIND:NUMBER") from None
    try:
        return check_uint("electorate", int(value, 0), 256)
    except ValueError:
        raise InitiativeError(f"electorate: {text!r} is not consortium, pa:N, group:N, union:N or an id") from None


@dataclass(frozen=True)
class Action:
    """One call the timelock makes if the initiative's vote succeeds."""

    target: str
    value: int
    calldata: bytes


@dataclass(frozen=True)
class Content:
    """One version of an initiative (``ICitizenInitiatives.Content``)."""

    text_hash: bytes
    title: str
    area_id: int
    electorate: int
    mode: int
    voting_period: int
    actions: tuple[Action, ...] = field(default=())

    @classmethod
    def build(cls, *, text_hash: bytes | str, title: str, area_id: int = 0, electorate: int = 0, mode: int = 0,
              voting_period: int, actions: Sequence[Action | Mapping[str, Any]] = ()) -> Content:
        """Checked content (the same limits as the contract, so a bad draft fails before it is signed)."""
        text = check_bytes32("textHash", text_hash)
        if text == bytes(32):
            raise InitiativeError("textHash must not be zero")
        if not isinstance(title, str) or not 0 < len(title.encode()) <= MAX_TITLE_BYTES:
            raise InitiativeError(f"title must be 1..{MAX_TITLE_BYTES} bytes of UTF-8")
        if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode < len(MODES):
            raise InitiativeError(f"mode must be 0..{len(MODES) - 1} ({', '.join(MODES)}), got {mode!r}")
        period = check_uint("votingPeriod", voting_period, 48)
        if period == 0:
            raise InitiativeError("votingPeriod must be positive")
        if len(actions) > MAX_ACTIONS:
            raise InitiativeError(f"at most {MAX_ACTIONS} actions")
        checked = []
        for i, a in enumerate(actions):
            if isinstance(a, Mapping):
                raw = a.get("calldata", "0x")
                data = bytes.fromhex(raw[2:]) if isinstance(raw, str) else bytes(raw)
                a = Action(a.get("target"), a.get("value", 0), data)  # type: ignore[arg-type]
            target = check_address(f"actions[{i}].target", a.target)
            if int(target, 16) == 0 or len(a.calldata) > MAX_CALLDATA_BYTES:
                raise InitiativeError(f"actions[{i}]: zero target or calldata above {MAX_CALLDATA_BYTES} bytes")
            checked.append(Action(target, check_uint(f"actions[{i}].value", a.value, 256), bytes(a.calldata)))
        return cls(text, title, check_uint("areaId", area_id, 256), check_uint("electorate", electorate, 256), mode,
                   period, tuple(checked))

    @property
    def targets(self) -> list[str]:
        return [a.target for a in self.actions]

    @property
    def values(self) -> list[int]:
        return [a.value for a in self.actions]

    @property
    def calldatas(self) -> list[bytes]:
        return [a.calldata for a in self.actions]

    def as_tuple(self) -> tuple[Any, ...]:
        """The Solidity ``Content`` struct as web3 expects it."""
        return (self.text_hash, self.title, self.area_id, self.electorate, self.mode, self.voting_period,
                self.targets, self.values, self.calldatas)

    def actions_hash(self) -> bytes:
        return actions_hash(self.targets, self.values, self.calldatas)

    def content_hash(self) -> bytes:
        """``CitizenInitiatives.contentHash``: the version hash."""
        return content_hash(self.text_hash, self.title, self.area_id, self.electorate, self.mode, self.voting_period,
                            self.actions_hash())


def actions_hash(targets: Sequence[str], values: Sequence[int], calldatas: Sequence[bytes]) -> bytes:
    """``hashActions``: keccak(abi.encode(targets, values, calldatas)), zero bytes for no actions."""
    if not targets and not values and not calldatas:
        return bytes(32)
    return keccak(encode(["address[]", "uint256[]", "bytes[]"], [list(targets), list(values), list(calldatas)]))


def content_hash(text_hash: bytes, title: str, area_id: int, electorate: int, mode: int, voting_period: int,
                 actions_hash_: bytes) -> bytes:
    """``contentHash`` from the fields of an ``InitiativeVersioned`` event."""
    return keccak(encode(
        ["bytes32", "bytes32", "uint256", "uint256", "uint8", "uint64", "bytes32"],
        [text_hash, keccak(title.encode()), area_id, electorate, mode, voting_period, actions_hash_]))


def proposal_description(initiative_id: int, version: int, text_hash: bytes, title: str) -> str:
    """``proposalDescription``: the description of the initiative's governance proposal."""
    return f"Citizen initiative #{initiative_id} v{version} (text 0x{bytes(text_hash).hex()}): {title}"


def required_supports(kind: int, value: int, electorate_size: int) -> int:
    """``requiredSupports``: absolute count, or ceil(size × basis points / 10,000), at least 1."""
    if kind == 0:
        return value
    return max(1, -(-electorate_size * value // 10_000))
