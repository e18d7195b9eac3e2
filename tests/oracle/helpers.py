"""Shared test data for the oracle tests: keys, a square area in Turin, a fake chain view, event builders."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account

from co3chain.oracle.auth import Source, sign_headers
from co3chain.oracle.chainview import ActivityInfo, AreaInfo, HubInfo, RewardCaps
from co3chain.oracle.device import checkin_fields_signature
from co3chain.oracle.geometry import geometry_hash

T0 = 1_800_000_000  # a fixed "now" (2027-01-15) so tests never depend on the wall clock
CITIZEN_KEY = b"\x00" * 31 + b"\x07"
CITIZEN = Account.from_key(CITIZEN_KEY).address
OTHER_KEY = b"\x00" * 31 + b"\x08"
SIGNER_KEYS = [bytes([0x10 + i]) * 32 for i in range(3)]
SIGNERS = [Account.from_key(k).address for k in SIGNER_KEYS]
HUB_ADDRESS = "0x" + "ab" * 20

AR = Source("ar-app", "ar", b"ar-secret-0123456789")
SOCIAL = Source("social", "social", b"social-secret-0123456789")

# A ~200 m square around Piazza Castello, Turin (GeoJSON is lon, lat).
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[7.684, 45.070], [7.687, 45.070], [7.687, 45.072], [7.684, 45.072], [7.684, 45.070]]],
}
INSIDE = (45.071, 7.6855)
OUTSIDE = (45.080, 7.6855)


@dataclass
class FakeChain:
    """In-memory ChainView: one area, activities by id, a citizen set, a 2-of-3 signer set."""

    citizens: set[str] = field(default_factory=lambda: {CITIZEN})
    areas: dict[int, AreaInfo] = field(default_factory=lambda: {1: AreaInfo(1, geometry_hash(SQUARE), 0, ())})
    activities: dict[int, ActivityInfo] = field(default_factory=lambda: {
        1: ActivityInfo(1, 1, 0, T0 - 86_400, T0 + 86_400, 0, 0, 10, 5),
        2: ActivityInfo(2, 1, 1, T0 - 86_400, T0 + 86_400, 0, 0, 3, 1),
    })
    claims: dict[tuple[int, str], int] = field(default_factory=dict)
    hub_info: HubInfo = field(default_factory=lambda: HubInfo(31337, HUB_ADDRESS, tuple(SIGNERS), 2, 1))
    caps: RewardCaps = field(default_factory=lambda: RewardCaps(10**21, 10**21))
    down: bool = False

    def _check(self) -> None:
        if self.down:
            from co3chain.oracle.chainview import ChainUnavailable

            raise ChainUnavailable("node down (test)")

    def hub(self) -> HubInfo:
        self._check()
        return self.hub_info

    def is_citizen(self, address: str) -> bool:
        self._check()
        return address in self.citizens

    def area(self, area_id: int) -> AreaInfo | None:
        self._check()
        return self.areas.get(area_id)

    def activity(self, activity_id: int) -> ActivityInfo | None:
        self._check()
        return self.activities.get(activity_id)

    def is_activity_open(self, activity_id: int, at: int) -> bool:
        self._check()
        a = self.activities.get(activity_id)
        return a is not None and a.starts_at <= at <= a.ends_at and (a.closed_at == 0 or at < a.closed_at)

    def claims_of(self, activity_id: int, subject: str) -> int:
        self._check()
        return self.claims.get((activity_id, subject), 0)

    def reward_caps(self, area_id: int, activity_id: int) -> RewardCaps:
        self._check()
        return self.caps


def checkin_body(event_id: str = "ci-1", *, lat: float = INSIDE[0], lon: float = INSIDE[1],
                 accuracy_m: float = 8.0, timestamp: int = T0 - 60, activity_id: int = 1, area_id: int = 1,
                 key: bytes = CITIZEN_KEY, citizen: str | None = None, chain_id: int = 31337,
                 hub: str = HUB_ADDRESS, **extra: Any) -> bytes:
    """A check-in JSON body (integer units) EIP-712-signed by the citizen's device key for ``(chain_id, hub)``."""
    fields: dict[str, Any] = {
        "event_id": event_id, "citizen": citizen or Account.from_key(key).address, "area_id": area_id,
        "activity_id": activity_id, "lat_e6": round(lat * 1e6), "lon_e6": round(lon * 1e6),
        "accuracy_mm": round(accuracy_m * 1000), "timestamp_ms": timestamp * 1000,
    }
    fields["device_signature"] = checkin_fields_signature(key, chain_id, hub, fields)
    fields.update(extra)
    return json.dumps(fields).encode()


def social_body(event_id: str = "so-1", *, type_: str = "post", activity_id: int = 2, area_id: int = 1,
                timestamp: int = T0 - 60, citizen: str = CITIZEN, **extra: Any) -> bytes:
    fields: dict[str, Any] = {
        "event_id": event_id, "type": type_, "citizen": citizen, "area_id": area_id,
        "activity_id": activity_id, "timestamp": timestamp, "evidence_url": f"https://social.example/{event_id}",
    }
    fields.update(extra)
    return json.dumps(fields).encode()


def headers_for(source: Source, body: bytes, ts: int = T0) -> dict[str, str]:
    return sign_headers(source, body, ts)


def domain_of(suite: Any) -> dict[str, Any]:
    """``checkin_body`` keyword arguments binding the device signature to a deployed suite's chain and hub."""
    return {"chain_id": int(suite.w3.eth.chain_id), "hub": suite.hub.address}
