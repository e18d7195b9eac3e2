"""Account permissioning: which senders may have transactions admitted to the pool and included in blocks.

Two sources, one rule:

* **on-chain** (managed by the consortium): a contract with ``isAccountAllowed(address) -> bool``
  (``contracts/ConsortiumValidators.sol``: a validator's ``allowAccount(account, bool)`` is a vote, applied
  once ⌊n/2⌋+1 of the contract's validators agree — the same majority as validator changes, so one PA
  can neither admit an account nor cut off the relayer; its validators are always allowed).
  Its address comes from genesis ``config.co3chain.accountPermissioningContract`` and/or the node
  config ``[permissions] contract`` (both given: they must agree — every validator must apply the same
  rule to proposals).
* **static** (config): genesis ``config.co3chain.accountAllowlist`` (network-wide) and the node's own
  ``[permissions] accounts`` (this node's RPC admission only).

Rule for a sender at a block ``h`` (the head for the pool, the parent for a proposal):

1. the QBFT validators of ``h``'s child are always allowed (a validator can always deploy and govern);
2. if a contract is configured **and has code at h**, its ``isAccountAllowed(sender)`` decides;
3. otherwise (no contract configured, or — the *bootstrap rule* — not deployed yet) the static lists
   apply: the genesis list if there is one (else everyone), and for pool admission also the node's
   ``[permissions] accounts`` if non-empty. So the deployer (a validator, or an allow-listed account)
   can deploy the contract; from the block that creates it on, the contract is authoritative and the
   static lists are ignored.

Block validation (:meth:`AccountPermissioning.check_block`, called by the QBFT driver on every proposal)
applies rules 1–3 *without* the node-local list, which other validators do not share — a proposal must
get the same verdict from every honest validator. Blocks that already carry a quorum of commit seals
(sync, finalization) are not re-checked: they are final, and refusing one would fork this node off.

Cost: one ``eth_call`` per sender per head block at most. Verdicts are cached per head block hash and
carried over to the next block when that block emitted no log from the contract and did not change the
validator set — ``ConsortiumValidators`` emits an event for every state change (deployment included),
so the answer cannot have changed. When it may have changed, pooled transactions of senders that are
no longer allowed are evicted, so no proposer keeps including them.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from co3chain.chain.chain import BlockImportError, CallFailed, NodeChain
from co3chain.chain.genesis import Genesis
from co3chain.node.config import ConfigError, NodeConfig

log = logging.getLogger("co3chain.node.permissioning")

IS_ACCOUNT_ALLOWED = function_signature_to_4byte_selector("isAccountAllowed(address)")
_VIEWS_KEPT = 4


class AccountNotPermitted(BlockImportError):
    """A block carries a transaction whose sender the account allow-list refuses."""


@dataclass
class _HeadView:
    """What the allow-list looks like at one block: contract deployed?, validators, cached answers."""

    deployed: bool
    validators: frozenset[bytes]
    verdicts: dict[bytes, bool] = field(default_factory=dict)


class AccountPermissioning:
    """The account allow-list of one node (see the module docstring for the rule).

    Use it as the tx pool's ``allowlist`` callable (``pool = TxPool(chain, allowlist=perm)``), register
    :meth:`on_block_imported` with ``chain.add_import_listener`` and :meth:`attach_pool` the pool so
    revoked senders' transactions are evicted. Thread-safe.
    """

    def __init__(
        self,
        chain: NodeChain,
        *,
        contract: bytes | None = None,
        genesis_allowlist: Iterable[bytes] | None = None,
        local_allowlist: Iterable[bytes] = (),
    ) -> None:
        self.chain = chain
        self.contract = None if contract is None else bytes(contract)
        self.genesis_allowlist = None if genesis_allowlist is None else frozenset(genesis_allowlist)
        self.local_allowlist = frozenset(local_allowlist)
        self._pool: Any = None
        self._lock = threading.RLock()
        self._views: OrderedDict[bytes, _HeadView] = OrderedDict()

    @classmethod
    def from_config(cls, chain: NodeChain, genesis: Genesis, config: NodeConfig) -> AccountPermissioning | None:
        """The node's permissioning, or ``None`` when the network is open (nothing configured).

        Raises :class:`ConfigError` when genesis and node config name different contracts.
        """
        g, c = genesis.account_permissioning_contract, config.permissioning_contract
        if g is not None and c is not None and g != c:
            raise ConfigError(
                f"[permissions] contract {to_checksum_address(c)} differs from genesis "
                f"config.co3chain.accountPermissioningContract {to_checksum_address(g)}"
            )
        contract = g if g is not None else c
        if contract is None and genesis.account_allowlist is None and not config.allowed_accounts:
            return None
        return cls(
            chain,
            contract=contract,
            genesis_allowlist=genesis.account_allowlist,
            local_allowlist=config.allowed_accounts,
        )

    def attach_pool(self, pool: Any) -> None:
        """Evict from ``pool`` (a :class:`~co3chain.node.txpool.TxPool`) senders that lose permission."""
        self._pool = pool

    # -- the rule -------------------------------------------------------------------------------------
    def _view(self, header: Any) -> _HeadView:
        with self._lock:
            view = self._views.get(header.hash)
            if view is None:
                view = self._new_view(header)
                self._remember(header.hash, view)
            return view

    def _new_view(self, header: Any) -> _HeadView:
        deployed = False
        if self.contract is not None:
            deployed = bool(self.chain.state_at(header).get_code(self.contract))
        return _HeadView(deployed, frozenset(self.chain.validators_for_child(header)))

    def _remember(self, block_hash: bytes, view: _HeadView) -> None:
        self._views[block_hash] = view
        while len(self._views) > _VIEWS_KEPT:
            self._views.popitem(last=False)

    def _ask_contract(self, sender: bytes, header: Any) -> bool:
        assert self.contract is not None
        data = IS_ACCOUNT_ALLOWED + bytes(12) + sender
        try:
            out = self.chain.call({"to": self.contract, "data": data}, header)
        except CallFailed as exc:  # a contract without the function: fail closed (validators still pass)
            log.warning("isAccountAllowed(%s) failed: %s", to_checksum_address(sender), exc)
            return False
        value = int.from_bytes(out, "big") if len(out) == 32 else -1
        if value not in (0, 1):  # not an ABI bool: fail closed
            log.warning(
                "isAccountAllowed(%s) returned 0x%s, not a bool; is %s the allow-list contract?",
                to_checksum_address(sender), out.hex(), to_checksum_address(self.contract),
            )
            return False
        return value == 1

    def _allowed_at(self, sender: bytes, header: Any, *, local: bool) -> bool:
        sender = bytes(sender)
        with self._lock:
            view = self._view(header)
            if sender in view.validators:
                return True
            if view.deployed:
                verdict = view.verdicts.get(sender)
                if verdict is None:
                    verdict = view.verdicts[sender] = self._ask_contract(sender, header)
                return verdict
        if self.genesis_allowlist is not None and sender not in self.genesis_allowlist:
            return False
        return not (local and self.local_allowlist) or sender in self.local_allowlist

    def is_allowed(self, sender: bytes, header: Any = None) -> bool:
        """The network-wide rule (no node-local list) at ``header`` (default: the head)."""
        return self._allowed_at(sender, header or self.chain.head, local=False)

    def uses_contract(self, header: Any = None) -> bool:
        """True when the contract decides at ``header`` (configured and deployed), False in fallback."""
        return self._view(header or self.chain.head).deployed

    def __call__(self, sender: bytes) -> bool:
        """Pool admission at the head: the network rule, plus ``[permissions] accounts`` in fallback."""
        return self._allowed_at(sender, self.chain.head, local=True)

    # -- blocks ---------------------------------------------------------------------------------------
    def check_block(self, block: Any) -> None:
        """Raise :class:`AccountNotPermitted` if a transaction's sender is refused at the block's parent.

        An unknown parent or an unrecoverable signature is left to the chain's own validation.
        """
        parent = self.chain.get_header_by_hash(block.header.parent_hash)
        if parent is None:
            return
        for tx in block.transactions:
            try:
                sender = tx.sender
            except Exception:  # bad signature: NodeChain.verify_proposal rejects the block
                continue
            if not self._allowed_at(sender, parent, local=False):
                raise AccountNotPermitted(
                    f"block #{block.header.block_number}: transaction 0x{tx.hash.hex()} from "
                    f"{to_checksum_address(sender)} is not allowed by account permissioning"
                )

    def filter_transactions(self, txs: Sequence[Any]) -> list[Any]:
        """The transactions of ``txs`` whose sender is allowed at the head (for a block builder).

        Dropping a sender drops all its transactions, so other senders' nonce sequences stay intact.
        """
        head = self.chain.head
        return [tx for tx in txs if self._allowed_at(tx.sender, head, local=False)]

    def on_block_imported(self, block: Any, receipts: Sequence[Any] | None = None) -> None:
        """Import listener (worker thread): carry verdicts over or, if they may have changed, evict."""
        header = block.header
        touched = self.contract is not None and any(
            bytes(lg.address) == self.contract for r in receipts or () for lg in r.logs
        )
        parent = self.chain.get_header_by_hash(header.parent_hash)
        with self._lock:
            previous = None if parent is None else self._view(parent)
            current = self._view(header)
            changed = (
                previous is None
                or touched
                or previous.deployed != current.deployed
                or previous.validators != current.validators
            )
            if not changed and previous is not None:
                for sender, verdict in previous.verdicts.items():
                    current.verdicts.setdefault(sender, verdict)
        if changed and self._pool is not None:
            self._evict(self._pool)

    def _evict(self, pool: Any) -> None:
        content = pool.content()
        by_sender: dict[bytes, list[bytes]] = {}
        for part in ("pending", "queued"):
            for sender, txs in content.get(part, {}).items():
                by_sender.setdefault(bytes(sender), []).extend(tx.hash for tx in txs.values())
        refused = [s for s in by_sender if not self(s)]
        for sender in refused:
            log.info(
                "evicting %d pooled transaction(s) of %s: no longer allowed",
                len(by_sender[sender]), to_checksum_address(sender),
            )
            pool.remove(by_sender[sender])

