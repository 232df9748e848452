"""Brute-force oracles for the normalized-GD transformer of theory §15, sharing no code with the engine.

:func:`plain_ngd` runs ``w <- w - eta grad L(w) / L(w)`` on ``L(w) = (1/n) sum_i exp(-y~_i psi(x_i)^T w)`` with
Python floats and explicit loops; :func:`enumerate_ngd` scores its sign at the query on *every* prompt of a tiny
size with the exact prompt probabilities of :mod:`.bayes`; :func:`grid_separable` decides separability by
searching integer directions.
"""

from __future__ import annotations

import math
from itertools import product

import sympy as sp

from .bayes import _prompts


def psi(x, bias=True):
    return [2 * v - 1 for v in x] + ([1] if bias else [])


def plain_ngd(xs, ys, eta, layers, bias=True):
    """The iterates ``w_0 .. w_L`` for inputs ``xs`` (tuples of 0/1) and labels ``ys`` (0/1)."""
    U = [[(2 * y - 1) * f for f in psi(x, bias)] for x, y in zip(xs, ys)]
    k = len(U[0])
    w = [0.0] * k
    out = [list(w)]
    for _ in range(layers):
        margins = [sum(u[a] * w[a] for a in range(k)) for u in U]
        lo = min(margins)
        loss = sum(math.exp(-(m - lo)) for m in margins) / len(U)
        grad = [-sum(u[a] * math.exp(-(m - lo)) for u, m in zip(U, margins)) / len(U) for a in range(k)]
        w = [w[a] - eta * grad[a] / loss for a in range(k)]
        out.append(list(w))
    return out


def enumerate_ngd(d, n, p, layers, eta, bias=True):
    """Exact accuracy (ties count 1/2) and float squared loss of ``sigma(2 z)`` per depth, and the exact fraction of
    separable contexts, by enumerating every prompt."""
    acc = [sp.Integer(0)] * (layers + 1)
    sq = [0.0] * (layers + 1)
    sep = sp.Integer(0)
    for chains, prob in _prompts(2, d, n, p, "uniform"):
        if prob == 0:
            continue
        xs = [tuple(ch[:d]) for ch in chains[:n]]
        ys = [ch[d] for ch in chains[:n]]
        q = chains[n]
        its = plain_ngd(xs, ys, eta, layers, bias)
        f = psi(q[:d], bias)
        for layer, w in enumerate(its):
            z = sum(a * b for a, b in zip(f, w))
            if abs(z) < 1e-9:
                acc[layer] += prob / 2
            elif (z > 0) == (q[d] == 1):
                acc[layer] += prob
            yhat = 1 / (1 + math.exp(-2 * z))
            sq[layer] += float(prob) * (q[d] - yhat) ** 2
        U = [[(2 * y - 1) * v for v in psi(x, bias)] for x, y in zip(xs, ys)]
        if grid_separable(U):
            sep += prob
    return acc, sq, sep


def grid_separable(U, bound=6) -> bool:
    """Some integer ``w`` in ``[-bound, bound]^k`` with ``u^T w > 0`` for every row ``u``."""
    k = len(U[0])
    return any(all(sum(u[a] * w[a] for a in range(k)) > 0 for u in U) for w in product(range(-bound, bound + 1), repeat=k))
