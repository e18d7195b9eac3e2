"""Electorate ids, the way contracts/interfaces/IElectorates.sol encodes them (docs/electorates.md).

An electorate id is a uint256 with a kind tag in its top byte and an id in the 248 low bits:
``0`` the whole consortium, ``(1 << 248) | paId`` one PA's citizens, ``(2 << 248) | groupId`` one electoral group,
``(3 << 248) | unionId`` a registered union of groups of one exclusive kind. Pure functions, no chain access, so
the API, the SDKs, the CLI and the audit all name electorates identically.
"""

from __future__ import annotations

from dataclasses import dataclass

CONSORTIUM = 0
PA_TAG, GROUP_TAG, UNION_TAG = 1, 2, 3
_SHIFT = 248
_MASK = (1 << _SHIFT) - 1

#: Group kinds (CitizenRegistry): DISTRICT and AREA_RESIDENCE are exclusive, ASSOCIATION groups may overlap.
DISTRICT, AREA_RESIDENCE, ASSOCIATION = 0, 1, 2
GROUP_KINDS = {"district": DISTRICT, "area-residence": AREA_RESIDENCE, "association": ASSOCIATION}
KIND_NAMES = {v: k for k, v in GROUP_KINDS.items()}
_TAG_NAMES = {PA_TAG: "pa", GROUP_TAG: "group", UNION_TAG: "union"}


def pa_electorate(pa_id: int) -> int:
    """All citizens registered by PA ``pa_id``."""
    return _tagged(PA_TAG, pa_id)


def group_electorate(group_id: int) -> int:
    """The members of group ``group_id``."""
    return _tagged(GROUP_TAG, group_id)


def union_electorate(union_id: int) -> int:
    """A union registered with ``defineElectorate`` (its id as the ``ElectorateDefined`` event gives it)."""
    return _tagged(UNION_TAG, union_id)


def _tagged(tag: int, ident: int) -> int:
    if not 0 < int(ident) <= _MASK:
        raise ValueError(f"id {ident} out of range")
    return (tag << _SHIFT) | int(ident)


@dataclass(frozen=True)
class Electorate:
    """A decoded electorate id."""

    kind: str  # "consortium", "pa", "group", "union" or "unknown"
    id: int

    def __str__(self) -> str:
        return "consortium" if self.kind == "consortium" else f"{self.kind}:{self.id}"


def describe(electorate: int) -> Electorate:
    """The kind and id of ``electorate``."""
    electorate = int(electorate)
    if electorate == 0:
        return Electorate("consortium", 0)
    return Electorate(_TAG_NAMES.get(electorate >> _SHIFT, "unknown"), electorate & _MASK)


def parse(text: str | int) -> int:
    """An electorate id from ``consortium``, ``pa:N``, ``group:N``, ``union:N`` or a plain (hex/decimal) number.

    Raises ValueError with a readable message for anything else.
    """
    if isinstance(text, int):
        return text
    s = str(text).strip().lower()
    if s in ("", "0", "consortium"):
        return CONSORTIUM
    if ":" in s:
        kind, _, num = s.partition(":")
        makers = {"pa": pa_electorate, "group": group_electorate, "union": union_electorate}
        if kind not in makers or not num.isdigit():
            raise ValueError(f"electorate {text!r}: use consortium, pa:N, group:N, union:N or a number")
        return makers[kind](int(num))
    try:
        value = int(s, 0)
    except ValueError:
        raise ValueError(f"electorate {text!r}: use consortium, pa:N, group:N, union:N or a number") from None
    if not 0 <= value < 2**256:
        raise ValueError(f"electorate {text!r} is not a uint256")
    return value


def proposal_id_for(proposer: str, area_id: int, electorate: int, mode: int, commit_reveal: bool, vote_start: int,
                    vote_end: int, reveal_end: int, description: str, targets: list[str] | None = None,
                    values: list[int] | None = None, calldatas: list[bytes] | None = None) -> int:
    """The id ``CO3Governance.proposeFor`` assigns: keccak(abi.encode(baseId, actionsHash or 0, electorate))."""
    from eth_abi import encode
    from eth_utils import keccak

    from co3chain.contracts.governance_typed_data import actions_hash, proposal_id

    base = proposal_id(proposer, area_id, mode, commit_reveal, vote_start, vote_end, reveal_end, description)
    ah = actions_hash(targets, values or [], calldatas or []) if targets else b"\x00" * 32
    return int.from_bytes(keccak(encode(["uint256", "bytes32", "uint256"], [base, ah, int(electorate)])), "big")
