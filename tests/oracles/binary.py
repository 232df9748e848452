"""Oracles for binary chains that share no code with the engine.

* :func:`enumerate_objective`: sums over *every* binary prompt of a tiny size, weighting
  each by its exact probability (a polynomial in the kernel entries a, c) and integrating
  a and c by antiderivatives (``Poly.integrate``) against the prior density.
* :func:`sample_chains`: a plain NumPy sampler of prompts (kernel, initial states, chains);
  :func:`features` and :func:`monte_carlo_objective` build Monte Carlo estimates from it.
* :func:`phi_by_definition`, :func:`s1_matrix`: the reparameterisation and the matrix S_1
  written out from their definitions (the paper's Section 3).

Examples:
    >>> import sympy as sp
    >>> H, beta, ey2 = enumerate_objective(1, 1, sp.Rational(1, 2))
    >>> beta.T
    Matrix([[1/8, 1/12, 7/48]])
"""

from __future__ import annotations

from functools import cache
from itertools import product

import numpy as np
import sympy as sp

a, c = sp.symbols("a c")


def feature_index(d: int) -> list[tuple[int, int, int]]:
    """``(j, u, v)`` with ``1 <= u <= v <= d+1`` row-major, j = 1..d: the order r = (j-1) m + pos(u, v)."""
    pairs = [(u, v) for u in range(1, d + 2) for v in range(u, d + 2)]
    return [(j, u, v) for j in range(1, d + 1) for (u, v) in pairs]


def phi_by_definition(b, A) -> list:
    """``X^(j)_(u,u) = b_u A_uj``, ``X^(j)_(u,v) = b_u A_vj + b_v A_uj`` (u < v), by explicit loops."""
    d = len(b) - 1
    out = []
    for j in range(d):
        for u in range(d + 1):
            for v in range(u, d + 1):
                out.append(b[u] * A[u][j] if u == v else b[u] * A[v][j] + b[v] * A[u][j])
    return out


def s1_matrix(X) -> sp.Matrix:
    """S_1 for d = 2 from its definition: pairs (1,1),(1,2),(1,3),(2,2),(2,3),(3,3); off-diagonals halved."""
    x11, x12, x13, x22, x23, x33 = X[:6]
    h = sp.Rational(1, 2)
    return sp.Matrix([[x11, h * x12, h * x13], [h * x12, x22, h * x23], [h * x13, h * x23, x33]])


def _chain_prob(bits, K):
    out = sp.Integer(1)
    for s, t in zip(bits, bits[1:]):
        out *= K[s][t]
    return out


def _integrator(prior, gens=(a, c)):
    """``E[P(a, c)]`` under the kernel prior: "uniform", ("beta", aa, ba, ac, bc) (integers) or ("fixed", a0, c0)."""
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


def enumerate_objective(d, n, p, prior="uniform", init="iid", product_form=False, constant_input=False):
    """Exact H, beta, E[y^2] by enumerating every binary prompt of n context chains and a query.

    Args:
        d, n: chain input length and number of context chains (tiny: ``2^((n+1)(d+1))`` prompts).
        p: the initial probability (a SymPy rational or symbol).
        prior: "uniform", ("beta", aa, ba, ac, bc) with integer parameters, or ("fixed", a0, c0).
        init: "iid", or ("qc", pi0, pi1): s_q ~ Bern(p), s_i | s_q ~ Bern(pi_{s_q}).
        product_form: the paper's Lemma 3.2 product form ``E[x_qi x_qj] E[G G]``, each factor
            integrated over the kernel separately.
        constant_input: every chain's input gets a constant coordinate 1 after its d states,
            ``z = (x, 1, y)``, so the features are those of an LSA on (d + 1)-dimensional inputs.
    """
    p = sp.sympify(p)
    K = [[1 - a, a], [c, 1 - c]]
    D = d + 1 if constant_input else d  # the model's input dimension
    idx = feature_index(D)
    dm = len(idx)
    L = d + 1

    def z(ch):
        return tuple(ch[:d]) + ((1,) if constant_input else ()) + (ch[d],)

    gens = (a, c) + tuple(sorted(p.free_symbols, key=str))
    zero = sp.Poly(0, *gens, domain="QQ")
    H = [[zero] * dm for _ in range(dm)]
    beta = [zero] * dm
    ey2 = zero
    qx = [[zero] * d for _ in range(d)]  # E[x_qi x_qj | K] (product form)
    gg = [[zero] * dm for _ in range(dm)]  # E[G G | K] by feature (product form)
    for bits in product((0, 1), repeat=(n + 1) * L):
        chains = [bits[k * L:(k + 1) * L] for k in range(n + 1)]
        ctx, q = chains[:n], chains[n]
        if init == "iid":
            w = sp.Integer(1)
            for ch in chains:
                w *= p if ch[0] else 1 - p
        else:
            _, pi0, pi1 = init
            pi = sp.sympify(pi1 if q[0] else pi0)
            w = p if q[0] else 1 - p
            for ch in ctx:
                w *= pi if ch[0] else 1 - pi
        for ch in chains:
            w *= _chain_prob(ch, K)
        P = sp.Poly(sp.expand(w), *gens, domain="QQ")
        if P.is_zero:
            continue
        zs, zq = [z(ch) for ch in ctx], z(q)
        G = [[sp.Rational(sum(ch[u] * ch[v] for ch in zs), n) for v in range(D + 1)] for u in range(D + 1)]
        phi = [zq[j - 1] * G[u - 1][v - 1] for (j, u, v) in idx]
        g = [G[u - 1][v - 1] for (_, u, v) in idx]
        y = q[L - 1]
        for r in range(dm):
            if phi[r]:
                beta[r] += P * (y * phi[r])
                for s in range(r, dm):
                    if phi[s]:
                        H[r][s] += P * (phi[r] * phi[s])
            if product_form and g[r]:
                for s in range(dm):
                    if g[s]:
                        gg[r][s] += P * (g[r] * g[s])
        if product_form:
            for i in range(d):
                for j in range(d):
                    if q[i] and q[j]:
                        qx[i][j] += P
        if y:
            ey2 += P
    integ = _integrator(prior, gens)
    Hm = sp.zeros(dm, dm)
    if product_form:
        for r, (j, _, _) in enumerate(idx):
            for s, (k, _, _) in enumerate(idx):
                Hm[r, s] = integ(qx[j - 1][k - 1]) * integ(gg[r][s])
    else:
        for r in range(dm):
            for s in range(r, dm):
                Hm[r, s] = Hm[s, r] = integ(H[r][s])
    return Hm, sp.Matrix([integ(b) for b in beta]), integ(ey2)


def sample_chains(p: float, n: int, d: int, B: int, seed: int = 0, init="iid", fixed=None):
    """B prompts with NumPy: ``(ctx, q)`` of shapes (B, n, d+1) and (B, d+1), states in {0, 1}.

    Per prompt the kernel is a, c ~ U(0, 1) independent (or ``fixed = (a0, c0)``), shared by
    its n + 1 chains; ``init = ("qc", pi0, pi1)`` draws s_q ~ Bern(p), s_i | s_q ~ Bern(pi_{s_q}).
    """
    rng = np.random.default_rng(seed)
    if fixed is None:
        av, cv = rng.random(B), rng.random(B)
    else:
        av, cv = np.full(B, float(fixed[0])), np.full(B, float(fixed[1]))
    s = np.zeros((B, n + 1, d + 1))
    if init == "iid":
        s[:, :, 0] = rng.random((B, n + 1)) < p
    else:
        _, pi0, pi1 = init
        sq = rng.random(B) < p
        s[:, n, 0] = sq
        pi = np.where(sq, float(pi1), float(pi0))
        s[:, :n, 0] = rng.random((B, n)) < pi[:, None]
    for t in range(1, d + 1):
        prev = s[:, :, t - 1]
        p1 = np.where(prev == 1, 1 - cv[:, None], av[:, None])
        s[:, :, t] = rng.random((B, n + 1)) < p1
    return s[:, :n], s[:, n]


def features(ctx: np.ndarray, q: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(G, phi, y)``: ``G = (1/n) sum z z^T``, ``phi = x_q kron g`` in the order of :func:`feature_index`, label y."""
    G = np.einsum("biu,biv->buv", ctx, ctx) / ctx.shape[1]
    phi = np.stack([q[:, j - 1] * G[:, u - 1, v - 1] for (j, u, v) in feature_index(d)], axis=1)
    return G, phi, q[:, d]


def mean_se(values: np.ndarray) -> tuple[float, float]:
    """Sample mean and its standard error."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))


def monte_carlo_objective(d, n, p, num, seed=0, chunk=50_000, fixed=None):
    """Monte Carlo means and standard errors of H and beta (uniform or fixed kernel, i.i.d. starts)."""
    dm = len(feature_index(d))
    sH, sH2, sb, sb2 = np.zeros((dm, dm)), np.zeros((dm, dm)), np.zeros(dm), np.zeros(dm)
    done, k = 0, 0
    while done < num:
        B = min(chunk, num - done)
        ctx, q = sample_chains(p, n, d, B, seed=seed * 1_000_003 + k, fixed=fixed)
        _, phi, y = features(ctx, q, d)
        outer = phi[:, :, None] * phi[:, None, :]
        sH += outer.sum(0)
        sH2 += (outer**2).sum(0)
        yb = y[:, None] * phi
        sb += yb.sum(0)
        sb2 += (yb**2).sum(0)
        done += B
        k += 1
    mH, mb = sH / num, sb / num
    seH = np.sqrt(np.maximum(sH2 / num - mH**2, 0) / num)
    seb = np.sqrt(np.maximum(sb2 / num - mb**2, 0) / num)
    return mH, seH, mb, seb


@cache
def _enumerated(d, n, p, prior, init, product_form, constant_input=False):
    H, b, y = enumerate_objective(d, n, p, prior=prior, init=init, product_form=product_form,
                                  constant_input=constant_input)
    return sp.ImmutableMatrix(H), sp.ImmutableMatrix(b), y


def _objective_at_n(d, n, p, prior, init, product_form, constant_input=False):
    H1, b1, y1 = _enumerated(d, 1, p, prior, init, product_form, constant_input)
    if n == 1:
        return H1, b1, y1
    H2, b2, y2 = _enumerated(d, 2, p, prior, init, product_form, constant_input)
    if (b2 - b1).applyfunc(sp.expand) != sp.zeros(*b1.shape) or sp.expand(y2 - y1) != 0:
        raise AssertionError("beta and E[y^2] must not depend on n")
    if n == 2:
        return H2, b1, y1
    n = sp.Integer(n)
    pair = 2 * H2 - H1  # the two-distinct-context-chains term
    return sp.ImmutableMatrix((H1 / n + pair * (1 - 1 / n)).applyfunc(sp.expand)), b1, y1


def objective_at_n(d, n, p, prior="uniform", init="iid", product_form=False, constant_input=False):
    """Exact H, beta, E[y^2] at any n from :func:`enumerate_objective` at n = 1 and n = 2 (cached).

    The context chains are i.i.d. given the kernel and the query's first state, so
    ``E[G_uv G_u'v' | K, s_q] = (1/n) E[one chain] + (1 - 1/n) E[two distinct chains]``: the
    enumeration at n = 1 gives the first matrix, at n = 2 their mean, hence H at every n;
    beta and E[y^2] involve one context chain and do not depend on n.
    """
    p = sp.sympify(p)
    init = init if init == "iid" else tuple(sp.sympify(v) if k else v for k, v in enumerate(init))
    if prior != "uniform":
        prior = tuple(sp.sympify(v) if k else v for k, v in enumerate(prior))
    return _objective_at_n(int(d), int(n), p, prior, init, bool(product_form), bool(constant_input))


def closed_form_d1(p, n):
    """The published d = 1 closed forms (theory §5; uniform prior, i.i.d. Bernoulli(p)), written out:
    ``(H, beta, E[y^2], X*, f~*)``, with ``X* = H^{-1} beta`` by SymPy's LU solve of these H and beta."""
    p, n = sp.sympify(p), sp.sympify(n)
    h11 = p**2 * (1 + (n - 1) * p) / n
    h23 = p**2 * (3 * (n + 1) + (n - 1) * p) / (12 * n)
    H = sp.Matrix([[h11, h11 / 2, p**2 / 2], [h11 / 2, p**2 * (3 + 2 * (n - 1) * p) / (6 * n), h23],
                   [p**2 / 2, h23, p * (2 * n + 1 - (n - 1) * p * (1 - p)) / (6 * n)]])
    beta = sp.Matrix([p**2 / 2, p**2 / 3, p**2 / 12 + p / 4])
    X = H.LUsolve(beta).applyfunc(sp.cancel)
    ey2 = sp.Rational(1, 2)
    return H, beta, ey2, X, sp.cancel(ey2 - (beta.T * X)[0])


def min_over_A(H, beta, ey2, B) -> np.ndarray:
    """``min_A f(b, A)`` for every row b of B (floats): phi is linear in A, so this is least squares.

    ``phi(b, A) = F(b) vec(A)`` with the columns of ``F(b)`` built from :func:`phi_by_definition`
    at the unit matrices ``E_lj``; the minimum is ``E[y^2] - r^T (F^T H F)^{-1} r``, ``r = F^T beta``.
    """
    B = np.atleast_2d(np.asarray(B, dtype=float))
    N = B.shape[1]
    d = N - 1
    H, beta = np.asarray(H, dtype=float), np.asarray(beta, dtype=float).reshape(-1)
    units = []
    for j in range(d):
        for ll in range(N):
            A = np.zeros((N, d))
            A[ll, j] = 1.0
            units.append(A)
    Fk = np.stack([np.stack([np.array(phi_by_definition(np.eye(N)[k], A), dtype=float) for A in units], 1)
                   for k in range(N)])  # (N, dm, N d): phi(b, A) = sum_k b_k Fk[k] vec(A)
    F = np.einsum("tk,krc->trc", B, Fk)
    G = np.einsum("tra,rs,tsb->tab", F, H, F)
    r = np.einsum("tra,r->ta", F, beta)
    a = np.linalg.solve(G, r[..., None])[..., 0]
    return float(ey2) - np.einsum("ta,ta->t", r, a)
