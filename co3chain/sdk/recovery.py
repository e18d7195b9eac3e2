"""Lost-key recovery methods of the Python SDK: ``RecoveryClient(client)`` around a :class:`Client`.

``cancel`` signs the EIP-712 ``CancelRecovery`` with the old key locally (the API never sees it) for the
deployment's chain id and KeyRecovery address and the request's current nonce, then posts it to
``/v1/recoveries/{id}/cancel`` — the citizen pays no gas.
"""

from __future__ import annotations

import time
from typing import Any

from co3chain.api import models as m
from co3chain.api.routes.operations import CouncilCall
from co3chain.recovery import models as rm
from co3chain.recovery.typed_data import cancel_typed_data, sign_cancel
from co3chain.sdk.client import Client

#: Default lifetime of a cancel signature.
CANCEL_SIGNATURE_TTL = 3600


class RecoveryClient:
    """``RecoveryClient(Client(url, api_key=...))``: initiate, cancel, finalize and follow key recoveries."""

    def __init__(self, client: Client) -> None:
        self.client = client

    # ------------------------------------------------------------------ reads
    def settings(self) -> rm.RecoverySettings:
        return self.client._get("/v1/recovery/settings", rm.RecoverySettings)

    def status(self, recovery_id: int) -> rm.Recovery:
        return self.client._get(f"/v1/recoveries/{recovery_id}", rm.Recovery)

    def history(self, account: str | None = None, limit: int = 100) -> rm.RecoveryList:
        return self.client._get("/v1/recoveries", rm.RecoveryList, account=account, limit=limit)

    # ------------------------------------------------------------------ registrar (API key)
    def initiate(self, old_account: str, new_account: str) -> m.TxAccepted:
        body = rm.RecoveryInitiate(oldAccount=old_account, newAccount=new_account)
        return self.client._post("/v1/recoveries", body, m.TxAccepted)

    # ------------------------------------------------------------------ the old key (signed locally)
    def sign_cancel(self, old_key: Any, recovery_id: int, *, deadline: int | None = None,
                    nonce: int | None = None) -> rm.RecoveryCancelRelay:
        """The relay body cancelling ``recovery_id``, signed by ``old_key`` (a LocalAccount or private key)."""
        key = getattr(old_key, "key", old_key)
        rec = self.status(recovery_id)
        chain_id, address = self.client._chain("KeyRecovery")
        nonce = int(rec.cancelNonce) if nonce is None else nonce
        # The chain clock may run ahead of this machine's (test chains): never sign an already-passed deadline.
        deadline = max(int(time.time()), rec.initiatedAt) + CANCEL_SIGNATURE_TTL if deadline is None else deadline
        typed = cancel_typed_data(chain_id, address, recovery_id=recovery_id, old_account=rec.oldAccount,
                                  nonce=nonce, deadline=deadline)
        return rm.RecoveryCancelRelay(nonce=str(nonce), deadline=str(deadline),
                                      signature="0x" + sign_cancel(key, typed).hex())

    def relay_cancel(self, recovery_id: int, body: rm.RecoveryCancelRelay) -> m.TxAccepted:
        return self.client._post(f"/v1/recoveries/{recovery_id}/cancel", body, m.TxAccepted)

    def cancel(self, old_key: Any, recovery_id: int, *, deadline: int | None = None) -> m.TxAccepted:
        """Sign with the old key and relay: the recovery stops, nothing moves."""
        return self.relay_cancel(recovery_id, self.sign_cancel(old_key, recovery_id, deadline=deadline))

    # ------------------------------------------------------------------ anyone
    def finalize(self, recovery_id: int) -> m.TxAccepted:
        return self.client._post(f"/v1/recoveries/{recovery_id}/finalize", {}, m.TxAccepted)

    def council_cancel_call(self, recovery_id: int) -> CouncilCall:
        """The council motion (guardian) cancelling ``recovery_id``; submit it through the council."""
        return self.client._post(f"/v1/recoveries/{recovery_id}/council-call", {}, CouncilCall)
