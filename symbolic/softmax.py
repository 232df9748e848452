"""One-layer softmax attention on Markov prompts: its exact population loss, gradient, Hessian, best loss
and gradient flow (theory §14).

The predictor is the one-layer softmax attention of Huang, Cheng and Liang (2023), the model of the
neighbouring analyses of in-context nonlinear regression:

    yhat_q = sum_{i<=n} y_i softmax_i(xt_i^T Q xt_q),   xt = (x, 1) in R^(d+1),  Q in R^((d+1) x (d+1)),

states used as numbers. The score of context chain i depends on its input ``x_i`` alone (one of
``S^d`` values), so the prediction depends on the context only through the *counts* ``N_t`` of
its chains of each type ``t = (x, y)`` (``S^(d+1)`` types):

    yhat = sum_x e^(s_x) Y_x / sum_x e^(s_x) N_x,   s_x = xt_x^T Q xt_q,  N_x = sum_y N_(x,y),  Y_x = sum_y y N_(x,y).

Given the kernel K the counts are multinomial and independent of the query, so with
``m_k(K, x_q) = E[y_q^k | K, x_q]``

    f(Q) = E[(y_q - yhat)^2] = E[y^2] - 2 sum_{x_q, N} A_1(x_q, N) yhat + sum_{x_q, N} A_0(x_q, N) yhat^2,
    A_k(x_q, N) = E_K[ P(x_q | K) Mult(N | K) m_k(K, x_q) ],

where every ``A_k`` is an exact rational: ``P(x_q | K) Mult(N | K)`` is a multinomial coefficient
times the initial weights times a monomial ``prod K_rj^c_rj`` in the kernel (``c`` the transition
counts of the context chains and of the query's input), whose prior mean is a product of Dirichlet
moments. The weights are computed exactly (python-flint integers) and rounded once to float64
(relative error at most 2^-52 each); the loss, its gradient and Hessian are then evaluated in
float64 with the exponential shifted by its maximum. :meth:`SoftmaxLoss.certified` evaluates the
same sum in ball arithmetic (python-flint arb, 128 bits) and returns a rigorous enclosure of f(Q) at
the exact value of a float64 Q; the loss at Q = 0 (uniform attention over the context labels) is an
exact rational (:meth:`SoftmaxLoss.at_zero`).

Invariance: a score shift that depends on the query only cancels in the softmax; that is the last
row of Q (``xt_(d+1) = 1``), so f depends on the first d rows only, ``d (d + 1)`` parameters (at
d = 1: the two logit gaps ``Q_11 + Q_12`` and ``Q_12`` of the matching input for ``x_q = 1`` and 0).
Minimisers are reported with the last row zero.

Size: ``S^d C(n + S^(d+1) - 1, S^(d+1) - 1)`` pairs (x_q, N), e.g. 572 at d = 1, n = 10; 77,792 at
d = 2, n = 10 (:func:`type_vector_count`).

Examples:
    >>> L = SoftmaxLoss(1, "1/2", 10)
    >>> L.at_zero()                                   # uniform attention: the mean context label
    11/48
    >>> round(L.loss([[0.0, 0.0], [0.0, 0.0]]), 12) == round(float(L.at_zero()), 12)
    True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from itertools import combinations, product

import flint
import numpy as np
import sympy as sp

from markov_icl.errors import MarkovICLError, check_int
from markov_icl.progress import wrapped
from markov_icl.symbolic.bayes import KernelPrior, init_components, rising_tables
from markov_icl.symbolic.laws import check_states

#: the most (x_q, N) pairs one exact loss may hold (weights computed exactly in Python: about 30 s per million)
MAX_TYPE_VECTORS = 2 * 10**6


def _rational(x: flint.fmpq) -> sp.Rational:
    return sp.Rational(int(x.p), int(x.q))


def type_vector_count(d: int, n: int, states: int = 2) -> int:
    """``S^d C(n + S^(d+1) - 1, S^(d+1) - 1)``: the number of (query input, context type counts) pairs summed.

    Examples:
        >>> type_vector_count(1, 10), type_vector_count(2, 10)
        (572, 77792)
    """
    k = states ** (d + 1)
    return states**d * math.comb(n + k - 1, k - 1)


def count_vectors(n: int, k: int) -> np.ndarray:
    """Every vector of k nonnegative integers summing to n (stars and bars), shape ``(C(n+k-1, k-1), k)``."""
    bars = np.array(list(combinations(range(n + k - 1), k - 1)), dtype=np.int64).reshape(-1, k - 1)
    ext = np.concatenate([np.full((len(bars), 1), -1), bars, np.full((len(bars), 1), n + k - 1)], 1)
    return np.diff(ext, axis=1) - 1


def _transitions(states_seq, S: int) -> np.ndarray:
    c = np.zeros(S * S, dtype=np.int64)
    for s, t in zip(states_seq, states_seq[1:]):
        c[s * S + t] += 1
    return c


@dataclass
class SoftmaxOptimum:
    """The best one-layer softmax attention found (theory §14).

    Attributes:
        f_softmax_star: the least loss found (float64 evaluation).
        Q_star: its minimiser, ``(d+1) x (d+1)``, last row zero (the loss does not depend on it).
        loss_at_zero: the exact loss at Q = 0 (uniform attention), a rational.
        certified: ``(lower, upper)``: a rigorous enclosure of f(Q_star) (128-bit ball arithmetic).
        hessian_eigenvalues: of the Hessian in the first d rows of Q at Q_star (all > 0: a strict local minimum).
        runs: every start's final loss, sorted.
        certificate: what is and is not certified (text).
        attention: expected attention at Q_star on context chains whose input equals x_q (``exact``) and
            whose last input state equals x_q's (``last_state``), unconditionally and given that one exists.
    """

    f_softmax_star: float
    Q_star: np.ndarray
    loss_at_zero: sp.Rational
    certified: tuple[float, float]
    hessian_eigenvalues: np.ndarray
    runs: list[float]
    certificate: str
    attention: dict = field(default_factory=dict)


class SoftmaxLoss:
    """The exact population loss of one-layer softmax attention (module docstring), with gradient and Hessian.

    Args:
        d: chain input length (>= 1).
        p: initial-state probability, exact (binary chains); None for S > 2 states (uniform initial states).
        n: number of context chains (>= 1).
        kernel, init, states: the chain law, as for :func:`markov_icl.symbolic.bayes.bayes`.
        progress: True for a progress report (:mod:`markov_icl.progress`), or ``progress(iterable, desc) -> iterable``
            wrapping the loop over the query inputs; None or False for none.

    Attributes:
        E_y2: ``E[y_q^2]``, exact.
        size: the number of (x_q, N) pairs.

    Examples:
        >>> L = SoftmaxLoss(1, "1/2", 4)
        >>> L.size, L.at_zero(), round(L.loss([[2.0, -1.0], [0.0, 0.0]]), 6)
        (70, 25/96, 0.242495)
    """

    def __init__(self, d: int, p=None, n: int = 10, kernel: str = "uniform", init: str = "iid", states: int = 2,
                 progress=None):
        self.d = check_int("d", d, 1)
        self.n = check_int("n", n, 1)
        self.states = S = check_states(states)
        size = type_vector_count(self.d, self.n, S)
        if size > MAX_TYPE_VECTORS:
            raise MarkovICLError(f"the exact softmax loss at d = {d}, n = {n}, states = {S} sums over {size:.3g} "
                                 f"(query, context type counts) pairs; at most {MAX_TYPE_VECTORS:.0e}: lower n or d")
        self.prior = KernelPrior.parse(kernel, S)
        comps, self.init = init_components(p, init, S)
        self.p = None if S > 2 else sp.Rational(p)
        self.kernel = self.prior.spec
        self.size = size
        t0 = time.perf_counter()
        self._build(comps, progress)
        self.build_seconds = time.perf_counter() - t0

    # ------------------------------------------------------------------ exact weights
    def _moment(self, c) -> flint.fmpq:
        """``E[prod K_rj^c_rj]`` under the prior, exact (cached: many count vectors share their transition counts)."""
        key = c.tobytes()
        hit = self._moments.get(key)
        if hit is None:
            hit = self._moments[key] = self._moment_uncached(c)
        return hit

    def _moment_uncached(self, c) -> flint.fmpq:
        S = self.states
        if self.prior.fixed is not None:
            out = flint.fmpq(1)
            for r in range(S):
                for j in range(S):
                    if c[r * S + j]:
                        kv = sp.Rational(self.prior.fixed[r][j])
                        out *= flint.fmpq(int(kv.p), int(kv.q)) ** int(c[r * S + j])
            return out
        R, Nn, _ = self._tables
        num, den = 1, 1
        for r in range(S):
            tot = 0
            for j in range(S):
                e = int(c[r * S + j])
                num *= R[r][j][e]
                tot += e
            den *= Nn[r][tot]
        return flint.fmpq(num, den)

    def _build(self, comps, progress) -> None:
        d, n, S = self.d, self.n, self.states
        xs = list(product(range(S), repeat=d))
        ts = list(product(range(S), repeat=d + 1))  # chain types (x, y), index = x_index * S + y
        self.inputs = xs
        self.Xt = np.array([list(x) + [1] for x in xs], dtype=np.float64)  # (S^d, d+1)
        Ntypes = count_vectors(n, len(ts))  # (V_N, S^(d+1))
        trans_t = np.array([_transitions(t, S) for t in ts])  # (S^(d+1), S^2)
        start_t = np.array([t[0] for t in ts])
        if self.prior.rows is not None:
            self._tables = rising_tables(self.prior.rows, n * d + d + 2)
        self._moments: dict = {}
        cN = Ntypes @ trans_t  # (V_N, S^2) transition counts of the context
        starts = np.stack([Ntypes[:, start_t == k].sum(1) for k in range(S)], 1)  # chains starting in k
        nx = len(xs)
        Nx = Ntypes.reshape(-1, nx, S).sum(-1)  # (V_N, S^d)
        Yx = (Ntypes.reshape(-1, nx, S) * np.arange(S)).sum(-1)
        fact = [math.factorial(k) for k in range(n + 1)]
        multinom = [fact[n] // math.prod(fact[int(k)] for k in row if k) for row in Ntypes]
        def q(v):
            r = sp.Rational(v)
            return flint.fmpq(int(r.p), int(r.q))

        parts = [(q(w), [q(v) for v in ctxd], [q(v) for v in qd]) for w, ctxd, qd in comps]
        A0, A1, A2, qidx, vidx = [], [], [], [], []
        jobs = list(enumerate(xs))
        for qi, xq in wrapped(progress, jobs, "softmax weights", unit="query"):
            cq = _transitions(xq, S)
            r = xq[-1]
            for v in range(len(Ntypes)):
                c = cN[v] + cq
                m0 = self._moment(c)
                if m0 == 0:
                    continue
                m1 = m2 = flint.fmpq(0)
                for j in range(1, S):
                    cj = c.copy()
                    cj[r * S + j] += 1
                    mj = self._moment(cj)
                    m1 += j * mj
                    m2 += j * j * mj
                init = flint.fmpq(0)
                for w, vc, vq in parts:
                    iw = w * vq[xq[0]]
                    for k in range(S):
                        if starts[v, k]:
                            iw *= vc[k] ** int(starts[v, k])
                    init += iw
                coef = multinom[v] * init
                if coef == 0:
                    continue
                A0.append(coef * m0)
                A1.append(coef * m1)
                A2.append(coef * m2)
                qidx.append(qi)
                vidx.append(v)
        self._A0_exact, self._A1_exact = A0, A1
        self.E_y2 = _rational(sum(A2, flint.fmpq(0)))
        self.qidx = np.array(qidx, dtype=np.int64)
        vsel = np.array(vidx, dtype=np.int64)
        self.Nx = Nx[vsel].astype(np.float64)
        self.Yx = Yx[vsel].astype(np.float64)
        self.A0 = np.array([float(x) for x in A0])
        self.A1 = np.array([float(x) for x in A1])
        self.total_weight = _rational(sum(A0, flint.fmpq(0)))  # = 1: a check of the sums
        self.size = len(A0)
        xd = self.Xt[:, d - 1]
        self.match_exact = np.arange(nx)[None, :] == self.qidx[:, None]  # (V, S^d): x_i == x_q
        self.match_last = xd[None, :] == xd[self.qidx][:, None]  # same last input state

    @property
    def A0_exact(self) -> list:
        """The exact weights ``A_0(x_q, N)`` (python-flint ``fmpq``), one per pair, in the order of ``qidx``; they sum
        to 1 (``A_0`` is the probability of the pair)."""
        return self._A0_exact

    @property
    def A1_exact(self) -> list:
        """The exact weights ``A_1(x_q, N) = E[1{pair} y_q]`` (python-flint ``fmpq``), in the order of ``qidx``."""
        return self._A1_exact

    # ------------------------------------------------------------------ float64 evaluation
    def _Q(self, Q) -> np.ndarray:
        Q = np.asarray(Q, dtype=np.float64)
        k = self.d + 1
        if Q.shape == (self.d * k,):
            Q = np.vstack([Q.reshape(self.d, k), np.zeros((1, k))])
        if Q.shape != (k, k):
            raise MarkovICLError(f"Q must be a ({k}, {k}) matrix (or its first d rows flattened), got shape {Q.shape}")
        if not np.isfinite(Q).all():
            raise MarkovICLError("Q must be finite")
        return Q

    def _attention(self, Q):
        Q = self._Q(Q)
        sc = self.Xt @ Q @ self.Xt.T  # sc[x, q] = xt_x^T Q xt_q
        L = sc.T[self.qidx]  # (V, S^d)
        L = np.where(self.Nx > 0, L, -np.inf)
        E = np.exp(L - L.max(1, keepdims=True))
        Z = (E * self.Nx).sum(1)
        alpha = E * self.Nx / Z[:, None]  # attention mass on the chains of each input
        yhat = (E * self.Yx).sum(1) / Z
        return yhat, alpha

    def loss(self, Q) -> float:
        """``f(Q)`` in float64 (Q: ``(d+1, d+1)`` or its first d rows flattened)."""
        yhat, _ = self._attention(Q)
        return float(float(self.E_y2) - 2 * self.A1 @ yhat + self.A0 @ (yhat * yhat))

    def gradient(self, Q) -> np.ndarray:
        """``df/dQ``, ``(d+1, d+1)`` (the last row is 0)."""
        yhat, alpha = self._attention(Q)
        ybar = np.divide(self.Yx, self.Nx, out=np.zeros_like(self.Yx), where=self.Nx > 0)
        J = alpha * (ybar - yhat[:, None])  # d yhat / d s_x
        g = 2 * (self.A0 * yhat - self.A1)
        Gq = np.zeros((len(self.inputs), len(self.inputs)))
        np.add.at(Gq, self.qidx, g[:, None] * J)
        return self.Xt.T @ Gq.T @ self.Xt

    def hessian(self, Q) -> np.ndarray:
        """``d^2 f / dQ_uw dQ_u'w'``, shape ``((d+1)^2, (d+1)^2)`` in row-major order of Q."""
        yhat, alpha = self._attention(Q)
        ybar = np.divide(self.Yx, self.Nx, out=np.zeros_like(self.Yx), where=self.Nx > 0)
        J = alpha * (ybar - yhat[:, None])
        g = 2 * (self.A0 * yhat - self.A1)
        Hl = (2 * self.A0)[:, None, None] * J[:, :, None] * J[:, None, :]
        K2 = (np.einsum("vx,xy->vxy", J, np.eye(J.shape[1])) - alpha[:, :, None] * J[:, None, :]
              - J[:, :, None] * alpha[:, None, :])
        Hl += g[:, None, None] * K2
        nx = len(self.inputs)
        Hq = np.zeros((nx, nx, nx))
        np.add.at(Hq, self.qidx, Hl)
        X = self.Xt
        H = np.einsum("qab,au,qw,bv,qz->uwvz", Hq, X, X, X, X)
        k = self.d + 1
        return H.reshape(k * k, k * k)

    def expected_attention(self, Q) -> dict:
        """Expected attention on context chains whose input equals x_q (``exact``) or whose last input state
        equals x_q's (``last_state``); ``*_given`` conditions on at least one such chain in the context."""
        _, alpha = self._attention(Q)
        out = {}
        for name, mask in (("exact", self.match_exact), ("last_state", self.match_last)):
            mass = (alpha * mask).sum(1)
            present = ((self.Nx > 0) & mask).any(1)
            out[name] = float(self.A0 @ mass)
            out[name + "_given"] = float(self.A0 @ (mass * present) / (self.A0 @ present))
            out[name + "_uniform"] = float(self.A0 @ ((self.Nx * mask).sum(1) / self.n))  # at Q = 0
        return out

    # ------------------------------------------------------------------ exact and certified values
    def at_zero(self) -> sp.Rational:
        """``f(0)``, exact: uniform attention predicts the mean context label ``(sum_i y_i) / n``."""
        n = self.n
        total = flint.fmpq(0)
        Ysum = self.Yx.sum(1)
        for a0, a1, y in zip(self._A0_exact, self._A1_exact, Ysum):
            yb = flint.fmpq(int(y), n)
            total += a0 * yb * yb - 2 * a1 * yb
        return self.E_y2 + _rational(total)

    def certified(self, Q, prec: int = 128) -> tuple[float, float]:
        """A rigorous enclosure ``(lower, upper)`` of f(Q) at the exact value of the float64 matrix Q (arb balls)."""
        Q = self._Q(Q)
        old = flint.ctx.prec
        flint.ctx.prec = prec
        try:
            X = [[flint.arb(float(v)) for v in row] for row in self.Xt]
            Qa = [[flint.arb(float(v)) for v in row] for row in Q]
            k = self.d + 1
            nx = len(self.inputs)
            ex = [[sum((X[x][u] * Qa[u][w] * X[q][w] for u in range(k) for w in range(k)), flint.arb(0)).exp()
                   for x in range(nx)] for q in range(nx)]
            total = flint.arb(0)
            for v in range(self.size):
                q = int(self.qidx[v])
                Z = flint.arb(0)
                num = flint.arb(0)
                for x in range(nx):
                    if self.Nx[v, x]:
                        Z += ex[q][x] * int(self.Nx[v, x])
                        num += ex[q][x] * int(self.Yx[v, x])
                yh = num / Z
                a0 = self._A0_exact[v]
                a1 = self._A1_exact[v]
                total += yh * (yh * a0 - 2 * a1)
            e2 = flint.fmpq(int(self.E_y2.p), int(self.E_y2.q))
            total += e2
            lo, hi = total.lower(), total.upper()
            return float(lo.mid()) - float(lo.rad()) - 1e-300, float(hi.mid()) + float(hi.rad()) + 1e-300
        finally:
            flint.ctx.prec = old


def _theta(Q: np.ndarray, d: int) -> np.ndarray:
    return np.asarray(Q, dtype=np.float64)[:d].reshape(-1)


def best_softmax(L: SoftmaxLoss, starts: int = 12, seed: int = 0, bound: float = 60.0,
                 progress=None) -> SoftmaxOptimum:
    """``f_softmax* = min_Q f(Q)`` by multistart L-BFGS-B on the first d rows of Q, exact gradient (float64).

    The starts are Q = 0 and seeded Gaussian matrices of scales 0.5, 2 and 5; the box ``|Q_uw| <= bound``
    catches minimisers at infinity (saturated attention), which are reported as such. The global minimum is
    not certified; f(Q*) is enclosed rigorously and the Hessian's eigenvalues are given.
    """
    from scipy.optimize import minimize

    d = L.d
    k = d * (d + 1)
    rng = np.random.default_rng(seed)
    scales = [0.5, 2.0, 5.0]
    inits = [np.zeros(k)] + [rng.normal(0.0, scales[i % 3], k) for i in range(max(starts - 1, 0))]

    def fun(th):
        Q = L._Q(th)
        return L.loss(Q), _theta(L.gradient(Q), d)

    runs = []
    for th0 in wrapped(progress, inits, "softmax multistart"):
        res = minimize(fun, th0, jac=True, method="L-BFGS-B", bounds=[(-bound, bound)] * k,
                       options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-11})
        runs.append((float(res.fun), res.x))
    runs.sort(key=lambda r: r[0])
    f_best, th = runs[0]
    Q = L._Q(th)
    H = L.hessian(Q).reshape(d + 1, d + 1, d + 1, d + 1)[:d, :, :d, :].reshape(k, k)
    eig = np.linalg.eigvalsh((H + H.T) / 2)
    lo, hi = L.certified(Q)
    at_bound = bool(np.any(np.abs(th) > bound - 1e-6))
    agree = sum(1 for f, _ in runs if f - f_best <= 1e-9)
    cert = (f"multistart L-BFGS-B in the first d rows of Q ({k} parameters): {len(runs)} starts (Q = 0 and seeded "
            f"Gaussian, scales 0.5 / 2 / 5, seed {seed}), exact gradient; {agree} of {len(runs)} runs within 1e-9 of "
            f"the best; gradient norm at Q* {np.linalg.norm(_theta(L.gradient(Q), d)):.1e}; Hessian eigenvalues "
            f"{', '.join(f'{x:.3g}' for x in eig)}"
            + (" (positive: a strict local minimum)" if eig.min() > 0 and not at_bound else "")
            + f"; f(Q*) in [{lo:.15g}, {hi:.15g}] (128-bit ball arithmetic); global minimality not certified"
            + ("; the best run ends on the box |Q| <= " + f"{bound:g}: the infimum may lie at infinity" if at_bound
               else ""))
    return SoftmaxOptimum(f_best, Q, L.at_zero(), (lo, hi), eig, [f for f, _ in runs], cert, L.expected_attention(Q))


@dataclass
class SoftmaxFlow:
    """The exact gradient flow ``dQ/dt = -grad f(Q)`` from Q = 0 (float64 ODE on the exact loss).

    Attributes:
        t: recorded times; Q: ``(len(t), d+1, d+1)``; loss, attention_exact, attention_last: per time.
        stages: named times (the fastest growth of the matching attention per unit of log t, 50% / 90% / 99%
            of its rise, the loss within 1e-4 / 1e-6 of its final value).
    """

    t: np.ndarray
    Q: np.ndarray
    loss: np.ndarray
    attention_exact: np.ndarray
    attention_last: np.ndarray
    stages: dict


def softmax_flow(L: SoftmaxLoss, T: float = 200.0, points: int = 200, Q0=None) -> SoftmaxFlow:
    """Integrate the gradient flow of f from ``Q0`` (default 0) to time T (SciPy DOP853, rtol 1e-10).

    Examples:
        >>> fl = softmax_flow(SoftmaxLoss(1, "1/2", 4), T=500.0, points=40)
        >>> bool(fl.loss[-1] < fl.loss[0]), bool(fl.attention_exact[-1] > fl.attention_exact[0])
        (True, True)
    """
    from scipy.integrate import solve_ivp

    d = L.d
    k = d * (d + 1)
    th0 = np.zeros(k) if Q0 is None else _theta(L._Q(Q0), d)
    if not (isinstance(T, (int, float)) and math.isfinite(T) and T > 0):
        raise MarkovICLError(f"T must be a finite time > 0, got {T!r}")

    def rhs(_t, th):
        return -_theta(L.gradient(L._Q(th)), d)

    ts = np.concatenate([[0.0], np.geomspace(1e-3, T, points - 1)])
    sol = solve_ivp(rhs, (0.0, T), th0, method="DOP853", t_eval=ts, rtol=1e-10, atol=1e-12, dense_output=True)
    Qs = np.array([L._Q(th) for th in sol.y.T])
    loss = np.array([L.loss(Q) for Q in Qs])
    att = [L.expected_attention(Q) for Q in Qs]
    ae = np.array([a["exact"] for a in att])
    al = np.array([a["last_state"] for a in att])
    stages = {}
    rise = ae[-1] - ae[0]
    if abs(rise) > 1e-12:
        for frac in (0.5, 0.9, 0.99):
            target = ae[0] + frac * rise
            i = int(np.argmax((ae - target) * np.sign(rise) >= 0))
            stages[f"attention_{int(frac * 100)}pct"] = _crossing(sol, L, i, target, ts)
        logt = np.log(sol.t[1:])
        rate = np.gradient(ae[1:], logt)  # growth per unit of log t: the middle of the rise
        stages["attention_fastest"] = float(sol.t[1 + int(np.argmax(np.abs(rate)))])
    for tol in (1e-4, 1e-6):
        ok = np.flatnonzero(loss - loss[-1] > tol)
        stages[f"loss_within_{tol:g}"] = float(sol.t[ok[-1] + 1]) if len(ok) and ok[-1] + 1 < len(ts) else 0.0
    return SoftmaxFlow(sol.t, Qs, loss, ae, al, stages)


def _crossing(sol, L: SoftmaxLoss, i: int, target: float, ts) -> float:
    """The time the matching attention crosses ``target`` between recorded points i-1 and i (bisection on the
    dense ODE output)."""
    if i == 0:
        return 0.0
    lo, hi = float(ts[i - 1]), float(ts[i])

    def att(t):
        return L.expected_attention(L._Q(sol.sol(t)))["exact"] - target

    flo = att(lo)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        fm = att(mid)
        if (fm >= 0) == (flo >= 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return 0.5 * (lo + hi)


def softmax(d: int, p=None, n: int = 10, kernel: str = "uniform", init: str = "iid", states: int = 2,
            starts: int = 12, seed: int = 0, progress=None) -> SoftmaxOptimum:
    """The best one-layer softmax attention on Markov prompts (theory §14): what ``markov-icl softmax`` prints.

    Examples:
        >>> opt = softmax(1, "1/2", 5, starts=3)
        >>> opt.loss_at_zero, opt.f_softmax_star < float(opt.loss_at_zero)
        (1/4, True)
    """
    L = SoftmaxLoss(d, p, n, kernel=kernel, init=init, states=states, progress=progress)
    return best_softmax(L, starts=check_int("starts", starts, 1), seed=seed, progress=progress)


__all__ = ["SoftmaxLoss", "SoftmaxOptimum", "SoftmaxFlow", "softmax", "best_softmax", "softmax_flow",
           "type_vector_count", "count_vectors", "MAX_TYPE_VECTORS"]
