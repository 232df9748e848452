"""Example C.16: the enlarged-space optimum for d = 2 (dm = 12).

H and beta are exact polynomials in p, affine in 1/n; X*(p, n) is an exact rational
function (derived by evaluation and interpolation, :func:`markov_icl.symbolic.solve.solve_symbolic_pn`)
whose numerators run to thousands of characters, so the document prints beta, the
structure of X*, and exact values, and checks X* against an independent Monte Carlo
estimate and a direct solve.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from markov_icl import oracles
from markov_icl.derivations import steps
from markov_icl.derivations.document import Block, Check, Derivation
from markov_icl.symbolic.export import functions
from markov_icl.symbolic.objective import ObjectiveTerms
from markov_icl.symbolic.solve import solve

TITLE = "Example C.16: the optimum for d = 2"
D = 2


def _symbolic_solution() -> dict:
    sol = solve(D)
    return {"X_star": sol.X_star, "f_tilde_star": sol.f_tilde_star}


@lru_cache(maxsize=1)
def symbolic_solution() -> dict:
    """X*(p, n) and f~*(p, n) for d = 2 as exact SymPy rational functions.

    Kept in memory only: unpickling these large expressions is slower than deriving them.
    """
    return _symbolic_solution()


def degree_in(expr: sp.Expr, gen: sp.Symbol) -> int:
    """Degree in ``gen`` of a product of powers of expanded polynomials (no expansion)."""
    total = 0
    for factor in sp.Mul.make_args(expr):
        base, exp = factor.as_base_exp()
        if base.has(gen):
            total += max(m.as_powers_dict().get(gen, 0) for m in sp.Add.make_args(base)) * int(exp)
    return total


def build(p=None, n=None, **kw) -> Derivation:
    """Derive Example C.16 (d = 2, uniform prior, i.i.d. Bernoulli(p) starts) at (p, n) (defaults 1/2, 10)."""
    P, N = steps.p, steps.n
    pv, nv = steps.point(p, n)
    T = ObjectiveTerms(D)
    idx = T.idx
    _, bs, ey2 = T.symbolic(factor=True, include_H=False)
    sym = symbolic_solution()
    Xs, fs = sym["X_star"], sym["f_tilde_star"]
    den = sp.fraction(fs)[1]
    dens = [sp.fraction(x)[1] for x in Xs]
    sol = solve(D, pv, nv)
    statement = Block(
        "Statement",
        "For chains of length 3 (d = 2), uniform kernel prior and i.i.d. Bernoulli(p) starts, the enlarged space has "
        "dm = 12 coordinates; $X^* = H^{-1}\\beta$ and $\\tilde f^*$ are rational functions of (p, n) (Example C.16).",
    )
    beta_rows = [["$r$", "$[j,u,v]$", "feature", r"$\beta_r$"]]
    for r, (j, u, v) in enumerate(idx.index):
        beta_rows.append([f"${r + 1}$", f"$[{j},{u},{v}]$", f"${steps.feature_label(j, u, v)}$", f"${sp.latex(bs[r])}$"])
    deg = [(degree_in(sp.fraction(x)[0], P), degree_in(sp.fraction(x)[0], N)) for x in Xs]
    steps_ = [
        Block("Moment identities used", "", math=steps.MOMENT_IDENTITIES),
        Block("Kernel powers", "", math=steps.kernel_powers_math(2)),
        Block("beta and E[y^2] (exact)", f"E[y^2] = P(y_q = 1): ${sp.latex(ey2)}$.", table=beta_rows),
        Block("H at the evaluation point", f"The 12 x 12 matrix at p = {pv}, n = {nv}:",
              math=[f"H = {sp.latex(sol.H)}"]),
        Block("Linear system in (p, n)",
              "Solved by exact evaluation of det(nH), det(nH) X* and det(nH) f~* on a grid of (p, n), interpolation within "
              "Cramer's degree bounds, and cancellation of common factors (python-flint). Degrees of the numerators of "
              "X*_r in (p, n): " + ", ".join(f"({a}, {b})" for a, b in deg) + f". {len(set(map(str, dens)))} distinct "
              "denominators occur.",
              math=[f"\\tilde f^* = \\frac{{N(p,n)}}{{{sp.latex(den)}}}"] if len(sp.latex(den)) < 1500 else []),
    ]
    xr = [["$r$", "$[j,u,v]$", "$X^*_r$", "$\\approx$"]]
    for r in range(idx.dm):
        xr.append([f"${r + 1}$", f"${idx.index[r]}$", f"${sp.latex(sol.X_star[r])}$", f"${float(sol.X_star[r]):.6f}$"])
    ns = [1, 2, 5, 10, 100, 1000]
    f_of_n = sp.lambdify(N, fs.subs(P, pv), modules="numpy")
    fr = [["$n$"] + [f"${k}$" for k in ns], [r"$\tilde f^*(p,n)$"] + [f"${float(f_of_n(float(k))):.6f}$" for k in ns]]
    results = [
        Block(f"X* at p = {pv}, n = {nv}", "", table=xr,
              math=[rf"\tilde f^* = {sp.latex(sol.f_tilde_star)} \approx {float(sol.f_tilde_star):.6f}"]),
        Block(f"f~* as n grows (p = {pv})", "From the symbolic f~*(p, n):", table=fr),
    ]
    checks = _checks(Xs, fs, sol, pv, nv)
    return Derivation("example_c16", TITLE, statement, steps_, results, checks)


def _checks(Xs, fs, sol, pv, nv) -> list[Check]:
    P, N = steps.p, steps.n
    out = []
    sub = {P: pv, N: nv}
    ok = tuple(x.subs(sub) for x in Xs) == sol.X_star and fs.subs(sub) == sol.f_tilde_star
    out.append(steps.check(f"symbolic X*(p, n) = direct exact solve at p = {pv}, n = {nv}", ok,
                     "interpolated rational functions vs python-flint solve of the numeric system"))
    res = sol.H * sp.Matrix(sol.X_star) - sp.Matrix(sol.beta)
    out.append(steps.check("H X* = beta", res == sp.zeros(12, 1), "exact residual"))
    c = sol.certificate
    out.append(steps.check("H positive definite (Lemma 3.1)", c.positive_definite is True, c.detail))
    Hn, bn, _ = oracles.enumerate_objective(D, 1, sp.Rational(1, 3))
    s1 = solve(D, "1/3", 1)
    out.append(steps.check("H, beta = enumeration oracle (n = 1, p = 1/3)",
                     s1.H == Hn and sp.Matrix(s1.beta) == bn, "all 2^6 prompts summed"))
    f = functions(D, "numpy")
    err = float(np.abs(f.X_star(float(pv), float(nv)) - np.array([float(x) for x in sol.X_star])).max())
    out.append(steps.check("lambdified functions(2).X_star = exact", err < 1e-10, f"max abs error {err:.1e}"))
    X = np.array([float(x) for x in sol.X_star])
    ctx, q = oracles.sample_chains(float(pv), int(nv), D, 100_000, seed=2)
    _, phi, y = oracles.features(ctx, q, D)
    est, se = oracles.mean_se((phi @ X - y) ** 2)
    ft = float(sol.f_tilde_star)
    out.append(steps.check(f"Monte Carlo loss at X* (p = {pv}, n = {nv})", abs(est - ft) < 4 * se,
                     f"estimate {est:.5f} +- {se:.5f} (1e5 prompts, seed 2) vs f~* = {ft:.5f}"))
    return out


__all__ = ["build", "symbolic_solution", "TITLE"]
