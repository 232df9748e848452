"""Lambdified exports: H(p, n), beta(p, n), E[y^2](p), X*(p, n), f~*(p, n) as NumPy or Torch.

For any d, H is an exact finite sum ``H(p, n) = sum_k w_k(p, n) M_k`` with a handful of
monomial weights ``w_k`` (``p^i`` and ``p^i / n``) and exact rational matrices ``M_k``
(:meth:`symbolic.objective.ObjectiveTerms.components`). We lambdify the weights with
``sympy.lambdify`` (``modules="numpy"`` or ``"torch"``) and contract them with the
matrices cast to float64, so the callables are vectorised over any batch shape of
(p, n) and, in torch, differentiable (X* through ``torch.linalg.solve``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from symbolic.errors import MarkovICLError
from symbolic.laws import N_SYMBOL, P_SYMBOL, ChainLaw
from symbolic.objective import ObjectiveTerms, check_d

BACKENDS = ("numpy", "torch")


def check_backend(backend: str) -> str:
    """``"numpy"`` or ``"torch"``; else :class:`MarkovICLError`."""
    if backend not in BACKENDS:
        raise MarkovICLError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    return backend


def lambdify_pn(exprs, backend: str = "numpy") -> Callable:
    """Float64 callable ``(p, n) -> array (..., len(exprs))`` of SymPy expressions in (p, n).

    ``p`` and ``n`` broadcast against each other; constant entries are broadcast to that shape,
    so the result is always dense. Torch results are differentiable in ``p`` and ``n``.
    """
    check_backend(backend)
    fn = sp.lambdify((P_SYMBOL, N_SYMBOL), [sp.sympify(e) for e in exprs], modules=backend)
    if backend == "numpy":
        import numpy as np

        def call(p, n):
            pv, nv = np.broadcast_arrays(np.asarray(p, dtype=np.float64), np.asarray(n, dtype=np.float64))
            return np.stack([np.asarray(v, dtype=np.float64) + np.zeros_like(pv) for v in fn(pv, nv)], -1)
    else:
        import torch

        def call(p, n):
            pv, nv = torch.broadcast_tensors(torch.as_tensor(p, dtype=torch.float64),
                                             torch.as_tensor(n, dtype=torch.float64))
            vals = [v if isinstance(v, torch.Tensor) else torch.as_tensor(float(v), dtype=torch.float64)
                    for v in fn(pv, nv)]
            return torch.stack([v + torch.zeros_like(pv) for v in vals], -1)
    return call


def _float_rows(M) -> list:
    to = M.domain.to_sympy
    return [[float(to(x)) for x in row] for row in M.to_list()]


@dataclass
class ObjectiveFunctions:
    """Float callables of (p, n) for one d and chain law (SPEC §3).

    Attributes:
        H, beta, E_y2, X_star, f_tilde_star: callables; ``p`` and ``n`` broadcast
            against each other, the matrix axes come last (``H(p, n).shape ==
            batch + (dm, dm)``).
        index: the [j, u, v] order of the coordinates.
    """

    d: int
    backend: str
    H: Callable
    beta: Callable
    E_y2: Callable
    X_star: Callable
    f_tilde_star: Callable
    index: list


def objective_functions(d: int, law: ChainLaw | None = None, backend: str = "numpy",
                        product_form: bool = False) -> ObjectiveFunctions:
    """Lambdify the objective of SPEC §3 for any d.

    Args:
        d: chain input length.
        law: chain law whose only free symbol is p (default: i.i.d., uniform kernel).
        backend: ``"numpy"`` or ``"torch"`` (float64 tensors, autograd-friendly).
        product_form: export the paper's Lemma 3.2 product form of H instead.

    Raises:
        MarkovICLError: unknown backend, or a law with free symbols other than p.
    """
    check_d(d)
    check_backend(backend)
    law = law or ChainLaw.default()
    extra = law.free_symbols - {P_SYMBOL}
    if extra:
        raise MarkovICLError(f"exports take (p, n) only; fix the other parameters: {sorted(map(str, extra))}")
    terms = ObjectiveTerms(d, law, product_form=product_form)
    H_terms, beta_terms, ey2_terms = terms.components(N_SYMBOL)

    if backend == "numpy":
        import numpy as xp

        def tensor(rows):
            return xp.asarray(rows, dtype=xp.float64)

        def solve(A, b):
            return xp.linalg.solve(A, b[..., None])[..., 0]
    else:
        import torch as xp

        def tensor(rows):
            return xp.tensor(rows, dtype=xp.float64)

        def solve(A, b):
            return xp.linalg.solve(A, b.unsqueeze(-1)).squeeze(-1)

    def weighted(terms_dict, is_scalar=False):
        monos = list(terms_dict)
        weights = lambdify_pn(monos, backend)
        if is_scalar:
            coeffs = tensor([float(terms.domain.to_sympy(terms_dict[m])) for m in monos])
        else:
            coeffs = tensor([_float_rows(terms_dict[m]) for m in monos])

        def call(pv, nv):
            W = weights(pv, nv)
            if is_scalar:
                return (W * coeffs).sum(-1)
            return (W[..., None, None] * coeffs).sum(-3)

        return call

    H_fn = weighted(H_terms)
    beta_mat = weighted(beta_terms)
    ey2_fn = weighted(ey2_terms, is_scalar=True)

    def beta_fn(pv, nv=1):
        return beta_mat(pv, nv)[..., 0]

    def ey2(pv, nv=1):
        return ey2_fn(pv, nv)

    def x_star(pv, nv):
        return solve(H_fn(pv, nv), beta_fn(pv, nv))

    def f_star(pv, nv):
        return ey2(pv, nv) - (beta_fn(pv, nv) * x_star(pv, nv)).sum(-1)

    return ObjectiveFunctions(d, backend, H_fn, beta_fn, ey2, x_star, f_star, terms.idx.index)
