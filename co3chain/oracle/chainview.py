"""Read-only view of the on-chain facts the oracle validates against, with a short cache.

Why an interface: validation must be unit-testable without a node (a fake view), and every operator must
read the chain itself rather than trust the operator that forwarded an event to it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from co3chain.errors import Co3Error


class ChainUnavailable(Co3Error):
    """The node could not be read; the caller should retry later rather than reject the event."""


@dataclass(frozen=True)
class AreaInfo:
    """The parts of ``CommoningAreas.Area`` the oracle needs."""

    area_id: int
    geometry_hash: bytes
    closed_at: int
    cells: tuple[int, ...]


@dataclass(frozen=True)
class ActivityInfo:
    """The parts of ``CommoningAreas.Activity`` the oracle needs."""

    activity_id: int
    area_id: int
    kind: int
    starts_at: int
    ends_at: int
    max_claims: int
    closed_at: int
    token_reward: int
    reputation_reward: int


@dataclass(frozen=True)
class RewardCaps:
    """Per-claim reward caps in force for one activity: the lower of its own and its area's limits, as the
    ``AttestationHub`` enforces them (council-set; budgets per period are checked on chain only)."""

    max_token: int
    max_reputation: int


@dataclass(frozen=True)
class HubInfo:
    """Current oracle signer set of the ``AttestationHub``."""

    chain_id: int
    address: str
    signers: tuple[str, ...]
    threshold: int
    version: int


class ChainView(Protocol):
    """What validation and signing read from the chain."""

    def hub(self) -> HubInfo: ...
    def is_citizen(self, address: str) -> bool: ...
    def area(self, area_id: int) -> AreaInfo | None: ...
    def activity(self, activity_id: int) -> ActivityInfo | None: ...
    def is_activity_open(self, activity_id: int, at: int) -> bool: ...
    def claims_of(self, activity_id: int, subject: str) -> int: ...
    def reward_caps(self, area_id: int, activity_id: int) -> RewardCaps: ...


class _TtlCache:
    """Tiny thread-safe memo: area/activity/signer-set data changes rarely, citizens may change any block."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def drop(self, key: Any) -> None:
        with self._lock:
            self._data.pop(key, None)

    def peek(self, key: Any) -> Any:
        """The fresh cached value of ``key``, or None."""
        with self._lock:
            hit = self._data.get(key)
        return hit[1] if hit and time.monotonic() - hit[0] < self.ttl else None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = (time.monotonic(), value)

    def get(self, key: Any, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
            if hit and now - hit[0] < self.ttl:
                return hit[1]
        value = load()
        with self._lock:
            self._data[key] = (now, value)
        return value


class Web3ChainView:
    """:class:`ChainView` over web3.py contract objects (any JSON-RPC node)."""

    def __init__(self, w3: Any, hub: Any, areas: Any, registry: Any, cache_seconds: float = 15.0) -> None:
        self.w3 = w3
        self._hub = hub
        self._areas = areas
        self._registry = registry
        self._cache = _TtlCache(cache_seconds)

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:  # connection errors come in many types; reverts are handled by callers
            if _is_revert(exc):
                raise
            raise ChainUnavailable(f"cannot read {what} from the node: {exc}") from exc

    def invalidate(self) -> None:
        """Forget cached signer-set/area/activity data (after a sign request or revert shows it is stale)."""
        self._cache.clear()

    def forget_activity(self, activity_id: int) -> None:
        """Drop the cached activity, so the next read returns the reward rule in force now (before signing)."""
        self._cache.drop(("activity", activity_id))

    def hub(self) -> HubInfo:
        def load() -> HubInfo:
            f = self._hub.functions
            return HubInfo(int(self.w3.eth.chain_id), self._hub.address, tuple(f.getSigners().call()),
                           int(f.threshold().call()), int(f.signerSetVersion().call()))
        return self._cache.get("hub", lambda: self._call("signer set", load))

    def is_citizen(self, address: str) -> bool:
        """Positive answers are cached briefly (the hub re-checks at submission, so a citizen revoked
        meanwhile is still refused on chain); negative ones are not, so a new registration counts at once."""
        key = ("citizen", address)
        if self._cache.peek(key):
            return True
        ok = bool(self._call("citizen", lambda: self._registry.functions.isCitizen(address).call()))
        if ok:
            self._cache.put(key, True)
        return ok

    def area(self, area_id: int) -> AreaInfo | None:
        def load() -> AreaInfo | None:
            f = self._areas.functions
            if not f.areaExists(area_id).call():
                return None
            a = f.getArea(area_id).call()
            cells = tuple(int(c) for c in f.getAreaCells(area_id).call())
            return AreaInfo(int(a[0]), bytes(a[2]), int(a[5]), cells)
        return self._cache.get(("area", area_id), lambda: self._call("area", load))

    def activity(self, activity_id: int) -> ActivityInfo | None:
        def load() -> ActivityInfo | None:
            try:
                a = self._areas.functions.getActivity(activity_id).call()
            except Exception as exc:
                if _is_revert(exc):
                    return None
                raise
            t = dict(zip(_activity_fields(self._areas), a, strict=True))
            return ActivityInfo(int(t["id"]), int(t["areaId"]), int(t["kind"]), int(t["startsAt"]),
                                int(t["endsAt"]), int(t["maxClaimsPerCitizen"]), int(t["closedAt"]),
                                int(t["tokenReward"]), int(t["reputationReward"]))
        return self._cache.get(("activity", activity_id), lambda: self._call("activity", load))

    def is_activity_open(self, activity_id: int, at: int) -> bool:
        """``CommoningAreas.isActivityOpen`` evaluated on the cached activity and area (same rule: inside
        [startsAt, endsAt], before the activity's and the area's closedAt).  Saves a round trip per event;
        the hub evaluates the on-chain version again when the attestation is submitted."""
        act = self.activity(activity_id)
        if act is None or not act.starts_at <= at <= act.ends_at:
            return False
        if act.closed_at and at >= act.closed_at:
            return False
        area = self.area(act.area_id)
        return area is not None and (area.closed_at == 0 or at < area.closed_at)

    def claims_of(self, activity_id: int, subject: str) -> int:
        return int(self._call("claims", lambda: self._hub.functions.claimsOf(activity_id, subject).call()))

    def reward_caps(self, area_id: int, activity_id: int) -> RewardCaps:
        def load() -> RewardCaps:
            f = self._hub.functions
            area, _ = f.areaRewardLimits(area_id).call()
            act, _ = f.activityRewardLimits(activity_id).call()
            return RewardCaps(min(int(area[0]), int(act[0])), min(int(area[1]), int(act[1])))
        return self._cache.get(("caps", area_id, activity_id), lambda: self._call("reward caps", load))


def _activity_fields(contract: Any) -> list[str]:
    """Component names of the ``Activity`` tuple returned by ``getActivity`` (from the ABI)."""
    for item in contract.abi:
        if item.get("type") == "function" and item.get("name") == "getActivity":
            return [c["name"] for c in item["outputs"][0]["components"]]
    raise Co3Error("CommoningAreas ABI has no getActivity")


def _is_revert(exc: Exception) -> bool:
    from web3.exceptions import ContractCustomError, ContractLogicError

    return isinstance(exc, ContractLogicError | ContractCustomError)
