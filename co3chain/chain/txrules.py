"""py-evm's ``SignedTransaction.validate()`` field rules as one cheap yes/no question.

Why: ``validate()`` walks ~15 helper calls (titles, ``isinstance`` checks, ``functools.partial``
wrappers, the ``v_min``/``v_max``/``chain_id`` properties) for every admitted transaction: ~7 µs of
pure bookkeeping on fields that, coming from :mod:`co3chain.chain.txdecode`, are already known to be
non-negative ints and byte strings of the right sizes. Admission asks :func:`passes_validate` first and
calls py-evm's ``validate()`` only when the answer is "no", so the refusal is still worded by py-evm.

Scope: a transaction decoded by :class:`co3chain.chain.txdecode.TxDecoder` (legacy, EIP-2930 or
EIP-1559; field types guaranteed by that decoder) whose sender was recovered by
:class:`co3chain.chain.senders.SenderCache` (so ``check_signature_validity`` is already satisfied).
For such a transaction ``passes_validate(tx, tx.intrinsic_gas)`` is ``True`` exactly when
``tx.validate()`` returns without raising; ``tests/chain/test_txdecode.py`` proves it on random and
boundary values. The rules differ per type in py-evm 0.12 (and are mirrored, not "fixed", here): a
legacy transaction gets Frontier's field ranges, Homestead's low-s and Spurious Dragon's ``v`` range
plus the intrinsic-gas check; a signed EIP-2930 transaction only the intrinsic-gas check; an EIP-1559
one field ranges and access-list shape but no intrinsic-gas check (the pool checks intrinsic gas for
every transaction before this anyway).
"""

from __future__ import annotations

from typing import Any

UINT256_MAX = 2**256 - 1
UINT8_MAX = 2**8 - 1
#: py-evm ``validate_nonce``: a uint64 strictly below 2**64 - 1 (EIP-2681)
NONCE_LIMIT = 2**64 - 1
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
#: Homestead (EIP-2): s in the lower half of the curve order
HALF_N = SECP256K1_N // 2


def _to_ok(to: bytes) -> bool:
    return len(to) in (0, 20)


def passes_validate(tx: Any, intrinsic_gas: int) -> bool:
    """``True`` iff py-evm's ``tx.validate()`` would pass (see the module docstring for the scope)."""
    type_id = tx.type_id
    if type_id is None:  # legacy: Frontier field rules + Homestead low s + Spurious Dragon v range
        v, r, s = tx.v, tx.r, tx.s
        return (
            tx.nonce < NONCE_LIMIT
            and tx.gas_price <= UINT256_MAX
            and tx.gas <= UINT256_MAX
            and tx.value <= UINT256_MAX
            and _to_ok(tx.to)
            and v <= UINT256_MAX
            and (v >= 35 or 27 <= v <= 28)
            and 1 <= r < SECP256K1_N
            and 1 <= s <= HALF_N
            and tx.gas >= intrinsic_gas
        )
    inner = tx._inner
    if type_id == 1:
        # py-evm's signed EIP-2930 transaction inherits the base rule only: intrinsic gas + signature
        return inner.gas >= intrinsic_gas
    if type_id != 2:
        return False
    # EIP-1559: ``validate_dynamic_fee_tx`` (field ranges and access-list shape; no gas, no signature)
    return (
        inner.chain_id <= UINT256_MAX
        and inner.nonce < NONCE_LIMIT
        and inner.max_fee_per_gas <= UINT256_MAX
        and inner.max_priority_fee_per_gas <= UINT256_MAX
        and inner.gas <= UINT256_MAX
        and inner.value <= UINT256_MAX
        and _to_ok(inner.to)
        and all(len(entry.account) == 20 for entry in inner.access_list)
        and inner.y_parity <= UINT8_MAX
        and inner.r <= UINT256_MAX
        and inner.s <= UINT256_MAX
    )
