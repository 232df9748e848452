"""Lemma C.8: the enlarged-space objective for S-state chains with Dirichlet kernels, exactly.

theory §8: states ``{0, ..., S-1}`` are used as numbers, every row of the kernel ``K`` is
``Dirichlet(alpha 1)`` (rows independent), and the ``n + 1`` initial states are i.i.d.
uniform on ``{0..S-1}``; all chains of a prompt share ``K``. The features are those of
theory §3, ``phi = x_q (kron) g`` with ``g_(u,v) = G_uv``, and the label is ``y = s_{q,d+1}``:

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

from functools import cached_property

import flint
import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from markov_icl.errors import MarkovICLError
from markov_icl.symbolic.laws import N_SYMBOL, DirichletKernel, check_states, parse_alpha
from markov_icl.symbolic.objective import Index, check_d, parse_n
from markov_icl.symbolic.solve import Solution, exact_solve, optimal_loss


class MultiStateTerms:
    """Exact ``H1, H2, h, E[y^2]`` of Lemma C.8 for one (S, d, alpha) (module docstring).

    Args:
        S: number of states (>= 2).
        d: chain input length (>= 1).
        alpha: Dirichlet concentration (exact rational > 0, or symbolic).
        constant_input: append a constant coordinate 1 to every input, ``z = (x, 1, y)`` (theory §13): the
            objective of an LSA with ``d + 1`` inputs (:attr:`d` is then ``d + 1``, :attr:`chain_d` the chain's).
    """

    def __init__(self, S: int, d: int, alpha=None, constant_input: bool = False):
        self.S = check_states(S)
        self.chain_d = check_d(d)
        self.constant_input = bool(constant_input)
        self.d = self.chain_d + int(self.constant_input)  # the model's input dimension (a constant coordinate 1)
        self.kernel = DirichletKernel(S, parse_alpha(alpha))
        self.idx = Index(self.d)
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

    def _exps(self, coords) -> tuple[int, ...]:
        """Exponents of the chain positions of input coordinates (the constant coordinate has none)."""
        e = [0] * (self.chain_d + 1)
        for t in coords:
            if t <= self.chain_d:
                e[t - 1] += 1
            elif t > self.d:  # the label
                e[self.chain_d] += 1
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


def solve_multistate(terms: MultiStateTerms, n=None) -> Solution:
    """Exact minimiser of the enlarged-space objective for S-state chains (the paper's Lemma C.8).

    Numeric n and rational alpha: exact rational linear solve (any d). Symbolic n or
    alpha: SymPy fraction-field solve, for ``d m <= 3`` (d = 1) only; for larger d the
    solution carries H, beta and E[y^2] with ``X_star = None``.

    Raises:
        MarkovICLError: when H is singular.
    """
    nv = parse_n(n)
    to = terms.domain.to_sympy
    beta = tuple(sp.factor(to(v)) for v in terms.h)
    ey2 = sp.factor(to(terms.E_y2))
    index = tuple(tuple(ix) for ix in terms.idx.index)

    def make(H, X, f, method):
        return Solution(terms.d, None, nv, terms.kernel, "exact", terms.S, index, beta, ey2, X, f, method, H)

    if nv.is_number and terms.domain == QQ:
        H = terms.H(nv)
        X = exact_solve(H, terms.beta_vector())
        f = optimal_loss(ey2, beta, X)
        return make(H, X, f, "exact rational solve (python-flint)")
    Hs, _, _ = terms.symbolic(nv)
    if terms.idx.dm > 3:
        return make(Hs, None, None, "not solved: symbolic X* for S-state chains is derived for d = 1")
    X = tuple(Hs.LUsolve(sp.Matrix(beta)).applyfunc(sp.factor))
    f = sp.factor(optimal_loss(ey2, beta, X))
    return make(Hs, X, f, "fraction-field LU solve")


__all__ = ["MultiStateTerms", "solve_multistate"]
