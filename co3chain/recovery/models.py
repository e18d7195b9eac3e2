"""Request and response bodies of the lost-key recovery API (shared by the server and the SDK).

Conventions as in :mod:`co3chain.api.models`: numbers above 2^53 are decimal strings, addresses checksummed,
timestamps Unix seconds.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from co3chain.api.models import Address, Model, Signature, Uint256

StatusName = Literal["None", "Pending", "Cancelled", "Finalized", "Expired"]
STATUS_NAMES: tuple[StatusName, ...] = ("None", "Pending", "Cancelled", "Finalized", "Expired")
CancellerName = Literal["OldKey", "OldKeySignature", "Guardian", "Registrar"]
CANCELLER_NAMES: tuple[CancellerName, ...] = ("OldKey", "OldKeySignature", "Guardian", "Registrar")


class RecoveryInitiate(Model):
    oldAccount: Address = Field(description="the citizen's lost key (a registered, non-revoked citizen)")
    newAccount: Address = Field(description="the citizen's new key (never registered)")


class RecoveryCancelRelay(Model):
    """The old key's EIP-712 ``CancelRecovery`` signature (domain "CO3 KeyRecovery", "1"); the relayer pays."""

    nonce: Uint256 = Field(description="KeyRecovery.nonces(oldAccount) when signing")
    deadline: Uint256 = Field(description="unix seconds after which the signature is refused")
    signature: Signature


class Recovery(Model):
    recoveryId: int
    oldAccount: Address
    newAccount: Address
    registrar: Address
    initiatedAt: int
    executableAt: int = Field(description="earliest time anyone may finalize")
    finalizableUntil: int = Field(description="after this time a pending request expires")
    status: StatusName
    cancelNonce: Uint256 = Field(description="current nonce of the old key for a CancelRecovery signature")
    secondsUntilExecutable: int = Field(description="0 once the delay has passed")


class RecoveryEvent(Model):
    recoveryId: int
    event: Literal["initiated", "cancelled", "finalized"]
    oldAccount: Address
    newAccount: Address | None = None
    by: Address | None = Field(None, description="registrar (initiated) or canceller (cancelled)")
    canceller: CancellerName | None = None
    executableAt: int | None = None
    tokens: Uint256 | None = None
    reputation: Uint256 | None = None
    areaDomains: int | None = None
    block: int
    txHash: str


class RecoveryList(Model):
    items: list[RecoveryEvent]


class RecoverySettings(Model):
    contract: Address
    delaySeconds: int
    minDelaySeconds: int
    maxDelaySeconds: int
    finalizeWindowSeconds: int
    recoveryCount: int


class CancelTypedData(Model):
    """The EIP-712 message the old key signs (``eth_signTypedData_v4``) to cancel a recovery."""

    typedData: dict[str, Any]
