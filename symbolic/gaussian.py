"""A second data family: i.i.d. Gaussian linear regression, with exact moments (theory §3 objective).

**Law.** Per prompt a task vector ``w ~ N(0, tau2 I_d)`` is drawn once; the ``n`` context
points and the query are ``x_i ~ N(0, Sigma)`` i.i.d., ``Sigma = diag(sigma_1, ..., sigma_d)``,
with labels ``y_i = w^T x_i + eps_i``, ``eps_i ~ N(0, noise2)`` i.i.d.; the query label ``y_q``
is hidden. ``z_i = (x_i, y_i)`` and ``G = (1/n) sum_{i<=n} z_i z_i^T`` as for chains (theory §1-2),
so the enlarged-space objective ``f~(X) = E[y^2] - 2 beta^T X + X^T H X`` of theory §3 applies
unchanged, in the engine's index order ``r = (j-1) m + pos(u, v)``.

**Derivation of H, beta, E[y^2].** Given ``w`` every ``z_i`` is Gaussian,
``z ~ N(0, C(w))`` with

    C(w) = [[Sigma, Sigma w], [w^T Sigma, w^T Sigma w + noise2]],

and the context points are independent given ``w``. The query input ``x_q ~ N(0, Sigma)``
is independent of ``w`` and of the context, so

    H[(j,uv),(j',u'v')] = Sigma_jj' E_w[ E[G_uv G_u'v' | w] ],
    E[G_uv G_u'v' | w]  = (1/n) E[z_u z_v z_u' z_v' | w] + (1 - 1/n) C_uv C_u'v'
                        = C_uv C_u'v' + (1/n) (C_uu' C_vv' + C_uv' C_vu'),

the fourth moment by Isserlis: ``E[z_u z_v z_u' z_v'] = C_uv C_u'v' + C_uu' C_vv' + C_uv' C_vu'``.
Since ``E[y_q x_qj | w] = (Sigma w)_j`` and the query is independent of the context given ``w``,

    beta[(j,uv)] = E_w[ (Sigma w)_j C_uv(w) ],      E[y^2] = E_w[C_{d+1,d+1}] = tau2 tr(Sigma) + noise2.

Every term is ``E_w`` of a polynomial of degree <= 4 in ``w``, evaluated exactly with SymPy
polynomials in ``w_1..w_d`` and Isserlis for ``N(0, tau2 I)``:
``E[prod_k w_k^{a_k}] = prod_k (a_k - 1)!! tau2^{a_k/2}`` when every ``a_k`` is even, else 0.
Entries are affine in ``1/n`` (``n`` may be a SymPy symbol). Because ``Sigma`` is diagonal, H is
block diagonal over ``j``; the tables are cached per law and the assembled objective per (law, n).

**Odd symmetry.** ``(w, eps) -> (-w, -eps)`` leaves the law invariant and flips the sign of
every ``y``, so a moment with an odd number of ``y`` factors vanishes: H does not couple the
"x-y" coordinates ``(j, (u, d+1))``, ``u <= d`` (one ``y`` factor) with the others, and beta
lives on the x-y block (``beta[(j,(j,d+1))] = tau2 sigma_j^2``, all other entries 0). Hence the
enlarged-space minimiser ``X* = H^{-1} beta`` lies in the x-y block, which is exactly the family
``yhat = x_q^T Gamma h``, ``h = (1/n) sum_i y_i x_i = (G_{1,d+1}, ..., G_{d,d+1})``
(:func:`x_of_gamma`), and ``f~* = f_Gamma*`` (checked exactly in ``tests/symbolic/test_gaussian.py``).

**The published restricted optimum** (:func:`restricted_optimum_closed_form`). For
``yhat = x_q^T Gamma h``:

    E[h w^T] = tau2 Sigma,
    E[h h^T] = tau2 ((n+1)/n Sigma^2 + tr(Sigma)/n Sigma) + (noise2/n) Sigma,
    loss(Gamma) = tr(Sigma Gamma E[hh^T] Gamma^T) - 2 tr(Sigma Gamma E[h w^T]) + tau2 tr(Sigma) + noise2,
    Gamma* = E[w h^T] E[hh^T]^{-1} = ((n+1)/n Sigma + (tr(Sigma) + noise2/tau2)/n I)^{-1},
    loss(Gamma*) = tau2 tr(Sigma) + noise2 - tr(Sigma Gamma* E[h w^T]).

With ``tau2 = 1``, ``noise2 = 0`` this is the global minimum of Zhang, Frei and Bartlett,
"Trained transformers learn linear models in-context", JMLR 25 (2024), Theorem 4.1
(``W^KQ_11 = ((n+1)/n Lambda + tr(Lambda)/n I)^{-1}``, ``Lambda`` their covariance), and the
one-layer optimum of Ahn, Cheng, Daneshmand and Sra, "Transformers learn to implement
preconditioned gradient descent for in-context learning", NeurIPS 2023 (their Theorem 1, up
to their sign and transpose convention). The noise term only adds ``noise2/(n tau2)`` to the
ridge ``tr(Sigma)/n``.

Examples:
    >>> law = GaussianLaw.isotropic(1)
    >>> H, beta, Ey2 = law.objective(1, 5)
    >>> H
    Matrix([
    [7/5,   0,  7/5],
    [  0, 7/5,    0],
    [7/5,   0, 21/5]])
    >>> beta.T, Ey2
    (Matrix([[0, 1, 0]]), 1)
    >>> restricted_optimum_closed_form(law, 1, 5)
    (Matrix([[5/7]]), 2/7)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from markov_icl.errors import MarkovICLError, shown
from markov_icl.symbolic.laws import parse_value
from markov_icl.symbolic.objective import Index, check_d, parse_n


def _parse_variance(value, name: str, *, strict: bool) -> sp.Expr:
    """An exact variance: a positive (``strict``) or non-negative rational, or a SymPy expression not known to violate it."""
    v = parse_value(value, name)
    if not isinstance(v, sp.Expr) or v.is_real is False or v.is_finite is False:
        raise MarkovICLError(f"{name} must be a finite real variance, got {shown(v, plain=True)}")
    want = "> 0" if strict else ">= 0"
    if v.is_number:
        ok = bool(v > 0) if strict else bool(v >= 0)
    else:
        ok = v.is_positive is not False if strict else v.is_nonnegative is not False
    if not ok:
        raise MarkovICLError(f"{name} must be {want}, got {shown(v, plain=True)}")
    return v


@dataclass(frozen=True)
class GaussianLaw:
    """Gaussian linear regression prompts (module docstring): ``w ~ N(0, tau2 I)``, ``x ~ N(0, diag(sigma_diag))``,
    ``y = w^T x + eps``, ``eps ~ N(0, noise2)``.

    Attributes:
        sigma_diag: the ``d`` diagonal entries of ``Sigma``, exact positive rationals (``1``, ``"1/2"``,
            ``Fraction``) or SymPy expressions; parsed to SymPy.
        tau2: the prior variance of ``w`` (> 0), default 1.
        noise2: the label-noise variance (>= 0), default 0.

    Raises:
        MarkovICLError: for an empty diagonal, a float, or a variance out of range.

    Examples:
        >>> GaussianLaw(("1", "1/2"), noise2="1/4")
        GaussianLaw(sigma_diag=(1, 1/2), tau2=1, noise2=1/4)
        >>> GaussianLaw((1, 0))
        Traceback (most recent call last):
        ...
        markov_icl.errors.MarkovICLError: sigma_diag[2] must be > 0, got 0
    """

    sigma_diag: tuple
    tau2: object = 1
    noise2: object = 0

    def __post_init__(self):
        diag = self.sigma_diag
        if isinstance(diag, (str, bytes, sp.Basic)) or not hasattr(diag, "__iter__"):
            raise MarkovICLError(f"sigma_diag must be a sequence of d >= 1 variances, got {shown(diag)}")
        diag = tuple(diag)
        if not diag:
            raise MarkovICLError("sigma_diag must hold d >= 1 variances, got none")
        parsed = tuple(_parse_variance(s, f"sigma_diag[{k}]", strict=True) for k, s in enumerate(diag, 1))
        object.__setattr__(self, "sigma_diag", parsed)
        object.__setattr__(self, "tau2", _parse_variance(self.tau2, "tau2", strict=True))
        object.__setattr__(self, "noise2", _parse_variance(self.noise2, "noise2", strict=False))

    @classmethod
    def isotropic(cls, d: int, tau2=1, noise2=0) -> GaussianLaw:
        """``Sigma = I_d``.

        Examples:
            >>> GaussianLaw.isotropic(2, noise2="1/3").sigma_diag
            (1, 1)
        """
        return cls((1,) * check_d(d), tau2=tau2, noise2=noise2)

    @property
    def d(self) -> int:
        return len(self.sigma_diag)

    @property
    def Sigma(self) -> sp.Matrix:
        return sp.diag(*self.sigma_diag)

    @property
    def is_numeric(self) -> bool:
        return all(not sp.sympify(v).free_symbols for v in (*self.sigma_diag, self.tau2, self.noise2))

    def _check_d(self, d) -> int:
        d = check_d(d)
        if d != self.d:
            raise MarkovICLError(f"d = {d} does not match the law's {self.d} covariance entries")
        return d

    def objective(self, d: int, n) -> tuple[sp.Matrix, sp.Matrix, sp.Expr]:
        """Exact ``(H, beta, E[y^2])`` of theory §3 for this law (module docstring for the derivation).

        Args:
            d: the input dimension; must equal ``len(sigma_diag)``.
            n: the number of context points, a positive integer, a SymPy symbol, or None (the symbol n).

        Returns:
            H as a ``dm x dm`` SymPy Matrix, beta as a ``dm x 1`` Matrix (``dm = d (d+1)(d+2)/2``), E[y^2];
            entries are affine in ``1/n``. Fresh (mutable) copies of a cached result.
        """
        d = self._check_d(d)
        H, beta, ey2 = _assembled(self, parse_n(n))
        return H.as_mutable(), beta.as_mutable(), ey2

    def sample(self, d: int, n: int, batch: int, generator=None, **kwargs):
        """Prompts of this law: :func:`markov_icl.numeric.gaussian.sample_gaussian_prompts` (numeric laws only)."""
        from markov_icl.numeric.gaussian import sample_gaussian_prompts

        return sample_gaussian_prompts(self, d, n, batch, generator=generator, **kwargs)


def _double_factorial_moment(a: int, tau2) -> sp.Expr:
    """``E[w^a]`` for ``w ~ N(0, tau2)``: ``(a-1)!! tau2^(a/2)`` for even ``a``, else 0."""
    if a % 2:
        return sp.Integer(0)
    return sp.factorial2(a - 1) * tau2 ** (a // 2) if a else sp.Integer(1)


def _expect_w(poly: sp.Poly, tau2) -> sp.Expr:
    """``E_w[poly(w)]`` for ``w ~ N(0, tau2 I)`` (Isserlis, coordinate-wise)."""
    total = sp.Integer(0)
    for monom, coeff in poly.terms():
        if any(a % 2 for a in monom):
            continue
        term = coeff
        for a in monom:
            term *= _double_factorial_moment(a, tau2)
        total += term
    return sp.expand(total)


@lru_cache(maxsize=64)
def _tables(law: GaussianLaw):
    """The n-independent parts: ``A[(uv),(u'v')] = E_w[C_uv C_u'v']``, ``B = E_w[C_uu' C_vv' + C_uv' C_vu']`` (m x m),
    beta (dm entries) and E[y^2]."""
    d = law.d
    idx = Index(d)
    w = sp.symbols(f"w1:{d + 1}", cls=sp.Dummy)
    sig = law.sigma_diag
    D = d  # 0-based position of y in z

    def c_expr(a: int, b: int) -> sp.Expr:
        if a > b:
            a, b = b, a
        if b < D:
            return sig[a] if a == b else sp.Integer(0)
        if a < D:
            return sig[a] * w[a]
        return sum(sig[k] * w[k] ** 2 for k in range(d)) + law.noise2

    C = {(a, b): sp.Poly(c_expr(a, b), *w) for a in range(D + 1) for b in range(a, D + 1)}

    def c(a, b):
        return C[(min(a, b), max(a, b))]

    pairs0 = [(u - 1, v - 1) for (u, v) in idx.pairs]  # 0-based, row-major
    prod_cache: dict = {}

    def ew2(p, q):  # E_w[C_p C_q], symmetric in p <-> q
        p, q = (min(p), max(p)), (min(q), max(q))
        key = (p, q) if p <= q else (q, p)
        if key not in prod_cache:
            prod_cache[key] = _expect_w(c(*key[0]) * c(*key[1]), law.tau2)
        return prod_cache[key]

    m = idx.m
    A = [[ew2(pairs0[a], pairs0[b]) for b in range(m)] for a in range(m)]
    B = [[sp.expand(ew2((u, u2), (v, v2)) + ew2((u, v2), (v, u2))) for (u2, v2) in pairs0] for (u, v) in pairs0]
    beta = [_expect_w(sp.Poly(sig[j] * w[j], *w) * c(u, v), law.tau2) for j in range(d) for (u, v) in pairs0]
    ey2 = _expect_w(c(D, D), law.tau2)
    return A, B, beta, ey2


@lru_cache(maxsize=128)
def _assembled(law: GaussianLaw, n: sp.Expr):
    """``H = Sigma (kron) (A + B/n)`` (index order r = (j-1) m + pos), beta, E[y^2] as immutable matrices."""
    A, B, beta, ey2 = _tables(law)
    d, m = law.d, Index(law.d).m
    egg = [[sp.expand(A[a][b] + B[a][b] / n) for b in range(m)] for a in range(m)]
    dm = d * m
    H = sp.zeros(dm, dm)
    for j in range(d):
        s = law.sigma_diag[j]
        for a in range(m):
            for b in range(m):
                H[j * m + a, j * m + b] = sp.expand(s * egg[a][b])
    return sp.ImmutableMatrix(H), sp.ImmutableMatrix(dm, 1, beta), ey2


def x_of_gamma(Gamma, d: int) -> list:
    """The enlarged-space point of ``yhat = x_q^T Gamma h``, ``h = (1/n) sum_i y_i x_i``.

    ``h_u = G_(u,d+1)``, so ``yhat = sum_j x_qj sum_u Gamma_ju G_(u,d+1)``: ``X^(j)_(u,d+1) = Gamma_ju`` for
    ``u <= d``, every other coordinate 0. It is realised by ``b = e_{d+1}``, ``A = [Gamma^T; 0]`` (theory §3).

    Args:
        Gamma: a ``d x d`` matrix (SymPy Matrix or nested lists; exact or symbolic entries).
        d: the input dimension.

    Returns:
        The ``dm`` coordinates as a list of SymPy values, in the order ``r = (j-1) m + pos(u, v)``.

    Examples:
        >>> x_of_gamma([[7]], 1)                                  # pairs (1,1), (1,2), (2,2)
        [0, 7, 0]
        >>> a, b, c, e = sp.symbols("a b c e")
        >>> x_of_gamma([[a, b], [c, e]], 2)                      # (1,3) is pos 3, (2,3) is pos 5
        [0, 0, a, 0, b, 0, 0, 0, c, 0, e, 0]
    """
    d = check_d(d)
    try:
        G = sp.Matrix(Gamma)
    except (TypeError, ValueError, sp.SympifyError) as exc:
        raise MarkovICLError(f"Gamma must be a d x d matrix, got {shown(Gamma)}") from exc
    if G.shape != (d, d):
        raise MarkovICLError(f"Gamma must be {d} x {d}, got shape {G.shape}")
    idx = Index(d)
    X = [sp.Integer(0)] * idx.dm
    for j in range(1, d + 1):
        for u in range(1, d + 1):
            X[idx.r(j, u, d + 1) - 1] = G[j - 1, u - 1]
    return X


def restricted_optimum_closed_form(law: GaussianLaw, d: int, n) -> tuple[sp.Matrix, sp.Expr]:
    """The optimal preconditioner of ``yhat = x_q^T Gamma h`` and its loss (module docstring; Zhang, Frei and Bartlett
    2024, Theorem 4.1; Ahn et al. 2023, Theorem 1).

    ``Gamma* = ((n+1)/n Sigma + (tr(Sigma) + noise2/tau2)/n I)^{-1}`` and
    ``loss* = tau2 tr(Sigma) + noise2 - tau2 tr(Sigma Gamma* Sigma)``.

    Args:
        law: a :class:`GaussianLaw`; d must equal its dimension.
        n: a positive integer, a SymPy symbol, or None (the symbol n).

    Returns:
        ``(Gamma*, loss*)``: a ``d x d`` SymPy Matrix (diagonal) and the exact loss.

    Examples:
        >>> n = sp.Symbol("n", positive=True)
        >>> restricted_optimum_closed_form(GaussianLaw.isotropic(1), 1, n)
        (Matrix([[n/(n + 2)]]), 2/(n + 2))
    """
    d = law._check_d(d)
    n = parse_n(n)
    sig, tau2, noise2 = law.sigma_diag, sp.sympify(law.tau2), sp.sympify(law.noise2)
    tr = sum(sig)
    gam = [sp.cancel(n / ((n + 1) * s + tr + noise2 / tau2)) for s in sig]
    loss = sp.factor(sp.cancel(tau2 * tr + noise2 - tau2 * sum(s * s * g for s, g in zip(sig, gam))))
    return sp.diag(*gam), loss


__all__ = ["GaussianLaw", "x_of_gamma", "restricted_optimum_closed_form"]
