"""Brute-force oracles for the Bayes-optimal in-context predictor and for softmax attention.

Neither uses the engine's sufficient-statistic sums. :func:`enumerate_bayes` walks over *every*
prompt of a tiny size (``S^((n+1)(d+1))`` of them, the query's label included), computes its exact
probability by integrating the prompt's likelihood, a polynomial in the kernel entries, against the
prior (binary: ``Poly.integrate`` against the Beta densities of :mod:`.binary`; S states: the
stick-breaking Dirichlet moments of :mod:`.multistate`), and obtains the posterior predictive as a
ratio of these probabilities, ``P(y_q = j | rest) = P(rest, y_q = j) / sum_k P(rest, y_q = k)``.
:func:`enumerate_softmax_loss` scores the softmax-attention predictor on the same enumeration.

Normalized GD (theory §15): :func:`plain_ngd` runs ``w <- w - eta grad L(w) / L(w)`` on
``L(w) = (1/n) sum_i exp(-y~_i psi(x_i)^T w)`` with Python floats and explicit loops; :func:`enumerate_ngd` scores
its sign at the query on every prompt with the same exact probabilities; :func:`grid_separable` decides
separability by searching integer directions.
"""

from __future__ import annotations

import math
from functools import cache
from itertools import product

import sympy as sp

from .binary import _integrator, a, c
from .multistate import dirichlet_row_moment


@cache
def _binary_integrator(prior):
    return _integrator(prior, (a, c))


def _prompts(S: int, d: int, n: int, p, prior, init="iid"):
    """Yield ``(chains, prob)`` for every prompt; chains[n] is the query (its last entry the label).

    Binary chains with a prior "uniform" / ("beta", ...) / ("fixed", ...) use p and ``init`` ("iid" or
    ("qc", pi0, pi1): s_q ~ Bern(p), context states Bern(pi_{s_q})); a number as the prior means
    Dirichlet(prior) rows with uniform initial states (any S, S = 2 included)."""
    L = d + 1
    p = sp.sympify(p)
    K = [[1 - a, a], [c, 1 - c]]
    dirichlet = not (prior == "uniform" or isinstance(prior, tuple))
    integ = None if dirichlet else _binary_integrator(prior)
    cache_prob: dict = {}
    for flat in product(range(S), repeat=(n + 1) * L):
        chains = [flat[k * L:(k + 1) * L] for k in range(n + 1)]
        if not dirichlet:
            w0 = sp.Integer(1)
            if init == "iid":
                for ch in chains:
                    w0 *= p if ch[0] else 1 - p
            else:
                _, pi0, pi1 = init
                pi = sp.sympify(pi1 if chains[n][0] else pi0)
                w0 = p if chains[n][0] else 1 - p
                for ch in chains[:n]:
                    w0 *= pi if ch[0] else 1 - pi
            poly = sp.Integer(1)
            for ch in chains:
                for s, t in zip(ch, ch[1:]):
                    poly *= K[s][t]
            key = sp.expand(poly)
            if key not in cache_prob:
                cache_prob[key] = integ(sp.Poly(key, a, c, domain="QQ"))
            yield chains, w0 * cache_prob[key]
        else:
            counts = [[0] * S for _ in range(S)]
            for ch in chains:
                for s, t in zip(ch, ch[1:]):
                    counts[s][t] += 1
            prob = sp.Rational(1, S ** (n + 1))
            for r in range(S):
                prob *= dirichlet_row_moment(sp.sympify(prior), tuple(counts[r]))
            yield chains, prob


def enumerate_bayes(d: int, n: int, p=None, prior="uniform", S: int = 2, init="iid") -> dict:
    """Exact Bayes risk (squared loss, states as numbers) and accuracy by enumerating every prompt.

    Args:
        d, n: chain input length and number of context chains (tiny).
        p: the binary initial probability (exact); ignored for S > 2 (uniform initial states).
        prior: binary: "uniform", ("beta", aa, ba, ac, bc) with integer parameters, or ("fixed", a0, c0);
            a number: Dirichlet(alpha) rows and uniform initial states (any S).
        init: "iid" or ("qc", pi0, pi1) (binary priors only).

    Returns:
        ``{"risk", "accuracy", "E_y2"}`` as exact SymPy rationals.
    """
    joint: dict = {}
    for chains, prob in _prompts(S, d, n, p, prior, init):
        rest = tuple(chains[:-1]) + (chains[-1][:-1],)
        joint.setdefault(rest, [sp.Integer(0)] * S)[chains[-1][-1]] += prob
    risk = acc = ey2 = sp.Integer(0)
    for probs in joint.values():
        tot = sum(probs)
        if tot == 0:
            continue
        m1 = sum(j * q for j, q in enumerate(probs))
        m2 = sum(j * j * q for j, q in enumerate(probs))
        risk += m2 - m1 * m1 / tot  # sum_j P(rest, j) (j - yhat)^2
        acc += max(probs)
        ey2 += m2
    return {"risk": sp.nsimplify(risk), "accuracy": sp.nsimplify(acc), "E_y2": sp.nsimplify(ey2)}


def softmax_prediction(chains, Q) -> float:
    """``sum_i y_i softmax_i(xt_i^T Q xt_q)``, ``xt = (x, 1)``, written out for one prompt (floats)."""
    n = len(chains) - 1
    d = len(chains[0]) - 1
    xq = list(chains[n][:d]) + [1]
    scores = []
    for ch in chains[:n]:
        xt = list(ch[:d]) + [1]
        scores.append(sum(xt[u] * float(Q[u][v]) * xq[v] for u in range(d + 1) for v in range(d + 1)))
    top = max(scores)
    ws = [math.exp(s - top) for s in scores]
    return sum(w * ch[d] for w, ch in zip(ws, chains[:n])) / sum(ws)


def enumerate_softmax_loss(d: int, n: int, Q, p=None, prior="uniform", S: int = 2) -> float:
    """``E[(y_q - yhat)^2]`` of softmax attention with matrix Q, by enumerating every prompt (floats for exp)."""
    total = 0.0
    for chains, prob in _prompts(S, d, n, p, prior):
        if prob == 0:
            continue
        total += float(prob) * (chains[n][d] - softmax_prediction(chains, Q)) ** 2
    return total


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
