"""Oracles for S-state chains (the paper's Lemma C.8) that share no code with the engine.

:func:`enumerate_multistate` sums over *every* sequence of states of the n + 1 chains of
a tiny prompt. A sequence's probability given K is ``S^-(n+1) prod_ij k_ij^{c_ij}``
(``c`` its transition counts); sequences are grouped by ``c`` and every monomial is
integrated against the Dirichlet(alpha 1) rows by *stick-breaking*:
``k_1 = B_1, k_j = B_j prod_{i<j} (1 - B_i)``, ``B_j ~ Beta(alpha, (S - j) alpha)``
independent, so ``E[prod_j k_j^{m_j}] = prod_j E[B_j^{m_j} (1 - B_j)^{m_{j+1} + ... + m_S}]``.
For an integer alpha each Beta integral is done by ``sympy.integrate`` of a polynomial
against the Beta density; otherwise by the Beta function ``B(a + m, b + r) / B(a, b)``
simplified with ``gammasimp``. (The engine uses the rising-factorial formula instead.)
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from itertools import product

import sympy as sp

from .binary import feature_index

_B = sp.Symbol("B")


@cache
def beta_moment(a: sp.Expr, b: sp.Expr, m: int, r: int) -> sp.Expr:
    """``E[B^m (1 - B)^r]`` for ``B ~ Beta(a, b)``."""
    if a.is_integer and b.is_integer:
        dens = _B ** (a - 1) * (1 - _B) ** (b - 1) / sp.beta(a, b)
        return sp.cancel(sp.integrate(sp.expand(_B**m * (1 - _B) ** r * sp.gammasimp(dens)), (_B, 0, 1)))
    return sp.cancel(sp.gammasimp(sp.beta(a + m, b + r) / sp.beta(a, b)))


@cache
def dirichlet_row_moment(alpha: sp.Expr, counts: tuple[int, ...]) -> sp.Expr:
    """``E[prod_j k_j^{m_j}]`` for a Dirichlet(alpha, ..., alpha) row, by stick-breaking."""
    S = len(counts)
    out = sp.Integer(1)
    for j in range(S - 1):
        rest = sum(counts[j + 1:])
        out *= beta_moment(alpha, (S - 1 - j) * alpha, counts[j], rest)
    return out


def _exact(alpha) -> sp.Expr:
    """alpha as an exact SymPy value (int, Fraction, string "p/q", Rational or a symbol); no floats."""
    if isinstance(alpha, float):
        raise TypeError(f"give alpha exactly (e.g. sympy.Rational(1, 2)), not the float {alpha!r}")
    a = sp.sympify(str(alpha)) if not isinstance(alpha, sp.Basic) else alpha
    if a.has(sp.Float):
        raise TypeError(f"give alpha exactly, not {a!r}")
    return a


def enumerate_multistate(S: int, d: int, n: int, alpha, constant_input: bool = False) -> tuple[sp.Matrix, sp.Matrix,
                                                                                              sp.Expr]:
    """Exact ``H``, ``h`` and ``E[y^2]`` by enumerating every S-state prompt of size (d, n); with
    ``constant_input`` every input gets a constant coordinate 1, ``z = (x, 1, y)``."""
    alpha = _exact(alpha)
    D = d + 1 if constant_input else d
    idx = feature_index(D)
    dm = len(idx)
    L = d + 1
    acc = defaultdict(lambda: [sp.zeros(dm, dm), sp.zeros(dm, 1), sp.Integer(0)])
    for seq in product(range(S), repeat=(n + 1) * L):
        chains = [seq[k * L:(k + 1) * L] for k in range(n + 1)]
        c = [[0] * S for _ in range(S)]
        for ch in chains:
            for s, t in zip(ch, ch[1:]):
                c[s][t] += 1
        key = tuple(tuple(row) for row in c)
        zs = [tuple(ch[:d]) + ((1,) if constant_input else ()) + (ch[d],) for ch in chains]
        ctx, q = zs[:n], zs[n]
        G = [[sp.Rational(sum(ch[u] * ch[v] for ch in ctx), n) for v in range(D + 1)] for u in range(D + 1)]
        phi = sp.Matrix([q[j - 1] * G[u - 1][v - 1] for (j, u, v) in idx])
        y = q[D]
        slot = acc[key]
        slot[0] += phi * phi.T
        slot[1] += y * phi
        slot[2] += y * y
    H, h, ey2 = sp.zeros(dm, dm), sp.zeros(dm, 1), sp.Integer(0)
    for key, (sH, sh, sy) in acc.items():
        w = sp.Integer(1)
        for row in key:
            w *= dirichlet_row_moment(alpha, row)
        H += w * sH
        h += w * sh
        ey2 += w * sy
    norm = sp.Rational(1, S ** (n + 1))
    return (H * norm).applyfunc(sp.cancel), (h * norm).applyfunc(sp.cancel), sp.cancel(ey2 * norm)


def multistate_at_n(S: int, d: int, n: int, alpha) -> tuple[sp.Matrix, sp.Matrix, sp.Expr]:
    """``H``, ``h``, ``E[y^2]`` at any n from :func:`enumerate_multistate` at n = 1 and 2.

    H is affine in 1/n (G is a mean of n context chains that are i.i.d. given K), so the
    enumerations at n = 1 and n = 2 fix it; h and E[y^2] do not depend on n.
    """
    H1, h, ey2 = enumerate_multistate(S, d, 1, alpha)
    Hb, _, _ = enumerate_multistate(S, d, 2, alpha)
    H2 = 2 * Hb - H1
    n = sp.Integer(n)
    return (H1 / n + H2 * (1 - 1 / n)).applyfunc(sp.cancel), h, ey2
