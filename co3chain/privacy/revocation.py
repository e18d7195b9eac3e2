"""Revocation reason codes of ``CitizenRegistry.revoke`` (the on-chain event carries only the code).

Why codes and why so few: a revocation is public and permanent; free text about a person ("moved to X",
"fraud") would be personal data that can never be erased.  The codes say only what readers of the chain need
(is the key compromised? was it a registration error?); sensitive causes are recorded as UNSPECIFIED on
purpose and detailed in the registrar's off-chain file.  Keep in step with ``ICitizenRegistry.revoke``.
"""

from __future__ import annotations

from enum import IntEnum


class RevocationReason(IntEnum):
    """``reasonCode`` of ``CitizenRegistry.revoke`` / ``CitizenRevoked``."""

    UNSPECIFIED = 0
    KEY_COMPROMISED = 1
    ELIGIBILITY_ENDED = 2
    CITIZEN_REQUEST = 3
    REGISTRATION_ERROR = 4


MAX_REVOCATION_REASON = max(RevocationReason)
