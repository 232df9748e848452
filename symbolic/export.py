"""Lambdified exports: H(p, n), beta(p, n), E[y^2](p), X*(p, n), f~*(p, n) as NumPy or PyTorch callables.

For any d, H is an exact finite sum ``H(p, n) = sum_k w_k(p, n) M_k`` with a handful of
monomial weights ``w_k`` (``p^i`` and ``p^i / n``) and exact rational matrices ``M_k``
(:meth:`markov_icl.symbolic.objective.ObjectiveTerms.components`). The weights are
lambdified with ``sympy.lambdify`` (``modules="numpy"`` or ``"torch"``) and contracted with
the matrices by one matrix product (weights ``B x K`` times the flattened ``K x dm^2``
constants), so the callables are vectorised over any batch shape of (p, n) and, in
PyTorch, differentiable. X* (and f~*) solve ``H X = beta`` batched, in chunks of at most
:data:`CHUNK_ENTRIES` entries of H at once, by Cholesky (H is positive definite), with LU
where Cholesky fails (a numerically indefinite H, e.g. in float32); NumPy through
SciPy's BLAS and LAPACK (``gemm``, ``posv``, ``gesv``), PyTorch through
``torch.linalg.cholesky_ex`` and triangular solves (``torch.linalg.solve_ex`` as fallback).

Dtype and device follow the inputs: float32 in gives float32 out, a CUDA (or ``meta``)
tensor gives a result on that device; plain Python numbers give float64 (CPU).

Examples:
    >>> f = functions(1)
    >>> float(f.f_tilde_star(0.5, 5))              # 35/96
    0.3645833333333333
    >>> import torch
    >>> f = functions(1, backend="torch")
    >>> f.X_star(torch.tensor([0.5], dtype=torch.float32), 10.0).dtype
    torch.float32
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache, reduce

import numpy as np
import sympy as sp

from markov_icl.errors import MarkovICLError
from markov_icl.symbolic.laws import N_SYMBOL, P_SYMBOL, ChainLaw
from markov_icl.symbolic.objective import ObjectiveTerms, check_d

BACKENDS = ("numpy", "torch")

#: Most entries of H formed at once by ``X_star`` and ``f_tilde_star``: a batch of (p, n) is
#: solved in chunks of ``max(1, CHUNK_ENTRIES // dm**2)`` points (32 MiB of float64 H; 32
#: points at d = 8, 3 at d = 12).
CHUNK_ENTRIES = 1 << 22

#: Threads of SciPy's OpenBLAS inside the batched NumPy solve, which makes one small
#: factorization per point: with two threads per call, each call waits for both, and on a
#: loaded 2-core machine that made 1000 solves at d = 8 2 to 50 times slower (0.9 s with one
#: thread, 2 to 48 s with two, next to one busy process); ``None`` keeps the library's setting.
#: Set through OpenBLAS's ``openblas_set_num_threads_local`` for the calling thread only and
#: restored afterwards; a no-op where SciPy's bundled OpenBLAS is not found.
BLAS_THREADS: int | None = 1


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


def _float_array(values, domain) -> np.ndarray:
    """Exact domain elements as a float64 array, each correctly rounded.

    Elements of QQ (python-flint ``fmpq``, gmpy2 ``mpq`` or SymPy's ``PythonMPQ``) are
    converted by their own ``float`` (no SymPy number per entry, the former build cost);
    other domains go through :meth:`domain.to_sympy`.
    """
    if domain.is_QQ or domain.is_ZZ:
        return np.fromiter(map(float, values), dtype=np.float64, count=len(values))
    to = domain.to_sympy
    return np.fromiter((float(to(x)) for x in values), dtype=np.float64, count=len(values))


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


class _Terms:
    """One of H, beta, E[y^2] as ``sum_k w_k(p, n) M_k``: the weights lambdified, the M_k
    flattened into the rows of a float64 ``K x size`` array that is handed out (and cached)
    in the dtype and device a call needs."""

    def __init__(self, terms: dict, domain, backend: str):
        self.backend = backend
        self.weights = lambdify_pn(list(terms), backend)
        mats = list(terms.values())
        size = mats[0].shape[0] * mats[0].shape[1] if hasattr(mats[0], "shape") else 1
        self.base = np.empty((len(mats), size), dtype=np.float64)
        for k, M in enumerate(mats):  # one matrix's entries at a time: bounded peak memory
            self.base[k] = _float_array(M.to_list_flat() if hasattr(M, "to_list_flat") else [M], domain)
        self._cache: dict = {}

    @property
    def K(self) -> int:
        return self.base.shape[0]

    def like(self, dtype, device=None):
        """The constants ``K x size`` in ``dtype`` (and, for torch, on ``device``)."""
        key = (dtype, None if device is None else str(device))
        if key not in self._cache:
            if self.backend == "numpy":
                self._cache[key] = np.ascontiguousarray(self.base, dtype=dtype)
            else:
                import torch

                self._cache[key] = torch.as_tensor(self.base, dtype=dtype, device=device)
        return self._cache[key]

    def contract(self, W):
        """``sum_k W[..., k] M_k`` flattened: ``W (..., K) -> (..., size)``, by one matrix product."""
        C = self.like(W.dtype, getattr(W, "device", None))
        return (W.reshape(-1, self.K) @ C).reshape(W.shape[:-1] + (C.shape[-1],))

    def __call__(self, p, n):
        return self.contract(self.weights(p, n))


def _chunk(dm: int, batch: int) -> int:
    """Points per chunk of a batched solve: at most :data:`CHUNK_ENTRIES` entries of H at once."""
    return max(1, min(batch, CHUNK_ENTRIES // (dm * dm)))


def _singular(p, n, b):
    return MarkovICLError(f"H(p, n) is singular at p = {float(p.reshape(-1)[b])}, n = {float(n.reshape(-1)[b])}, so X* "
                          "is not unique there (the exact route, markov_icl.solve, takes p in the open interval (0, 1) "
                          "and n >= 1)")


@lru_cache(maxsize=1)
def _openblas_threads_local():
    """``openblas_set_num_threads_local`` of the OpenBLAS bundled with SciPy's wheels (OpenBLAS
    >= 0.3.27: sets the calling thread's count, returns the previous one), or None."""
    import ctypes
    import glob
    import os

    import scipy

    pkg = os.path.dirname(scipy.__file__)
    for path in sorted(glob.glob(os.path.join(os.path.dirname(pkg), "scipy.libs", "libscipy_openblas*"))
                       + glob.glob(os.path.join(pkg, ".dylibs", "libscipy_openblas*"))):
        try:
            fn = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
        return fn
    return None


@contextmanager
def _blas_threads(count: int | None):
    fn = _openblas_threads_local() if count else None
    previous = fn(count) if fn else None
    try:
        yield
    finally:
        if fn:
            fn(previous)


def _solve_numpy(W, C, beta, p, n):
    """``X_b = H_b^{-1} beta_b`` with ``H_b = (W @ C)_b`` as a dm x dm matrix, for b over the rows of W.

    Args:
        W: ``B x K`` weights; C: ``K x dm^2`` constants; beta: ``B x dm``, all of one dtype
            (float32 or float64); p, n: the points (broadcast to B), for error messages.

    The batch is formed ``chunk`` points at a time (``G = C^T W^T``, column b holding H_b) by
    SciPy's BLAS ``gemm`` and solved by its LAPACK ``posv`` (Cholesky), ``gesv`` (LU) where
    Cholesky fails; BLAS and LAPACK from one library, so one thread pool (NumPy's own
    OpenBLAS next to SciPy's would make the two pools compete for the cores), with
    :data:`BLAS_THREADS` threads.
    """
    from scipy.linalg import get_blas_funcs, get_lapack_funcs

    B, dm = beta.shape
    (gemm,) = get_blas_funcs(("gemm",), (C,))
    posv, gesv = get_lapack_funcs(("posv", "gesv"), (C,))
    CT = C.T  # dm^2 x K, Fortran-contiguous
    X = np.empty_like(beta)
    cs = _chunk(dm, B)
    G = np.empty((dm * dm, cs), dtype=C.dtype, order="F")
    with _blas_threads(BLAS_THREADS):
        for s in range(0, B, cs):
            w = W[s:s + cs]
            Gk = gemm(1.0, CT, w.T, beta=0.0, c=G[:, :len(w)], overwrite_c=1)
            for i in range(len(w)):
                _, x, info = posv(Gk[:, i].reshape(dm, dm, order="F"), beta[s + i], overwrite_a=1)
                if info:  # not numerically positive definite: LU of a freshly formed H
                    _, _, x, info = gesv((w[i] @ C).reshape(dm, dm), beta[s + i])
                    if info:
                        raise _singular(p, n, s + i)
                X[s + i] = x
    return X


def _solve_torch(W, C, beta, p, n):
    """As :func:`_solve_numpy` in PyTorch (differentiable): ``torch.linalg.cholesky_ex`` and two
    triangular solves per chunk; where Cholesky fails, that chunk is solved again with
    Cholesky on its positive definite points and LU (``torch.linalg.solve_ex``) on the others,
    one point at a time (batched CPU LU of torch 2.13 with MKL and more than one thread returns
    invalid pivots for matrices of size >= 200)."""
    import torch

    def chol_solve(L, b):
        y = torch.linalg.solve_triangular(L, b, upper=False)
        return torch.linalg.solve_triangular(L.mT, y, upper=True)

    B, dm = beta.shape
    if B == 0:
        return torch.zeros_like(beta)
    cs = _chunk(dm, B)
    check = beta.device.type != "meta"
    out = []
    for s in range(0, B, cs):
        H = (W[s:s + cs] @ C).reshape(-1, dm, dm)
        b = beta[s:s + cs].unsqueeze(-1)
        # H is symmetric: factor its transpose, a view whose memory is already column-major (no copy)
        L, info = torch.linalg.cholesky_ex(H.mT)
        if check and bool((info != 0).any()):
            x = torch.zeros_like(b)
            good = torch.nonzero(info == 0).reshape(-1)
            if len(good):
                x = x.index_put((good,), chol_solve(torch.linalg.cholesky(H[good].mT), b[good]))
            for i in torch.nonzero(info != 0).reshape(-1).tolist():
                xi, info_lu = torch.linalg.solve_ex(H[i], b[i])
                if int(info_lu):
                    raise _singular(p, n, s + i)
                x = x.index_put((torch.tensor([i], device=x.device),), xi.unsqueeze(0))
        else:
            x = chol_solve(L, b)
        out.append(x.squeeze(-1))
    return torch.cat(out) if len(out) != 1 else out[0]


def _build(d: int, law: ChainLaw, backend: str, product_form: bool) -> ObjectiveFunctions:
    extra = law.free_symbols - {P_SYMBOL}
    if extra:
        raise MarkovICLError(f"exports take (p, n) only; fix the other parameters: {sorted(map(str, extra))}")
    terms = ObjectiveTerms(d, law, product_form=product_form)
    H_terms, beta_terms, ey2_terms = (_Terms(t, terms.domain, backend) for t in terms.components(N_SYMBOL))
    dm = terms.idx.dm
    if backend == "numpy":
        args, solve = _numpy_args, _solve_numpy
    else:
        args, solve = _torch_args, _solve_torch

    def H_fn(pv, nv):
        out = H_terms(pv, nv)
        return out.reshape(out.shape[:-1] + (dm, dm))

    def beta_fn(pv, nv=1):
        return beta_terms(pv, nv)

    def ey2(pv, nv=1):
        return ey2_terms(pv, nv)[..., 0]

    def solved(pv, nv):
        """``(X*, beta, p, n, dtype)``: the points broadcast, in the dtype of the solve; dtype the inputs'."""
        pv, nv = args(pv, nv)
        dtype = pv.dtype
        if backend == "numpy" and dtype not in (np.float32, np.float64):  # LAPACK: float32 / float64 only
            work = np.float32 if dtype == np.float16 else np.float64
            pv, nv = pv.astype(work), nv.astype(work)
        beta = beta_fn(pv, nv)
        W = H_terms.weights(pv, nv)
        C = H_terms.like(W.dtype, getattr(W, "device", None))
        X = solve(W.reshape(-1, H_terms.K), C, beta.reshape(-1, dm), pv, nv).reshape(beta.shape)
        return X, beta, pv, nv, dtype

    def cast(x, dtype):
        return x.astype(dtype, copy=False) if backend == "numpy" else x

    def x_star(pv, nv):
        X, _, _, _, dtype = solved(pv, nv)
        return cast(X, dtype)

    def f_star(pv, nv):
        X, beta, pv, nv, dtype = solved(pv, nv)
        return cast(ey2(pv, nv) - (beta * X).sum(-1), dtype)

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
