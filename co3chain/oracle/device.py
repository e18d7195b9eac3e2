"""Device signatures: the citizen's own key vouches for a check-in or a social contribution (EIP-712).

Why EIP-712 with integers: the first format signed a text with Python's float formatting (``12.0``), which
JavaScript writes as ``12``, so a check-in signed in a browser or a phone app never verified. Typed data with
integers in fixed units — microdegrees (``latE6``/``lonE6``), millimetres (``accuracyMm``), milliseconds
(``timestampMs``) — has one encoding in every language, and every wallet library can sign it
(ethers ``signTypedData``, viem ``signTypedData``, eth-account ``sign_typed_data``).

Why the domain names the chain and the ``AttestationHub``: a device signature made for one network (or a
test deployment) must not be replayable on another. The domain is
``{name: "CO3 Device", version: "1", chainId, verifyingContract: AttestationHub}`` and is published by the
API at ``GET /v1/meta``.

Why an optional echo (``device_signed``): a signature only says "this does not match"; when the source also
forwards the message the device says it signed, the oracle names the first field that differs (domain first,
then the message fields in type order), which is what a developer needs to fix the app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_address, to_checksum_address

from co3chain.contracts.typed_data import EIP712_DOMAIN_TYPE

DEVICE_DOMAIN_NAME = "CO3 Device"
DEVICE_DOMAIN_VERSION = "1"

CHECKIN_TYPE = [
    {"name": "eventId", "type": "string"},
    {"name": "citizen", "type": "address"},
    {"name": "areaId", "type": "uint256"},
    {"name": "activityId", "type": "uint256"},
    {"name": "latE6", "type": "int64"},
    {"name": "lonE6", "type": "int64"},
    {"name": "accuracyMm", "type": "uint32"},
    {"name": "timestampMs", "type": "uint64"},
]

SOCIAL_TYPE = [
    {"name": "eventId", "type": "string"},
    {"name": "citizen", "type": "address"},
    {"name": "kind", "type": "string"},
    {"name": "areaId", "type": "uint256"},
    {"name": "activityId", "type": "uint256"},
    {"name": "timestampMs", "type": "uint64"},
    {"name": "evidenceHash", "type": "bytes32"},
    {"name": "hasLocation", "type": "bool"},
    {"name": "latE6", "type": "int64"},
    {"name": "lonE6", "type": "int64"},
    {"name": "accuracyMm", "type": "uint32"},
]

PRIMARY_TYPES: dict[str, list[dict[str, str]]] = {"CheckIn": CHECKIN_TYPE, "SocialContribution": SOCIAL_TYPE}


def type_string(primary: str) -> str:
    """``CheckIn(string eventId,address citizen,...)`` — what error messages and docs quote."""
    fields = ",".join(f"{f['type']} {f['name']}" for f in PRIMARY_TYPES[primary])
    return f"{primary}({fields})"


def device_domain(chain_id: int, hub_address: str) -> dict[str, Any]:
    """The EIP-712 domain of device signatures on this chain (bound to the ``AttestationHub``)."""
    return {"name": DEVICE_DOMAIN_NAME, "version": DEVICE_DOMAIN_VERSION, "chainId": int(chain_id),
            "verifyingContract": to_checksum_address(hub_address)}


def typed_data(primary: str, domain: Mapping[str, Any], message: Mapping[str, Any]) -> dict[str, Any]:
    """The full EIP-712 document (``types``, ``primaryType``, ``domain``, ``message``)."""
    return {"types": {"EIP712Domain": EIP712_DOMAIN_TYPE, primary: PRIMARY_TYPES[primary]},
            "primaryType": primary, "domain": dict(domain), "message": dict(message)}


def sign_device(private_key: bytes | str, primary: str, domain: Mapping[str, Any],
                message: Mapping[str, Any]) -> str:
    """``0x``-hex 65-byte signature of the device key over ``message`` (what apps do in their own language)."""
    signed = Account.sign_typed_data(private_key, full_message=typed_data(primary, domain, message))
    return "0x" + bytes(signed.signature).hex()


def recover_device(primary: str, domain: Mapping[str, Any], message: Mapping[str, Any], signature: str) -> str:
    """Checksummed address that signed ``message``; raises ``ValueError`` when the signature is malformed."""
    signable = encode_typed_data(full_message=typed_data(primary, domain, message))
    try:
        return Account.recover_message(signable, signature=bytes.fromhex(signature.removeprefix("0x")))
    except Exception as exc:  # eth-account raises several types for malformed signatures
        raise ValueError(f"device signature is not recoverable: {exc}") from exc


@dataclass(frozen=True)
class DeviceProof:
    """What the oracle checks: the message rebuilt from the event, the signature, and the optional echo."""

    primary: str
    message: dict[str, Any]
    signature: str
    signed_echo: dict[str, Any] | None = None  # {"domain": {...}, "message": {...}} as the device signed it

    def problem(self, chain_id: int, hub_address: str, citizen: str) -> str | None:
        """``None`` when the citizen signed exactly this event on this chain, else a reason naming the field."""
        domain = device_domain(chain_id, hub_address)
        try:
            signer = recover_device(self.primary, domain, self.message, self.signature)
        except ValueError as exc:
            return str(exc)
        if signer == to_checksum_address(citizen):
            return None
        if self.signed_echo is not None:
            diff = first_difference(self.primary, domain, self.message, self.signed_echo)
            if diff is not None:
                return f"device signature does not match: {diff}"
            return (f"device signature does not match: it was made by {signer}, not by the citizen {citizen} "
                    "(every field equals what the device says it signed)")
        return (f"device signature does not match: it recovers to {signer}, not the citizen {citizen}. "
                f"The device must sign EIP-712 {type_string(self.primary)} with message {_show(self.message)} "
                f"in domain {_show(domain)}; send device_signed={{domain, message}} to have the first "
                "differing field named")


def _canon(typ: str, value: Any) -> Any:
    """A value in a comparable form (ints from decimal strings, checksummed addresses, lowercase hex)."""
    try:
        if typ.startswith(("uint", "int")):
            return int(value, 0) if isinstance(value, str) else int(value)
        if typ == "address":
            return to_checksum_address(value) if isinstance(value, str) and is_address(value) else value
        if typ == "bytes32":
            return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()
        if typ == "bool":
            return bool(value) if isinstance(value, bool) else value
    except (TypeError, ValueError):
        return value
    return value


def first_difference(primary: str, domain: Mapping[str, Any], message: Mapping[str, Any],
                     echo: Mapping[str, Any]) -> str | None:
    """The first field (domain, then message, in type order) where ``echo`` differs from what is expected."""
    echo_domain = echo.get("domain") or {}
    echo_message = echo.get("message") or {}
    for field in EIP712_DOMAIN_TYPE:
        name = field["name"]
        want, got = _canon(field["type"], domain[name]), _canon(field["type"], echo_domain.get(name))
        if want != got:
            return f"domain.{name} is {got!r} in the signed data, the oracle expects {want!r}"
    for field in PRIMARY_TYPES[primary]:
        name = field["name"]
        want, got = _canon(field["type"], message[name]), _canon(field["type"], echo_message.get(name))
        if want != got:
            return f"{name} is {got!r} in the signed data, the event has {want!r}"
    return None


def _show(value: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {'0x' + v.hex() if isinstance(v, bytes) else v!r}" for k, v in value.items()) + "}"


def checkin_message(*, event_id: str, citizen: str, area_id: int, activity_id: int, lat_e6: int, lon_e6: int,
                    accuracy_mm: int, timestamp_ms: int) -> dict[str, Any]:
    """The ``CheckIn`` message of a check-in webhook body (field names as in the typed data)."""
    return {"eventId": event_id, "citizen": to_checksum_address(citizen), "areaId": area_id,
            "activityId": activity_id, "latE6": lat_e6, "lonE6": lon_e6, "accuracyMm": accuracy_mm,
            "timestampMs": timestamp_ms}


def social_message(*, event_id: str, citizen: str, kind: str, area_id: int, activity_id: int, timestamp_ms: int,
                   evidence_hash: bytes, lat_e6: int | None, lon_e6: int | None,
                   accuracy_mm: int | None) -> dict[str, Any]:
    """The ``SocialContribution`` message (no location: ``hasLocation`` false and zeros)."""
    has = lat_e6 is not None and lon_e6 is not None
    return {"eventId": event_id, "citizen": to_checksum_address(citizen), "kind": kind, "areaId": area_id,
            "activityId": activity_id, "timestampMs": timestamp_ms, "evidenceHash": "0x" + evidence_hash.hex(),
            "hasLocation": has, "latE6": lat_e6 if has else 0, "lonE6": lon_e6 if has else 0,
            "accuracyMm": accuracy_mm or 0}


def checkin_fields_signature(private_key: bytes | str, chain_id: int, hub_address: str,
                             body: Mapping[str, Any]) -> str:
    """``device_signature`` for a check-in webhook body dict (snake_case fields): the Python device helper."""
    msg = checkin_message(event_id=body["event_id"], citizen=body["citizen"], area_id=body["area_id"],
                          activity_id=body["activity_id"], lat_e6=body["lat_e6"], lon_e6=body["lon_e6"],
                          accuracy_mm=body["accuracy_mm"], timestamp_ms=body["timestamp_ms"])
    return sign_device(private_key, "CheckIn", device_domain(chain_id, hub_address), msg)


LEGACY_CHECKIN_MESSAGE = (
    "the v1 check-in format (float lat/lon/accuracy_m, seconds timestamp, personal_sign over text) is no longer "
    "accepted: send lat_e6, lon_e6 (microdegrees), accuracy_mm (millimetres) and timestamp_ms (milliseconds) as "
    f"integers, and device_signature = EIP-712 signature by the citizen's key over {type_string('CheckIn')} in "
    f"domain {{name: {DEVICE_DOMAIN_NAME!r}, version: {DEVICE_DOMAIN_VERSION!r}, chainId, verifyingContract: "
    "the AttestationHub address} (GET /v1/meta lists the domain)")
