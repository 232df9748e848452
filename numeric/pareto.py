"""Pareto fronts and the generational distance (minimisation, any number of objectives).

A set of points is an ``(N, k)`` float array: ``N`` points, ``k`` objectives, all to be
minimised. A point ``q`` **dominates** ``p`` when ``q <= p`` in every objective and
``q < p`` in at least one; the **Pareto front** of a set is its non-dominated points. Equal
points do not dominate each other, so every copy of a non-dominated point stays on the front.

* :func:`pareto_mask`: which rows are non-dominated (``O(N log N)`` for ``k = 2``, by one sort;
  ``O(N^2 k)`` time for other ``k``, compared in chunks of rows so that memory stays bounded);
* :func:`pareto_front`: the non-dominated rows, sorted by the first objective (ties by the next);
* :func:`generational_distance`: Van Veldhuizen and Lamont's generational distance of an
  approximation ``A`` to a reference set ``R``,

      GD_p(A, R) = (1/|A|) * ( sum_{a in A} min_{r in R} ||a - r||_2^p )^(1/p),

  with ``p = 2`` by default (their definition); ``p = 1`` gives the mean distance from a point
  of ``A`` to its nearest point of ``R``. ``GD = 0`` exactly when every point of ``A`` is a
  point of ``R``. No normalisation of the objectives is applied.

Bad input (an empty set, a set that is not a 2-d array, sets with different numbers of
objectives, a NaN or an infinity) raises :class:`~markov_icl.errors.MarkovICLError`.

Examples:
    >>> pts = [[1, 4], [2, 2], [4, 1], [3, 3], [2, 5], [2, 2]]
    >>> pareto_mask(pts).tolist()
    [True, True, True, False, False, True]
    >>> pareto_front(pts).tolist()
    [[1.0, 4.0], [2.0, 2.0], [2.0, 2.0], [4.0, 1.0]]
    >>> generational_distance([[0, 1], [1, 1]], [[0, 0], [1, 0]])  # (1/2) * sqrt(1 + 1)
    0.7071067811865476
    >>> generational_distance([[0, 1], [1, 1]], [[0, 0], [1, 0]], p=1)  # the mean distance
    1.0
    >>> generational_distance([[1, 2]], [[1, 2, 3]])
    Traceback (most recent call last):
    ...
    markov_icl.errors.MarkovICLError: the approximation set has 2 objectives but the reference set has 3
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from markov_icl.errors import MarkovICLError, shown

#: largest number of elements of one intermediate (chunk x N x k) array: bounded memory for any N
CHUNK_ELEMENTS = 2**22


def _points(points, what: str) -> np.ndarray:
    """``points`` as a finite, non-empty ``(N, k)`` float64 array; else :class:`MarkovICLError`."""
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise MarkovICLError(f"the {what} must be an (N, k) array of numbers, got {shown(points)}") from None
    if arr.ndim != 2:
        raise MarkovICLError(f"the {what} must be an (N, k) array (one row per point), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise MarkovICLError(f"the {what} is empty (shape {arr.shape}): it needs at least one point and one objective")
    if not np.isfinite(arr).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise MarkovICLError(f"the {what} holds a non-finite value ({arr[bad]} at row {bad[0]}, objective {bad[1]})")
    return arr


def _rows_per_chunk(n: int, k: int) -> int:
    return max(1, CHUNK_ELEMENTS // max(1, n * k))


def _mask_2d(P: np.ndarray) -> np.ndarray:
    """Two objectives: after a lexicographic sort, a point is dominated iff some strictly smaller point
    (lexicographically, so not an equal copy) has a second objective <= its own."""
    order = np.lexsort((P[:, 1], P[:, 0]))
    S = P[order]
    idx = np.arange(len(S))
    new = np.ones(len(S), dtype=bool)
    new[1:] = (S[1:] != S[:-1]).any(axis=1)
    first = np.maximum.accumulate(np.where(new, idx, 0))  # first index of each point's group of equal points
    before = np.concatenate([[np.inf], np.minimum.accumulate(S[:, 1])[:-1]])  # min of y over indices < i
    mask = np.empty(len(S), dtype=bool)
    mask[order] = before[first] > S[:, 1]
    return mask


def _mask_chunked(P: np.ndarray) -> np.ndarray:
    """Any number of objectives: all pairs compared, ``chunk`` rows at a time."""
    n, k = P.shape
    step = _rows_per_chunk(n, k)
    mask = np.empty(n, dtype=bool)
    for lo in range(0, n, step):
        B = P[lo:lo + step, None, :]  # (c, 1, k): the points tested
        le = (P[None, :, :] <= B).all(axis=2)  # (c, N): row j is <= the tested point everywhere
        lt = (P[None, :, :] < B).any(axis=2)  # ... and < somewhere
        mask[lo:lo + step] = ~(le & lt).any(axis=1)
    return mask


def pareto_mask(points) -> np.ndarray:
    """Boolean mask of the non-dominated rows of an ``(N, k)`` array (minimisation).

    A row is dominated when another row is ``<=`` in every objective and ``<`` in at least one;
    equal rows do not dominate each other (all copies of a non-dominated point are kept).

    Examples:
        >>> pareto_mask([[0, 1], [1, 0], [1, 1]]).tolist()
        [True, True, False]
        >>> pareto_mask([[2, 2, 2], [1, 2, 3], [2, 2, 3]]).tolist()
        [True, True, False]

    Raises:
        MarkovICLError: not a non-empty 2-d array of finite numbers.
    """
    P = _points(points, "point set")
    if P.shape[1] == 1:
        return P[:, 0] == P[:, 0].min()
    return _mask_2d(P) if P.shape[1] == 2 else _mask_chunked(P)


def pareto_front(points) -> np.ndarray:
    """The non-dominated rows of ``points`` (:func:`pareto_mask`), sorted by the first objective (ties by the
    second, and so on); copies of a front point are all kept.

    Examples:
        >>> pareto_front([[3, 0], [0, 3], [1, 1], [2, 2]]).tolist()
        [[0.0, 3.0], [1.0, 1.0], [3.0, 0.0]]
    """
    P = _points(points, "point set")
    F = P[pareto_mask(P)]
    return F[np.lexsort(F.T[::-1])]


def generational_distance(approx, reference, p: float = 2) -> float:
    """Generational distance of ``approx`` (A) to ``reference`` (R), Van Veldhuizen and Lamont:

        GD_p(A, R) = (1/|A|) * ( sum_{a in A} min_{r in R} ||a - r||_2^p )^(1/p).

    ``p = 2`` (the default) is their definition; ``p = 1`` gives the mean Euclidean distance from a point of
    A to its nearest point of R. It is 0 exactly when every point of A is a point of R. Objectives are not
    normalised. Memory stays bounded: distances are computed for a chunk of A's points at a time.

    Examples:
        >>> generational_distance([[3, 4]], [[0, 0]], p=1)
        5.0
        >>> generational_distance([[1, 0], [0, 1]], [[0, 1], [1, 0], [5, 5]])
        0.0

    Raises:
        MarkovICLError: an empty set, sets with different numbers of objectives, a non-finite value, or
            ``p`` not a finite number > 0.
    """
    A = _points(approx, "approximation set")
    R = _points(reference, "reference set")
    if A.shape[1] != R.shape[1]:
        raise MarkovICLError(f"the approximation set has {A.shape[1]} objectives but the reference set has "
                             f"{R.shape[1]}")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not (math.isfinite(p) and p > 0):
        raise MarkovICLError(f"p must be a finite number > 0, got {shown(p)}")
    step = _rows_per_chunk(len(R), R.shape[1])
    nearest = np.empty(len(A))
    for lo in range(0, len(A), step):
        diff = A[lo:lo + step, None, :] - R[None, :, :]  # (c, |R|, k)
        nearest[lo:lo + step] = np.einsum("ijk,ijk->ij", diff, diff).min(axis=1)
    dist = np.sqrt(nearest)
    return float((dist ** p).sum() ** (1.0 / p) / len(A))


__all__ = ["pareto_mask", "pareto_front", "generational_distance", "CHUNK_ELEMENTS"]
