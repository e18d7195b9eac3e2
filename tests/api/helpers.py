"""Chain-side helpers for API tests: admin transactions and oracle-signed rewards, outside the API."""

from __future__ import annotations

from typing import Any

from eth_utils import keccak

from co3chain.contracts.deploy import TxSender
from co3chain.contracts.typed_data import attestation_tuple, sign_attestation_multi

PARK = {
    "type": "Polygon",
    "coordinates": [[[9.18, 45.46], [9.19, 45.46], [9.19, 45.47], [9.18, 45.47], [9.18, 45.46]]],
}


def admin_call(world: Any, account: Any, contract: str, fn: str, *args: Any) -> Any:
    """Send ``contract.fn(*args)`` from ``account`` directly (not through the API) and wait for it."""
    return TxSender(world.w3, account).call_fn(world.contract(contract), fn, list(args), fn)


def reward(world: Any, account: Any, oracle_keys: list[bytes], subject: str, activity_id: int, n: int = 0) -> str:
    """Submit an oracle-signed attestation (2 of 3 signers) for ``subject``; returns the attestation id."""
    hub = world.contract("AttestationHub")
    now = world.now()
    activity = world.contract("CommoningAreas").functions.getActivity(activity_id).call()
    attestation = {
        "id": keccak(text=f"attestation {subject} {activity_id} {n}"),
        "subject": subject, "activityId": activity_id, "kind": 0,
        "evidenceHash": keccak(text=f"evidence {n}"), "observedAt": now, "expiresAt": now + 3600,
        "tokenReward": int(activity[3]), "reputationReward": int(activity[4]),  # the rule the oracles sign
        "signerSetVersion": int(hub.functions.signerSetVersion().call()),
    }
    sigs = sign_attestation_multi(oracle_keys[:2], world.state.chain.chain_id, hub.address, attestation)
    admin_call(world, account, "AttestationHub", "submit", attestation_tuple(attestation), sigs)
    return "0x" + attestation["id"].hex()
