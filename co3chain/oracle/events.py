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


class CheckIn(BaseModel):
    """An AR-app check-in: the citizen's device was at (lat, lon) ± accuracy metres at ``timestamp``.

    ``device_signature`` is an EIP-191 ``personal_sign`` by the citizen's own key over
    :meth:`device_message`, so a compromised AR backend cannot check in citizens who were not there.
    """

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

    def device_message(self) -> str:
        """The text the citizen's device signs (one field per line, fixed order)."""
        return device_message(self.event_id, self.area_id, self.activity_id, self.lat, self.lon,
                              self.accuracy_m, self.timestamp)

    def device_signer(self) -> str:
        """Address recovered from ``device_signature``; raises :class:`PayloadError` when unrecoverable."""
        try:
            return Account.recover_message(encode_defunct(text=self.device_message()),
                                           signature=bytes.fromhex(self.device_signature[2:]))
        except Exception as exc:  # eth-account raises several types for malformed signatures
            raise PayloadError(f"device signature is not recoverable: {exc}") from exc


def device_message(event_id: str, area_id: int, activity_id: int, lat: float, lon: float,
                   accuracy_m: float, timestamp: int) -> str:
    """Canonical check-in text signed by the device (floats as ``repr`` so they round-trip exactly)."""
    return "\n".join(["co3chain check-in v1", event_id, str(area_id), str(activity_id), repr(float(lat)),
                      repr(float(lon)), repr(float(accuracy_m)), str(timestamp)])


def sign_checkin(private_key: bytes | str, fields: dict[str, Any]) -> str:
    """Device-side helper (used by SDKs and tests): the ``device_signature`` for a check-in dict."""
    msg = device_message(fields["event_id"], fields["area_id"], fields["activity_id"], fields["lat"],
                         fields["lon"], fields["accuracy_m"], fields["timestamp"])
    signed = Account.sign_message(encode_defunct(text=msg), private_key=private_key)
    return "0x" + bytes(signed.signature).hex()


class SocialEvent(BaseModel):
    """A geolocated social-network event: a post, an initiative joined or an event attended."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: EventId
    type: Literal["post", "initiative_joined", "event_attended"]
    citizen: str
    area_id: PositiveId
    activity_id: PositiveId
    timestamp: Timestamp
    evidence_url: Annotated[str, Field(min_length=1, max_length=2000)]
    evidence_hash: Annotated[str | None, Field(pattern=r"^0x[0-9a-fA-F]{64}$")] = None
    lat: Annotated[float | None, Field(ge=-90, le=90, allow_inf_nan=False)] = None
    lon: Annotated[float | None, Field(ge=-180, le=180, allow_inf_nan=False)] = None
    accuracy_m: Annotated[float | None, Field(ge=0, allow_inf_nan=False)] = None

    _check_citizen = field_validator("citizen")(classmethod(lambda cls, v: _address(v)))


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


def parse_event(source: str, source_kind: SourceKind, raw_body: bytes, salt: bytes | None = None) -> OracleEvent:
    """Parse the raw webhook body of a source into an :class:`OracleEvent`.

    The evidence digest is ``keccak256(raw body)`` for check-ins (the signed request itself is the evidence)
    and the source-supplied ``evidence_hash`` (else ``keccak256(evidence_url)``) for social events.  The
    on-chain ``evidence_hash`` is that digest committed under ``salt`` (see :func:`salted_commitment`); without
    a salt it is the bare digest (rows queued before salting).
    """
    return _parse_unsalted(source, source_kind, raw_body).with_salt(salt)


def _parse_unsalted(source: str, source_kind: SourceKind, raw_body: bytes) -> OracleEvent:
    try:
        json.loads(raw_body)
    except ValueError as exc:
        raise PayloadError(f"body is not JSON: {exc}") from exc
    try:
        if source_kind == "ar":
            ci = CheckIn.model_validate_json(raw_body)
            try:
                ok = ci.device_signer() == ci.citizen
            except PayloadError:
                ok = False
            return OracleEvent(source, source_kind, ci.event_id, ci.citizen, ci.area_id, ci.activity_id,
                               ActivityKind.AR_CHECKIN, ci.timestamp, b"", ci.lat, ci.lon,
                               ci.accuracy_m, ok, evidence_digest=keccak(raw_body))
        if source_kind == "social":
            se = SocialEvent.model_validate_json(raw_body)
            if (se.lat is None) != (se.lon is None):
                raise PayloadError("lat and lon must be given together")
            evidence = (bytes.fromhex(se.evidence_hash[2:]) if se.evidence_hash
                        else keccak(se.evidence_url.encode("utf-8")))
            return OracleEvent(source, source_kind, se.event_id, se.citizen, se.area_id, se.activity_id,
                               SOCIAL_KINDS[se.type], se.timestamp, b"", se.lat, se.lon, se.accuracy_m,
                               None, evidence_digest=evidence)
    except ValidationError as exc:
        raise PayloadError(_model_error(exc)) from exc
    raise PayloadError(f"unknown source kind {source_kind!r}")
