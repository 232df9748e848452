"""Softmax attention layers that run normalized gradient descent on the context, exactly (theory §15).

**The in-context classification problem.** A Markov prompt (theory §1) is read as a binary
classification task: the context chains are the training set, with features and labels

    psi(x) = (2 x_1 - 1, ..., 2 x_d - 1, 1)  in {-1, 1}^d x {1}   (``bias=True``; without the 1: ``bias=False``),
    y~ = 2 y - 1  in {-1, 1},         u_i = y~_i psi(x_i)           (the signed feature),

and the query is classified by the sign of ``z = psi(x_q)^T w``. The constant feature lets a linear rule
express every function of the last state ``s_d`` (the state the next one depends on).

**The loss, and why the exponential one.** The in-context loss is the exponential loss

    L(w) = (1/n) sum_{i<=n} exp(-u_i^T w),
    grad L(w) / L(w) = -sum_i u_i softmax_i(-u_1^T w, ..., -u_n^T w),

and normalized gradient descent (NGD) divides the gradient step by the loss,
``w_{l+1} = w_l - eta_l grad L(w_l) / L(w_l)``, from ``w_0 = 0``. The normalized gradient is *exactly* a
softmax average of the signed features with scores bilinear in ``(u_i, w)``, which is what one softmax
attention head computes. For the logistic loss ``(1/n) sum log(1 + e^(-m_i))`` the weights of the gradient,
normalized to sum to one, are ``sigma(-m_i) / sum_j sigma(-m_j) = softmax_i(-log(1 + e^(m_i)))``: a softmax
of a score that is not affine in ``m_i = u_i^T w``, so no bilinear query-key score produces it. The two losses
have the same tail (``log(1 + e^(-m)) ~ e^(-m)``), hence the same implicit bias on separable data (the
max-margin direction); the construction is exact for the exponential loss only.

**The construction.** Tokens have ``3k`` entries, ``k = d + 1`` (``d`` without bias), in three slots
``U | X | W``: a context chain is ``h_i = (u_i, psi(x_i), 0)`` and the query ``h_q = (0, psi(x_q), w_0)``
(the chain types are discrete, so this embedding is a lookup table of the ``2^(d+1)`` chain types). Layer
``l`` is one softmax attention head over the ``n`` context tokens (keys and values), with a residual
connection, applied to every token ``t``:

    h_t <- h_t + sum_{i<=n} softmax_i(h_i^T W_KQ h_t) W_OV^(l) h_i,
    W_KQ = -E_{U,W}   (score -u_i^T w_t),     W_OV^(l) = eta_l E_{W,U}   (writes eta_l u_i into the W slot),

``E_{A,B}`` the identity block from slot B (columns) to slot A (rows). Only the W slot changes, so the keys
and values stay ``u_i`` at every depth, and every token's W slot follows the same iterates: after layer
``l`` it holds exactly the NGD iterate ``w_l`` (:func:`one_layer_identity` proves one layer symbolically). The
read-out is the query's logit ``z_l = h_q^T R h_q``, ``R = E_{X,W}``; the prediction is ``sign(z_l)`` (a tie,
``z = 0``, counts as a coin flip) and, for losses, ``yhat = sigma(2 z_l)`` (the exponential loss's population
minimiser is ``z = log(P(y = 1) / P(y = 0)) / 2``).

**Separability.** The max-margin statement needs a separable context: some ``w`` with ``u_i^T w > 0`` for
every ``i``. That depends on the set of chain types present only; :func:`separable` decides it by a linear
program and returns an exact certificate (a rational ``w`` with ``U w >= 1``, or Farkas weights
``lambda >= 0``, ``sum lambda = 1``, ``U^T lambda = 0``), verified in rational arithmetic.

Examples:
    >>> c = NGDConstruction(d=1, layers=2, eta="1/2")
    >>> c.width, c.embed_context((1,), 0).T, c.embed_query((0,)).T
    (6, Matrix([[-1, -1, 1, 1, 0, 0]]), Matrix([[0, 0, -1, 1, 0, 0]]))
    >>> one_layer_identity(d=1, n=2)          # layer output minus the NGD step, simplified
    Matrix([
    [0],
    [0]])
    >>> separable([[1, 1], [-1, 1]])[0], separable([[1, -1], [-1, 1]])[0]
    (True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import product
from typing import Any

import numpy as np
import sympy as sp

from markov_icl.errors import MarkovICLError, check_int, shown
from markov_icl.symbolic.laws import parse_value

#: the largest d of the construction (tokens of 3 (d + 1) entries; 2^(d+1) chain types)
MAX_NGD_D = 12
#: the most layers one construction holds
MAX_NGD_LAYERS = 10_000


def feature_map(x, bias: bool = True) -> list[int]:
    """``psi(x) = (2 x_1 - 1, ..., 2 x_d - 1[, 1])`` of a binary input (module docstring).

    Examples:
        >>> feature_map((0, 1)), feature_map((0, 1), bias=False)
        ([-1, 1, 1], [-1, 1])
    """
    vals = [int(v) for v in x]
    if any(v not in (0, 1) for v in vals):
        raise MarkovICLError(f"a chain input must be binary (0/1 states), got {shown(tuple(x))}")
    return [2 * v - 1 for v in vals] + ([1] if bias else [])


def signed_feature(x, y, bias: bool = True) -> list[int]:
    """``u = (2 y - 1) psi(x)``: the context chain ``(x, y)`` as one vector.

    Examples:
        >>> signed_feature((1,), 0), signed_feature((1,), 1)
        ([-1, -1], [1, 1])
    """
    if int(y) not in (0, 1):
        raise MarkovICLError(f"a chain label must be 0 or 1, got {shown(y)}")
    s = 2 * int(y) - 1
    return [s * v for v in feature_map(x, bias)]


def chain_types(d: int, bias: bool = True) -> tuple[list[tuple], np.ndarray]:
    """Every chain type ``(x, y)`` (``x`` in lexicographic order, ``y`` fastest) and their signed features ``(2^(d+1), k)``.

    Examples:
        >>> types, U = chain_types(1)
        >>> types, U.tolist()
        ([((0,), 0), ((0,), 1), ((1,), 0), ((1,), 1)], [[1, -1], [-1, 1], [-1, -1], [1, 1]])
    """
    d = check_int("d", d, 1)
    types = [(x, y) for x in product((0, 1), repeat=d) for y in (0, 1)]
    return types, np.array([signed_feature(x, y, bias) for x, y in types], dtype=np.int64)


def _parse_eta(eta, layers: int) -> tuple:
    vals = list(eta) if isinstance(eta, (list, tuple)) else [eta] * layers
    if len(vals) != layers:
        raise MarkovICLError(f"eta: give one step size or one per layer ({layers}), got {len(vals)}")
    out = []
    for v in vals:
        e = parse_value(v, "eta") if not isinstance(v, sp.Basic) else v
        if e.is_number and not (e.is_real and e > 0):
            raise MarkovICLError(f"eta must be > 0 (a step size), got {shown(e, plain=True)}")
        if isinstance(e, sp.Float):
            e = sp.Rational(str(e))
        out.append(e)
    return tuple(out)


@dataclass(frozen=True)
class NGDConstruction:
    """The weights of the L-layer softmax transformer whose layer l computes the l-th NGD iterate (module docstring).

    Args:
        d: chain input length (>= 1).
        layers: number of layers L (>= 1).
        eta: the step size, exact (``1``, ``"1/2"``) or a SymPy symbol; one value or one per layer.
        bias: include the constant feature in ``psi``.

    Attributes:
        k: the feature dimension (``d + 1`` with bias); ``width``: the token length ``3 k``.

    Examples:
        >>> c = NGDConstruction(d=1, layers=1, eta=1)
        >>> c.W_KQ()[:2, 4:], c.W_OV(1)[4:, :2]          # the only nonzero blocks: -I (U x W) and eta I (W x U)
        (Matrix([
        [-1,  0],
        [ 0, -1]]), Matrix([
        [1, 0],
        [0, 1]]))
    """

    d: int
    layers: int = 1
    eta: Any = 1   # a number, a string or a sequence of L of them; a tuple of SymPy numbers after __post_init__
    bias: bool = True

    def __post_init__(self):
        d = check_int("d", self.d, 1)
        if d > MAX_NGD_D:
            raise MarkovICLError(f"d must be at most {MAX_NGD_D} for the NGD construction (2^(d+1) chain types), got {d}")
        L = check_int("layers", self.layers, 1)
        if L > MAX_NGD_LAYERS:
            raise MarkovICLError(f"layers must be at most {MAX_NGD_LAYERS}, got {L}")
        object.__setattr__(self, "eta", _parse_eta(self.eta, L))

    @property
    def k(self) -> int:
        return self.d + (1 if self.bias else 0)

    @property
    def width(self) -> int:
        return 3 * self.k

    def slot(self, name: str) -> slice:
        """The positions of slot ``"U"``, ``"X"`` or ``"W"`` in a token."""
        i = "UXW".index(name)
        return slice(i * self.k, (i + 1) * self.k)

    def _block(self, rows: str, cols: str, value) -> sp.ImmutableMatrix:
        M = sp.zeros(self.width, self.width)
        r, c = self.slot(rows), self.slot(cols)
        for a in range(self.k):
            M[r.start + a, c.start + a] = value
        return sp.ImmutableMatrix(M)

    def W_KQ(self, layer: int = 1) -> sp.ImmutableMatrix:
        """The query-key matrix of layer ``layer`` (the same at every layer): score ``h_i^T W_KQ h_t = -u_i^T w_t``."""
        self._check_layer(layer)
        return self._block("U", "W", -1)

    def W_OV(self, layer: int = 1) -> sp.ImmutableMatrix:
        """The value-output matrix of layer ``layer``: ``W_OV h_i = eta_l (0, 0, u_i)``."""
        self._check_layer(layer)
        return self._block("W", "U", self.eta[layer - 1])

    def readout(self) -> sp.ImmutableMatrix:
        """``R`` with the query's logit ``z = h_q^T R h_q = psi(x_q)^T w``."""
        return self._block("X", "W", 1)

    def _check_layer(self, layer: int) -> None:
        check_int("layer", layer, 1)
        if layer > self.layers:
            raise MarkovICLError(f"layer must be in 1..{self.layers}, got {layer}")

    def embed_context(self, x, y) -> sp.Matrix:
        """The token ``(u, psi(x), 0)`` of a context chain ``(x, y)`` (a column)."""
        self._check_x(x)
        return sp.Matrix(signed_feature(x, y, self.bias) + feature_map(x, self.bias) + [0] * self.k)

    def embed_query(self, x, w0=None) -> sp.Matrix:
        """The query token ``(0, psi(x_q), w0)`` (``w0 = 0`` by default; a column)."""
        self._check_x(x)
        w = [0] * self.k if w0 is None else list(w0)
        if len(w) != self.k:
            raise MarkovICLError(f"w0 must have {self.k} entries, got {len(w)}")
        return sp.Matrix([0] * self.k + feature_map(x, self.bias) + w)

    def _check_x(self, x) -> None:
        if len(tuple(x)) != self.d:
            raise MarkovICLError(f"a chain input must have d = {self.d} states, got {shown(tuple(x))}")

    def layer(self, layer: int, context: sp.Matrix, token: sp.Matrix) -> sp.Matrix:
        """One attention layer applied to ``token`` with the columns of ``context`` as keys and values, exactly:
        ``token + W_OV context softmax(context^T W_KQ token)`` (SymPy; exponentials stay symbolic)."""
        scores = context.T * self.W_KQ(layer) * token
        e = [sp.exp(s) for s in scores]
        Z = sum(e)
        return token + self.W_OV(layer) * context * sp.Matrix([v / Z for v in e])

    def to_dict(self) -> dict:
        """The weights as exact strings: ``W_KQ``, ``W_OV`` per layer, ``R``, and the layout."""
        def rows(M):
            return [[str(v) for v in M.row(i)] for i in range(M.rows)]

        return {"d": self.d, "layers": self.layers, "bias": self.bias, "k": self.k, "width": self.width,
                "slots": {s: [self.slot(s).start, self.slot(s).stop] for s in "UXW"},
                "eta": [str(e) for e in self.eta], "W_KQ": rows(self.W_KQ()),
                "W_OV": [rows(self.W_OV(l)) for l in range(1, self.layers + 1)] if len(set(self.eta)) > 1
                else rows(self.W_OV(1)), "R": rows(self.readout())}


def exp_loss(U, w) -> sp.Expr:
    """``L(w) = (1/n) sum_i exp(-u_i^T w)`` for the rows ``u_i`` of ``U`` (SymPy)."""
    U = sp.Matrix(U)
    w = sp.Matrix(w)
    return sum((sp.exp(-(U.row(i) * w)[0]) for i in range(U.rows)), sp.Integer(0)) / U.rows


def ngd_step(U, w, eta) -> sp.Matrix:
    """``w - eta grad L(w) / L(w)`` with the gradient taken by differentiation of :func:`exp_loss` (SymPy)."""
    w = sp.Matrix(w)
    L = exp_loss(U, w)
    free = [v for v in w if isinstance(v, sp.Symbol)]
    if len(free) != len(w):
        raise MarkovICLError("ngd_step differentiates in w: give w as distinct SymPy symbols")
    grad = sp.Matrix([sp.diff(L, v) for v in w])
    return w - eta * grad / L


def one_layer_identity(d: int, n: int, bias: bool = True) -> sp.Matrix:
    """Layer output (W slot of the query) minus one NGD step, for symbolic signed features, weights and step.

    The context tokens are ``(u_i, x_i, 0)`` with every ``u_{i,a}`` and ``x_{i,a}`` a symbol, the query
    ``(0, x_q, w)`` with symbols ``w_a``, and ``eta`` a symbol; the layer is applied by the matrix products of
    :meth:`NGDConstruction.layer` and the step by differentiating ``L(w)``. The difference, simplified, is the
    zero vector (a SymPy identity in ``3 n k + 2 k + 1`` symbols).

    Examples:
        >>> one_layer_identity(1, 1).T
        Matrix([[0, 0]])
    """
    d = check_int("d", d, 1)
    n = check_int("n", n, 1)
    if d > 3 or n > 4:
        raise MarkovICLError(f"the symbolic identity is checked for d <= 3 and n <= 4 (it is generic in u); got d = {d}, n = {n}")
    eta = sp.Symbol("eta", positive=True)
    c = NGDConstruction(d, 1, eta, bias)
    k = c.k
    U = sp.Matrix(n, k, lambda i, a: sp.Symbol(f"u_{i + 1}_{a + 1}", real=True))
    Xc = sp.Matrix(n, k, lambda i, a: sp.Symbol(f"x_{i + 1}_{a + 1}", real=True))
    w = sp.Matrix(k, 1, lambda a, _: sp.Symbol(f"w_{a + 1}", real=True))
    xq = sp.Matrix(k, 1, lambda a, _: sp.Symbol(f"xq_{a + 1}", real=True))
    context = sp.Matrix.hstack(*[sp.Matrix.vstack(U.row(i).T, Xc.row(i).T, sp.zeros(k, 1)) for i in range(n)])
    token = sp.Matrix.vstack(sp.zeros(k, 1), xq, w)
    out = c.layer(1, context, token)
    W = c.slot("W")
    diff = out[W.start:W.stop, 0] - ngd_step(U, w, eta)
    rest = out[: W.start, 0] - token[: W.start, 0]  # the U and X slots do not move
    if any(sp.simplify(v) != 0 for v in rest):
        raise AssertionError("the layer changed the U or X slot")  # pragma: no cover - a broken construction
    return diff.applyfunc(lambda v: sp.simplify(sp.together(v)))


# ---------------------------------------------------------------------------------------------- separability
def _fractions(vec, limit: int = 10**6) -> list[Fraction]:
    return [Fraction(float(v)).limit_denominator(limit) for v in vec]


def separable(U) -> tuple[bool, list[Fraction]]:
    """Is the context ``{u_i}`` strictly linearly separable through the origin (``U w > 0`` for some ``w``)?

    A linear program (SciPy HiGHS) finds ``w`` with ``U w >= 1``, or, when none exists, Farkas weights
    ``lambda >= 0`` with ``sum lambda = 1`` and ``U^T lambda = 0``; the answer is then verified in exact
    rational arithmetic (the certificate is rounded to rationals and re-solved exactly on its support).

    Args:
        U: the signed features, integer rows (``n x k``).

    Returns:
        ``(separable, certificate)``: the certificate is ``w`` (rationals) or ``lambda`` (rationals, one per row).

    Raises:
        MarkovICLError: when neither certificate verifies (never seen; it would be a numerical failure).

    Examples:
        >>> separable([[1, 1], [1, -1]])
        (True, [Fraction(1, 1), Fraction(0, 1)])
    """
    from scipy.optimize import linprog

    A = np.asarray(U, dtype=np.int64)
    if A.ndim != 2 or len(A) == 0:
        raise MarkovICLError("U must be a non-empty n x k matrix")
    n, k = A.shape
    Ui = [[int(v) for v in row] for row in A]
    res = linprog(np.zeros(k), A_ub=-A.astype(float), b_ub=-np.ones(n), bounds=[(None, None)] * k, method="highs")
    if res.status == 0:
        for limit in (10**3, 10**6, 10**9):
            w = _fractions(res.x, limit)
            if all(sum(Fraction(u) * x for u, x in zip(row, w)) > 0 for row in Ui):
                return True, w
    dual = linprog(np.zeros(n), A_eq=np.vstack([A.T.astype(float), np.ones((1, n))]),
                   b_eq=np.concatenate([np.zeros(k), [1.0]]), bounds=[(0, None)] * n, method="highs")
    if dual.status == 0:
        support = [i for i in range(n) if dual.x[i] > 1e-9]
        M = sp.Matrix([[Ui[i][a] for i in support] for a in range(k)] + [[1] * len(support)])
        rhs = sp.Matrix([0] * k + [1])
        try:
            sol, params = M.gauss_jordan_solve(rhs)
            sol = sol.subs({p: 0 for p in params})
        except ValueError:
            sol = None
        if sol is not None and all(v >= 0 for v in sol):
            lam = [Fraction(0)] * n
            for i, v in zip(support, sol):
                lam[i] = Fraction(int(sp.Rational(v).p), int(sp.Rational(v).q))
            if all(sum(lam[i] * Ui[i][a] for i in range(n)) == 0 for a in range(k)) and sum(lam) == 1:
                return False, lam
    raise MarkovICLError("separable: neither a separating w nor Farkas weights could be verified exactly")  # pragma: no cover


__all__ = ["NGDConstruction", "feature_map", "signed_feature", "chain_types", "exp_loss", "ngd_step",
           "one_layer_identity", "separable", "MAX_NGD_D", "MAX_NGD_LAYERS"]
