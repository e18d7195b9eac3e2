"""Independent validation of an event: every operator runs this before it signs anything.

Checks, in order (the first failure is the rejection reason kept in the queue):
device signature (AR) · observation time (not in the future, not too old) · activity exists, belongs to the
area and has the event's kind · activity open at the observation time · the activity's reward within the
council's per-claim caps (the hub would refuse it anyway; refusing here costs no transaction) · location
accuracy bound · geofence
(registered GeoJSON whose hash matches the on-chain ``geometryHash``, and the on-chain H3 cells if any;
the point must be inside every representation the area has) · citizen registered on chain · per-citizen rate
limit per activity per UTC day · on-chain claim cap (including claims still in flight) · duplicate evidence or
a second event of the same citizen and activity inside the dedup window.

Why "inside every representation": the oracle is the only guard between a GPS fix and a token mint; when
polygon and cells disagree near a border, refusing is the conservative choice and the reason says which one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import h3

from co3chain.oracle.chainview import ChainView
from co3chain.oracle.events import ActivityKind, OracleEvent
from co3chain.oracle.geometry import AreaGeometry, point_in_cells
from co3chain.oracle.store import LocationFacts, QueueStore

DAY = 86_400
#: H3 resolution of the kept cell for areas without on-chain cells (res 9: ~0.1 km², a city block).
DEFAULT_H3_RESOLUTION = 9


@dataclass(frozen=True)
class ValidationPolicy:
    """Operator-configured bounds (``[validation]`` in oracle.toml)."""

    max_accuracy_m: float = 50.0
    max_per_activity_per_day: int = 3
    dedup_window_s: int = 600
    max_event_age_s: int = 3 * DAY
    future_skew_s: int = 300
    social_requires_location: bool = False

    def __post_init__(self) -> None:
        if self.max_accuracy_m <= 0 or self.max_per_activity_per_day < 1 or self.dedup_window_s < 0:
            raise ValueError("validation bounds must be positive")
        if self.max_event_age_s <= 0 or self.future_skew_s < 0:
            raise ValueError("validation time bounds must be positive")


@dataclass(frozen=True)
class Verdict:
    """Outcome of validation: ``ok`` or the reason it was rejected."""

    ok: bool
    reason: str | None = None

    @staticmethod
    def reject(reason: str) -> Verdict:
        return Verdict(False, reason)


ACCEPT = Verdict(True)


@dataclass
class Validator:
    """Validates events against the chain, the registered area geometries and the local queue history."""

    chain: ChainView
    store: QueueStore
    geometries: dict[int, AreaGeometry] = field(default_factory=dict)
    policy: ValidationPolicy = field(default_factory=ValidationPolicy)

    def validate(self, event: OracleEvent, now: float) -> Verdict:
        """Run all checks; raises :class:`ChainUnavailable` when the node cannot be read (retry later)."""
        for check in (self._device, self._time, self._activity, self._reward, self._location, self._citizen,
                      self._limits, self._dedup):
            verdict = check(event, now)
            if not verdict.ok:
                return verdict
        return ACCEPT

    def location_facts(self, ev: OracleEvent) -> LocationFacts:
        """What is kept about the event's place after retention removes the coordinates: inside the area's
        geofence (every representation it has) and the H3 cell at the area's finest cell resolution (or
        :data:`DEFAULT_H3_RESOLUTION` for a polygon-only area)."""
        if ev.lat is None or ev.lon is None:
            return LocationFacts(None, None)
        area = self.chain.area(ev.area_id)
        geom = self.geometries.get(ev.area_id)
        cells = tuple(area.cells) if area is not None else ()
        resolution = max((h3.get_resolution(h3.int_to_str(int(c))) for c in cells), default=DEFAULT_H3_RESOLUTION)
        inside = area is not None and (geom is not None or bool(cells))
        if inside and geom is not None:
            inside = geom.hash == area.geometry_hash and geom.contains(ev.lat, ev.lon)
        if inside and cells:
            inside = point_in_cells(ev.lat, ev.lon, cells)
        return LocationFacts(bool(inside), h3.latlng_to_cell(ev.lat, ev.lon, resolution))

    def _device(self, ev: OracleEvent, now: float) -> Verdict:
        if ev.device is not None:
            hub = self.chain.hub()  # the domain: this chain and its AttestationHub
            problem = ev.device.problem(hub.chain_id, hub.address, ev.citizen)
            return ACCEPT if problem is None else Verdict.reject(problem)
        if ev.device_signature_ok is False:  # a v1 check-in queued before the upgrade
            return Verdict.reject("device signature does not match the citizen address")
        return ACCEPT

    def _time(self, ev: OracleEvent, now: float) -> Verdict:
        if ev.observed_at > now + self.policy.future_skew_s:
            return Verdict.reject(f"observed in the future ({ev.observed_at} > now {int(now)})")
        if ev.observed_at < now - self.policy.max_event_age_s:
            return Verdict.reject(f"event too old (observed {ev.observed_at}, max age "
                                  f"{self.policy.max_event_age_s}s)")
        return ACCEPT

    def _activity(self, ev: OracleEvent, now: float) -> Verdict:
        act = self.chain.activity(ev.activity_id)
        if act is None:
            return Verdict.reject(f"unknown activity {ev.activity_id}")
        if act.area_id != ev.area_id:
            return Verdict.reject(f"activity {ev.activity_id} belongs to area {act.area_id}, not {ev.area_id}")
        if act.kind != int(ev.kind):
            return Verdict.reject(f"activity {ev.activity_id} is of kind {act.kind}, event is kind {int(ev.kind)}")
        if not (act.starts_at <= ev.observed_at <= act.ends_at):
            return Verdict.reject(f"outside the activity time window [{act.starts_at}, {act.ends_at}]")
        if not self.chain.is_activity_open(ev.activity_id, ev.observed_at):
            return Verdict.reject(f"activity {ev.activity_id} (or its area) closed at {ev.observed_at}")
        return ACCEPT

    def _reward(self, ev: OracleEvent, now: float) -> Verdict:
        act = self.chain.activity(ev.activity_id)
        if act is None:  # _activity rejected it already
            return Verdict.reject(f"unknown activity {ev.activity_id}")
        caps = self.chain.reward_caps(act.area_id, act.activity_id)
        if act.token_reward > caps.max_token or act.reputation_reward > caps.max_reputation:
            return Verdict.reject(
                f"activity {ev.activity_id} rewards {act.token_reward} tokens and {act.reputation_reward} reputation,"
                f" above the consortium's cap per claim ({caps.max_token} tokens, {caps.max_reputation} reputation)"
            )
        return ACCEPT

    def _location(self, ev: OracleEvent, now: float) -> Verdict:
        if ev.lat is None or ev.lon is None:
            if ev.kind == ActivityKind.AR_CHECKIN or self.policy.social_requires_location:
                return Verdict.reject("location required")
            return ACCEPT
        if ev.accuracy_m is not None and ev.accuracy_m > self.policy.max_accuracy_m:
            return Verdict.reject(f"location accuracy {ev.accuracy_m:g} m exceeds the "
                                  f"{self.policy.max_accuracy_m:g} m bound")
        if ev.kind == ActivityKind.AR_CHECKIN and ev.accuracy_m is None:
            return Verdict.reject("location accuracy required")
        area = self.chain.area(ev.area_id)
        if area is None:
            return Verdict.reject(f"unknown area {ev.area_id}")
        geom = self.geometries.get(ev.area_id)
        if geom is None and not area.cells:
            return Verdict.reject(f"area {ev.area_id} has no geometry registered with this oracle and no H3 cells")
        if geom is not None:
            if geom.hash != area.geometry_hash:
                return Verdict.reject(f"registered GeoJSON of area {ev.area_id} does not match the on-chain "
                                      f"geometryHash 0x{area.geometry_hash.hex()}")
            if not geom.contains(ev.lat, ev.lon):
                return Verdict.reject(f"point ({ev.lat}, {ev.lon}) is outside the polygon of area {ev.area_id}")
        if area.cells and not point_in_cells(ev.lat, ev.lon, area.cells):
            return Verdict.reject(f"point ({ev.lat}, {ev.lon}) is outside the H3 cells of area {ev.area_id}")
        return ACCEPT

    def _citizen(self, ev: OracleEvent, now: float) -> Verdict:
        if not self.chain.is_citizen(ev.citizen):
            return Verdict.reject(f"{ev.citizen} is not a registered citizen")
        return ACCEPT

    def _limits(self, ev: OracleEvent, now: float) -> Verdict:
        aid = "0x" + ev.attestation_id.hex()
        day = ev.observed_at - ev.observed_at % DAY
        used = self.store.count_accepted(ev.citizen, ev.activity_id, day, day + DAY, exclude=aid)
        if used >= self.policy.max_per_activity_per_day:
            return Verdict.reject(f"rate limit: {used} accepted events for activity {ev.activity_id} on this day "
                                  f"(max {self.policy.max_per_activity_per_day})")
        act = self.chain.activity(ev.activity_id)
        if act is not None and act.max_claims:
            in_flight = self.store.count_accepted(ev.citizen, ev.activity_id, 0, 2**63 - 1, exclude=aid)
            claimed = max(self.chain.claims_of(ev.activity_id, ev.citizen), 0)
            if max(claimed, in_flight) >= act.max_claims:
                return Verdict.reject(f"claim cap of {act.max_claims} reached for activity {ev.activity_id}")
        return ACCEPT

    def _dedup(self, ev: OracleEvent, now: float) -> Verdict:
        aid = "0x" + ev.attestation_id.hex()
        digest = ev.evidence_digest or ev.evidence_hash  # unsalted: equal evidence has equal digests
        dup = self.store.find_accepted_duplicate(ev.citizen, ev.activity_id, "0x" + digest.hex(),
                                                 ev.observed_at, self.policy.dedup_window_s, exclude=aid)
        if dup is not None:
            return Verdict.reject(f"duplicate of {dup.source}/{dup.event_id} ({dup.attestation_id})")
        return ACCEPT
