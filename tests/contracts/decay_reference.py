"""Exact reference for Reputation's decay: ``value * 2^(-elapsed / half_life)`` in integer arithmetic.

Why a separate reference: the contract evaluates ``2^(-x)`` from 64 precomputed 128-bit constants; checking it
against a copy of that method would only test the copy. Here ``ln 2`` comes from its series
``sum 1 / (k 2^k)`` and ``2^(-r) = exp(-r ln 2)`` from the Taylor series, both in 576-bit integer fixed point,
so the result is within ``value * 2^-500`` of the true value: far below the contract's documented drift, and a
``Fraction`` keeps every comparison exact. ``round_half_up_exact`` cross-checks the series by integer powers.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import cache

_BITS = 576  # fixed-point precision of the series
_GUARD = 32  # extra bits carried through the series, dropped at the end
HALF = Fraction(1, 2)


@cache
def _ln2() -> int:
    """``ln 2 * 2^(_BITS + _GUARD)``, low by fewer than ``_BITS + 40`` units."""
    scale = 1 << (_BITS + _GUARD)
    total, k = 0, 1
    while True:
        term = scale // (k << k)
        if term == 0:
            return total
        total += term
        k += 1


def _exp2_neg(num: int, den: int) -> int:
    """``2^(-num/den) * 2^_BITS`` for ``0 <= num < den``, within a few units."""
    scale = 1 << (_BITS + _GUARD)
    y = _ln2() * num // den  # r * ln 2 < 0.7
    total, term, k = scale, scale, 1
    while term:
        term = term * y // scale // k
        total += -term if k % 2 else term
        k += 1
    return total >> _GUARD


def exact_decay(value: int, elapsed: int, half_life: int) -> Fraction:
    """``value * 2^(-elapsed / half_life)`` (error below ``value * 2^-500``)."""
    halvings, remainder = divmod(elapsed, half_life)
    return Fraction(value * _exp2_neg(remainder, half_life), 1 << (_BITS + halvings))


def round_half_up(x: Fraction) -> int:
    """Nearest integer, halves up (the contract's reads)."""
    return math.floor(x + HALF)


def round_half_up_exact(value: int, elapsed: int, half_life: int) -> int:
    """``round_half_up(value * 2^(-elapsed/half_life))`` by exact integer powers (slow for large denominators).

    With ``elapsed / half_life = p / q`` in lowest terms, ``value * 2^(-p/q) >= m + 1/2`` iff
    ``(2 value)^q >= (2m + 1)^q * 2^p``; the answer is the largest such ``m + 1`` (or 0).
    """
    g = math.gcd(elapsed, half_life)
    p, q = elapsed // g, half_life // g
    lhs = (2 * value) ** q

    def at_least_half_above(m: int) -> bool:
        return lhs >= (2 * m + 1) ** q << p

    low, high = 0, value  # the answer n satisfies 0 <= n <= value
    while low < high:
        mid = (low + high + 1) // 2
        if at_least_half_above(mid - 1):
            low = mid
        else:
            high = mid - 1
    return low


def assert_rounded(got: int, exact: Fraction, drift: Fraction, what: str = "score") -> None:
    """The contract's documented precision: ``round(exact - drift) <= got <= round(exact)`` (the decay only errs
    low), so ``got`` is ``round(exact)`` unless ``exact`` lies within ``drift`` above a half."""
    high, low = round_half_up(exact), round_half_up(exact - drift)
    assert low <= got <= high, (
        f"{what}: got {got}, exact {float(exact)} allows {low}..{high} (documented drift {float(drift)})"
    )


def drift_bound(updates: int, largest: int) -> Fraction:
    """Reputation.sol's drift of a checkpoint list: ``(n + 1) * (V + 1) * 2^-64`` points."""
    return Fraction((updates + 1) * (largest + 1), 1 << 64)
