"""The Bayes-optimal in-context predictor on Markov prompts and its exact risk (theory §13).

A prompt holds ``n`` context chains and a query chain of length ``d + 1`` that share one kernel
``K`` drawn from the kernel prior; the query's label ``y_q = s_{q,d+1}`` is hidden. The best
prediction of ``y_q`` under squared loss, by any learner that reads the prompt (linear or softmax
attention, GPT-2, the classical learners of Fig. 6), is the posterior mean

    yhat = E[y_q | context, x_q],

and its risk ``E[(y_q - yhat)^2] = E[Var(y_q | context, x_q)]`` is the floor under every
in-context learner's loss. The best 0-1 prediction is the posterior mode; its accuracy is the
ceiling on every learner's accuracy.

Sufficient statistics. The rows of K are independent a priori (binary: ``a ~ Beta(alpha_a,
beta_a)``, ``c ~ Beta(alpha_c, beta_c)``, the uniform prior being Beta(1, 1); S states: rows
``Dirichlet(alpha 1)``), and the initial states carry no information about K. Given the prompt the
likelihood is ``prod_{r,j} K_{rj}^{N_rj}`` with ``N_rj`` the number of ``r -> j`` transitions in
the context chains (``d`` each) and in the query's first ``d`` states (``d - 1``), so the posterior
of row r is Dirichlet(alpha_r + N_r.) and, if the query's last observed state is r,

    P(y_q = j | prompt) = (alpha_rj + N_rj) / (sum_j alpha_rj + N_r),   N_r = sum_j N_rj.

The predictor and its risk depend on the prompt only through ``(N, r)``. The law of ``(N, r)`` is a
finite sum too: with ``M = (x_rj)`` a matrix of indeterminates (one per transition) and ``pi`` the
initial law, the generating polynomial of one context chain is ``pi^T M^d 1`` and that of the query
ending in state r is ``pi^T M^(d-1) e_r``, so

    P_r(x) = (pi^T M^d 1)^n (pi^T M^(d-1) e_r) = sum_N W_r(N) x^N,
    P(N, r) = W_r(N) prod_r' E[prod_j K_r'j^N_r'j]   (Dirichlet moments: exact rationals).

The engine expands ``P_r`` with python-flint (integer coefficients), and sums

    risk = sum_{r, N} P(N, r) Var(y | N, r),    accuracy = sum_{r, N} P(N, r) max_j P(y = j | N, r)

exactly over rationals, grouping the terms by the row totals that fix every denominator. When the
other rows' prior densities are polynomials (binary chains with integer Beta parameters, e.g. the
uniform prior) those rows are integrated out inside the polynomial ring before the sum (substitute
``x_10 = t``, ``x_11 = 1 - t``, multiply by the density and integrate ``t`` over [0, 1]), which
leaves O(T^2) terms to sum instead of O(T^3).

Complexity: with ``T = n d + d - 1`` transitions the number of count vectors is at most
``C(T + S^2 - 1, S^2 - 1)`` (O(T^3) for binary chains, about ``T^3 / 6``); the expansion and the
sum are linear in it, polynomial in n, against ``2^((n + 1)(d + 1))`` prompts for enumeration.
Every result here is an exact rational; nothing is rounded until ``*_float``.

Initial laws: the predictor is the same for every initial law that does not depend on K (the
initial states' factor cancels from the posterior); the risk depends on the whole law of the
initial states. i.i.d. Bernoulli(p) (uniform for S > 2 states) and ``query_conditional`` /
``example_c5`` (a mixture over the query's first state) are supported; a ``correlated`` law is
given only by three moments, which do not determine the risk, and is refused. A ``fixed`` kernel
leaves nothing to learn: the predictor is ``K[s_{q,d}, 1]`` and the risk is in closed form.

With p omitted the risk and the accuracy are polynomials in p (degree at most ``n + 1`` for
i.i.d. states), recovered exactly by interpolation at rational points.

Examples:
    >>> r = bayes(1, "1/2", 1)
    >>> r.bayes_risk, r.bayes_accuracy
    (17/72, 7/12)
    >>> bayes(1, "1/2", 2).bayes_risk
    65/288
    >>> bayes(1, None, 1).bayes_risk                  # a polynomial in p
    -p**2/18 + p/18 + 2/9
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction

import flint
import sympy as sp

from markov_icl.errors import MarkovICLError, check_int
from markov_icl.progress import wrapped
from markov_icl.symbolic.laws import (
    P_SYMBOL,
    DirichletKernel,
    InitLaw,
    KernelLaw,
    check_states,
    is_dirichlet,
    parse_probability,
)

#: the most count vectors (terms of the generating polynomial) one exact sum may hold: about 2 GiB of
#: python-flint integers and a few minutes on a 2-core machine (docs/benchmarks.md)
MAX_COUNT_VECTORS = 6 * 10**6

#: the largest n for a symbolic p (interpolation at n + 2 points, each a full exact sum)
MAX_SYMBOLIC_P_N = 40



# ----------------------------------------------------------------------------- the law, as data


@dataclass(frozen=True)
class KernelPrior:
    """The kernel prior as the Bayes sums need it: independent Dirichlet rows, or a fixed kernel.

    Attributes:
        states: S.
        rows: ``rows[r][j]``: the Dirichlet parameter of ``K_rj`` (Beta rows for S = 2), exact rationals;
            None for a fixed kernel.
        fixed: ``fixed[r][j] = K_rj`` for a fixed kernel, else None.
        spec: the spelling of the law (``uniform``, ``beta:...``, ``fixed:...``, ``dirichlet:...``).
    """

    states: int
    rows: tuple | None
    fixed: tuple | None
    spec: str

    @staticmethod
    def parse(kernel, states: int = 2) -> "KernelPrior":
        """The prior of ``--kernel`` with ``--states``.

        Examples:
            >>> KernelPrior.parse("uniform").rows
            ((1, 1), (1, 1))
            >>> KernelPrior.parse("beta:2,3,1,1").rows      # a ~ Beta(2, 3) is K_01; K_00 = 1 - a has parameter 3
            ((3, 2), (1, 1))
            >>> KernelPrior.parse("dirichlet:1/2", 3).rows[0]
            (1/2, 1/2, 1/2)
        """
        S = check_states(states)
        law: KernelLaw | DirichletKernel
        if isinstance(kernel, KernelLaw):
            law = kernel
        elif isinstance(kernel, DirichletKernel):
            law = kernel
        elif S > 2:
            if not is_dirichlet(kernel):
                raise MarkovICLError(f"states = {S} needs the kernel dirichlet:ALPHA (rows Dirichlet(alpha 1)), "
                                     f"got {kernel!r}")
            law = DirichletKernel.parse(kernel, S)
        else:
            law = KernelLaw.parse(kernel)
        if isinstance(law, DirichletKernel):
            alpha = sp.sympify(law.alpha)
            if alpha.free_symbols:
                raise MarkovICLError("the Bayes risk needs a numeric Dirichlet alpha (e.g. dirichlet:1), got alpha")
            return KernelPrior(law.S, tuple(tuple(alpha for _ in range(law.S)) for _ in range(law.S)), None,
                               law.spec())
        if S != 2:
            raise MarkovICLError(f"the binary kernel spec {law.spec()!r} applies only to states = 2")
        if law.free_symbols:
            raise MarkovICLError(f"the Bayes risk needs a numeric kernel law, got {law.spec()} "
                                 f"(symbols {', '.join(sorted(map(str, law.free_symbols)))})")
        if law.kind == "fixed":
            a, c = law.params
            return KernelPrior(2, None, ((1 - a, a), (c, 1 - c)), law.spec())
        if law.kind == "uniform":
            one = sp.Integer(1)
            return KernelPrior(2, ((one, one), (one, one)), None, law.spec())
        aa, ba, ac, bc = law.params
        return KernelPrior(2, ((ba, aa), (ac, bc)), None, law.spec())


def init_components(p, init: str, states: int) -> tuple[list, str]:
    """The initial law as a mixture: ``[(weight, context law, query law)]`` (each law a tuple over the states)."""
    if states > 2:
        if p is not None:
            raise MarkovICLError(f"p is the binary chains' initial probability; with states = {states} the initial "
                                 "state is uniform: leave p out")
        if str(init).strip().lower() not in ("iid", "uniform"):
            raise MarkovICLError(f"states = {states}: initial states are uniform on 0..{states - 1}; init {init!r} "
                                 "applies only to states = 2")
        u = tuple(sp.Rational(1, states) for _ in range(states))
        return [(sp.Integer(1), u, u)], "uniform"
    vp = parse_probability(p, "p")
    law = InitLaw.parse(init, vp)
    if law.kind == "iid":
        q = (1 - vp, vp)
        return [(sp.Integer(1), q, q)], law.spec()
    if law.kind == "query_conditional":
        pi0, pi1 = law.pi  # type: ignore[misc]
        return [(1 - vp, (1 - pi0, pi0), (sp.Integer(1), sp.Integer(0))),
                (vp, (1 - pi1, pi1), (sp.Integer(0), sp.Integer(1)))], law.spec()
    raise MarkovICLError(f"the Bayes risk needs the whole law of the initial states; init {law.spec()!r} gives only "
                         "three of its moments. Allowed: iid | query_conditional:PI0,PI1 | example_c5")


# ----------------------------------------------------------------------------- results


def _exact_str(x) -> str | None:
    return None if x is None else str(x)


@dataclass(frozen=True)
class BayesRisk:
    """The Bayes-optimal in-context predictor's exact risk and accuracy at one setting (theory §13).

    Attributes:
        d, p, n, states, kernel, init: the setting (p None for S > 2 states; a symbol when left symbolic).
        bayes_risk: ``E[(y_q - E[y_q | prompt])^2]``, exact (a rational, or a polynomial in p).
        bayes_accuracy: ``E[max_j P(y_q = j | prompt)]``, exact.
        E_y, E_y2: ``E[y_q]`` and ``E[y_q^2]`` from the same sums (a check: E_y2 is the LSA objective's).
        count_vectors: the number of terms summed (count vectors ``(N, r)``).
        method: how the sums were done.
        seconds: wall time of the computation (not part of :meth:`to_dict`'s numbers).

    Examples:
        >>> r = bayes(2, "1/2", 3)
        >>> r.bayes_risk_float < float(r.variance), r.to_dict()["bayes_risk"] == str(r.bayes_risk)
        (True, True)
    """

    d: int
    p: object
    n: int
    states: int
    kernel: str
    init: str
    bayes_risk: sp.Expr
    bayes_accuracy: sp.Expr
    E_y: sp.Expr
    E_y2: sp.Expr
    count_vectors: int
    method: str
    seconds: float = field(default=0.0, compare=False)

    @property
    def variance(self) -> sp.Expr:
        """``Var(y_q)``: the risk of the best constant predictor (it ignores the prompt)."""
        return sp.expand(self.E_y2 - self.E_y**2)

    @property
    def bayes_risk_float(self) -> float | None:
        e = sp.sympify(self.bayes_risk)
        return float(e) if e.is_number else None

    @property
    def bayes_accuracy_float(self) -> float | None:
        e = sp.sympify(self.bayes_accuracy)
        return float(e) if e.is_number else None

    def __repr__(self) -> str:
        risk = str(self.bayes_risk)
        risk = risk if len(risk) < 50 else f"{self.bayes_risk_float:.12g} (exact, {len(risk)} characters)" \
            if self.bayes_risk_float is not None else "<polynomial in p>"
        return f"BayesRisk(d={self.d}, p={self.p}, n={self.n}, states={self.states}, kernel={self.kernel}, bayes_risk={risk})"

    def to_dict(self) -> dict:
        """A JSON-ready dict: exact strings and, at numeric points, floats.

        Keys: d, p, n, states, kernel, init, bayes_risk, bayes_risk_float, bayes_accuracy,
        bayes_accuracy_float, E_y, E_y2, variance, variance_float, count_vectors, method.
        """
        var = self.variance
        return {
            "d": self.d, "p": _exact_str(self.p), "n": self.n, "states": self.states, "kernel": self.kernel,
            "init": self.init,
            "bayes_risk": str(self.bayes_risk), "bayes_risk_float": self.bayes_risk_float,
            "bayes_accuracy": str(self.bayes_accuracy), "bayes_accuracy_float": self.bayes_accuracy_float,
            "E_y": str(self.E_y), "E_y2": str(self.E_y2), "variance": str(var),
            "variance_float": float(var) if sp.sympify(var).is_number else None,
            "count_vectors": self.count_vectors, "method": self.method,
        }


# ----------------------------------------------------------------------------- generating polynomials


def count_vector_bound(d: int, n: int, states: int = 2) -> int:
    """An upper bound on the number of count vectors ``(N, r)``: ``S C(T + S^2 - 1, S^2 - 1)``, ``T = n d + d - 1``.

    Examples:
        >>> count_vector_bound(2, 100)
        2788408
    """
    T = n * d + d - 1
    k = states * states
    return states * math.comb(T + k - 1, k - 1)


def _rational_parts(values) -> tuple[list[int], int]:
    """Rationals as integer numerators over one common denominator."""
    qs = [sp.Rational(v) for v in values]
    D = 1
    for q in qs:
        D = D * int(q.q) // math.gcd(D, int(q.q))
    return [int(q.p) * (D // int(q.q)) for q in qs], D


def _matrix_power(M: list, k: int, one, zero) -> list:
    S = len(M)
    R = [[one if i == j else zero for j in range(S)] for i in range(S)]
    for _ in range(k):
        R = [[sum((R[i][m] * M[m][j] for m in range(S)), zero) for j in range(S)] for i in range(S)]
    return R


def generating_polynomials(M: list, d: int, n: int, ctx: tuple, query: tuple, one, zero) -> tuple[list, int]:
    """``P_r = (v^T M^d 1)^n (w^T M^(d-1) e_r)`` for every last query state r, with integer weights.

    Args:
        M: the S x S transition indeterminates (elements of a python-flint integer polynomial ring).
        ctx, query: the initial laws of a context chain and of the query chain (rationals).

    Returns:
        ``(polys, scale)``: the true generating polynomials are ``polys[r] / scale``.
    """
    vc, Dc = _rational_parts(ctx)
    vq, Dq = _rational_parts(query)
    S = len(M)
    Md = _matrix_power(M, d, one, zero)
    Mq = _matrix_power(M, d - 1, one, zero)
    chain = sum((vc[s] * Md[s][j] for s in range(S) for j in range(S) if vc[s]), zero)
    power = chain**n
    polys = [power * sum((vq[s] * Mq[s][r] for s in range(S) if vq[s]), zero) for r in range(S)]
    return polys, Dc**n * Dq


def rising_tables(rows: tuple, top: int) -> tuple[list, list, list]:
    """Integer rising-factorial tables of each row: ``R[r][j][k] = prod_{i<k} (A_rj + i D_r)`` and the row
    normalisers ``N[r][k] = prod_{i<k} (sum_j A_rj + i D_r)``, with ``alpha_rj = A_rj / D_r``; then
    ``E[prod_j K_rj^e_j] = prod_j R[r][j][e_j] / N[r][sum e]``."""
    R, N, A = [], [], []
    for row in rows:
        nums, D = _rational_parts(row)
        tot = sum(nums)
        tabs = []
        for a in nums:
            t = [1]
            for i in range(top + 1):
                t.append(t[-1] * (a + i * D))
            tabs.append(t)
        nt = [1]
        for i in range(top + 1):
            nt.append(nt[-1] * (tot + i * D))
        R.append(tabs)
        N.append(nt)
        A.append((nums, D))
    return R, N, A


class _Sums:
    """Exact accumulators: numerators grouped by the denominator they share."""

    def __init__(self):
        self.parts: dict[str, dict] = {"risk": {}, "acc": {}, "ey": {}, "ey2": {}}

    def add(self, what: str, den: int, num: int) -> None:
        d = self.parts[what]
        d[den] = d.get(den, 0) + num

    def total(self, what: str) -> Fraction:
        return sum((Fraction(v, k) for k, v in self.parts[what].items()), Fraction(0))


def _row_terms(S: int, r: int, e_r: tuple, others_den: int, base: int, R, Nn, A, sums: _Sums) -> None:
    """Add one group (row-r counts ``e_r``; the other rows' contribution ``base / others_den``) to the sums."""
    nums, D = A[r]
    u = [nums[j] + e_r[j] * D for j in range(S)]
    U = sum(u)
    n_r = sum(e_r)
    w = base
    for j in range(S):
        w *= R[r][j][e_r[j]]
    den = others_den * Nn[r][n_r]
    su = sum(j * u[j] for j in range(S))
    su2 = sum(j * j * u[j] for j in range(S))
    sums.add("risk", den * U * U, w * (U * su2 - su * su))
    sums.add("acc", den * U, w * max(u))
    sums.add("ey", den * U, w * su)
    sums.add("ey2", den * U, w * su2)


def _sum_termwise(poly, S: int, r: int, R, Nn, A, sums: _Sums, scale: int) -> int:
    """Sum one ``P_r`` term by term (any Dirichlet rows); returns the number of terms."""
    monoms, coeffs = poly.monoms(), poly.coeffs()
    groups: dict = {}
    for exps, c in zip(monoms, coeffs):
        e = [int(x) for x in exps]
        base = int(c)
        tots = []
        for rr in range(S):
            if rr == r:
                continue
            row = e[rr * S:(rr + 1) * S]
            for j in range(S):
                base *= R[rr][j][row[j]]
            tots.append(sum(row))
        key = (tuple(e[r * S:(r + 1) * S]), tuple(tots))
        groups[key] = groups.get(key, 0) + base
    for (e_r, tots), base in groups.items():
        den = scale
        k = 0
        for rr in range(S):
            if rr == r:
                continue
            den *= Nn[rr][tots[k]]
            k += 1
        _row_terms(S, r, e_r, den, base, R, Nn, A, sums)
    return len(monoms)


def _integer_row(row: tuple) -> tuple[int, int] | None:
    """``(alpha, beta)`` of a binary row whose Beta parameters are positive integers (a polynomial density)."""
    if len(row) == 2 and all(sp.Rational(v).q == 1 for v in row):
        return int(row[0]), int(row[1])
    return None


def _sum_binary_integrated(d: int, n: int, r: int, ctxd: tuple, qd: tuple, prior: KernelPrior, R, Nn, A,
                           sums: _Sums) -> int:
    """Binary chains, other row with an integer Beta prior: integrate it out inside the polynomial ring.

    The other row o = 1 - r has ``K_o0 = t``, ``K_o1 = 1 - t`` with density ``t^(b0 - 1) (1 - t)^(b1 - 1) / B(b0, b1)``
    (``(b0, b1) = rows[o]``); its Dirichlet moment is the integral over t, so substituting and integrating
    gives the generating polynomial of row r's counts with the other row averaged out."""
    o = 1 - r
    assert prior.rows is not None
    b0, b1 = _integer_row(prior.rows[o])  # type: ignore[misc]
    names = ("y0", "y1", "t")
    ring = flint.fmpz_mpoly_ctx.get(names, "lex")
    y0, y1, t = ring.gens()
    one, zero = ring.constant(1), ring.constant(0)
    row_r = [y0, y1]
    row_o = [t, 1 - t]
    M = [row_r, row_o] if r == 0 else [row_o, row_r]
    polys, scale = generating_polynomials(M, d, n, ctxd, qd, one, zero)
    P = polys[r] * t ** (b0 - 1) * (1 - t) ** (b1 - 1)
    den, Pint = P.integral(2)  # d/dt (Pint / den) = P, Pint(t = 0) = 0
    Q = Pint.subs({"t": 1})
    beta_den = math.factorial(b0 - 1) * math.factorial(b1 - 1)
    beta_num = math.factorial(b0 + b1 - 1)  # 1 / B(b0, b1) = (b0 + b1 - 1)! / ((b0 - 1)! (b1 - 1)!)
    total = scale * int(den) * beta_den
    count = 0
    for exps, c in zip(Q.monoms(), Q.coeffs()):
        e_r = (int(exps[0]), int(exps[1]))
        _row_terms(2, r, e_r, total, int(c) * beta_num, R, Nn, A, sums)
        count += 1
    return count


def _fixed_kernel(prior: KernelPrior, comps: list, d: int) -> tuple:
    """A fixed kernel: ``yhat = K[s_{q,d}, .]``; the risk is ``sum_r P(s_{q,d} = r) Var_r``."""
    K = [list(row) for row in prior.fixed]  # type: ignore[union-attr]
    S = len(K)
    risk = acc = ey = ey2 = sp.Integer(0)
    for w, _ctx, q in comps:
        dist = list(q)
        for _ in range(d - 1):
            dist = [sum(dist[s] * K[s][j] for s in range(S)) for j in range(S)]
        for r in range(S):
            m1 = sum(j * K[r][j] for j in range(S))
            m2 = sum(j * j * K[r][j] for j in range(S))
            risk += w * dist[r] * (m2 - m1**2)
            acc += w * dist[r] * max(K[r])
            ey += w * dist[r] * m1
            ey2 += w * dist[r] * m2
    return risk, acc, ey, ey2


def _numeric_bayes(d: int, n: int, prior: KernelPrior, comps: list, progress=None) -> tuple:
    """``(risk, accuracy, E_y, E_y2, count_vectors, method)`` at numeric parameters."""
    if prior.fixed is not None:
        return (*_fixed_kernel(prior, comps, d), 0, "closed form (fixed kernel: nothing to learn)")
    S = prior.states
    bound = count_vector_bound(d, n, S)
    if bound > MAX_COUNT_VECTORS:
        raise MarkovICLError(f"the exact Bayes sum at d = {d}, n = {n}, states = {S} has up to {bound:.3g} count vectors; "
                             f"at most {MAX_COUNT_VECTORS:.0e} (memory and minutes); lower n or d, or estimate the risk "
                             "by Monte Carlo with markov_icl.numeric.bayes.BayesPredictor")
    T = n * d + d - 1
    assert prior.rows is not None
    R, Nn, A = rising_tables(prior.rows, T + 2)
    sums = _Sums()
    count = 0
    fast = S == 2
    jobs = [(w, ctxd, qd, r) for (w, ctxd, qd) in comps for r in range(S)]
    weights: dict = {}
    for w, ctxd, qd, r in wrapped(progress, jobs, "bayes", unit="sum"):
        part = _Sums()
        if fast and _integer_row(prior.rows[1 - r]) is not None:
            count += _sum_binary_integrated(d, n, r, ctxd, qd, prior, R, Nn, A, part)
        else:
            ring = flint.fmpz_mpoly_ctx.get(tuple(f"x{i}{j}" for i in range(S) for j in range(S)), "lex")
            gens = ring.gens()
            M = [[gens[i * S + j] for j in range(S)] for i in range(S)]
            polys, scale = generating_polynomials(M, d, n, ctxd, qd, ring.constant(1), ring.constant(0))
            count += _sum_termwise(polys[r], S, r, R, Nn, A, part, scale)
        for what in part.parts:
            weights.setdefault(what, []).append((w, part.total(what)))
    del sums

    def total(what):
        return sum((sp.Rational(w) * sp.Rational(f.numerator, f.denominator) for w, f in weights[what]), sp.Integer(0))

    method = ("exact rational sums over transition-count vectors (python-flint)"
              + ("; the other row integrated in the polynomial ring" if fast and all(
                  _integer_row(row) for row in prior.rows) else ""))
    return total("risk"), total("acc"), total("ey"), total("ey2"), count, method


def bayes(d: int, p=None, n: int = 10, kernel: str = "uniform", init: str = "iid", states: int = 2,
          progress=None) -> BayesRisk:
    """The Bayes-optimal in-context predictor's exact risk (squared loss) and accuracy (0-1 loss) (theory §13).

    Args:
        d: chain input length (>= 1).
        p: initial-state probability, exact (binary chains); None leaves it symbolic (the results are then
            polynomials in p, for ``n <=`` :data:`MAX_SYMBOLIC_P_N`); must be None for ``states > 2``.
        n: number of context chains (>= 1).
        kernel: ``uniform`` | ``beta:AA,BA,AC,BC`` | ``fixed:A,C`` | ``dirichlet:ALPHA`` (numeric parameters).
        init: ``iid`` | ``query_conditional:PI0,PI1`` | ``example_c5`` (binary); uniform for S > 2 states.
        states: number of chain states S (states are the numbers 0..S-1, as in theory §8).
        progress: True for a progress report (:mod:`markov_icl.progress`), or ``progress(iterable, desc) -> iterable``
            wrapping the loop over the sums; None or False for none.

    Returns:
        A :class:`BayesRisk` with exact ``bayes_risk`` and ``bayes_accuracy``.

    Raises:
        MarkovICLError: bad input, a correlated init law (not determined by its moments), or a sum above
            :data:`MAX_COUNT_VECTORS` count vectors.

    Examples:
        >>> bayes(1, "1/2", 10).bayes_risk_float
        0.19192042495265152
        >>> bayes(1, None, 2, kernel="dirichlet:1", states=3).bayes_risk
        173/270
    """
    start = time.perf_counter()
    d = check_int("d", d, 1)
    n = check_int("n", n, 1)
    S = check_states(states)
    prior = KernelPrior.parse(kernel, S)
    if p is None and S == 2:
        return _symbolic_p(d, n, prior, init, progress, start)
    comps, init_spec = init_components(p, init, S)
    risk, acc, ey, ey2, count, method = _numeric_bayes(d, n, prior, comps, progress)
    pv = None if S > 2 else parse_probability(p, "p")
    return BayesRisk(d, pv, n, S, prior.spec, init_spec, risk, acc, ey, ey2, count, method,
                     time.perf_counter() - start)


def _symbolic_p(d: int, n: int, prior: KernelPrior, init: str, progress, start: float) -> BayesRisk:
    """Risk and accuracy as polynomials in p: exact interpolation at ``deg + 1`` rational points."""
    if n > MAX_SYMBOLIC_P_N:
        raise MarkovICLError(f"a symbolic p is interpolated from n + 2 exact sums; at most n = {MAX_SYMBOLIC_P_N}, "
                             f"got n = {n}: give p")
    law = InitLaw.parse(init, P_SYMBOL)
    if law.kind == "iid":
        degree = n + 1
    elif law.kind == "query_conditional":
        degs = [sp.degree(sp.sympify(x), P_SYMBOL) for x in law.pi]  # type: ignore[union-attr]
        degree = 1 + n * max(max(degs), 1)
    else:
        init_components(sp.Rational(1, 2), init, 2)  # raises the message for the unsupported law
        raise AssertionError("unreachable")
    points = [sp.Rational(k, degree + 2) for k in range(1, degree + 2)]
    values: dict[str, list] = {"risk": [], "acc": [], "ey": [], "ey2": []}
    count, method = 0, ""
    for pk in wrapped(progress, points, "bayes(p)", unit="point"):
        comps, _ = init_components(pk, init, 2)
        risk, acc, ey, ey2, count, method = _numeric_bayes(d, n, prior, comps)
        for key, v in zip(values, (risk, acc, ey, ey2)):
            values[key].append(v)
    polys = {k: sp.expand(sp.interpolate(list(zip(points, v)), P_SYMBOL)) for k, v in values.items()}
    return BayesRisk(d, P_SYMBOL, n, 2, prior.spec, law.spec(), polys["risk"], polys["acc"], polys["ey"],
                     polys["ey2"], count, f"{method}; a polynomial in p of degree <= {degree}, interpolated exactly "
                     f"from {degree + 1} rational points", time.perf_counter() - start)


def posterior_predictive(counts_row, alpha_row):
    """``P(y_q = j | prompt) = (alpha_rj + N_rj) / (sum_j alpha_rj + N_r)`` for the row r of the query's last state.

    The one home of the predictor's formula: ``counts_row`` and ``alpha_row`` broadcast (NumPy arrays, torch
    tensors or exact numbers), the states along the last axis.

    Examples:
        >>> import numpy as np
        >>> posterior_predictive(np.array([3, 1]), np.array([1.0, 1.0]))
        array([0.66666667, 0.33333333])
    """
    num = alpha_row + counts_row
    return num / num.sum(-1, keepdims=True) if hasattr(num, "sum") else num / sum(num)


__all__ = ["bayes", "BayesRisk", "KernelPrior", "generating_polynomials", "count_vector_bound", "posterior_predictive",
           "MAX_COUNT_VECTORS", "MAX_SYMBOLIC_P_N"]
