"""Transaction sending for one account (the relayer, or a PA's officer account) under concurrency.

Why a local nonce counter behind a lock: many relay requests arrive at once; asking the node for the
pending nonce per request races (two requests get the same nonce, one is dropped). The counter is
resynchronised from the node whenever a send fails, so a restart, a dropped transaction or another
process using the same key heals on the next request instead of wedging the relayer.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from eth_utils import to_checksum_address

from co3chain.api.chain import ChainContext, Reverted
from co3chain.api.errors import ApiError
from co3chain.contracts.deploy import fee_fields
from co3chain.contracts.estimate import PendingEstimates

#: Substrings of node errors that mean our nonce counter is stale (geth/anvil/besu/eth-tester wordings).
_NONCE_ERRORS = ("nonce", "already known", "replacement transaction underpriced", "known transaction")


class TxSender:
    """Signs and broadcasts transactions from ``account`` (an eth-account ``LocalAccount``)."""

    def __init__(self, chain: ChainContext, account: Any, *, gas_margin: float = 1.25) -> None:
        self.chain = chain
        self.account = account
        self.address = to_checksum_address(account.address)
        self.gas_margin = gas_margin
        self._lock = threading.Lock()
        self._nonce: int | None = None
        self._estimates = PendingEstimates()

    def preflight(self, fn: Any) -> int:
        """eth_call then gas estimate of ``fn`` from this account; raises :class:`Reverted` with the contract's
        custom error if it would revert. Returns the gas limit to use.

        The estimate is made on the *pending* block (:mod:`co3chain.contracts.estimate` says why): on the
        head's, a revocation sent right after a registration ran out of gas."""
        self.chain.call(fn, sender=self.address)
        try:
            estimate = int(self._estimate(fn))
        except Exception as exc:
            raise self.chain.translate(exc) from None
        return int(estimate * self.gas_margin) + 10_000

    def _estimate(self, fn: Any) -> int:
        return self._estimates(lambda block: fn.estimate_gas({"from": self.address}, block_identifier=block))

    def send_fn(self, fn: Any) -> str:
        """Pre-flight and send ``fn`` (a bound contract function); returns the transaction hash."""
        gas = self.preflight(fn)
        return self.send({"to": fn.address, "data": fn._encode_transaction_data(), "gas": gas})

    def _sync_nonce(self) -> int:
        return int(self.chain.w3.eth.get_transaction_count(self.address, "pending"))

    def send(self, tx: Mapping[str, Any]) -> str:
        """Sign ``tx`` with the next nonce and broadcast it; retries once after a nonce resync."""
        for attempt in (1, 2):
            with self._lock:
                try:
                    if self._nonce is None:
                        self._nonce = self._sync_nonce()
                    full = {"value": 0, **tx, **fee_fields(self.chain.w3), "chainId": self.chain.chain_id,
                            "nonce": self._nonce}
                    signed = self.account.sign_transaction(full)
                    raw = getattr(signed, "raw_transaction", None) or signed.rawTransaction
                    tx_hash = self.chain.w3.eth.send_raw_transaction(raw)
                except Exception as exc:
                    self._nonce = None  # resynchronise on the next attempt
                    translated = self.chain.translate(exc)
                    if isinstance(translated, Reverted):
                        raise translated from None
                    text = str(exc).lower()
                    if attempt == 1 and any(k in text for k in _NONCE_ERRORS):
                        continue
                    if isinstance(translated, ApiError) and translated.status == 503:
                        raise translated from None
                    raise ApiError(502, "relay_failed", f"the node rejected the transaction: {exc}") from None
                self._nonce += 1
                return "0x" + bytes(tx_hash).hex()
        raise ApiError(502, "relay_failed", "could not find a usable nonce for the relayer")  # pragma: no cover
