"""The mode solution of linear-attention learning dynamics on Gaussian regression, derived and checked exactly
(theory §16).

**The parameterization.** One linear attention head with separate key and query matrices and the value
reading the label (``b = e_{d+1}``, the value block of Zhang, Frei and Bartlett and of Ahn et al.):

    yhat = (1/n) sum_i y_i (W_K z_i)^T (W_Q x_q) = g^T W_K^T W_Q x_q,    g = G_{:, d+1} = (h, (1/n) sum_i y_i^2),

``W_K`` of shape ``h x (d+1)`` (its last column ``w_Ky`` reads the label of the key, the block the seed's
assumptions set to zero), ``W_Q`` of shape ``h x d`` (the query's label slot is 0, so a last column would never
act), ``h`` the head dimension (default d). In the enlarged space of theory §3 this is ``X = phi(e_{d+1}, A)``,
``A = W_K^T W_Q`` (:func:`key_query`), so the engine's exact population loss ``f(theta) = E[y^2] - 2 beta^T X +
X^T H X`` of :class:`~markov_icl.symbolic.dynamics.PopulationLoss` applies to it unchanged, for the Gaussian law
(:meth:`QuadraticObjective.gaussian`), for sampled prompts (:meth:`QuadraticObjective.empirical`, finite P) and for
Markov prompts (:func:`~markov_icl.symbolic.solve.solve`).

Why it is the seed's: the seed's modes carry two numbers ``p_alpha, q_alpha`` whose product is the mode's weight,
with ``p_alpha^2 - q_alpha^2`` conserved and the fixed point the ZFB preconditioner; a product of two factors
``Gamma = W_Kx^T W_Q`` with the balancedness ``W_K W_K^T - W_Q W_Q^T`` conserved gives exactly that, a single
trainable value scale (three factors) would not.

**The mode equations.** ``Sigma = diag(s_1, ..., s_d)`` (a rotated ``U diag(s) U^T`` is the same problem after
``x -> U^T x``, since ``w ~ N(0, tau2 I)`` is isotropic, and ``(W_K, W_Q) -> (W_K U, W_Q U)``); with ``w_Ky = 0``
and ``Gamma = W_Kx^T W_Q`` (``d x d``, ``yhat = h^T Gamma x_q``):

    f(Gamma) = E[y^2] - 2 tau2 tr(Sigma Gamma^T Sigma) + tr(Gamma^T E[h h^T] Gamma Sigma),
    E[h h^T] = tau2 ((n+1)/n Sigma^2 + tr(Sigma)/n Sigma) + (noise2/n) Sigma = diag(e_alpha).

Aligned weights ``W_Kx = R diag(p)``, ``W_Q = R diag(q)`` (``R`` orthogonal, ``h = d``) give ``Gamma = diag(p q)`` and

    f = E[y^2] + sum_alpha s_alpha (e_alpha p_alpha^2 q_alpha^2 - 2 tau2 s_alpha p_alpha q_alpha),
    dp_alpha/dt = 2 s_alpha q_alpha (tau2 s_alpha - e_alpha p_alpha q_alpha),   dq_alpha/dt = (p <-> q),

the gradient flow ``theta' = -grad f`` of theory §12 (:func:`derive_modes` derives the reduced loss and every
component of the full gradient on the aligned set, exactly in symbolic ``s_alpha, n, tau2, noise2``: the
off-aligned components vanish, so the set is invariant). In the seed's form ``tau_alpha dp/dt = q (1 - p q
s_inf_alpha)`` with ``s_inf_alpha = e_alpha / (tau2 s_alpha) = ((n+1) s_alpha + tr S + noise2/tau2) / n`` and
``tau_alpha = 1 / (2 tau2 s_alpha^2)``: the seed's ``tau_alpha = (eta P s_alpha^2)^(-1)`` is this with its time
``eta P t_seed / 2 = t`` (its loss is ``(1/2) sum`` over P prompts, ours the mean squared error).

**The closed form.** ``p^2 - q^2 = c_alpha`` is conserved; balanced modes (``c = 0``) follow the logistic curve

    gamma_alpha(t) = gamma*_alpha / (1 + (gamma*_alpha / gamma_alpha(0) - 1) exp(-4 tau2 s_alpha^2 t)),
    gamma*_alpha = 1 / s_inf_alpha,   Gamma* = [((n+1)/n) S + ((tr S + noise2/tau2) / n) I]^{-1},

the ZFB optimum (:func:`~markov_icl.symbolic.gaussian.restricted_optimum_closed_form`), and ``L(t) = f(gamma(t))``
(:class:`ModeSolution`). Unbalanced modes satisfy ``gamma' = 2 tau2 s^2 (1 - s_inf gamma) sqrt(c^2 + 4 gamma^2)``
(still decoupled; :meth:`ModeSolution.gamma_unbalanced` integrates it).

**The conservation law** ``d/dt (W_K W_K^T - W_Q W_Q^T) = 0`` holds for every loss that depends on the weights
through ``W_K^T W_Q``: :func:`conservation_identity` proves it for an undefined function of ``W_K^T W_Q``
(SymPy's chain rule), and :func:`conservation_derivative` evaluates it as an exact polynomial for a given objective
(the zero polynomial, with or without the label column, for Gaussian and Markov prompts alike).

Examples:
    >>> from markov_icl.symbolic.gaussian import GaussianLaw
    >>> spec = mode_spectrum(GaussianLaw((1, "1/2")), 10)
    >>> spec["s_inf"], spec["gamma_star"], spec["tau"]
    ([5/4, 7/10], [4/5, 10/7], [1/2, 2])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy as sp

from markov_icl.errors import MarkovICLError, check_int


# ------------------------------------------------------------------------------------------------ objectives
@dataclass
class QuadraticObjective:
    """An enlarged-space objective ``f~(X) = E[y^2] - 2 beta^T X + X^T H X`` with exact entries: what
    :class:`~markov_icl.symbolic.dynamics.PopulationLoss` and :func:`~markov_icl.symbolic.dynamics.escape_prediction`
    read (``d``, ``is_numeric``, ``H_domain``, ``beta``, ``E_y2`` and their float64 copies).

    Examples:
        >>> from markov_icl.symbolic.gaussian import GaussianLaw
        >>> obj = QuadraticObjective.gaussian(GaussianLaw((1,)), 5)
        >>> obj.E_y2, obj.beta, obj.is_numeric
        (1, [0, 1, 0], True)
    """

    d: int
    H: sp.Matrix
    beta: list
    E_y2: sp.Expr
    source: str = ""

    @classmethod
    def gaussian(cls, law, n) -> "QuadraticObjective":
        """The exact population objective of :class:`~markov_icl.symbolic.gaussian.GaussianLaw` at ``n`` points."""
        H, beta, ey2 = law.objective(law.d, n)
        return cls(law.d, H, list(beta), ey2, f"gaussian {law}, n = {n}")

    @classmethod
    def empirical(cls, features, y, d: int) -> "QuadraticObjective":
        """The empirical objective of ``P`` prompts: ``H = (1/P) sum phi phi^T``, ``beta = (1/P) sum y phi``,
        ``E[y^2] = (1/P) sum y^2``, from float64 features ``phi = x_q (kron) g`` (``(P, dm)``): the sums are taken
        in float64 and then read as the exact rationals they store (its flow is the exact flow of that objective)."""
        F = np.asarray(features, dtype=np.float64)
        yv = np.asarray(y, dtype=np.float64)
        P = len(F)
        if F.ndim != 2 or len(yv) != P or P < 1:
            raise MarkovICLError("empirical: features must be (P, dm) and y (P,), P >= 1")

        def q(v):
            return sp.Rational(*float(v).as_integer_ratio())

        Hf = F.T @ F / P
        H = sp.Matrix(F.shape[1], F.shape[1], lambda a, b: q(Hf[min(a, b), max(a, b)]))
        beta = [q(v) for v in F.T @ yv / P]
        ey2 = q(yv @ yv / P)
        return cls(d, H, beta, ey2, f"empirical, P = {P}")

    @property
    def is_numeric(self) -> bool:
        return all(sp.sympify(v).is_Rational for v in (*self.H, *self.beta, self.E_y2))

    @cached_property
    def H_domain(self):
        from sympy.polys.domains import QQ
        from sympy.polys.matrices import DomainMatrix

        if not self.is_numeric:
            raise MarkovICLError("H_domain needs a numeric objective")
        return DomainMatrix.from_Matrix(self.H).convert_to(QQ)

    @cached_property
    def H_float(self) -> np.ndarray:
        return np.array(self.H.tolist(), dtype=np.float64)

    @cached_property
    def beta_float(self) -> np.ndarray:
        return np.array([float(v) for v in self.beta])

    @property
    def E_y2_float(self) -> float:
        return float(self.E_y2)


# ------------------------------------------------------------------------------------------------ parameterization
def key_query(d: int, head: int | None = None, key_label: bool = False):
    """The key-query parameterization of the module docstring as a
    :class:`~markov_icl.symbolic.param.Parameterization`: ``P`` with last row ``e_{d+1}``, ``Q = W_K^T [W_Q, 0]``.

    Args:
        d: input dimension.
        head: the head dimension ``h`` (default d).
        key_label: free ``w_Ky`` (the key's label column); False fixes it at 0 (the seed's assumption).

    The parameters are ``k_a_u`` (``W_K[a, u]``, u = 1..d, and u = d+1 with ``key_label``) then ``q_a_j``
    (``W_Q[a, j]``), row-major.

    Examples:
        >>> par = key_query(1)
        >>> par.params, par.Q, par.b
        ((k_1_1, q_1_1), Matrix([
        [k_1_1*q_1_1, 0],
        [          0, 0]]), [0, 1])
    """
    from markov_icl.symbolic.param import Parameterization

    d = check_int("d", d, 1)
    h = check_int("head", d if head is None else head, 1)
    D = d + 1
    K = sp.Matrix(h, D, lambda a, u: sp.Symbol(f"k_{a + 1}_{u + 1}", real=True) if u < d or key_label else 0)
    Wq = sp.Matrix(h, d, lambda a, j: sp.Symbol(f"q_{a + 1}_{j + 1}", real=True))
    Q = sp.Matrix.hstack(K.T * Wq, sp.zeros(D, 1))
    P = sp.zeros(D, D)
    P[d, d] = 1
    params = tuple(v for v in K if isinstance(v, sp.Symbol)) + tuple(Wq)
    return Parameterization(f"key_query(h={h}{', key label' if key_label else ''})", d, sp.ImmutableMatrix(P),
                            sp.ImmutableMatrix(Q.applyfunc(sp.expand)), params,
                            description="yhat = g^T W_K^T W_Q x_q, g = G[:, d+1] (theory §16)")


def split_theta(theta, d: int, head: int | None = None, key_label: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``(W_K (h, d+1), W_Q (h, d))`` of a float parameter vector of :func:`key_query` (also ``(T, k)`` -> batches).

    Examples:
        >>> WK, WQ = split_theta([1.0, 2.0], 1)
        >>> WK.tolist(), WQ.tolist()
        ([[1.0, 0.0]], [[2.0]])
    """
    h = d if head is None else head
    th = np.asarray(theta, dtype=np.float64)
    nk = h * (d + 1 if key_label else d)
    K = th[..., :nk].reshape(th.shape[:-1] + (h, d + 1 if key_label else d))
    if not key_label:
        K = np.concatenate([K, np.zeros(K.shape[:-1] + (1,))], -1)
    return K, th[..., nk:].reshape(th.shape[:-1] + (h, d))


def join_theta(WK, WQ, key_label: bool = False) -> np.ndarray:
    """The parameter vector of :func:`key_query` from ``W_K (h, d+1)`` (or ``(h, d)``) and ``W_Q (h, d)``.

    Examples:
        >>> join_theta([[1.0, 0.0]], [[2.0]]).tolist()
        [1.0, 2.0]
    """
    K = np.asarray(WK, dtype=np.float64)
    Q = np.asarray(WQ, dtype=np.float64)
    d = Q.shape[1]
    if not key_label:
        if K.shape[1] == d + 1 and np.any(K[:, d] != 0):
            raise MarkovICLError("W_K has a nonzero label column; use key_label=True")
        K = K[:, :d]
    return np.concatenate([K.reshape(-1), Q.reshape(-1)])


# ------------------------------------------------------------------------------------------------ modes
def mode_spectrum(law, n) -> dict:
    """Per mode alpha (the coordinates of the diagonal ``Sigma``): ``s``, ``e`` (eigenvalue of ``E[h h^T]``),
    ``s_inf = e / (tau2 s)``, ``gamma_star = 1 / s_inf``, ``tau = 1 / (2 tau2 s^2)`` (exact; symbolic where the law is).

    Examples:
        >>> from markov_icl.symbolic.gaussian import GaussianLaw
        >>> mode_spectrum(GaussianLaw((2,)), None)["s_inf"]           # ((n + 1) s + tr S) / n
        [2*(n + 2)/n]
    """
    from markov_icl.symbolic.objective import parse_n

    n = parse_n(n)
    s, tau2, noise2 = law.sigma_diag, law.tau2, law.noise2
    tr = sum(s)
    e = [sp.factor(tau2 * ((n + 1) * v ** 2 + tr * v) / n + noise2 * v / n) for v in s]
    s_inf = [sp.factor(sp.cancel(ev / (tau2 * v))) for ev, v in zip(e, s)]
    return {"s": list(s), "e": e, "s_inf": s_inf, "gamma_star": [sp.factor(1 / v) for v in s_inf],
            "tau": [sp.factor(1 / (2 * tau2 * v ** 2)) for v in s], "E_y2": sp.expand(tau2 * tr + noise2)}


@dataclass
class ModeDerivation:
    """What :func:`derive_modes` derived (exact SymPy).

    Attributes:
        p, q: the mode symbols; reduced_loss: ``f`` on the aligned set from the engine's ``H, beta`` (expanded);
        closed_form: the module docstring's formula; loss_identity: their difference (0).
        p_dot, q_dot: ``-df/dp_alpha``, ``-df/dq_alpha`` from the full gradient on the aligned set; expected_p_dot:
        the mode equations; equation_identity: the differences (all 0); off_aligned: the largest number of nonzero
        components of the full gradient off the aligned coordinates (0: the aligned set is invariant).
    """

    p: tuple
    q: tuple
    reduced_loss: sp.Expr
    closed_form: sp.Expr
    loss_identity: sp.Expr
    p_dot: list
    q_dot: list
    expected_p_dot: list
    equation_identity: list
    off_aligned: int


def derive_modes(law, n=None) -> ModeDerivation:
    """Derive the mode equations from the engine's exact ``H, beta, E[y^2]`` of ``law`` (theory §16).

    ``X(theta) = phi(e_{d+1}, W_K^T W_Q)`` with symbolic weights, the gradient ``2 J^T (H X - beta)`` evaluated on
    ``W_K = [diag(p), 0]``, ``W_Q = diag(q)`` (``R = I``); symbolic ``s_alpha``, ``n``, ``tau2``, ``noise2`` allowed.

    Examples:
        >>> from markov_icl.symbolic.gaussian import GaussianLaw
        >>> s = sp.Symbol("s", positive=True)
        >>> m = derive_modes(GaussianLaw((s,)))
        >>> m.loss_identity, m.equation_identity, m.off_aligned
        (0, [0], 0)
        >>> m.expected_p_dot[0]
        2*q1*s*(s - p1*q1*s**2*(n + 2)/n)
    """
    from markov_icl.symbolic.objective import parse_n

    d = law.d
    n = parse_n(n)
    par = key_query(d)
    H, beta, ey2 = law.objective(d, n)
    theta = par.params
    X = sp.Matrix(par.phi())
    J = X.jacobian(theta)
    p = sp.symbols(f"p1:{d + 1}", real=True)
    q = sp.symbols(f"q1:{d + 1}", real=True)
    sub = {}
    for a in range(d):
        for u in range(d):
            sub[sp.Symbol(f"k_{a + 1}_{u + 1}", real=True)] = p[a] if a == u else 0
            sub[sp.Symbol(f"q_{a + 1}_{u + 1}", real=True)] = q[a] if a == u else 0
    Xa = X.xreplace(sub)
    Ja = J.xreplace(sub)
    resid = H * Xa - sp.Matrix(beta)
    f = sp.expand(ey2 - 2 * (sp.Matrix(beta).T * Xa)[0] + (Xa.T * H * Xa)[0])
    spec = mode_spectrum(law, n)
    s, e, tau2 = spec["s"], spec["e"], law.tau2
    closed = ey2 + sum(s[a] * (e[a] * p[a] ** 2 * q[a] ** 2 - 2 * tau2 * s[a] * p[a] * q[a]) for a in range(d))
    grad = (2 * Ja.T * resid).applyfunc(lambda v: sp.factor(sp.cancel(v)))
    idx = {v: i for i, v in enumerate(theta)}
    p_dot = [sp.factor(-grad[idx[sp.Symbol(f"k_{a + 1}_{a + 1}", real=True)]]) for a in range(d)]
    q_dot = [sp.factor(-grad[idx[sp.Symbol(f"q_{a + 1}_{a + 1}", real=True)]]) for a in range(d)]
    expected = [2 * s[a] * q[a] * (tau2 * s[a] - e[a] * p[a] * q[a]) for a in range(d)]
    expected_q = [2 * s[a] * p[a] * (tau2 * s[a] - e[a] * p[a] * q[a]) for a in range(d)]
    diag = {idx[sp.Symbol(f"{c}_{a + 1}_{a + 1}", real=True)] for a in range(d) for c in ("k", "q")}
    off = sum(1 for i, v in enumerate(grad) if i not in diag and sp.simplify(v) != 0)
    ident = [sp.simplify(a - b) for a, b in zip(p_dot, expected)] + \
        [sp.simplify(a - b) for a, b in zip(q_dot, expected_q)]
    return ModeDerivation(p, q, f, sp.expand(closed), sp.simplify(f - sp.expand(closed)), p_dot, q_dot,
                          expected, [v for v in ident[:d]] if all(v == 0 for v in ident) else ident, off)


def conservation_identity(d: int = 2, head: int = 2, key_label: bool = True) -> sp.Matrix:
    """``d/dt (W_K W_K^T - W_Q W_Q^T)`` under ``theta' = -grad F(W_K^T W_Q)`` for an *undefined* SymPy function F
    of the entries of ``W_K^T W_Q`` (every loss of that form), simplified: the zero matrix.

    Examples:
        >>> conservation_identity(1, 1)
        Matrix([[0]])
    """
    d = check_int("d", d, 1)
    h = check_int("head", head, 1)
    if d * h > 9:
        raise MarkovICLError("conservation_identity is checked for d * head <= 9")
    K = sp.Matrix(h, d + (1 if key_label else 0), lambda a, u: sp.Symbol(f"k_{a}_{u}", real=True))
    Wq = sp.Matrix(h, d, lambda a, j: sp.Symbol(f"q_{a}_{j}", real=True))
    M = K.T * Wq
    F = sp.Function("F")(*M)
    theta = list(K) + list(Wq)
    grad = {v: sp.diff(F, v) for v in theta}
    C = K * K.T - Wq * Wq.T
    dC = C.applyfunc(lambda c: -sum(sp.diff(c, v) * grad[v] for v in theta))
    return dC.applyfunc(sp.expand)


def conservation_derivative(loss, d: int, head: int | None = None, key_label: bool = False) -> sp.Matrix:
    """``d/dt (W_K W_K^T - W_Q W_Q^T)`` along the gradient flow of ``loss`` (a
    :class:`~markov_icl.symbolic.dynamics.PopulationLoss` of :func:`key_query`), each entry an exact polynomial in
    the weights (:meth:`~markov_icl.symbolic.dynamics.PopulationLoss.invariant_derivative`)."""
    h = d if head is None else head
    g = {str(s): x for s, x in zip(loss.symbols, loss.gens)}
    zero = loss.ring(0)
    K = [[g.get(f"k_{a + 1}_{u + 1}", zero) for u in range(d + 1)] for a in range(h)]
    Wq = [[g[f"q_{a + 1}_{j + 1}"] for j in range(d)] for a in range(h)]
    out = sp.zeros(h, h)
    for a in range(h):
        for b in range(h):
            C = sum((K[a][u] * K[b][u] for u in range(d + 1)), zero) - sum((Wq[a][j] * Wq[b][j] for j in range(d)), zero)
            out[a, b] = loss.invariant_derivative(C)
    return out


# ------------------------------------------------------------------------------------------------ closed form
@dataclass
class ModeSolution:
    """The closed-form learning dynamics of the aligned modes (module docstring), floats from the exact spectrum.

    Examples:
        >>> from markov_icl.symbolic.gaussian import GaussianLaw
        >>> ms = ModeSolution.of(GaussianLaw((1, "1/2")), 10)
        >>> [round(float(v), 6) for v in ms.gamma([0.0, 50.0], [1e-4, 1e-4])[-1]]   # at t = 50: near gamma*
        [0.8, 1.428571]
    """

    s: np.ndarray
    e: np.ndarray
    tau2: float
    E_y2: float
    gamma_star: np.ndarray

    @classmethod
    def of(cls, law, n) -> "ModeSolution":
        spec = mode_spectrum(law, n)
        f = [np.array([float(v) for v in spec[k]]) for k in ("s", "e", "gamma_star")]
        return cls(f[0], f[1], float(law.tau2), float(spec["E_y2"]), f[2])

    @property
    def rates(self) -> np.ndarray:
        """``4 tau2 s_alpha^2``: the logistic rate of each balanced mode (``2 / tau_alpha``)."""
        return 4 * self.tau2 * self.s ** 2

    def gamma(self, t, gamma0) -> np.ndarray:
        """Balanced modes: ``gamma_alpha(t)`` for each time (rows) from ``gamma_alpha(0) > 0``."""
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))[:, None]
        g0 = np.asarray(gamma0, dtype=np.float64)
        gs = self.gamma_star
        return gs / (1 + (gs / g0 - 1) * np.exp(-self.rates * t))

    def loss_of_gamma(self, gamma) -> np.ndarray:
        """``f(gamma) = E[y^2] + sum_alpha s_alpha (e_alpha gamma_alpha^2 - 2 tau2 s_alpha gamma_alpha)``."""
        g = np.asarray(gamma, dtype=np.float64)
        return self.E_y2 + (self.s * (self.e * g * g - 2 * self.tau2 * self.s * g)).sum(-1)

    def loss(self, t, gamma0) -> np.ndarray:
        """The learning curve ``L(t)`` of balanced modes."""
        return self.loss_of_gamma(self.gamma(t, gamma0))

    def half_times(self, gamma0) -> np.ndarray:
        """The time each balanced mode reaches ``gamma*/2``: ``ln(gamma*/gamma0 - 1) / (4 tau2 s^2)``."""
        return np.log(self.gamma_star / np.asarray(gamma0, dtype=np.float64) - 1) / self.rates

    def gamma_unbalanced(self, t, p0, q0) -> np.ndarray:
        """Aligned but unbalanced modes (``c = p0^2 - q0^2``): ``gamma' = 2 tau2 s^2 (1 - s_inf gamma) sqrt(c^2 +
        4 gamma^2)`` integrated per mode (SciPy DOP853, rtol 1e-12)."""
        from scipy.integrate import solve_ivp

        p0, q0 = np.asarray(p0, float), np.asarray(q0, float)
        c = p0 ** 2 - q0 ** 2
        s_inf = 1 / self.gamma_star
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))

        def rhs(_t, g):
            return 2 * self.tau2 * self.s ** 2 * (1 - s_inf * g) * np.sqrt(c * c + 4 * g * g)

        sol = solve_ivp(rhs, (0.0, float(t.max())), p0 * q0, t_eval=t, method="DOP853", rtol=1e-12, atol=1e-15)
        return sol.y.T


__all__ = ["QuadraticObjective", "key_query", "split_theta", "join_theta", "mode_spectrum", "ModeDerivation",
           "derive_modes", "conservation_identity", "conservation_derivative", "ModeSolution"]
