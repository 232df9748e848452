"""Pareto fronts and the generational distance (markov_icl.numeric.pareto).

Oracles: a front and distances computed by hand, and a brute-force pairwise dominance check
written here independently of the module (two nested Python loops over the points).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from markov_icl.errors import MarkovICLError
from markov_icl.numeric import pareto
from markov_icl.numeric.pareto import generational_distance, pareto_front, pareto_mask


def brute_force_mask(points) -> list[bool]:
    """Row i is kept unless some row j is <= everywhere and < somewhere (plain Python, O(N^2 k))."""
    rows = [list(map(float, r)) for r in points]
    keep = []
    for p in rows:
        dominated = any(all(q_i <= p_i for q_i, p_i in zip(q, p)) and any(q_i < p_i for q_i, p_i in zip(q, p))
                        for q in rows)
        keep.append(not dominated)
    return keep


def brute_force_gd(A, R, p) -> float:
    nearest = [min(math.dist(a, r) for r in R) for a in A]
    return sum(x ** p for x in nearest) ** (1 / p) / len(A)


HAND = [(1, 4), (2, 2), (4, 1), (3, 3), (2, 5), (2, 2)]


def test_hand_example_mask_and_front():
    # (3, 3) and (2, 5) are dominated by (2, 2); the two copies of (2, 2) do not dominate each other
    assert pareto_mask(HAND).tolist() == [True, True, True, False, False, True]
    assert pareto_front(HAND).tolist() == [[1, 4], [2, 2], [2, 2], [4, 1]]


def test_one_point_one_objective_and_all_equal():
    assert pareto_mask([[5.0, -1.0]]).tolist() == [True]
    assert pareto_mask([[3.0], [1.0], [1.0], [2.0]]).tolist() == [False, True, True, False]
    assert pareto_mask(np.ones((7, 3))).all()
    assert pareto_front([[2, 1], [1, 2]]).tolist() == [[1, 2], [2, 1]]  # sorted by the first objective


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("seed", range(6))
def test_mask_agrees_with_brute_force_on_random_sets(k, seed):
    rng = np.random.default_rng(1000 * k + seed)
    n = int(rng.integers(1, 60))
    # small integer grids make ties and exact copies frequent; every other seed uses continuous values
    points = rng.integers(0, 4, size=(n, k)).astype(float) if seed % 2 == 0 else rng.normal(size=(n, k))
    assert pareto_mask(points).tolist() == brute_force_mask(points)
    front = pareto_front(points)
    expected = sorted(tuple(p) for p, keep in zip(points.tolist(), brute_force_mask(points)) if keep)
    assert sorted(map(tuple, front.tolist())) == expected
    assert (np.diff(front[:, 0]) >= 0).all()


def test_the_chunked_path_matches_the_two_objective_sort(monkeypatch):
    """Small chunks (many passes) give the same mask as one pass, and as the k = 2 sort."""
    rng = np.random.default_rng(7)
    points = rng.integers(0, 6, size=(300, 2)).astype(float)
    fast = pareto._mask_2d(points)
    monkeypatch.setattr(pareto, "CHUNK_ELEMENTS", 50)
    assert (pareto._mask_chunked(points) == fast).all()
    assert fast.tolist() == brute_force_mask(points)


def test_generational_distance_hand_example():
    A, R = [(0, 1), (1, 1)], [(0, 0), (1, 0)]
    assert generational_distance(A, R) == pytest.approx(0.5 * math.sqrt(2), rel=1e-15)  # p = 2: (1/2) sqrt(1 + 1)
    assert generational_distance(A, R, p=1) == 1.0  # the mean distance
    assert generational_distance([(3, 4)], [(0, 0), (10, 10)]) == pytest.approx(5.0)


def test_generational_distance_is_zero_on_a_subset():
    R = np.array([[0.0, 3.0], [1.0, 1.0], [3.0, 0.0]])
    assert generational_distance(R[[0, 2]], R) == 0.0
    assert generational_distance(R, R, p=1) == 0.0


@pytest.mark.parametrize("p", [1, 2, 3.5])
def test_generational_distance_against_brute_force(p, monkeypatch):
    rng = np.random.default_rng(3)
    A, R = rng.normal(size=(40, 3)), rng.normal(size=(25, 3))
    monkeypatch.setattr(pareto, "CHUNK_ELEMENTS", 100)  # several chunks
    assert generational_distance(A, R, p=p) == pytest.approx(brute_force_gd(A.tolist(), R.tolist(), p), rel=1e-12)


@pytest.mark.parametrize("call,needle", [
    (lambda: pareto_mask(np.empty((0, 2))), "empty"),
    (lambda: pareto_mask(np.empty((3, 0))), "empty"),
    (lambda: pareto_mask([1.0, 2.0]), "(N, k)"),
    (lambda: pareto_mask([[1.0, float("nan")]]), "non-finite"),
    (lambda: pareto_front([[1.0, float("inf")]]), "non-finite"),
    (lambda: pareto_mask([["a", "b"]]), "numbers"),
    (lambda: generational_distance([[0.0, 1.0]], [[0.0, 1.0, 2.0]]), "2 objectives but the reference set has 3"),
    (lambda: generational_distance(np.empty((0, 2)), [[0.0, 1.0]]), "approximation set is empty"),
    (lambda: generational_distance([[0.0, 1.0]], np.empty((0, 2))), "reference set is empty"),
    (lambda: generational_distance([[0.0, 1.0]], [[0.0, -float("inf")]]), "non-finite"),
    (lambda: generational_distance([[0.0]], [[1.0]], p=0), "p must be"),
    (lambda: generational_distance([[0.0]], [[1.0]], p=float("nan")), "p must be"),
])
def test_bad_input_is_one_clear_error(call, needle):
    with pytest.raises(MarkovICLError) as info:
        call()
    assert needle in str(info.value) and "\n" not in str(info.value)
