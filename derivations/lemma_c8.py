"""Lemma C.8: exact H and h for S-state chains with Dirichlet kernels (theory §8).

The paper estimates the multi-state objective by Monte Carlo; Dirichlet moments are exact
rationals in alpha, so :mod:`markov_icl.symbolic.multistate` derives ``H``, ``h`` (beta), ``E[y^2]``,
``X* = H^{-1} h`` and ``f~*`` exactly. This document shows closed forms in alpha for d = 1,
a table of exact optima, and checks against an independent enumeration (every state
sequence, Dirichlet rows integrated by stick-breaking Beta integrals), the binary engine
(S = 2 is the Beta(alpha, alpha) kernel with p = 1/2) and Monte Carlo.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from markov_icl.derivations.document import Block, Check, Derivation
from markov_icl.oracles import enumerate_multistate
from markov_icl.symbolic.laws import ALPHA_SYMBOL, ChainLaw, InitLaw, KernelLaw
from markov_icl.symbolic.multistate import MultiStateTerms, solve_multistate
from markov_icl.symbolic.objective import ObjectiveTerms

TITLE = "Lemma C.8: S-state chains with Dirichlet kernels, exactly"


def _mc(S, d, n, alpha, samples, seed=0):
    from markov_icl.numeric.multistate import monte_carlo_moments

    return monte_carlo_moments(S, d, n, samples, alpha=alpha, seed=seed)


def build(p=None, n=None, mc_samples: int = 100_000, **kw) -> Derivation:
    """Derive Lemma C.8's objective exactly (p does not enter: initial states are uniform).

    Args:
        n: context chains for the numeric tables (default 10).
        mc_samples: Monte Carlo prompts for the sampling check (0 skips it).
    """
    nv = 10 if n is None else int(n)
    a = ALPHA_SYMBOL
    statement = Block(
        "Statement",
        "States {0, ..., S-1} used as numbers; every row of K is Dirichlet(alpha 1), rows independent; initial "
        "states i.i.d. uniform. With phi = x_q kron g (as for binary chains) and y = s_{q,d+1}, H = E[phi phi^T], "
        "h = E[y phi] and X* = H^{-1} h are rational functions of alpha (and affine in 1/n for H).",
        math=[r"\mathbb{E}\Bigl[\prod_j k_{ij}^{m_j}\Bigr] = \frac{\prod_j (\alpha)_{m_j}}{(S\alpha)_{\sum_j m_j}},"
              r"\qquad S\,\mathbb{E}\Bigl[\prod_t s_t^{e_t}\,\Big|\,K\Bigr]"
              r" = \mathbf 1^\top D^{e_1} K D^{e_2}\cdots K D^{e_T}\mathbf 1,"
              r"\ D = \mathrm{diag}(0,\dots,S-1)",
              r"H = \tfrac1n H_1 + \bigl(1 - \tfrac1n\bigr) H_2"],
    )
    steps, results, checks = [], [], []
    for S in (3, 4):
        sol = solve_multistate(MultiStateTerms(S, 1, a), nv)
        steps.append(Block(f"S = {S}, d = 1, n = {nv}: closed forms in alpha", "",
                           math=[f"h = {sp.latex(sp.Matrix(sol.beta).T)}^\\top",
                                 f"\\mathbb{{E}}[y^2] = {sp.latex(sol.E_y2)}",
                                 f"X^* = {sp.latex(sp.Matrix(sol.X_star).T)}^\\top",
                                 f"\\tilde f^* = {sp.latex(sol.f_tilde_star)}"]))
    rows = [["$S$", "$d$", r"$\alpha$", "$n$", r"$\mathbb{E}[y^2]$", r"$\tilde f^*$", r"$\tilde f^*$ (float)"]]
    for S in (2, 3, 4):
        for d in (1, 2):
            for al in (sp.Integer(1), sp.Rational(1, 10)):
                sol = solve_multistate(MultiStateTerms(S, d, al), nv)
                rows.append([f"${S}$", f"${d}$", f"${sp.latex(al)}$", f"${nv}$", f"${sp.latex(sol.E_y2)}$",
                             f"${sp.latex(sol.f_tilde_star)}$" if len(str(sol.f_tilde_star)) < 40 else "(long)",
                             f"{float(sol.f_tilde_star):.6f}"])
    results.append(Block("Exact optima of the enlarged-space objective", "", table=rows))
    # checks: enumeration
    for S, d, nn, al in ((3, 1, 1, sp.Integer(1)), (3, 1, 2, sp.Rational(1, 2)), (4, 1, 1, sp.Integer(2))):
        T = MultiStateTerms(S, d, al)
        H, h, e = enumerate_multistate(S, d, nn, al)
        ok = T.H(nn).to_Matrix() == H and T.beta_vector().to_Matrix() == h and T.domain.to_sympy(T.E_y2) == e
        checks.append(Check(f"H, h, E[y^2] = enumeration of all {S ** ((nn + 1) * (d + 1))} sequences "
                            f"(S = {S}, d = {d}, n = {nn}, alpha = {al})", ok))
    # S = 2 is the binary engine with Beta(alpha, alpha) rows and p = 1/2
    for al in (sp.Integer(1), sp.Rational(1, 2)):
        T = MultiStateTerms(2, 2, al)
        H, b, e = ObjectiveTerms(2, ChainLaw(InitLaw.iid("1/2"), KernelLaw.beta(al, al, al, al))).numeric(n=4)
        checks.append(Check(f"S = 2 equals the binary engine (beta:{al},{al},{al},{al}, p = 1/2, d = 2, n = 4)",
                            H == T.H(4) and b == T.beta_vector() and e == T.E_y2))
    # symbolic alpha specialises to the numeric one
    sym = solve_multistate(MultiStateTerms(3, 1, a), nv)
    num = solve_multistate(MultiStateTerms(3, 1, sp.Rational(1, 3)), nv)
    checks.append(Check("X*(alpha) at alpha = 1/3 equals the exact solve at alpha = 1/3 (S = 3, d = 1)",
                        tuple(sp.simplify(x.subs(a, sp.Rational(1, 3))) for x in sym.X_star) == num.X_star))
    if mc_samples:
        S, d, nn = 3, 1, 3
        T = MultiStateTerms(S, d, 1)
        mc = _mc(S, d, nn, 1.0, mc_samples)
        Hx = np.array(T.H(nn).to_Matrix(), dtype=float)
        hx = np.array([float(T.domain.to_sympy(v)) for v in T.h])
        z = max(float(np.max(np.abs((mc["H"] - Hx) / np.maximum(mc["H_se"], 1e-12)))),
                float(np.max(np.abs((mc["h"] - hx) / np.maximum(mc["h_se"], 1e-12)))))
        checks.append(Check(f"Monte Carlo ({mc_samples} prompts, S = 3, d = 1, n = 3, alpha = 1): max |z| < 5",
                            z < 5, f"max |z| = {z:.2f}"))
    notes = ("The paper resorts to Monte Carlo for multi-state chains; the objective is exact here. For S = 2 the "
             "multi-state law is the binary one with a, c ~ Beta(alpha, alpha) and p = 1/2 (uniform initial state).")
    return Derivation("lemma_c8", TITLE, statement, steps, results, checks, notes=notes)


__all__ = ["build", "TITLE"]
