"""The documents' formulas: Theorem 3.3's closed forms (lambdified) and the reference functions.

* d = 1 (Theorem 3.3): :func:`x_star`, :func:`f_tilde_star`, :func:`H`, :func:`beta`,
  :func:`E_y2` lambdify the *exact* rational functions of (p, n) derived by
  :func:`markov_icl.symbolic.solve.solve` (``sympy.lambdify``, NumPy or PyTorch). For any d,
  :func:`markov_icl.functions` gives the same quantities.
* :func:`lsa_prediction` and :func:`loss_estimate` are plain-Python reference versions of
  the one-layer LSA prediction ``yhat = b^T G A x_q`` (theory §2) and of the Monte Carlo
  estimator of ``f = E[(yhat - y_q)^2]``; the documents render them with latexify-py from
  this source (:func:`function_latex`) and check them against the vectorised code.

Every callable takes ``(p, n)`` that broadcast against each other; matrix axes come last,
and dtype and device follow the inputs.

Examples:
    >>> round(float(f_tilde_star()(0.5, 5)), 12) == round(35 / 96, 12)
    True
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import sympy as sp

from markov_icl.symbolic.export import lambdify_pn
from markov_icl.symbolic.objective import ObjectiveTerms
from markov_icl.symbolic.solve import solve

# ---------------------------------------------------------------------------------------
# reference functions (rendered with latexify-py)


def lsa_prediction(b, G, A, x_q, d):
    """One-layer LSA prediction ``yhat = b^T G A x_q`` (theory §2), written as plain sums.

    Args:
        b: the last row of P restricted to its first d + 1 entries (length d + 1).
        G: ``(1/n) sum_i z_i z_i^T`` ((d + 1) x (d + 1), nested sequences or an array).
        A: the first d columns of Q ((d + 1) x d).
        x_q: the query's input (length d).
        d: the chain input length.
    """
    return sum(b[u] * G[u][v] * A[v][j] * x_q[j] for u in range(d + 1) for v in range(d + 1) for j in range(d))


def loss_estimate(y_hat, y_q, B):
    """Monte Carlo estimator of ``f = E[(yhat - y_q)^2]`` over B sampled prompts (theory §2)."""
    return sum((y_hat[i] - y_q[i]) ** 2 for i in range(B)) / B


_LATEX_FIXES = {
    r"\mathrm{x\_q}": "{x_{q}}",
    r"\mathrm{y\_q}": "{y_{q}}",
    r"\mathrm{y\_hat}": r"\hat{y}",
    r"\mathrm{lsa\_prediction}": r"\hat{y}",
    r"\mathrm{loss\_estimate}": r"\hat{f}",
}


def function_latex(fn: Callable) -> str:
    """LaTeX of a Python function from its source, by latexify-py (names tidied)."""
    import latexify

    text = str(latexify.get_latex(fn, use_math_symbols=True))
    for old, new in _LATEX_FIXES.items():
        text = text.replace(old, new)
    return text


# ---------------------------------------------------------------------------------------
# exact d = 1 closed forms (Theorem 3.3)


def _exact_d1_compute() -> dict:
    sol = solve(1)
    H, beta, ey2 = ObjectiveTerms(1).symbolic(factor=True)
    return {
        "H": sp.ImmutableMatrix(H),
        "beta": [sp.factor(b) for b in beta],
        "E_y2": sp.factor(ey2),
        "X_star": [sp.factor(x) for x in sol.X_star],
        "f_tilde_star": sp.factor(sol.f_tilde_star),
        "index": [list(ix) for ix in sol.index],
    }


@lru_cache(maxsize=1)
def exact_d1() -> dict:
    """Exact d = 1 objective in (p, n): ``H``, ``beta``, ``E_y2``, ``X_star``, ``f_tilde_star``.

    SymPy rational functions of the symbols p and n (uniform kernel prior, i.i.d.
    Bernoulli(p) states); computed once per process (a fraction of a second).
    """
    return _exact_d1_compute()


def lambdify_entries(exprs: list[sp.Expr], shape: tuple[int, ...], backend: str = "numpy") -> Callable:
    """A vectorised callable ``(p, n) -> array of batch + shape`` from SymPy entries
    (:func:`markov_icl.symbolic.export.lambdify_pn`, reshaped)."""
    fn = lambdify_pn(exprs, backend)

    def call(p, n):
        out = fn(p, n)
        return out.reshape(tuple(out.shape[:-1]) + tuple(shape))

    return call


def x_star(backend: str = "numpy") -> Callable:
    """``X*(p, n) = H^{-1} beta`` of Theorem 3.3 (d = 1), exact closed form lambdified; shape (..., 3)."""
    return lambdify_entries(exact_d1()["X_star"], (3,), backend)


def f_tilde_star(backend: str = "numpy") -> Callable:
    """``f~*(p, n) = E[y^2] - beta^T X*`` of Theorem 3.3 (d = 1), lambdified; shape (...)."""
    f = lambdify_entries([exact_d1()["f_tilde_star"]], (), backend)
    return f


def H(backend: str = "numpy") -> Callable:
    """``H(p, n) = E[(x_q kron g)(x_q kron g)^T]`` for d = 1 (theory §5), lambdified; shape (..., 3, 3)."""
    return lambdify_entries(list(exact_d1()["H"]), (3, 3), backend)


def beta(backend: str = "numpy") -> Callable:
    """``beta(p, n) = E[y_q (x_q kron g)]`` for d = 1 (theory §5; independent of n), shape (..., 3)."""
    return lambdify_entries(exact_d1()["beta"], (3,), backend)


def E_y2(backend: str = "numpy") -> Callable:
    """``E[y^2](p, n) = P(y_q = 1)`` for d = 1 (independent of n), shape (...)."""
    return lambdify_entries([exact_d1()["E_y2"]], (), backend)


__all__ = ["lsa_prediction", "loss_estimate", "function_latex", "exact_d1", "lambdify_entries", "x_star",
           "f_tilde_star", "H", "beta", "E_y2"]
