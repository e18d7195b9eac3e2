"""BN254 (alt_bn128) G1 arithmetic on plain Python integers, matching the EVM precompiles 0x06/0x07.

Why our own arithmetic instead of py-ecc's: every ballot costs about eight scalar multiplications per
option to make and as many to audit; Jacobian coordinates on bare ``int`` avoid one modular inversion per
addition and py-ecc's field-object overhead (measured in bench/secret_ballot.py).  Points are affine
``(x, y)`` tuples at the API, ``None`` is the point at infinity (the precompiles' ``(0, 0)``).
"""

from __future__ import annotations

from functools import lru_cache

#: Base field modulus and group order of BN254 (EIP-196).
P = 21888242871839275222246405745257275088696311157297823662689037894645226208583
N = 21888242871839275222246405745257275088548364400416034343698204186575808495617
B = 3
#: Generator used by the precompiles and by this module.
G: tuple[int, int] = (1, 2)

Point = tuple[int, int] | None


class CurveError(ValueError):
    """A coordinate pair that is not a point of BN254 G1."""


def is_on_curve(pt: Point) -> bool:
    if pt is None:
        return True
    x, y = pt
    return 0 <= x < P and 0 <= y < P and (y * y - x * x * x - B) % P == 0


def check_point(pt: Point) -> Point:
    if not is_on_curve(pt):
        raise CurveError(f"not a BN254 G1 point: {pt}")
    return pt


def from_evm(x: int, y: int) -> Point:
    """Decode the precompiles' encoding: ``(0, 0)`` is infinity."""
    if x == 0 and y == 0:
        return None
    return check_point((x, y))


def to_evm(pt: Point) -> tuple[int, int]:
    return (0, 0) if pt is None else pt


def neg(pt: Point) -> Point:
    return None if pt is None else (pt[0], (-pt[1]) % P)


# --- Jacobian internals: (X, Y, Z) with x = X/Z^2, y = Y/Z^3; Z == 0 is infinity -------------------

_INF = (1, 1, 0)


def _to_jac(pt: Point) -> tuple[int, int, int]:
    return _INF if pt is None else (pt[0], pt[1], 1)


def _from_jac(j: tuple[int, int, int]) -> Point:
    x, y, z = j
    if z == 0:
        return None
    zi = pow(z, -1, P)
    zi2 = zi * zi % P
    return (x * zi2 % P, y * zi2 * zi % P)


def _jdouble(j: tuple[int, int, int]) -> tuple[int, int, int]:
    x, y, z = j
    if z == 0 or y == 0:
        return _INF
    yy = y * y % P
    s = 4 * x * yy % P
    m = 3 * x * x % P
    x3 = (m * m - 2 * s) % P
    y3 = (m * (s - x3) - 8 * yy * yy) % P
    z3 = 2 * y * z % P
    return (x3, y3, z3)


def _jadd(j1: tuple[int, int, int], j2: tuple[int, int, int]) -> tuple[int, int, int]:
    x1, y1, z1 = j1
    x2, y2, z2 = j2
    if z1 == 0:
        return j2
    if z2 == 0:
        return j1
    z1z1 = z1 * z1 % P
    z2z2 = z2 * z2 % P
    u1 = x1 * z2z2 % P
    u2 = x2 * z1z1 % P
    s1 = y1 * z2 * z2z2 % P
    s2 = y2 * z1 * z1z1 % P
    if u1 == u2:
        return _jdouble(j1) if s1 == s2 else _INF
    h = (u2 - u1) % P
    r = (s2 - s1) % P
    hh = h * h % P
    hhh = h * hh % P
    v = u1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    y3 = (r * (v - x3) - s1 * hhh) % P
    z3 = h * z1 * z2 % P
    return (x3, y3, z3)


def _jmadd(j1: tuple[int, int, int], x2: int, y2: int) -> tuple[int, int, int]:
    """Mixed addition: Jacobian + affine (Z2 = 1), the inner step of table-driven multiplication."""
    x1, y1, z1 = j1
    if z1 == 0:
        return (x2, y2, 1)
    z1z1 = z1 * z1 % P
    u2 = x2 * z1z1 % P
    s2 = y2 * z1 * z1z1 % P
    if x1 == u2:
        return _jdouble(j1) if y1 == s2 else _INF
    h = (u2 - x1) % P
    r = (s2 - y1) % P
    hh = h * h % P
    hhh = h * hh % P
    v = x1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    y3 = (r * (v - x3) - y1 * hhh) % P
    z3 = h * z1 % P
    return (x3, y3, z3)


def add(p1: Point, p2: Point) -> Point:
    return _from_jac(_jadd(_to_jac(p1), _to_jac(p2)))


def sub(p1: Point, p2: Point) -> Point:
    return add(p1, neg(p2))


def _multiples(base: tuple[int, int, int]) -> list[tuple[int, int, int]]:
    """``[0, 1, …, 15] * base`` (Jacobian): one row of a 4-bit window table."""
    row = [_INF, base]
    for _ in range(14):
        row.append(_jadd(row[-1], base))
    return row


def _jmul(pt: Point, k: int) -> tuple[int, int, int]:
    """Left-to-right 4-bit windowed multiplication (variable base)."""
    k %= N
    if pt is None or k == 0:
        return _INF
    table = _multiples(_to_jac(pt))
    acc = _INF
    for shift in range((k.bit_length() + 3) // 4 * 4 - 4, -1, -4):
        acc = _jdouble(_jdouble(_jdouble(_jdouble(acc))))
        d = (k >> shift) & 15
        if d:
            acc = _jadd(acc, table[d])
    return acc


@lru_cache(maxsize=64)
def _fixed_table(pt: tuple[int, int]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Comb table for a fixed base: entry [i][d] = d * 16^i * pt (affine), for 64 nibbles.

    Why: ``G`` and the election key are multiplied thousands of times; with this table a product costs
    ~64 mixed additions and no doublings.
    """
    rows = []
    base = _to_jac(pt)
    for _ in range(64):
        rows.append(tuple(_from_jac(j) or (0, 0) for j in _multiples(base)))
        for _ in range(4):
            base = _jdouble(base)
    return tuple(rows)


def _jmul_fixed(pt: tuple[int, int], k: int) -> tuple[int, int, int]:
    k %= N
    table = _fixed_table(pt)
    acc = _INF
    i = 0
    while k:
        d = k & 15
        if d:
            x, y = table[i][d]
            acc = _jmadd(acc, x, y)
        k >>= 4
        i += 1
    return acc


def mul(pt: Point, k: int) -> Point:
    """``k * pt`` (variable base)."""
    return _from_jac(_jmul(pt, k))


def mul_fixed(pt: tuple[int, int], k: int) -> Point:
    """``k * pt`` for a base that recurs (G, an election key): cached comb table."""
    return _from_jac(_jmul_fixed(pt, k))


def g_mul(k: int) -> Point:
    return mul_fixed(G, k)


def lincomb(terms: list[tuple[Point, int, bool]]) -> Point:
    """``sum(k_i * P_i)`` with one final inversion; ``fixed=True`` marks recurring bases (table)."""
    acc = _INF
    for pt, k, fixed in terms:
        if pt is None or k % N == 0:
            continue
        acc = _jadd(acc, _jmul_fixed(pt, k) if fixed else _jmul(pt, k))
    return _from_jac(acc)


def sum_points(points: list[Point]) -> Point:
    acc = _INF
    for pt in points:
        if pt is not None:
            acc = _jmadd(acc, pt[0], pt[1])
    return _from_jac(acc)
