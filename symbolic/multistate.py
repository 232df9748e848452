"""Lemma C.8: the enlarged-space objective for S-state chains with Dirichlet kernels, exactly.

SPEC §8: states ``{0, ..., S-1}`` are used as numbers, every row of the kernel ``K`` is
``Dirichlet(alpha 1)`` (rows independent), and the ``n + 1`` initial states are i.i.d.
uniform on ``{0..S-1}``; all chains of a prompt share ``K``. The features are those of
SPEC §3, ``phi = x_q (kron) g`` with ``g_(u,v) = G_uv``, and the label is ``y = s_{q,d+1}``:

    H    = E[phi phi^T] = E_K[ E[x_qj x_qj' | K] ( (1/n) E[z_u z_v z_u' z_v' | K]
                                                  + (1 - 1/n) E[z_u z_v | K] E[z_u' z_v' | K] ) ],
    h    = E[y_q phi]   = E_K[ E[x_qj y_q | K] E[z_u z_v | K] ],       E[y^2] = E[s_{q,d+1}^2].

Given ``K`` a chain moment is a polynomial in the entries ``k_ij`` (integer coefficients,
times ``1/S`` from the uniform start): with ``D = diag(0, 1, ..., S-1)``,

    S E[prod_t s_t^{e_t} | K] = 1^T D^{e_1} K D^{e_2} K ... K D^{e_T} 1,

truncated after the last position ``T`` with ``e_T > 0`` (rows of K sum to one). Unlike
the binary case, ``s^2 != s``: exponents are kept. The Dirichlet law integrates a
monomial row by row,

    E[prod_j k_ij^{m_j}] = prod_j (alpha)_{m_j} / (S alpha)_{sum_j m_j}      (rising factorials),

an exact rational at rational alpha and a rational function of a symbolic alpha. Products
of the three chain polynomials are formed with python-flint's ``fmpz_mpoly``.

``H = (1/n) H1 + (1 - 1/n) H2`` is kept as its two n-free parts, so n may stay symbolic.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import flint
import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from symbolic.errors import MarkovICLError
from symbolic.laws import N_SYMBOL, parse_value
from symbolic.objective import Index, check_d, parse_n, solve_exact

#: the symbol used when the Dirichlet concentration is left symbolic
ALPHA_SYMBOL = sp.Symbol("alpha", positive=True)

#: largest number of states handled (the engine works beyond, but slowly)
MAX_STATES = 6


def check_states(S) -> int:
    """Validate the number of states S (an integer >= 2)."""
    if isinstance(S, bool) or not isinstance(S, int) or S < 2:
        raise MarkovICLError(f"the number of states must be an integer >= 2, got {S!r}")
    if S > MAX_STATES:
        raise MarkovICLError(f"at most {MAX_STATES} states are supported, got {S}")
    return S


def parse_alpha(value) -> sp.Expr:
    """The Dirichlet concentration: an exact rational > 0, or the symbol alpha when None/'alpha'."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "alpha"):
        return ALPHA_SYMBOL
    a = parse_value(value, "Dirichlet alpha")
    if a.is_number and not a > 0:
        raise MarkovICLError(f"Dirichlet alpha must be > 0, got {a}")
    return a


def parse_dirichlet(spec: str) -> sp.Expr:
    """Parse the kernel spec ``dirichlet:ALPHA`` (``ALPHA`` exact > 0, or ``alpha``)."""
    kind, sep, rest = spec.partition(":")
    if kind.strip().lower() != "dirichlet" or not sep or not rest.strip():
        raise MarkovICLError(f"expected a kernel spec dirichlet:ALPHA (ALPHA > 0, e.g. dirichlet:1), got {spec!r}")
    return parse_alpha(rest.strip())


@dataclass(frozen=True)
class DirichletKernel:
    """Rows of K i.i.d. ``Dirichlet(alpha 1)`` on S states (SPEC §8)."""

    S: int
    alpha: sp.Expr = ALPHA_SYMBOL

    @cached_property
    def domain(self):
        """QQ at a rational alpha, else the fraction field QQ(alpha)."""
        return QQ if not sp.sympify(self.alpha).free_symbols else QQ.frac_field(*sorted(self.alpha.free_symbols, key=str))

    def row_moment(self, exps: tuple[int, ...]):
        """``E[prod_j k_j^{m_j}]`` for one Dirichlet(alpha 1) row: ``prod (alpha)_{m_j} / (S alpha)_M``."""
        a = self.alpha
        num = sp.Integer(1)
        for m in exps:
            num *= sp.rf(a, m)
        val = num / sp.rf(self.S * a, sum(exps))
        return self.domain.from_sympy(sp.cancel(sp.expand_func(val)) if val.free_symbols else val)

    def spec(self) -> str:
        return f"dirichlet:{self.alpha}"


class MultiStateTerms:
    """Exact ``H1, H2, h, E[y^2]`` of Lemma C.8 for one (S, d, alpha) (module docstring).

    Args:
        S: number of states (>= 2).
        d: chain input length (>= 1).
        alpha: Dirichlet concentration (exact rational > 0, or symbolic).
    """

    def __init__(self, S: int, d: int, alpha=None):
        self.S = check_states(S)
        self.d = check_d(d)
        self.kernel = DirichletKernel(S, parse_alpha(alpha))
        self.idx = Index(d)
        self.domain = self.kernel.domain
        self.ctx = flint.fmpz_mpoly_ctx.get(tuple(f"k{i}{j}" for i in range(S) for j in range(S)), "lex")
        self._row_cache: dict = {}
        self._build()

    # -- chain moments --------------------------------------------------------------
    def chain_moment(self, exps: tuple[int, ...]):
        """``S E[prod_t s_t^{e_t} | K]`` as an ``fmpz_mpoly`` in the ``k_ij`` (positions 1..len)."""
        S, ctx = self.S, self.ctx
        gens = ctx.gens()
        last = max((t for t, e in enumerate(exps) if e), default=-1)
        if last < 0:
            return ctx.from_dict({(0,) * (S * S): S})
        vec = [ctx.from_dict({(0,) * (S * S): s ** exps[last]}) for s in range(S)]
        for t in range(last - 1, -1, -1):
            new = []
            for s in range(S):
                w = s ** exps[t]
                if w == 0:
                    new.append(ctx.from_dict({}))
                    continue
                acc = ctx.from_dict({})
                for s2 in range(S):
                    if not vec[s2].is_zero():
                        acc += gens[s * S + s2] * vec[s2]
                new.append(acc * w)
            vec = new
        out = ctx.from_dict({})
        for v in vec:
            out += v
        return out

    def _exps(self, positions) -> tuple[int, ...]:
        e = [0] * (self.d + 1)
        for t in positions:
            e[t - 1] += 1
        return tuple(e)

    def integrate(self, poly):
        """``E_K[poly]`` under the Dirichlet law, an element of :attr:`domain`."""
        S = self.S
        total = self.domain.zero
        cache = self._row_cache
        for mon, coeff in poly.terms():
            val = self.domain.one
            for i in range(S):
                key = tuple(sorted(mon[i * S:(i + 1) * S]))
                if key not in cache:
                    cache[key] = self.kernel.row_moment(key)
                val = val * cache[key]
            total += self.domain(int(coeff)) * val
        return total

    def _build(self) -> None:
        d, idx, S = self.d, self.idx, self.S
        y = d + 1
        cm = {}

        def moment(positions):
            e = self._exps(positions)
            if e not in cm:
                cm[e] = self.chain_moment(e)
            return cm[e]

        dom = self.domain
        inv_s = dom.convert(QQ(1, S))
        qpairs = idx.query_pairs  # (j, k), j <= k <= d
        pairs = idx.pairs
        m = idx.m
        A = {(j, k): moment((j, k)) for (j, k) in qpairs}
        B = [moment(uv) for uv in pairs]
        H1 = {}
        H2 = {}
        for (j, k) in qpairs:
            AB = [A[(j, k)] * b for b in B]
            for a in range(m):
                for b in range(a, m):
                    four = moment(pairs[a] + pairs[b])
                    H1[(j, k, a, b)] = self.integrate(A[(j, k)] * four) * inv_s * inv_s
                    H2[(j, k, a, b)] = self.integrate(AB[a] * B[b]) * inv_s * inv_s * inv_s
        self._H1, self._H2 = H1, H2
        self.h = [self.integrate(moment((j, y)) * B[a]) * inv_s * inv_s for j in range(1, d + 1) for a in range(m)]
        self.E_y2 = self.integrate(moment((y, y))) * inv_s

    def _matrix(self, table) -> DomainMatrix:
        d, m = self.d, self.idx.m
        dm = d * m
        rows = [[self.domain.zero] * dm for _ in range(dm)]
        for (j, k, a, b), v in table.items():
            for (jj, kk) in {(j, k), (k, j)}:
                for (aa, bb) in {(a, b), (b, a)}:
                    rows[(jj - 1) * m + aa][(kk - 1) * m + bb] = v
        return DomainMatrix(rows, (dm, dm), self.domain)

    @cached_property
    def H1(self) -> DomainMatrix:
        """``E_K[E[x x'|K] E[z_u z_v z_u' z_v'|K]]``, the 1/n part of H."""
        return self._matrix(self._H1)

    @cached_property
    def H2(self) -> DomainMatrix:
        """``E_K[E[x x'|K] E[z_u z_v|K] E[z_u' z_v'|K]]``, the (1 - 1/n) part of H."""
        return self._matrix(self._H2)

    def beta_vector(self) -> DomainMatrix:
        return DomainMatrix([[v] for v in self.h], (self.idx.dm, 1), self.domain)

    def H(self, n) -> DomainMatrix:
        """``H = (1/n) H1 + (1 - 1/n) H2`` at a numeric n (over :attr:`domain`)."""
        nv = parse_n(n)
        if not nv.is_number:
            raise MarkovICLError("H(n) needs a numeric n here; use symbolic() for symbolic n")
        w1 = self.domain.convert(QQ(1, int(nv)))
        return self.H1 * w1 + self.H2 * (self.domain.one - w1)

    def symbolic(self, n=N_SYMBOL):
        """``(H, h, E[y^2])`` as SymPy objects (n and alpha as given)."""
        to = self.domain.to_sympy
        n = sp.sympify(n)
        H1, H2 = self.H1.to_Matrix(), self.H2.to_Matrix()
        H = (H1 / n + H2 * (1 - 1 / n)).applyfunc(sp.factor)
        h = sp.Matrix([to(v) for v in self.h]).applyfunc(sp.factor)
        return H, h, sp.factor(to(self.E_y2))


@dataclass
class MultiStateSolution:
    """``X* = H^{-1} h`` and ``f~* = E[y^2] - h^T X*`` (SymPy values)."""

    H: sp.Matrix
    beta: list
    E_y2: sp.Expr
    X_star: list | None
    f_tilde_star: sp.Expr | None


def solve_multistate(terms: MultiStateTerms, n=None) -> MultiStateSolution:
    """Exact minimiser of the enlarged-space objective for S-state chains (Lemma C.8).

    Numeric n and rational alpha: exact rational linear solve (any d). Symbolic n or
    alpha: SymPy fraction-field solve, allowed only for ``d m <= 3`` (d = 1).

    Raises:
        MarkovICLError: H singular, or a symbolic solve that is too large.
    """
    nv = parse_n(n)
    to = terms.domain.to_sympy
    beta = [sp.factor(to(v)) for v in terms.h]
    ey2 = sp.factor(to(terms.E_y2))
    if nv.is_number and terms.domain == QQ:
        H = terms.H(nv)
        X = solve_exact(H, terms.beta_vector())
        f = ey2 - sum(b * xv for b, xv in zip(beta, X))
        return MultiStateSolution(H.to_Matrix(), beta, ey2, X, f)
    Hs, _, _ = terms.symbolic(nv)
    if terms.idx.dm > 3:
        return MultiStateSolution(Hs, beta, ey2, None, None)
    X = list(Hs.LUsolve(sp.Matrix(beta)).applyfunc(sp.factor))
    f = sp.factor(ey2 - sum(b * xv for b, xv in zip(beta, X)))
    return MultiStateSolution(Hs, beta, ey2, X, f)


__all__ = ["ALPHA_SYMBOL", "DirichletKernel", "MultiStateTerms", "MultiStateSolution", "solve_multistate",
           "parse_alpha", "parse_dirichlet", "check_states"]
