"""One-layer parameterizations as data: which entries of (P, Q) are free, fixed or tied, and their exact optimum.

A one-layer LSA (theory §2) is ``Z_1 = Z_0 + (1/n) P Z_0 M Z_0^T Q Z_0`` read at the query's
label, ``yhat = sign * [Z_1]_{d+1, n+1}``. Only the last row of ``P`` and the first ``d``
columns of ``Q`` reach the prediction, ``yhat = sign * b^T G A x_q`` with ``b = P[d+1, :]``,
``A = Q[:, :d]``, so every parameterization maps to the enlarged space by
``X = phi(sign * b, A)`` (theory §3). A :class:`Parameterization` holds ``P`` and ``Q`` as
exact SymPy matrices whose entries are numbers (fixed), free symbols (free; one symbol in
several entries ties them) or expressions in them, and the read-out sign.

When ``X`` is affine in the free parameters, ``X = M theta + X0`` exactly (one factor of the
bilinear map fixed), and the best loss over the parameterization is an exact least-squares
problem: ``theta* = (M^T H M)^{-1} M^T (beta - H X0)``, ``f_param* = f~(M theta* + X0)``
(:func:`optimum`). When both factors carry free parameters (``dense``, ``sparse``) the best loss
is ``f*``, found by the variable projection of :func:`markov_icl.symbolic.varpro.best_one_layer`
with its certificate.

Presets (:func:`preset`, :data:`PRESETS`):

* ``dense``: every entry of ``P`` and ``Q`` free (the paper's one-layer TF, Eq. (2));
* ``sparse``: ``b`` and ``A`` free, the rest zero (the effective parameters of theory §2,
  :class:`markov_icl.numeric.lsa.SparseLSA`);
* ``ahn``: Ahn, Cheng, Daneshmand and Sra (NeurIPS 2023), "Transformers learn to implement
  preconditioned gradient descent for in-context learning", one-layer ``Transformer_F`` of
  their repository chengxiang/LinearTransformer: ``P = [[P0, 0], [0, 1]]``, ``Q = [[Q0, 0],
  [0, 0]]`` in their token-major layout, prediction minus the query's label entry. In our
  column layout their attention is ``(1/n) P Z M Z^T Q^T Z``, so ``b = e_{d+1}``,
  ``A = -[Q0^T; 0]`` (stored as ``A = [Q0^T; 0]`` with read-out sign ``-1``, the same ``X``):
  ``yhat = -(1/n) sum_i y_i x_q^T Q0 x_i`` (``P0`` does not reach the prediction; it is not a
  parameter here);
* ``zfb``: Zhang, Frei and Bartlett (JMLR 2024), "Trained transformers learn linear models
  in-context", Section 3: ``W^PV = [[0, 0], [0, 1]]``, ``W^KQ = [[W11, 0], [0, 0]]``, prediction
  the label entry: ``b = e_{d+1}``, ``A = [W11; 0]``, ``yhat = (1/n) sum_i y_i x_i^T W11 x_q``
  (the same family as ``ahn``, with ``W11 = -Q0^T``);
* ``gd``: one step of gradient descent from ``w = 0`` on ``(1/2n) sum_i (w^T x_i - y_i)^2``
  with a learned step ``eta``: ``yhat = eta (1/n) sum_i y_i x_i^T x_q``, ``b = e_{d+1}``,
  ``A = eta [I; 0]`` (von Oswald et al., ICML 2023, "Transformers learn in-context by gradient
  descent", Proposition 1).

Examples:
    >>> opt = optimum(1, "1/2", 10, param="gd")
    >>> opt.theta_star, opt.f_param_star
    ((5/3,), 13/36)
    >>> opt.f_tilde_star <= opt.f_param_star
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from markov_icl.errors import MarkovICLError
from markov_icl.symbolic.model import phi

if TYPE_CHECKING:
    from markov_icl.types import Parameter

PRESETS = ("dense", "sparse", "ahn", "zfb", "gd")

#: presets whose prediction is linear in the free parameters (exact least squares)
LINEAR_PRESETS = ("ahn", "zfb", "gd")


@dataclass(frozen=True)
class Parameterization:
    """A one-layer parameterization (module docstring).

    Attributes:
        name: a label (the preset's name, or the user's).
        d: chain input length.
        P, Q: ``(d+1) x (d+1)`` exact SymPy matrices; entries numbers or expressions in ``params``.
        params: the free parameters, in the order of ``theta``.
        sign: the read-out sign: ``yhat = sign * [Z_1]_{d+1, n+1}``.
        description: the formula it implements and where it comes from.

    Examples:
        >>> import sympy as sp
        >>> eta = sp.Symbol("eta")
        >>> P = sp.ImmutableMatrix([[0, 0], [0, 1]])            # b = e_2
        >>> Q = sp.ImmutableMatrix([[eta, 0], [0, 0]])          # A = [eta; 0]: one GD step at d = 1
        >>> g = Parameterization("my_gd", 1, P, Q, (eta,))
        >>> g.phi(), g.is_linear, g.design()[0].T
        ([0, eta, 0], True, Matrix([[0, 1, 0]]))
    """

    name: str
    d: int
    P: sp.ImmutableMatrix
    Q: sp.ImmutableMatrix
    params: tuple
    sign: int = 1
    description: str = ""
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        from markov_icl.errors import check_int, shown

        if not isinstance(self.name, str):
            raise MarkovICLError(f"a parameterization's name must be a string, got {shown(self.name)}")
        check_int("d", self.d)
        D = self.d + 1
        for which in ("P", "Q"):  # lists, tuples and arrays are accepted as matrices
            m = getattr(self, which)
            if not isinstance(m, sp.ImmutableMatrix):
                try:
                    m = sp.ImmutableMatrix(m)
                except (TypeError, ValueError, sp.SympifyError) as exc:
                    raise MarkovICLError(f"parameterization {self.name!r}: {which} is not a matrix "
                                         f"({shown(str(exc), 80, plain=True)})") from None
                object.__setattr__(self, which, m)
        if self.P.shape != (D, D) or self.Q.shape != (D, D):
            raise MarkovICLError(f"parameterization {self.name!r}: P and Q must be {D} x {D}, got "
                                 f"{self.P.shape} and {self.Q.shape}")
        if isinstance(self.sign, bool) or self.sign not in (1, -1):
            raise MarkovICLError(f"parameterization {self.name!r}: the read-out sign must be +1 or -1, got "
                                 f"{shown(self.sign)}")
        if isinstance(self.params, (str, sp.Basic)) or not hasattr(self.params, "__iter__"):
            raise MarkovICLError(f"parameterization {self.name!r}: params must be a tuple of SymPy symbols, got "
                                 f"{shown(self.params)}")
        object.__setattr__(self, "params", tuple(self.params))
        if not all(isinstance(s, sp.Symbol) for s in self.params) or len(set(self.params)) != len(self.params):
            raise MarkovICLError(f"parameterization {self.name!r}: params must be distinct SymPy symbols, got "
                                 f"{shown(self.params)}")
        free = set().union(*(e.free_symbols for e in (*self.P, *self.Q)))
        extra = free - set(self.params)
        if extra:
            raise MarkovICLError(f"parameterization {self.name!r}: entries use {sorted(map(str, extra))}, which are "
                                 "not among its params")
        for e in (*self.P, *self.Q):  # X = phi(b, A) must be a polynomial in theta with rational coefficients
            if not _is_rational_polynomial(e, self.params):
                raise MarkovICLError(f"parameterization {self.name!r}: the entry {shown(e, 60, plain=True)} is not a "
                                     "polynomial in the params with rational coefficients (no floats, oo, I, sqrt, "
                                     "functions)")

    @property
    def b(self) -> list:
        """``sign * P[d+1, :]`` (the read-out sign folded into b)."""
        return [self.sign * self.P[self.d, k] for k in range(self.d + 1)]

    @property
    def A(self) -> list:
        """``Q[:, :d]`` as rows."""
        return [[self.Q[u, j] for j in range(self.d)] for u in range(self.d + 1)]

    def phi(self, theta=None) -> list:
        """``X = phi(sign * b, A)``: exact expressions in ``params``, or values at ``theta`` (exact)."""
        X = phi(self.b, self.A) if "phi" not in self._cache else self._cache["phi"]
        self._cache["phi"] = X
        if theta is None:
            return X
        sub = dict(zip(self.params, _exact_list(theta, len(self.params), "theta")))
        return [sp.sympify(x).xreplace(sub) for x in X]

    @property
    def is_linear(self) -> bool:
        """True when ``X`` is affine in the free parameters (one bilinear factor fixed)."""
        if "linear" not in self._cache:
            self._cache["linear"] = all(sp.Poly(x, *self.params).total_degree() <= 1 if self.params else True
                                        for x in self.phi())
        return self._cache["linear"]

    def design(self) -> tuple[sp.Matrix, sp.Matrix]:
        """``(M, X0)`` with ``X = M theta + X0`` exactly (``dm x k`` and ``dm x 1``).

        Raises:
            MarkovICLError: when the parameterization is not linear.
        """
        if not self.is_linear:
            raise MarkovICLError(f"parameterization {self.name!r} is bilinear in its parameters: no design matrix")
        X = self.phi()
        zero = {s: 0 for s in self.params}
        X0 = sp.Matrix([sp.sympify(x).xreplace(zero) for x in X])
        M = sp.Matrix([[sp.diff(x, s) for s in self.params] for x in X]) if self.params else sp.zeros(len(X), 0)
        return M, X0

    def to_dict(self) -> dict:
        return {"name": self.name, "d": self.d, "sign": self.sign, "params": [str(s) for s in self.params],
                "P": [[str(x) for x in self.P.row(i)] for i in range(self.d + 1)],
                "Q": [[str(x) for x in self.Q.row(i)] for i in range(self.d + 1)],
                "linear": self.is_linear, "description": self.description}


def _is_rational_polynomial(e, params: tuple) -> bool:
    """True when ``e`` is a polynomial in ``params`` whose coefficients are exact rationals."""
    e = sp.sympify(e)
    if e.is_Rational:
        return True
    if e.has(sp.Float, sp.I, sp.oo, -sp.oo, sp.zoo, sp.nan):
        return False
    try:
        sp.Poly(e, *params, domain="QQ")
        return bool(params)
    except (sp.PolynomialError, sp.polys.polyerrors.CoercionFailed, sp.polys.polyerrors.GeneratorsNeeded):
        return False


def _exact_list(values, k: int, what: str) -> list:
    vals = list(np.asarray(values, dtype=object).reshape(-1))
    if len(vals) != k:
        raise MarkovICLError(f"{what}: expected {k} values, got {len(vals)}")
    return [exact_number(v) for v in vals]


def exact_number(v) -> sp.Rational:
    """A number as an exact rational: a float is taken at its exact binary value (``0.1`` is
    ``3602879701896397/36028797018963968``), so a float model's loss is the loss of exactly its weights.

    Raises:
        MarkovICLError: for NaN, infinity or anything that is not a real number.
    """
    if isinstance(v, sp.Basic):
        if v.is_Rational:
            return v
        if v.is_Float or v.is_number:
            v = float(v)
        else:
            raise MarkovICLError(f"expected a number, got {v}")
    if hasattr(v, "item"):  # NumPy / torch scalars
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, float)) and not hasattr(v, "numerator"):
        raise MarkovICLError(f"expected a real number, got {type(v).__name__}")
    if isinstance(v, float):
        if not np.isfinite(v):
            raise MarkovICLError(f"a parameter is {v}; every parameter must be a finite number")
        num, den = v.as_integer_ratio()
        return sp.Rational(num, den)
    return sp.Rational(v)


def _symbols(prefix: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{prefix}_{i + 1}_{j + 1}", real=True))


def preset(name: str, d: int) -> Parameterization:
    """The parameterization ``name`` (:data:`PRESETS`) at input length d (module docstring).

    Examples:
        >>> g = preset("gd", 2)
        >>> g.params, g.is_linear, g.b
        ((eta,), True, [0, 0, 1])
        >>> preset("ahn", 1).phi()             # X = (X_11, X_12, X_22) = (0, -Q0_1_1, 0)
        [0, -Q0_1_1, 0]
    """
    from markov_icl.symbolic.objective import check_d

    check_d(d)
    D = d + 1
    zero = sp.zeros(D, D)
    if name == "dense":
        P, Q = _symbols("P", D, D), _symbols("Q", D, D)
        params = tuple(P) + tuple(Q)
        desc = "every entry of P and Q free (the paper's one-layer TF); yhat = b^T G A x_q, b = P[d+1, :], A = Q[:, :d]"
        return Parameterization(name, d, sp.ImmutableMatrix(P), sp.ImmutableMatrix(Q), params, 1, desc)
    if name == "sparse":
        P, Q = zero.copy(), zero.copy()
        b, A = sp.Matrix([[sp.Symbol(f"b_{k + 1}", real=True) for k in range(D)]]), _symbols("A", D, d)
        P[d, :] = b
        Q[:, :d] = A
        desc = "b = P[d+1, :] and A = Q[:, :d] free, the rest 0 (theory §2): yhat = b^T G A x_q"
        return Parameterization(name, d, sp.ImmutableMatrix(P), sp.ImmutableMatrix(Q), tuple(b) + tuple(A), 1, desc)
    e = zero.copy()
    e[d, d] = 1  # P = [[., 0], [0, 1]]: b = e_{d+1}
    if name == "ahn":
        Q0 = _symbols("Q0", d, d)
        Q = zero.copy()
        Q[:d, :d] = Q0.T  # their Q0 acts as Q0^T in our column layout
        desc = ("Ahn et al. (NeurIPS 2023), one-layer Transformer_F: P = [[P0, 0], [0, 1]], Q = [[Q0, 0], [0, 0]] "
                "(token-major), prediction minus the label entry: yhat = -(1/n) sum_i y_i x_q^T Q0 x_i")
        return Parameterization(name, d, sp.ImmutableMatrix(e), sp.ImmutableMatrix(Q), tuple(Q0), -1, desc)
    if name == "zfb":
        W = _symbols("W11", d, d)
        Q = zero.copy()
        Q[:d, :d] = W
        desc = ("Zhang, Frei and Bartlett (JMLR 2024): W^PV = [[0, 0], [0, 1]], W^KQ = [[W11, 0], [0, 0]]: "
                "yhat = (1/n) sum_i y_i x_i^T W11 x_q")
        return Parameterization(name, d, sp.ImmutableMatrix(e), sp.ImmutableMatrix(Q), tuple(W), 1, desc)
    if name == "gd":
        eta = sp.Symbol("eta", real=True)
        Q = zero.copy()
        Q[:d, :d] = eta * sp.eye(d)
        desc = ("one gradient step from w = 0 with a learned step eta (von Oswald et al., ICML 2023): "
                "yhat = eta (1/n) sum_i y_i x_i^T x_q")
        return Parameterization(name, d, sp.ImmutableMatrix(e), sp.ImmutableMatrix(Q), (eta,), 1, desc)
    raise MarkovICLError(f"unknown parameterization {name!r}; allowed: {', '.join(PRESETS)}")


@dataclass
class ParamOptimum:
    """The best loss over a parameterization, next to ``f~*`` (and ``f*`` where computed).

    Attributes:
        param: the :class:`Parameterization`.
        theta_star: exact optimal parameters (linear parameterizations), else None.
        X: ``M theta* + X0`` (exact), or ``phi`` of the best parameters found (floats).
        f_param_star: exact for a linear parameterization, a float from the certified search otherwise.
        f_tilde_star: the enlarged-space optimum (exact).
        f_star: the best one-layer loss (float), when computed.
        method: how ``f_param_star`` was found.
    """

    param: Parameterization
    theta_star: tuple | None
    X: list
    f_param_star: Any
    f_tilde_star: Any
    f_star: float | None
    method: str

    @property
    def chain(self) -> list[tuple[str, float]]:
        """``[(name, value)]`` of ``f~* <= f* <= f_param*`` (``f*`` where computed)."""
        out = [("f_tilde_star", float(self.f_tilde_star))]
        if self.f_star is not None:
            out.append(("f_star", float(self.f_star)))
        out.append(("f_param_star", float(self.f_param_star)))
        return out

    def _repr_markdown_(self) -> str:
        """The optimum as Jupyter shows it (:mod:`markov_icl.display`): ``theta*``, ``f_param*`` and the chain.

        Examples:
            >>> print(optimum(1, "1/2", 10, param="gd")._repr_markdown_().splitlines()[0])
            **gd** optimum: $\\theta^* = (\\eta) = \\left(\\frac{5}{3}\\right)^{\\top}$, $f_{\\rm param}^* = \\frac{13}{36}$
        """
        from markov_icl.display import latex_vector, shorten, tex_of

        numeric = sp.sympify(self.f_tilde_star).is_number
        if self.theta_star is not None:
            names = ", ".join(sp.latex(t) for t in self.param.params)
            head = (rf"**{self.param.name}** optimum: $\theta^* = ({names}) = {latex_vector(self.theta_star)}$, "
                    rf"$f_{{\rm param}}^* = {tex_of(self.f_param_star)}$")
        else:
            head = (rf"**{self.param.name}** optimum: $f_{{\rm param}}^* = {float(self.f_param_star):.12g}$ "
                    f"({shorten(self.method, 80)})")
        if not numeric:
            return head + "\n\n" + rf"$\tilde f^* = {tex_of(self.f_tilde_star)}$"
        symbols = {"f_tilde_star": r"\tilde f^*", "f_star": "f^*", "f_param_star": r"f_{\rm param}^*"}
        chain = r" \le ".join(f"{symbols[k]} = {v:.10f}" for k, v in self.chain)
        return head + f"\n\n${chain}$ ({'holds' if self.chain_holds() else 'VIOLATED'})"

    def chain_holds(self, tol: float = 1e-12) -> bool:
        """``f~* <= f_param*`` exactly (when both are exact), and ``f~* <= f* <= f_param*`` within ``tol`` for ``f*``."""
        exact = isinstance(self.f_param_star, sp.Rational) and isinstance(self.f_tilde_star, sp.Rational)
        ok = bool(self.f_tilde_star <= self.f_param_star) if exact else \
            float(self.f_tilde_star) <= float(self.f_param_star) + tol
        if self.f_star is not None:
            ok = ok and float(self.f_tilde_star) <= self.f_star + tol and self.f_star <= float(self.f_param_star) + tol
        return ok


def least_squares(M: sp.Matrix, X0: sp.Matrix, H, beta, E_y2) -> tuple[tuple, list, object]:
    """``theta* = (M^T H M)^{-1} M^T (beta - H X0)`` and ``f~(M theta* + X0)``, exact (python-flint for numbers).

    Returns:
        ``(theta*, X, f)``.

    Raises:
        MarkovICLError: when ``M^T H M`` is singular (tied or redundant parameters).
    """
    from sympy.matrices.exceptions import NonInvertibleMatrixError
    from sympy.polys.matrices import DomainMatrix
    from sympy.polys.matrices.exceptions import DMNonInvertibleMatrixError
    from sympy.polys.polyerrors import CoercionFailed

    from markov_icl.symbolic.objective import f_tilde

    Hm = H.to_Matrix() if hasattr(H, "to_Matrix") else sp.Matrix(H)
    b = sp.Matrix(beta)
    numeric = all(x.is_Rational for x in (*Hm, *b, *M, *X0))
    K = M.T * Hm * M
    rhs = M.T * (b - Hm * X0)
    if M.shape[1] == 0:
        theta = ()
    elif numeric:
        from sympy.polys.domains import QQ

        from markov_icl.symbolic.solve import exact_solve

        try:
            theta = exact_solve(DomainMatrix.from_Matrix(K).convert_to(QQ), DomainMatrix.from_Matrix(rhs).convert_to(QQ))
        except MarkovICLError:
            raise MarkovICLError("M^T H M is singular: the parameterization has redundant or tied directions "
                                 "that H does not separate") from None
    else:  # over the fraction field of the free symbols (python-flint where it applies): seconds, not minutes
        syms = sorted(set().union(*(e.free_symbols for e in (*K, *rhs, sp.sympify(E_y2)))), key=str)
        field = sp.QQ.frac_field(*syms)
        try:
            Kd, rd = (DomainMatrix.from_Matrix(m).convert_to(field) for m in (K, rhs))
            sol = Kd.lu_solve(rd)
        except (ZeroDivisionError, NonInvertibleMatrixError, DMNonInvertibleMatrixError):
            raise MarkovICLError("M^T H M is singular: the parameterization has redundant directions") from None
        except (CoercionFailed, sp.PolynomialError) as exc:
            raise MarkovICLError(f"the objective is not a rational function of its symbols ({exc})") from None
        th = sol.to_list_flat()
        # f at the optimum: f~(X0) - rhs^T theta* (the quadratic in theta at its minimiser)
        f0 = field.from_sympy(sp.expand(f_tilde(list(X0), Hm, list(b), E_y2)))
        fd = f0 - sum((r * t for r, t in zip(rd.to_list_flat(), th)), field.zero)
        theta = tuple(sp.factor(field.to_sympy(v)) for v in th)
        X = list(M * sp.Matrix(theta) + X0) if theta else list(X0)
        return theta, X, sp.factor(field.to_sympy(fd))
    X = list(M * sp.Matrix(theta) + X0) if theta else list(X0)
    f = f_tilde(X, Hm, list(b), E_y2)
    return theta, X, f if numeric else sp.factor(f)


def optimum(d: int | None = None, p: Parameter = None, n: Parameter = None, *, param: Parameterization | str | None = None,
            kernel: str = "uniform", init: str = "iid", solution: Any = None, law: Any = None,
            with_f_star: bool | None = None, starts: int | None = None, seed: int = 0,
            progress: Any = None) -> ParamOptimum:
    """The exact best loss of the parameterization ``param`` at ``(d, p, n)`` (the signature of
    :func:`~markov_icl.symbolic.solve.solve`, then keyword options).

    Args:
        d, p, n: the chain law's point, as for :func:`~markov_icl.symbolic.solve.solve` (p or n None: symbolic).
            d may be left out when ``param`` is a :class:`Parameterization`, a ``solution`` is given or the
            ``law`` knows its d (a :class:`~markov_icl.symbolic.gaussian.GaussianLaw`: the number of variances).
        param: a :class:`Parameterization` or a preset name (:data:`PRESETS`).
        kernel, init: the chain law's kernel and initial law (as for ``solve``).
        solution: an existing :class:`~markov_icl.symbolic.solve.Solution` instead of ``(d, p, n, kernel, init)``.
        law: a data law with ``objective(d, n) -> (H, beta, E[y^2])`` instead of the chains (e.g.
            :class:`~markov_icl.symbolic.gaussian.GaussianLaw`); then ``n`` is required and ``p`` not allowed.
        with_f_star: add ``f*`` for the chain ``f~* <= f* <= f_param*`` (default: at numeric points).
        starts, seed: the multistart search for ``f*``.
        progress: report the multistart search (True, or a ``progress(iterable, desc)`` wrapper).

    Linear parameterizations: exact least squares (module docstring), symbolic where the objective is.
    ``dense`` / ``sparse``: ``f*`` by the variable projection (numeric objectives).

    Raises:
        MarkovICLError: a bilinear parameterization at a symbolic objective, or one other than dense / sparse;
            conflicting or missing d, p, n, solution, law; the old call form ``optimum(param, source)``.

    Examples:
        >>> o = optimum(1, "1/2", 5, param="zfb")
        >>> o.theta_star, o.f_param_star, [name for name, _ in o.chain], o.chain_holds()
        ((10/7,), 8/21, ['f_tilde_star', 'f_star', 'f_param_star'], True)
        >>> from markov_icl.symbolic.gaussian import GaussianLaw
        >>> optimum(n=5, param="zfb", law=GaussianLaw((1,))).theta_star      # Gamma* = n / (n + 2); d = 1 from the law
        (5/7,)
    """
    if isinstance(d, (str, Parameterization)):
        raise MarkovICLError("optimum(param, source, n) became optimum(d, p, n, param=...): e.g. "
                             "optimum(1, '1/2', 10, param='gd'), optimum(param='gd', solution=s) or "
                             "optimum(n=5, param=preset('zfb', 1), law=GaussianLaw((1,)))")
    if param is None:
        raise MarkovICLError(f"optimum needs param=: a preset name ({', '.join(PRESETS)}) or a Parameterization")
    if solution is not None and law is not None:
        raise MarkovICLError("give a solution (chains) or a law, not both")
    known = [(what, v) for what, v in (("the parameterization", getattr(param, "d", None)),
                                       ("the solution", getattr(solution, "d", None)),
                                       ("the law", getattr(law, "d", None) if isinstance(getattr(law, "d", None), int)
                                        else None)) if v is not None]
    if d is None and not known:
        raise MarkovICLError("optimum needs d (or a Parameterization, a solution or a law that fixes it)")
    if d is None:
        d = known[0][1]
    for what, v in known:
        if v != d:
            raise MarkovICLError(f"{what} has d = {v}, but d = {d}")
    if solution is not None:
        if p is not None or n is not None:
            raise MarkovICLError("with a solution, p and n are the solution's: leave them out")
        source = solution
    elif law is not None:
        if p is not None:
            raise MarkovICLError("p is the chains' initial probability; with a law, leave it out")
        source = law
    else:
        from markov_icl.symbolic.solve import solve

        source = solve(d, p, n, kernel=kernel, init=init)
        if source.is_numeric:
            source.check_minimiser()
    if isinstance(param, str):
        param = preset(param, d)
    elif not isinstance(param, Parameterization):
        raise MarkovICLError(f"param must be a preset name ({', '.join(PRESETS)}) or a Parameterization, "
                             f"got {type(param).__name__}")
    return _optimum(param, source, n if law is not None else None, with_f_star=with_f_star, starts=starts,
                    seed=seed, progress=progress)


def _optimum(param: Parameterization, source, n=None, with_f_star: bool | None = None, starts: int | None = None,
             seed: int = 0, progress=None) -> ParamOptimum:
    """:func:`optimum` of ``param`` for a Solution or a data law ``source`` (``n`` with a law)."""
    from markov_icl.errors import check_int
    from markov_icl.symbolic.solve import Solution
    from markov_icl.symbolic.varpro import OneLayerLoss, best_one_layer, minimize_over_b

    if not isinstance(param, (str, Parameterization)):
        raise MarkovICLError(f"param must be a preset name ({', '.join(PRESETS)}) or a Parameterization, got "
                             f"{type(param).__name__}")
    if not isinstance(source, Solution) and not callable(getattr(source, "objective", None)):
        raise MarkovICLError(f"source must be a Solution (solve(d, p, n)) or a data law with objective(d, n), got "
                             f"{type(source).__name__}")
    if starts is not None:
        check_int("starts", starts)
    check_int("seed", seed, 0)
    if with_f_star is not None and not isinstance(with_f_star, bool):
        raise MarkovICLError(f"with_f_star must be True, False or None, got {with_f_star!r}")
    if hasattr(source, "objective") and not hasattr(source, "X_star"):  # a data law
        if n is None:
            raise MarkovICLError("with a data law, give n (the number of context points)")
        d = param.d
        H, beta, ey2 = source.objective(d, n)
        numeric = all(x.is_Rational for x in (*H, *beta)) and sp.sympify(ey2).is_Rational
        ftilde = ey2 - (beta.T * H.LUsolve(beta))[0] if not numeric else _exact_f_tilde_star(H, beta, ey2)
        ftilde = ftilde if numeric else sp.factor(sp.cancel(ftilde))

        def fstar_fn():
            return minimize_over_b(OneLayerLoss(d, H, beta, ey2), starts=starts, seed=seed, progress=progress)
    else:
        solution = source
        d = solution.d
        numeric = bool(getattr(solution, "is_numeric", False))
        H = solution.H_domain if numeric else solution.H
        beta, ey2, ftilde = solution.beta, solution.E_y2, solution.f_tilde_star

        def fstar_fn():
            return best_one_layer(solution, starts=starts, seed=seed, progress=progress)
    if param.d != d:
        raise MarkovICLError(f"parameterization {param.name!r} has d = {param.d}, the objective d = {d}")
    with_f_star = numeric if with_f_star is None else with_f_star
    fstar = fstar_fn() if with_f_star and numeric else None
    if param.is_linear:
        M, X0 = param.design()
        theta, X, f = least_squares(M, X0, H, beta, ey2)
        return ParamOptimum(param, theta, X, f, ftilde, None if fstar is None else fstar.f_star,
                            "exact least squares over X = M theta + X0")
    if param.name not in ("dense", "sparse"):
        raise MarkovICLError(f"parameterization {param.name!r} is bilinear; its optimum is computed for the dense and "
                             "sparse forms (f*) only")
    if not numeric:
        raise MarkovICLError("the best loss of a bilinear parameterization (f*) needs numeric p and n")
    if fstar is None:
        fstar = fstar_fn()
    X = list(phi(fstar.b, fstar.A))
    return ParamOptimum(param, None, X, fstar.f_star, ftilde, fstar.f_star,
                        f"variable projection over b (f*): {fstar.certificate}")


def _exact_f_tilde_star(H, beta, ey2):
    """``E[y^2] - beta^T H^{-1} beta`` for rational H, beta (python-flint)."""
    from sympy.polys.domains import QQ
    from sympy.polys.matrices import DomainMatrix

    from markov_icl.symbolic.solve import exact_solve, optimal_loss

    X = exact_solve(DomainMatrix.from_Matrix(H).convert_to(QQ), DomainMatrix.from_Matrix(beta).convert_to(QQ))
    return optimal_loss(ey2, list(beta), X)


__all__ = ["PRESETS", "LINEAR_PRESETS", "Parameterization", "ParamOptimum", "preset", "optimum", "least_squares",
           "exact_number"]
