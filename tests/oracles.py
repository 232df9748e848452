"""Oracles that share no code with the engine.

* :func:`enumerate_objective`: sums over *every* binary prompt of tiny size, weighting
  each by its exact probability (a polynomial in the kernel entries a, c) and then
  integrating a and c by antiderivatives (``Poly.integrate``) against the prior density.
* :func:`monte_carlo_objective`: plain NumPy sampling of kernels, initial states and
  chains, with per-entry standard errors.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import sympy as sp

a, c = sp.symbols("a c")


def feature_index(d):
    pairs = [(u, v) for u in range(1, d + 2) for v in range(u, d + 2)]
    return [(j, u, v) for j in range(1, d + 1) for (u, v) in pairs]


def _chain_prob(bits, K):
    out = sp.Integer(1)
    for s, t in zip(bits, bits[1:]):
        out *= K[s][t]
    return out


def enumerate_objective(d, n, p, prior="uniform", init="iid", product_form=False):
    """Exact H, beta, E[y^2] by enumerating every binary prompt.

    Args:
        prior: "uniform", ("beta", aa, ba, ac, bc) with integer parameters, or
            ("fixed", a0, c0).
        init: "iid", or ("qc", pi0, pi1): s_q ~ Bern(p), s_i | s_q ~ Bern(pi_{s_q}).
    """
    K = [[1 - a, a], [c, 1 - c]]
    idx = feature_index(d)
    dm = len(idx)
    L = d + 1
    gens = (a, c) + tuple(sorted(sp.sympify(p).free_symbols, key=str))
    zero = sp.Poly(0, *gens, domain="QQ")
    H = [[zero] * dm for _ in range(dm)]
    beta = [zero] * dm
    ey2 = zero
    for bits in product((0, 1), repeat=(n + 1) * L):
        chains = [bits[k * L:(k + 1) * L] for k in range(n + 1)]
        ctx, q = chains[:n], chains[n]
        # initial law
        if init == "iid":
            w = sp.Integer(1)
            for ch in chains:
                w *= p if ch[0] else 1 - p
        else:
            _, pi0, pi1 = init
            pi = pi1 if q[0] else pi0
            w = p if q[0] else 1 - p
            for ch in ctx:
                w *= pi if ch[0] else 1 - pi
        for ch in chains:
            w *= _chain_prob(ch, K)
        P = sp.Poly(sp.expand(w), *gens, domain="QQ")
        if P.is_zero:
            continue
        G = [[sp.Rational(sum(ch[u] * ch[v] for ch in ctx), n) for v in range(L)] for u in range(L)]
        phi = [q[j - 1] * G[u - 1][v - 1] for (j, u, v) in idx]
        y = q[L - 1]
        for r in range(dm):
            if phi[r] == 0:
                continue
            beta[r] += P * (y * phi[r])
            for s in range(r, dm):
                if phi[s]:
                    H[r][s] += P * (phi[r] * phi[s])
        if y:
            ey2 += P
    integ = _integrator(prior, gens)
    Hm = sp.zeros(dm, dm)
    for r in range(dm):
        for s in range(r, dm):
            Hm[r, s] = Hm[s, r] = integ(H[r][s])
    return Hm, sp.Matrix([integ(b) for b in beta]), integ(ey2)


def _integrator(prior, gens=(a, c)):
    if prior == "uniform":
        dens = sp.Integer(1)
    elif prior[0] == "fixed":
        _, a0, c0 = prior
        return lambda P: sp.expand(P.as_expr().subs({a: a0, c: c0}))
    else:
        _, aa, ba, ac, bc = prior
        dens = (a ** (aa - 1) * (1 - a) ** (ba - 1) / sp.beta(aa, ba)
                * c ** (ac - 1) * (1 - c) ** (bc - 1) / sp.beta(ac, bc))
        dens = sp.expand(sp.simplify(dens))
    D = sp.Poly(dens, *gens, domain="QQ")

    def integ(P):
        Q = (P * D).integrate(a)
        Q = Q.eval(a, 1) - Q.eval(a, 0)
        Q = Q.integrate(c)
        return sp.expand((Q.eval(c, 1) - Q.eval(c, 0)).as_expr() if hasattr(Q, "as_expr") else Q)

    return integ


def monte_carlo_objective(d, n, p, num, seed=0, chunk=50_000, fixed=None):
    """Monte Carlo means and standard errors of H and beta (uniform prior, i.i.d. init)."""
    rng = np.random.default_rng(seed)
    idx = feature_index(d)
    dm = len(idx)
    L = d + 1
    sH = np.zeros((dm, dm))
    sH2 = np.zeros((dm, dm))
    sb = np.zeros(dm)
    sb2 = np.zeros(dm)
    done = 0
    while done < num:
        B = min(chunk, num - done)
        if fixed is None:
            av, cv = rng.random(B), rng.random(B)
        else:
            av, cv = np.full(B, fixed[0]), np.full(B, fixed[1])
        s = np.zeros((B, n + 1, L))
        s[:, :, 0] = rng.random((B, n + 1)) < p
        for t in range(1, L):
            prev = s[:, :, t - 1]
            p1 = np.where(prev == 1, 1 - cv[:, None], av[:, None])
            s[:, :, t] = rng.random((B, n + 1)) < p1
        ctx, q = s[:, :n], s[:, n]
        G = np.einsum("biu,biv->buv", ctx, ctx) / n
        phi = np.stack([q[:, j - 1] * G[:, u - 1, v - 1] for (j, u, v) in idx], axis=1)
        y = q[:, L - 1]
        outer = phi[:, :, None] * phi[:, None, :]
        sH += outer.sum(0)
        sH2 += (outer**2).sum(0)
        yb = y[:, None] * phi
        sb += yb.sum(0)
        sb2 += (yb**2).sum(0)
        done += B
    mH, mb = sH / num, sb / num
    seH = np.sqrt(np.maximum(sH2 / num - mH**2, 0) / num)
    seb = np.sqrt(np.maximum(sb2 / num - mb**2, 0) / num)
    return mH, seH, mb, seb


def s1_from_spec(X):
    """S_1 for d = 2 from SPEC §3: pairs (1,1),(1,2),(1,3),(2,2),(2,3),(3,3); off-diagonals halved."""
    x11, x12, x13, x22, x23, x33 = X[:6]
    h = sp.Rational(1, 2)
    return sp.Matrix([[x11, h * x12, h * x13], [h * x12, x22, h * x23], [h * x13, h * x23, x33]])
