"""The LSA layer and the one-layer reparameterisation, written once for every number type.

* :func:`lsa_layer`: ``Z + (1/n) P Z M Z^T Q Z`` with ``M = diag(1, ..., 1, 0)`` (theory §2;
  the paper's transformer ``TF``, Section 2).
* :func:`phi`: the reparameterisation ``X = phi(b, A)`` of a one-layer LSA (theory §3):
  ``X^(j)_(u,u) = b_u A_{u,j}`` and ``X^(j)_(u,v) = b_u A_{v,j} + b_v A_{u,j}`` (u < v), in the
  order ``r = (j-1) m + pos(u, v)``, so that ``yhat = <phi(b, A), x_q (kron) g>``.
* :func:`bilinear_tensor`: ``T[k, r, l]`` with ``phi(b, A)^(j)_r = sum_{k,l} b_k T[k, r, l] A_{l,j}``,
  read off :func:`phi` at unit vectors (phi is bilinear), for code that needs phi's Jacobian.

The same code runs on PyTorch tensors (any dtype and device, differentiable), NumPy float
arrays, and exact values: Python ints, :class:`fractions.Fraction`, SymPy numbers and
expressions, or elements of a SymPy polynomial ring (held in NumPy object arrays). It uses
only indexing, ``+``, ``*``, ``/`` and ``@``, never a dtype of its own.

Examples:
    >>> phi([1, 2], [[3], [5]])              # d = 1: (b1 A11, b1 A21 + b2 A11, b2 A21)
    [3, 11, 10]
    >>> import torch
    >>> phi(torch.tensor([1.0, 2.0]), torch.tensor([[3.0], [5.0]]))
    tensor([ 3., 11., 10.])
"""

from __future__ import annotations

from functools import cache
from numbers import Number
from typing import Any

import numpy as np
import sympy as sp

from markov_icl.errors import MarkovICLError


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _swap(x):
    """Transpose of the last two axes (NumPy and PyTorch alike)."""
    return x.swapaxes(-1, -2)


def lsa_layer(Z, P, Q):
    """One LSA layer, ``Z + (1/n) P Z M Z^T Q Z`` (theory §2), ``M = diag(1, ..., 1, 0)``.

    Args:
        Z: ``(..., d+1, n+1)``: the context columns and the query column last (batched for
            torch / NumPy floats; a NumPy object array for exact or polynomial entries).
        P, Q: ``(d+1, d+1)``.

    Returns:
        The next ``Z`` (same shape). ``Z M`` drops the query column from the attention sum.

    Examples:
        >>> import numpy as np, sympy as sp
        >>> x, y = sp.symbols("x y")
        >>> Z = np.array([[x, 1], [y, 0]], dtype=object)        # one context chain (x, y), query x_q = 1
        >>> P = np.array([[0, 0], [0, 1]], dtype=object)
        >>> Q = np.array([[1, 0], [0, 0]], dtype=object)
        >>> lsa_layer(Z, P, Q)[1, 1]                          # y x * x_q: the in-context prediction
        x*y
    """
    Z, P, Q = (x if hasattr(x, "shape") else np.asarray(x, dtype=object) for x in (Z, P, Q))
    D = Z.shape[-2] if len(Z.shape) >= 2 else 0
    if len(Z.shape) < 2 or Z.shape[-1] < 2 or tuple(P.shape) != (D, D) or tuple(Q.shape) != (D, D):
        raise MarkovICLError(f"lsa_layer: expected Z of shape (..., d+1, n+1) with n >= 1 and P, Q of shape "
                             f"(d+1, d+1); got {tuple(Z.shape)}, {tuple(P.shape)}, {tuple(Q.shape)}")
    n = Z.shape[-1] - 1
    ZM = Z[..., :n]
    return Z + P @ (ZM @ _swap(ZM)) @ Q @ Z / n


@cache
def _pair_index(d: int) -> tuple[list[int], list[int], list[int]]:
    """0-based ``(u, v)`` of the pairs ``u <= v`` in row-major order, and 1 where ``u < v``."""
    pairs = [(u, v) for u in range(d + 1) for v in range(u, d + 1)]
    return [u for u, _ in pairs], [v for _, v in pairs], [int(u < v) for u, v in pairs]


def _exact_entry(x) -> bool:
    from sympy.polys.rings import PolyElement

    if isinstance(x, PolyElement):
        return True
    return isinstance(x, (int, sp.Basic)) and not isinstance(x, bool) or (
        isinstance(x, Number) and not isinstance(x, (float, complex)) and type(x).__name__ != "bool_"
        and not isinstance(x, np.floating))


def phi(b, A):
    """The reparameterisation ``X = phi(b, A)`` of a one-layer LSA (theory §3), length ``d m``.

    Args:
        b: ``(d+1,)``, the last row of ``P``.
        A: ``(d+1, d)``, the first ``d`` columns of ``Q`` (``A[u][j]``, 0-based).

    Returns:
        A tensor for tensor input (differentiable, same dtype and device), a float64 NumPy
        array for float input, and a list of exact SymPy values for exact input (ints,
        fractions, SymPy numbers or expressions).

    Raises:
        MarkovICLError: when the shapes are not ``(d+1,)`` and ``(d+1, d)``.

    Examples:
        >>> from fractions import Fraction
        >>> phi([Fraction(1, 2), 1], [[2], [2]])      # realises X = (1, 3, 2)
        [1, 3, 2]
    """
    torch_in = _is_torch(b) or _is_torch(A)
    if torch_in:
        import torch

        b = torch.as_tensor(b)
        A = torch.as_tensor(A, dtype=b.dtype, device=b.device)
        exact = False
    else:
        flat = list(np.asarray(b, dtype=object).reshape(-1)) + list(np.asarray(A, dtype=object).reshape(-1))
        exact = all(_exact_entry(x) for x in flat)
        b = np.asarray(b, dtype=object if exact else np.float64)
        A = np.asarray(A, dtype=object if exact else np.float64)
    D = b.shape[0] if b.ndim == 1 else -1
    if b.ndim != 1 or A.ndim != 2 or A.shape[0] != D or A.shape[1] != D - 1 or D < 2:
        raise MarkovICLError(f"phi: expected b of shape (d+1,) and A of shape (d+1, d), got {tuple(b.shape)}, "
                             f"{tuple(A.shape)}")
    iu, iv, off = _pair_index(D - 1)
    off_t: Any
    if torch_in:
        off_t = torch.tensor(off, dtype=b.dtype, device=b.device)
    else:
        off_t = np.asarray(off, dtype=object if exact else np.float64)
    X = b[iu][:, None] * A[iv] + (off_t * b[iv])[:, None] * A[iu]  # (m, d): column j is X^(j)
    X = _swap(X).reshape(-1)
    if exact:  # polynomial-ring elements stay in their ring
        return [x if type(x).__name__ == "PolyElement" else sp.sympify(x) for x in X]
    return X


@cache
def bilinear_tensor(d: int) -> np.ndarray:
    """``T`` of shape ``(d+1, m, d+1)`` with ``phi(b, A)^(j)_r = sum_{k,l} b_k T[k, r, l] A_{l,j}``.

    Read off :func:`phi` at unit vectors (phi is bilinear), so it cannot disagree with it.

    Examples:
        >>> bilinear_tensor(1)[:, :, 0]           # the coefficient of A_{1,1} in (X_1, X_2, X_3)
        array([[1., 0., 0.],
               [0., 1., 0.]])
    """
    D = d + 1
    m = D * (D + 1) // 2
    T = np.zeros((D, m, D))
    for k in range(D):
        for l in range(D):
            A = np.zeros((D, d))
            A[l, 0] = 1.0
            T[k, :, l] = phi(np.eye(D)[k], A)[:m]
    return T


__all__ = ["lsa_layer", "phi", "bilinear_tensor"]
