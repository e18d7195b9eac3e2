"""Webhook payloads from the two source families, and the deterministic ids derived from them.

Why ids are derived, not issued: the attestation id must be the same in every operator process and after any
restart, so that ``AttestationHub.isUsed(id)`` recognises an event that was already rewarded.  It is
``keccak256(abi.encode("co3chain.oracle.v1", source, eventId))`` — unambiguous for any source/event strings.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Annotated, Any, Literal

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_hex_address, keccak, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from co3chain.errors import Co3Error
from co3chain.oracle.device import (
    LEGACY_CHECKIN_MESSAGE,
    DeviceProof,
    checkin_message,
    social_message,
    type_string,
)

ID_DOMAIN = "co3chain.oracle.v1"
SALT_BYTES = 32


class ActivityKind(IntEnum):
    """``CommoningAreas`` activity kinds (the ``kind`` field of the on-chain attestation)."""

    AR_CHECKIN = 0
    SOCIAL_POST = 1
    INITIATIVE_JOINED = 2
    EVENT_ATTENDED = 3


SOCIAL_KINDS: dict[str, ActivityKind] = {
    "post": ActivityKind.SOCIAL_POST,
    "initiative_joined": ActivityKind.INITIATIVE_JOINED,
    "event_attended": ActivityKind.EVENT_ATTENDED,
}


class PayloadError(Co3Error):
    """A webhook body is not a well-formed event of the expected family."""


def _address(value: str) -> str:
    if not isinstance(value, str) or not is_hex_address(value):
        raise ValueError("must be a 20-byte hex address")
    return to_checksum_address(value)


EventId = Annotated[str, Field(min_length=1, max_length=200)]
Timestamp = Annotated[int, Field(ge=0, lt=2**64)]
PositiveId = Annotated[int, Field(ge=1, lt=2**256)]


class LegacyCheckIn(BaseModel):
    """The retired v1 check-in (floats, ``personal_sign`` over text): parsed only for rows queued before the
    upgrade, so nothing already accepted is lost; new webhooks in this format are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: EventId
    citizen: str
    area_id: PositiveId
    activity_id: PositiveId
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
    accuracy_m: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    timestamp: Timestamp
    device_signature: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$")]

    _check_citizen = field_validator("citizen")(classmethod(lambda cls, v: _address(v)))

    def device_signer(self) -> str:
        text = "\n".join(["co3chain check-in v1", self.event_id, str(self.area_id), str(self.activity_id),
                          repr(float(self.lat)), repr(float(self.lon)), repr(float(self.accuracy_m)),
                          str(self.timestamp)])
        try:
            return Account.recover_message(encode_defunct(text=text), signature=bytes.fromhex(self.device_signature[2:]))
        except Exception as exc:  # eth-account raises several types for malformed signatures
            raise PayloadError(f"device signature is not recoverable: {exc}") from exc


LatE6 = Annotated[int, Field(ge=-90_000_000, le=90_000_000)]
LonE6 = Annotated[int, Field(ge=-180_000_000, le=180_000_000)]
AccuracyMm = Annotated[int, Field(ge=0, lt=2**32)]
TimestampMs = Annotated[int, Field(ge=0, lt=2**63)]
Signature = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$")]


class DeviceSigned(BaseModel):
    """Optional echo of what the device signed, so a mismatch names its first differing field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: dict[str, Any]
    message: dict[str, Any]


class CheckIn(BaseModel):
    """An AR-app check-in: the citizen's device was at (lat, lon) ± accuracy at ``timestamp_ms``.

    Integers in fixed units (microdegrees, millimetres, milliseconds) so every language signs the same bytes.
    ``device_signature`` is the citizen's own EIP-712 signature over ``CheckIn`` (:mod:`co3chain.oracle.device`),
    so a compromised AR backend cannot check in citizens who were not there.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: EventId
    citizen: str
    area_id: PositiveId
    activity_id: PositiveId
    lat_e6: LatE6
    lon_e6: LonE6
    accuracy_mm: AccuracyMm
    timestamp_ms: TimestampMs
    device_signature: Signature
    device_signed: DeviceSigned | None = None

    _check_citizen = field_validator("citizen")(classmethod(lambda cls, v: _address(v)))

    def device_proof(self) -> DeviceProof:
        msg = checkin_message(event_id=self.event_id, citizen=self.citizen, area_id=self.area_id,
                              activity_id=self.activity_id, lat_e6=self.lat_e6, lon_e6=self.lon_e6,
                              accuracy_mm=self.accuracy_mm, timestamp_ms=self.timestamp_ms)
        echo = self.device_signed.model_dump() if self.device_signed else None
        return DeviceProof("CheckIn", msg, self.device_signature, echo)


class SocialEvent(BaseModel):
    """A geolocated social-network event: a post, an initiative joined or an event attended.

    Location and time come either as the historical ``lat``/``lon``/``accuracy_m``/``timestamp`` or as the
    integer ``lat_e6``/``lon_e6``/``accuracy_mm``/``timestamp_ms``; a contribution carrying the citizen's
    ``device_signature`` (EIP-712 ``SocialContribution``) must use the integer forms, which are what is signed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: EventId
    type: Literal["post", "initiative_joined", "event_attended"]
    citizen: str
    area_id: PositiveId
    activity_id: PositiveId
    timestamp: Timestamp | None = None
    timestamp_ms: TimestampMs | None = None
    evidence_url: Annotated[str, Field(min_length=1, max_length=2000)]
    evidence_hash: Annotated[str | None, Field(pattern=r"^0x[0-9a-fA-F]{64}$")] = None
    lat: Annotated[float | None, Field(ge=-90, le=90, allow_inf_nan=False)] = None
    lon: Annotated[float | None, Field(ge=-180, le=180, allow_inf_nan=False)] = None
    accuracy_m: Annotated[float | None, Field(ge=0, allow_inf_nan=False)] = None
    lat_e6: LatE6 | None = None
    lon_e6: LonE6 | None = None
    accuracy_mm: AccuracyMm | None = None
    device_signature: Signature | None = None
    device_signed: DeviceSigned | None = None

    _check_citizen = field_validator("citizen")(classmethod(lambda cls, v: _address(v)))

    def check_forms(self) -> None:
        """One form per quantity; the integer forms when a device signature is present."""
        pairs = (("timestamp", "timestamp_ms"), ("lat", "lat_e6"), ("lon", "lon_e6"), ("accuracy_m", "accuracy_mm"))
        for old, new in pairs:
            if getattr(self, old) is not None and getattr(self, new) is not None:
                raise PayloadError(f"give {old} or {new}, not both")
            if self.device_signature is not None and getattr(self, old) is not None:
                raise PayloadError(f"a device-signed contribution carries {new} (integer), not {old}: the "
                                   f"citizen signs EIP-712 {type_string('SocialContribution')}")
        if self.timestamp is None and self.timestamp_ms is None:
            raise PayloadError("timestamp_ms (or timestamp) is required")
        if (self.lat_e6 is None) != (self.lon_e6 is None):
            raise PayloadError("lat_e6 and lon_e6 must be given together")

    def observed_at(self) -> int:
        return self.timestamp if self.timestamp is not None else (self.timestamp_ms or 0) // 1000

    def location(self) -> tuple[float | None, float | None, float | None]:
        if self.lat_e6 is not None and self.lon_e6 is not None:
            acc = None if self.accuracy_mm is None else self.accuracy_mm / 1000
            return self.lat_e6 / 1e6, self.lon_e6 / 1e6, acc
        return self.lat, self.lon, self.accuracy_m

    def device_proof(self, evidence: bytes) -> DeviceProof | None:
        if self.device_signature is None:
            return None
        msg = social_message(event_id=self.event_id, citizen=self.citizen, kind=self.type, area_id=self.area_id,
                             activity_id=self.activity_id, timestamp_ms=self.timestamp_ms or 0,
                             evidence_hash=evidence, lat_e6=self.lat_e6, lon_e6=self.lon_e6,
                             accuracy_mm=self.accuracy_mm)
        echo = self.device_signed.model_dump() if self.device_signed else None
        return DeviceProof("SocialContribution", msg, self.device_signature, echo)


SourceKind = Literal["ar", "social"]


@dataclass(frozen=True)
class OracleEvent:
    """A parsed, source-independent view of an event: what validation and signing work on."""

    source: str
    source_kind: SourceKind
    event_id: str
    citizen: str
    area_id: int
    activity_id: int
    kind: ActivityKind
    observed_at: int
    evidence_hash: bytes  # the on-chain commitment: salted_commitment(salt, digest), or the digest if unsalted
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    device_signature_ok: bool | None  # None: the source family carries no device signature
    evidence_digest: bytes = b""  # keccak256 of the off-chain evidence (dedup key); never goes on chain
    evidence_salt: bytes | None = None  # per-event random salt kept off-chain; None for legacy unsalted rows
    device: DeviceProof | None = None  # EIP-712 device signature, checked by validation against the hub's domain

    @property
    def attestation_id(self) -> bytes:
        """Deterministic attestation id for (source, event id)."""
        return attestation_id(self.source, self.event_id)

    def with_salt(self, salt: bytes | None) -> OracleEvent:
        """This event committed under ``salt`` (``None``: the legacy unsalted commitment, the digest itself)."""
        if salt is None:
            return replace(self, evidence_salt=None, evidence_hash=self.evidence_digest)
        return replace(self, evidence_salt=salt, evidence_hash=salted_commitment(salt, self.evidence_digest))


def new_salt() -> bytes:
    """A fresh evidence salt from the OS CSPRNG (256 bits: the commitment cannot be brute-forced from the URL)."""
    return os.urandom(SALT_BYTES)


def salted_commitment(salt: bytes, evidence_digest: bytes) -> bytes:
    """``keccak256(salt ‖ evidence_digest)``: the evidence hash that goes on chain.

    Why salted: an unsalted ``keccak256(url)`` lets anyone who sees the post link it to the citizen's address
    forever.  With a secret random salt the commitment still binds the oracle to the evidence (disputes can be
    settled by revealing salt and evidence), and erasing the salt makes the public record unlinkable.
    """
    if len(salt) != SALT_BYTES or len(evidence_digest) != 32:
        raise PayloadError("evidence salt and digest must be 32 bytes each")
    return keccak(salt + evidence_digest)


def parse_salt(value: str | None) -> bytes | None:
    """A ``0x``-prefixed 32-byte hex salt (as forwarded to co-signers), or None when absent."""
    if value is None:
        return None
    text = value.strip()
    try:
        salt = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        salt = b""
    if len(salt) != SALT_BYTES or not text.startswith("0x"):
        raise PayloadError("evidence salt must be 0x followed by 64 hex digits")
    return salt


def attestation_id(source: str, event_id: str) -> bytes:
    """``keccak256(abi.encode("co3chain.oracle.v1", source, eventId))``."""
    return keccak(abi_encode(["string", "string", "string"], [ID_DOMAIN, source, event_id]))


def _model_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"]) or "body"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def parse_event(source: str, source_kind: SourceKind, raw_body: bytes, salt: bytes | None = None, *,
                allow_legacy: bool = False) -> OracleEvent:
    """Parse the raw webhook body of a source into an :class:`OracleEvent`.

    The evidence digest is ``keccak256(raw body)`` for check-ins (the signed request itself is the evidence)
    and the source-supplied ``evidence_hash`` (else ``keccak256(evidence_url)``) for social events.  The
    on-chain ``evidence_hash`` is that digest committed under ``salt`` (see :func:`salted_commitment`); without
    a salt it is the bare digest (rows queued before salting).  ``allow_legacy``: accept the retired v1
    check-in format (only for rows already in the queue; webhooks in that format are refused).
    """
    return _parse_unsalted(source, source_kind, raw_body, allow_legacy).with_salt(salt)


def _is_legacy_checkin(data: Any) -> bool:
    return isinstance(data, dict) and any(k in data for k in ("lat", "lon", "accuracy_m", "timestamp"))


def _parse_unsalted(source: str, source_kind: SourceKind, raw_body: bytes, allow_legacy: bool) -> OracleEvent:
    try:
        data = json.loads(raw_body)
    except ValueError as exc:
        raise PayloadError(f"body is not JSON: {exc}") from exc
    try:
        if source_kind == "ar":
            if _is_legacy_checkin(data):
                if not allow_legacy:
                    raise PayloadError(LEGACY_CHECKIN_MESSAGE)
                old = LegacyCheckIn.model_validate_json(raw_body)
                try:
                    ok = old.device_signer() == old.citizen
                except PayloadError:
                    ok = False
                return OracleEvent(source, source_kind, old.event_id, old.citizen, old.area_id, old.activity_id,
                                   ActivityKind.AR_CHECKIN, old.timestamp, b"", old.lat, old.lon,
                                   old.accuracy_m, ok, evidence_digest=keccak(raw_body))
            ci = CheckIn.model_validate_json(raw_body)
            return OracleEvent(source, source_kind, ci.event_id, ci.citizen, ci.area_id, ci.activity_id,
                               ActivityKind.AR_CHECKIN, ci.timestamp_ms // 1000, b"", ci.lat_e6 / 1e6,
                               ci.lon_e6 / 1e6, ci.accuracy_mm / 1000, None, evidence_digest=keccak(raw_body),
                               device=ci.device_proof())
        if source_kind == "social":
            se = SocialEvent.model_validate_json(raw_body)
            se.check_forms()
            lat, lon, accuracy = se.location()
            if (lat is None) != (lon is None):
                raise PayloadError("lat and lon must be given together")
            evidence = (bytes.fromhex(se.evidence_hash[2:]) if se.evidence_hash
                        else keccak(se.evidence_url.encode("utf-8")))
            return OracleEvent(source, source_kind, se.event_id, se.citizen, se.area_id, se.activity_id,
                               SOCIAL_KINDS[se.type], se.observed_at(), b"", lat, lon, accuracy,
                               None, evidence_digest=evidence, device=se.device_proof(evidence))
    except ValidationError as exc:
        raise PayloadError(_model_error(exc)) from exc
    raise PayloadError(f"unknown source kind {source_kind!r}")
