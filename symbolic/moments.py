"""Conditional moments of a binary chain and exact integration over the kernel law (theory §4).

Given the kernel and the first state ``s_1``, the moment of a product of distinct
positions ``t_1 < ... < t_k`` of one chain is

    E[prod_i s_{t_i} | K, s_1] = P(s_{t_1} = 1 | s_1) * prod_i (K^{t_{i+1} - t_i})_{11},

a polynomial in (a, c) with integer coefficients, affine in the binary ``s_1``:
``alpha_T(a, c) + s_1 * delta_T(a, c)``. Repeated positions collapse (``s^2 = s``),
so every product of chain states is indexed by a *set* of positions.

The kernel law enters only as the linear functional ``L(a^i c^j) = E[a^i c^j]``. We
represent polynomials by coefficient vectors over the monomials ``a^i c^j`` with
``i + j <= d`` and integrate products of two or three of them with (shifted) moment
matrices ``M^(g)[x, y] = L(a^x c^y a^g)`` -- one matrix product per monomial instead of
one SymPy expansion per entry.
"""

from __future__ import annotations

from functools import cache
from itertools import combinations

import sympy as sp
from sympy.polys.domains import QQ, ZZ
from sympy.polys.matrices import DomainMatrix
from sympy.polys.rings import ring

from markov_icl.errors import MarkovICLError
from markov_icl.symbolic.laws import A_SYMBOL, C_SYMBOL, KernelLaw

_R, _a, _c = ring("a,c", ZZ)


@cache
def kernel_power(k: int) -> tuple[tuple, tuple]:
    """``K^k`` with ``K = [[1-a, a], [c, 1-c]]`` as a 2x2 tuple of integer polynomials in (a, c)."""
    if k == 0:
        return ((_R.one, _R.zero), (_R.zero, _R.one))
    (p00, p01), (p10, p11) = kernel_power(k - 1)
    k00, k01, k10, k11 = 1 - _a, _a, _c, 1 - _c
    return ((p00 * k00 + p01 * k10, p00 * k01 + p01 * k11),
            (p10 * k00 + p11 * k10, p10 * k01 + p11 * k11))


@cache
def conditional_moment(positions: frozenset[int]) -> tuple:
    """``(alpha_T, delta_T)`` with ``E[prod_{t in T} s_t | K, s_1] = alpha_T + s_1 delta_T``.

    Args:
        positions: a non-empty set of 1-based chain positions T.

    Returns:
        Two integer polynomials in (a, c) (elements of ``ZZ[a, c]``).
    """
    ts = sorted(positions)
    if not ts or ts[0] < 1:
        raise MarkovICLError(f"positions must be a non-empty set of integers >= 1, got {sorted(positions)}")
    tail = _R.one
    for t0, t1 in zip(ts, ts[1:]):
        tail *= kernel_power(t1 - t0)[1][1]
    first = kernel_power(ts[0] - 1)
    start0 = first[0][1] * tail  # s_1 = 0
    start1 = first[1][1] * tail  # s_1 = 1
    return start0, start1 - start0


def monomials(degree: int) -> list[tuple[int, int]]:
    """Exponents (i, j) of ``a^i c^j`` with ``i + j <= degree``, in a fixed order."""
    return [(i, t - i) for t in range(degree + 1) for i in range(t, -1, -1)]


def coefficient_rows(polys: list, degree: int) -> list[list[int]]:
    """Coefficient vectors of polynomials of ``ZZ[a, c]`` over :func:`monomials`."""
    index = {m: k for k, m in enumerate(monomials(degree))}
    rows = []
    for poly in polys:
        row = [0] * len(index)
        for mon, coeff in poly.terms():
            if mon not in index:
                raise AssertionError(f"monomial {mon} exceeds degree {degree}")
            row[index[mon]] = int(coeff)
        rows.append(row)
    return rows


class KernelFunctional:
    """The linear functional ``L(a^i c^j) = E[a^i c^j]`` of a kernel law, as matrices.

    Args:
        law: the kernel law.
        degree: the degree d of the polynomials to integrate (products of up to three).

    Attributes:
        domain: the SymPy domain of the moments (QQ when all parameters are numbers,
            otherwise the fraction field of the law's symbols).
    """

    def __init__(self, law: KernelLaw, degree: int):
        self.law = law
        self.degree = degree
        self.mons = monomials(degree)
        syms = sorted(law.free_symbols, key=str)
        self.domain = QQ if not syms else QQ.frac_field(*syms)
        top = 3 * degree
        self._moment = {}
        for i in range(top + 1):
            for j in range(top + 1 - i):
                value = sp.sympify(law.moment(i, j))
                self._moment[(i, j)] = self.domain.from_sympy(value)

    def moment(self, i: int, j: int):
        """``E[a^i c^j]`` as an element of :attr:`domain`."""
        return self._moment[(i, j)]

    def shifted_matrix(self, shift: tuple[int, int]) -> DomainMatrix:
        """``M^(g)[x, y] = L(a^(x+y+g))`` over the monomials of degree <= d."""
        mons = self.mons
        rows = [[self._moment[(x[0] + y[0] + shift[0], x[1] + y[1] + shift[1])] for y in mons] for x in mons]
        return DomainMatrix(rows, (len(mons), len(mons)), self.domain)

    def vector(self) -> DomainMatrix:
        """``L(a^x)`` for each monomial x (a column), to integrate a single polynomial."""
        return DomainMatrix([[self._moment[m]] for m in self.mons], (len(self.mons), 1),
                            self.domain)


def integer_matrix(rows: list[list[int]], domain) -> DomainMatrix:
    """A DomainMatrix over ``domain`` from integer rows (shape kept when there are none)."""
    ncols = len(rows[0]) if rows else 0
    mat = DomainMatrix([[ZZ(v) for v in r] for r in rows], (len(rows), ncols), ZZ)
    return mat.convert_to(domain)


def position_sets(d: int, max_size: int = 4) -> list[frozenset[int]]:
    """All non-empty subsets of ``{1, ..., d+1}`` with at most ``max_size`` elements."""
    out = []
    for k in range(1, max_size + 1):
        out.extend(frozenset(c) for c in combinations(range(1, d + 2), k))
    return out


def poly_to_sympy(poly) -> sp.Expr:
    """A polynomial of ``ZZ[a, c]`` as a SymPy expression in the symbols a, c."""
    return sum((int(coef) * A_SYMBOL**i * C_SYMBOL**j for (i, j), coef in poly.terms()), sp.Integer(0))
