"""Validation rules: geofence (polygon and H3), accuracy, time window, kind, citizen, rate limit, dedup."""

from __future__ import annotations

import pytest

from co3chain.oracle.chainview import ActivityInfo, AreaInfo
from co3chain.oracle.events import parse_event
from co3chain.oracle.geometry import AreaGeometry, geometry_hash, polygon_to_cells
from co3chain.oracle.store import SqliteQueueStore
from co3chain.oracle.validation import ValidationPolicy, Validator
from tests.oracle.helpers import (
    CITIZEN,
    INSIDE,
    OTHER_KEY,
    OUTSIDE,
    SQUARE,
    T0,
    FakeChain,
    checkin_body,
    social_body,
)


@pytest.fixture
def store(tmp_path):
    s = SqliteQueueStore(tmp_path / "q.db")
    yield s
    s.close()


@pytest.fixture
def chain() -> FakeChain:
    return FakeChain()


@pytest.fixture
def validator(chain, store) -> Validator:
    return Validator(chain, store, {1: AreaGeometry.from_geojson(1, SQUARE)},
                     ValidationPolicy(max_accuracy_m=50, max_per_activity_per_day=2, dedup_window_s=600))


def check(validator: Validator, body: bytes, kind: str = "ar", source: str = "ar-app", now: float = T0):
    return validator.validate(parse_event(source, kind, body), now)


def accept(store, body: bytes, kind: str = "ar", source: str = "ar-app") -> None:
    """Put an event in the queue as accepted (validated), as the operator would after validation."""
    ev = parse_event(source, kind, body)
    item, _ = store.insert_received(ev, body, T0, "sig", T0)
    store.mark_validated(item.attestation_id, {"id": item.attestation_id}, T0)


def test_checkin_inside_the_polygon_is_accepted(validator) -> None:
    verdict = check(validator, checkin_body())
    assert verdict.ok, verdict.reason


def test_checkin_outside_the_polygon_is_rejected(validator) -> None:
    verdict = check(validator, checkin_body(lat=OUTSIDE[0], lon=OUTSIDE[1]))
    assert not verdict.ok and "outside the polygon" in verdict.reason


def test_accuracy_bound(validator) -> None:
    assert check(validator, checkin_body(accuracy_m=50.0)).ok
    verdict = check(validator, checkin_body(accuracy_m=50.5))
    assert not verdict.ok and "accuracy 50.5 m exceeds" in verdict.reason


def test_activity_time_window(validator) -> None:
    verdict = check(validator, checkin_body(timestamp=T0 - 86_401), now=T0)
    assert not verdict.ok and "time window" in verdict.reason
    verdict = check(validator, checkin_body(timestamp=T0 + 1000), now=T0)
    assert not verdict.ok and "future" in verdict.reason


def test_too_old_event_is_rejected(chain, store) -> None:
    v = Validator(chain, store, {1: AreaGeometry.from_geojson(1, SQUARE)}, ValidationPolicy(max_event_age_s=3600))
    verdict = check(v, checkin_body(timestamp=T0 - 7200))
    assert not verdict.ok and "too old" in verdict.reason


def test_closed_activity_is_rejected(chain, validator) -> None:
    chain.activities[1] = ActivityInfo(1, 1, 0, T0 - 86_400, T0 + 86_400, 0, T0 - 3600, 10, 5)
    verdict = check(validator, checkin_body(timestamp=T0 - 60))
    assert not verdict.ok and "closed" in verdict.reason


def test_activity_area_and_kind_must_match(validator) -> None:
    verdict = check(validator, checkin_body(activity_id=2))  # activity 2 is a social post
    assert not verdict.ok and "kind 1" in verdict.reason
    verdict = check(validator, checkin_body(activity_id=99))
    assert not verdict.ok and "unknown activity" in verdict.reason
    verdict = check(validator, checkin_body(area_id=5))
    assert not verdict.ok and "belongs to area 1" in verdict.reason


def test_reward_above_the_councils_cap_is_rejected(chain, validator) -> None:
    """The oracle refuses to sign a reward the hub would refuse (caps of the area and activity, the lower)."""
    from co3chain.oracle.chainview import RewardCaps

    chain.caps = RewardCaps(max_token=10, max_reputation=4)  # activity 1 pays 10 tokens and 5 reputation
    verdict = check(validator, checkin_body("ci-cap"))
    assert not verdict.ok
    assert verdict.reason == ("activity 1 rewards 10 tokens and 5 reputation, above the consortium's cap per "
                              "claim (10 tokens, 4 reputation)")
    chain.caps = RewardCaps(max_token=10, max_reputation=5)
    assert check(validator, checkin_body("ci-cap")).ok


def test_unregistered_citizen_is_rejected(chain, validator) -> None:
    chain.citizens.clear()
    verdict = check(validator, checkin_body())
    assert not verdict.ok and "not a registered citizen" in verdict.reason


def test_device_signature_must_be_the_citizens(validator) -> None:
    body = checkin_body(key=OTHER_KEY, citizen=CITIZEN)
    verdict = check(validator, body)
    assert not verdict.ok and "device signature" in verdict.reason


def test_geometry_hash_must_match_chain(chain, validator) -> None:
    chain.areas[1] = AreaInfo(1, b"\x01" * 32, 0, ())
    verdict = check(validator, checkin_body())
    assert not verdict.ok and "does not match the on-chain geometryHash" in verdict.reason


def test_h3_cells_are_checked_when_present(chain, store) -> None:
    cells = tuple(polygon_to_cells(SQUARE, 11))
    assert cells
    chain.areas[1] = AreaInfo(1, b"\x00" * 32, 0, cells)
    v = Validator(chain, store, {}, ValidationPolicy())  # no polygon registered: cells only
    assert check(v, checkin_body()).ok
    verdict = check(v, checkin_body(lat=OUTSIDE[0], lon=OUTSIDE[1]))
    assert not verdict.ok and "H3 cells" in verdict.reason


def test_area_without_any_geometry_is_rejected(chain, store) -> None:
    v = Validator(chain, store, {}, ValidationPolicy())
    verdict = check(v, checkin_body())
    assert not verdict.ok and "no geometry" in verdict.reason


def test_rate_limit_per_citizen_activity_day(validator, store) -> None:
    accept(store, checkin_body("a", timestamp=T0 - 3000))
    accept(store, checkin_body("b", timestamp=T0 - 2000))
    verdict = check(validator, checkin_body("c", timestamp=T0 - 1000))
    assert not verdict.ok and "rate limit" in verdict.reason
    # Other activity of the same citizen is not limited by these.
    assert check(validator, social_body("s1"), kind="social", source="social").ok


def test_dedup_window_and_same_evidence(validator, store) -> None:
    accept(store, checkin_body("a", timestamp=T0 - 700))
    verdict = check(validator, checkin_body("b", timestamp=T0 - 400))
    assert not verdict.ok and "duplicate of ar-app/a" in verdict.reason
    assert check(validator, checkin_body("c", timestamp=T0 - 60)).ok  # 640 s later: outside the window
    same_evidence = social_body("p2", timestamp=T0 - 5000, evidence_hash="0x" + "00" * 32)
    accept(store, same_evidence, kind="social", source="social")
    # p3 is on the previous UTC day, so only the evidence hash makes it a duplicate.
    verdict = check(validator, social_body("p3", timestamp=T0 - 30_000, evidence_hash="0x" + "00" * 32),
                    kind="social", source="social")
    assert not verdict.ok and "duplicate of social/p2" in verdict.reason


def test_rejected_events_do_not_count_towards_limits(validator, store) -> None:
    ev = parse_event("ar-app", "ar", checkin_body("a", timestamp=T0 - 100))
    item, _ = store.insert_received(ev, b"{}", T0, "sig", T0)
    store.mark_rejected(item.attestation_id, "test", T0)
    assert check(validator, checkin_body("b", timestamp=T0 - 90)).ok


def test_claim_cap_from_chain(chain, validator) -> None:
    chain.activities[1] = ActivityInfo(1, 1, 0, T0 - 86_400, T0 + 86_400, 1, 0, 10, 5)
    chain.claims[(1, CITIZEN)] = 1
    verdict = check(validator, checkin_body())
    assert not verdict.ok and "claim cap" in verdict.reason


def test_social_event_location_optional_unless_required(chain, store, validator) -> None:
    assert check(validator, social_body(), kind="social", source="social").ok
    strict = Validator(chain, store, validator.geometries, ValidationPolicy(social_requires_location=True))
    verdict = check(strict, social_body(), kind="social", source="social")
    assert not verdict.ok and "location required" in verdict.reason
    verdict = check(strict, social_body(lat=OUTSIDE[0], lon=OUTSIDE[1]), kind="social", source="social")
    assert not verdict.ok and "outside the polygon" in verdict.reason
    assert check(strict, social_body(lat=INSIDE[0], lon=INSIDE[1]), kind="social", source="social").ok


def test_geometry_hash_is_canonical() -> None:
    reordered = {"coordinates": SQUARE["coordinates"], "type": "Polygon"}
    assert geometry_hash(reordered) == geometry_hash(SQUARE)
    assert geometry_hash({**SQUARE, "extra": 1}) != geometry_hash(SQUARE)
