"""Macroscopic measures of weight matrices along training (theory §17): effective rank, marginalised effective
rank, subspace stability, and where their dips fall.

* :func:`effective_rank`: ``exp(-sum_i p_i log p_i)``, ``p_i = sigma_i / sum_j sigma_j`` the normalised singular
  values (Roy and Vetterli 2007): 1 for a rank-one matrix, ``r`` for ``r`` equal singular values;
* :func:`marginal_effective_rank`: the same of the singular values left after dropping the top ``k``
  (renormalised among themselves): the spread of what is learned after the leading directions;
* :func:`subspace_distance`: ``min_A ||A M(t) - M(inf)||_F / ||M(inf)||_F`` (least squares in A: the part of the
  rows of ``M(inf)`` outside the row space of ``M(t)``); 0 once the row space of ``M(t)`` contains the final one.
  It is informative only where ``M(t)`` is rank deficient in its row dimension (``rank < columns``): a matrix with
  full column rank contains every row space, and the distance is 0 at every t;
* :func:`dip`: the time and depth of a measure's minimum and the times its fall is half and 90 % done;
* :func:`gpt2_matrices`: the query-key matrix ``W_Q,h W_K,h^T`` and the value-output matrix ``W_V,h W_O,h`` of every
  layer and head of a Hugging Face ``GPT2Model`` (``c_attn`` and ``c_proj`` are Conv1D: ``y = x W + b``).

Examples:
    >>> import numpy as np
    >>> round(effective_rank(np.diag([1.0, 1.0, 1.0])), 12), round(effective_rank(np.outer([1, 2], [3, 4])), 12)
    (3.0, 1.0)
    >>> round(marginal_effective_rank(np.diag([5.0, 1.0, 1.0]), 1), 12)
    2.0
    >>> M = np.array([[1.0, 0.0, 0.0]])
    >>> subspace_distance(M, np.array([[0.0, 1.0, 0.0]])), subspace_distance(2 * M, M)
    (1.0, 0.0)
"""

from __future__ import annotations

import numpy as np

from markov_icl.errors import MarkovICLError


def _singular_values(M) -> np.ndarray:
    A = np.asarray(M, dtype=np.float64)
    if A.ndim == 1:
        A = A[None, :]
    if A.ndim != 2 or not np.isfinite(A).all():
        raise MarkovICLError("a measure needs a finite 2-d matrix")
    return np.linalg.svd(A, compute_uv=False)


def _entropy_rank(s: np.ndarray) -> float:
    tot = s.sum()
    if tot <= 0:
        return float("nan")
    p = s / tot
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def effective_rank(M) -> float:
    """``exp(-sum p_i log p_i)`` of the normalised singular values of ``M`` (NaN for the zero matrix).

    Examples:
        >>> round(effective_rank(np.diag([1.0, 1.0])), 12), round(effective_rank([[1.0, 2.0], [2.0, 4.0]]), 12)
        (2.0, 1.0)
    """
    return _entropy_rank(_singular_values(M))


def marginal_effective_rank(M, k: int = 1) -> float:
    """The effective rank of the singular values after the top ``k`` (NaN when fewer than two remain).

    Examples:
        >>> round(marginal_effective_rank(np.diag([10.0, 1.0, 1.0]), 1), 12)
        2.0
    """
    s = _singular_values(M)[k:]
    return _entropy_rank(s) if len(s) >= 2 else float("nan")


def subspace_distance(M, M_inf) -> float:
    """``min_A ||A M - M_inf||_F / ||M_inf||_F``: the part of ``M_inf``'s rows outside the row space of ``M``.

    Examples:
        >>> round(subspace_distance([[1.0, 0.0, 0.0]], [[1.0, 1.0, 0.0]]), 6)     # half the norm is outside
        0.707107
    """
    A = np.asarray(M, dtype=np.float64)
    B = np.asarray(M_inf, dtype=np.float64)
    A, B = np.atleast_2d(A), np.atleast_2d(B)
    nb = np.linalg.norm(B)
    if nb == 0:
        raise MarkovICLError("subspace_distance: M(inf) is zero")
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    keep = s > s.max() * 1e-12 if s.size and s.max() > 0 else np.zeros(0, bool)
    V = Vt[keep]                       # orthonormal basis of the row space of A
    resid = B - (B @ V.T) @ V
    return float(np.linalg.norm(resid) / nb)


def dip(t, values) -> dict:
    """Where a measure dips: ``t_min`` and ``min`` (its least value after t = 0), ``start`` (its first value), and
    ``t_half``, ``t_90`` (the first times it has fallen half and 90 % of the way from ``start`` to ``min``), and
    ``t_rise_half`` (the first time after ``t_min`` it has recovered half of the fall, when it does).

    Examples:
        >>> dip([0, 1, 2, 3, 4], [2.0, 1.5, 1.0, 1.25, 1.6])["t_min"], dip([0, 1, 2, 3, 4], [2.0, 1.5, 1.0, 1.25, 1.6])["t_half"]
        (2.0, 1.0)
    """
    t = np.asarray(t, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    good = np.isfinite(v)
    t, v = t[good], v[good]
    if len(v) < 2:
        return {"t_min": float("nan"), "min": float("nan"), "start": float("nan"), "t_half": float("nan"),
                "t_90": float("nan"), "t_rise_half": float("nan")}
    i = int(np.argmin(v))
    start, low = float(v[0]), float(v[i])
    out = {"t_min": float(t[i]), "min": low, "start": start, "end": float(v[-1])}
    for name, frac in (("t_half", 0.5), ("t_90", 0.9)):
        level = start - frac * (start - low)
        out[name] = _crossing(t[: i + 1], v[: i + 1], level, falling=True)
    level = low + 0.5 * (start - low)
    out["t_rise_half"] = _crossing(t[i:], v[i:], level, falling=False) if v[-1] > level else float("nan")
    return out


def _crossing(t, v, level, falling: bool) -> float:
    """The first time ``v`` crosses ``level`` (:func:`~markov_icl.numeric.dynamics.interpolated_crossing`), NaN if
    it never does."""
    from markov_icl.numeric.dynamics import interpolated_crossing

    hit = interpolated_crossing(t, v, level, rising=not falling)
    return float("nan") if hit is None else hit


def loss_drop(t, loss) -> dict:
    """Where a learning curve drops: ``t_half`` and ``t_90`` (the first times the loss has fallen half and 90 % of
    the way from its first value to its last), ``t_fastest`` (steepest descent between samples).

    Examples:
        >>> loss_drop([0, 1, 2, 3], [1.0, 0.9, 0.2, 0.1])["t_half"]
        1.5
    """
    t = np.asarray(t, dtype=np.float64)
    v = np.asarray(loss, dtype=np.float64)
    start, end = float(v[0]), float(v[-1])
    out = {"start": start, "end": end}
    for name, frac in (("t_half", 0.5), ("t_90", 0.9)):
        out[name] = _crossing(t, v, start - frac * (start - end), falling=True)
    slope = np.diff(v) / np.diff(t)
    j = int(np.argmin(slope))
    out["t_fastest"] = float(0.5 * (t[j] + t[j + 1]))
    return out


def gpt2_matrices(gpt2) -> dict:
    """``{(layer, head): {"QK": (width, width), "OV": (width, width)}}`` of a Hugging Face ``GPT2Model`` (NumPy).

    Scores of head h are ``(x_i W_Q,h) . (x_j W_K,h) = x_i^T (W_Q,h W_K,h^T) x_j`` and its output is
    ``softmax . (x_j W_V,h) W_O,h`` with ``W_O,h`` the rows of ``c_proj`` that read head h.

    Examples:
        >>> from markov_icl.numeric.softmax import SoftmaxICL
        >>> m = gpt2_matrices(SoftmaxICL(d=1, layers=2, heads=2, width=8, max_n=4, seed=0).gpt2)
        >>> sorted(m), m[(0, 1)]["QK"].shape, int(np.linalg.matrix_rank(m[(0, 1)]["QK"]))
        ([(0, 0), (0, 1), (1, 0), (1, 1)], (8, 8), 4)
    """
    cfg = gpt2.config
    w, H = cfg.n_embd, cfg.n_head
    hd = w // H
    out = {}
    for layer, block in enumerate(gpt2.h):
        W = block.attn.c_attn.weight.detach().double().cpu().numpy()        # (w, 3w): q | k | v
        Wo = block.attn.c_proj.weight.detach().double().cpu().numpy()       # (w, w): heads concatenated -> out
        Wq, Wk, Wv = W[:, :w], W[:, w:2 * w], W[:, 2 * w:]
        for h in range(H):
            sl = slice(h * hd, (h + 1) * hd)
            out[(layer, h)] = {"QK": Wq[:, sl] @ Wk[:, sl].T, "OV": Wv[:, sl] @ Wo[sl, :]}
    return out


__all__ = ["effective_rank", "marginal_effective_rank", "subspace_distance", "dip", "loss_drop", "gpt2_matrices"]
