"""Lambdified exports: H(p, n), beta(p, n), E[y^2](p), X*(p, n), f~*(p, n) as NumPy or PyTorch callables.

For any d, H is an exact finite sum ``H(p, n) = sum_k w_k(p, n) M_k`` with a handful of
monomial weights ``w_k`` (``p^i`` and ``p^i / n``) and exact rational matrices ``M_k``
(:meth:`markov_icl.symbolic.objective.ObjectiveTerms.components`). The weights are
lambdified with ``sympy.lambdify`` (``modules="numpy"`` or ``"torch"``) and contracted with
the matrices, so the callables are vectorised over any batch shape of (p, n) and, in
PyTorch, differentiable (X* through ``torch.linalg.solve``).

Dtype and device follow the inputs: float32 in gives float32 out, a CUDA (or ``meta``)
tensor gives a result on that device; plain Python numbers give float64 (CPU).

Examples:
    >>> f = functions(1)
    >>> f.f_tilde_star(0.5, 5)                     # 35/96
    np.float64(0.3645833333333333)
    >>> import torch
    >>> f = functions(1, backend="torch")
    >>> f.X_star(torch.tensor([0.5], dtype=torch.float32), 10.0).dtype
    torch.float32
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, reduce

import numpy as np
import sympy as sp

from markov_icl.errors import MarkovICLError
from markov_icl.symbolic.laws import N_SYMBOL, P_SYMBOL, ChainLaw
from markov_icl.symbolic.objective import ObjectiveTerms, check_d

BACKENDS = ("numpy", "torch")


def check_backend(backend: str) -> str:
    """``"numpy"`` or ``"torch"``; else :class:`MarkovICLError`."""
    if backend not in BACKENDS:
        raise MarkovICLError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    return backend


def _numpy_args(p, n):
    """(p, n) as broadcast NumPy arrays of the inputs' floating dtype (float64 by default)."""
    floats = [np.asarray(x).dtype for x in (p, n) if np.issubdtype(np.asarray(x).dtype, np.floating)
              and isinstance(x, (np.ndarray, np.floating))]
    dtype = np.result_type(*floats) if floats else np.float64
    return np.broadcast_arrays(np.asarray(p, dtype=dtype), np.asarray(n, dtype=dtype))


def _torch_args(p, n):
    """(p, n) as broadcast tensors on the inputs' device, of their floating dtype (float64 by default)."""
    import torch

    tensors = [x for x in (p, n) if isinstance(x, torch.Tensor)]
    device = tensors[0].device if tensors else None
    floats = [x.dtype for x in tensors if x.is_floating_point()]
    dtype = reduce(torch.promote_types, floats) if floats else torch.float64
    return torch.broadcast_tensors(torch.as_tensor(p, dtype=dtype, device=device),
                                   torch.as_tensor(n, dtype=dtype, device=device))


def lambdify_pn(exprs, backend: str = "numpy") -> Callable:
    """Callable ``(p, n) -> array (..., len(exprs))`` of SymPy expressions in (p, n).

    ``p`` and ``n`` broadcast against each other; constant entries are broadcast to that
    shape, so the result is always dense. Dtype and device follow the inputs (module
    docstring); PyTorch results are differentiable in ``p`` and ``n``.
    """
    check_backend(backend)
    fn = sp.lambdify((P_SYMBOL, N_SYMBOL), [sp.sympify(e) for e in exprs], modules=backend)
    if backend == "numpy":

        def call(p, n):
            pv, nv = _numpy_args(p, n)
            return np.stack([np.asarray(v, dtype=pv.dtype) + np.zeros_like(pv) for v in fn(pv, nv)], -1)
    else:
        import torch

        def call(p, n):
            pv, nv = _torch_args(p, n)
            vals = [v if isinstance(v, torch.Tensor) else torch.as_tensor(float(v), dtype=pv.dtype, device=pv.device)
                    for v in fn(pv, nv)]
            return torch.stack([v + torch.zeros_like(pv) for v in vals], -1)
    return call


def _float_rows(M) -> list:
    to = M.domain.to_sympy
    return [[float(to(x)) for x in row] for row in M.to_list()]


@dataclass(frozen=True)
class ObjectiveFunctions:
    """Float callables of (p, n) for one d and chain law (theory §3).

    Attributes:
        H, beta, E_y2, X_star, f_tilde_star: callables; ``p`` and ``n`` broadcast
            against each other, the matrix axes come last (``H(p, n).shape ==
            batch + (dm, dm)``).
        index: the ``[j, u, v]`` order of the coordinates.
    """

    d: int
    backend: str
    H: Callable
    beta: Callable
    E_y2: Callable
    X_star: Callable
    f_tilde_star: Callable
    index: list


class _Constants:
    """Exact matrices as float64 arrays, handed out in the dtype and device a call needs."""

    def __init__(self, rows, backend: str):
        self.backend = backend
        self.base = np.asarray(rows, dtype=np.float64)
        self._cache: dict = {}

    def like(self, x):
        if self.backend == "numpy":
            return self.base.astype(x.dtype, copy=False)
        import torch

        key = (x.dtype, str(x.device))
        if key not in self._cache:
            self._cache[key] = torch.as_tensor(self.base, dtype=x.dtype, device=x.device)
        return self._cache[key]


def _build(d: int, law: ChainLaw, backend: str, product_form: bool) -> ObjectiveFunctions:
    extra = law.free_symbols - {P_SYMBOL}
    if extra:
        raise MarkovICLError(f"exports take (p, n) only; fix the other parameters: {sorted(map(str, extra))}")
    terms = ObjectiveTerms(d, law, product_form=product_form)
    H_terms, beta_terms, ey2_terms = terms.components(N_SYMBOL)

    if backend == "numpy":
        def solve(A, b):
            return np.linalg.solve(A, b[..., None])[..., 0]
    else:
        import torch

        def solve(A, b):
            return torch.linalg.solve(A, b.unsqueeze(-1)).squeeze(-1)

    def weighted(terms_dict, is_scalar=False):
        monos = list(terms_dict)
        weights = lambdify_pn(monos, backend)
        if is_scalar:
            coeffs = _Constants([float(terms.domain.to_sympy(terms_dict[m])) for m in monos], backend)
        else:
            coeffs = _Constants([_float_rows(terms_dict[m]) for m in monos], backend)

        def call(pv, nv):
            W = weights(pv, nv)
            C = coeffs.like(W)
            if is_scalar:
                return (W * C).sum(-1)
            return (W[..., None, None] * C).sum(-3)

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


@lru_cache(maxsize=64)
def functions(d: int, backend: str = "numpy", kernel: str = "uniform", init: str = "iid",
              form: str = "exact") -> ObjectiveFunctions:
    """Lambdified ``H, beta, E_y2, X_star, f_tilde_star`` of (p, n) for any d (theory §3).

    Args:
        d: chain input length.
        backend: ``"numpy"`` or ``"torch"`` (differentiable; dtype and device follow the inputs).
        kernel, init: the chain law as in :func:`markov_icl.solve`; p stays the variable, so
            the law may not fix it (``init`` without other free symbols).
        form: ``"exact"`` or ``"product"`` (the paper's Lemma 3.2 product form).

    Raises:
        MarkovICLError: unknown backend or form, or a law with free symbols other than p.

    Examples:
        >>> functions(2).X_star(0.5, 10).shape
        (12,)
    """
    from markov_icl.symbolic.solve import FORMS

    check_d(d)
    check_backend(backend)
    if form not in FORMS:
        raise MarkovICLError(f"unknown form {form!r}; allowed: {', '.join(FORMS)}")
    return _build(d, ChainLaw.from_options(None, kernel, init), backend, form == "product")


__all__ = ["BACKENDS", "check_backend", "lambdify_pn", "ObjectiveFunctions", "functions"]
