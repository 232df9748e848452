"""The Bayes floor: the Bayes-optimal in-context predictor on Markov prompts and its exact risk.

The document states the predictor (the posterior mean of the query's label under the kernel prior), the
sufficient-statistic argument (the likelihood depends on the prompt only through its transition counts, and
the law of the counts is read off a generating polynomial), the exact risk and accuracy at the evaluation
point and over n, and checks them against brute-force enumeration of every prompt, Monte Carlo with the
predictor, the known values, the limit as n grows, and the LSA objective's E[y^2] (theory §13).
"""

from __future__ import annotations

import sympy as sp

from markov_icl.derivations import steps
from markov_icl.derivations.document import Block, Derivation
from markov_icl.derivations.steps import L, check
from markov_icl.symbolic.bayes import bayes

TITLE = "The Bayes floor: exact risk of the Bayes-optimal in-context predictor"
R = sp.Rational

#: the Monte Carlo check's setting
MC = {"d": 2, "n": 20, "samples": 100_000, "seed": 0}


def _generating_polynomial_math() -> list[str]:
    x00, x01, x10, x11, p = sp.symbols("x_{00} x_{01} x_{10} x_{11} p")
    M = sp.Matrix([[x00, x01], [x10, x11]])
    pi = sp.Matrix([[1 - p, p]])
    one = sp.Matrix([1, 1])
    c1 = sp.expand((pi * M * one)[0])
    c2 = sp.expand((pi * M * M * one)[0])
    return [
        r"P_r(x) = \big(\pi^\top M^{d}\,\mathbf 1\big)^{n}\,\big(\pi^\top M^{d-1} e_r\big) = \sum_N W_r(N)\,x^N,"
        r"\qquad M = \begin{pmatrix} x_{00} & x_{01}\\ x_{10} & x_{11}\end{pmatrix},\quad \pi = (1-p,\ p)",
        r"d = 1:\ \pi^\top M\,\mathbf 1 = " + sp.latex(c1),
        r"d = 2:\ \pi^\top M^2\,\mathbf 1 = " + sp.latex(c2),
    ]


def build(p=None, n=None, mc_samples: int = MC["samples"], **kw) -> Derivation:
    """The document at the evaluation point (p, n) (defaults 1/2, 10), d = 1 and 2."""
    pv, nv = steps.point(p, n)
    nv = int(nv)
    statement = Block(
        "Statement",
        "A prompt holds n context chains and a query chain of length d + 1 sharing one kernel K drawn from the prior "
        "(rows independent: a ~ Beta, c ~ Beta; the uniform prior is Beta(1, 1)). Under squared loss no in-context "
        "learner (linear or softmax attention, a trained transformer, a classical learner fitted on the context) "
        "beats the posterior mean of the query's label; its risk is the floor under every learner's loss, and the "
        "accuracy of the posterior mode is the ceiling on every learner's accuracy.",
        [r"\hat y = \mathbb E[y_q \mid z_1,\dots,z_n, x_q],\qquad "
         r"\mathcal R_{\mathrm{Bayes}} = \mathbb E\big[(y_q-\hat y)^2\big] = \mathbb E\big[\hat y\,(1-\hat y)\big]",
         r"\mathrm{acc}_{\mathrm{Bayes}} = \mathbb E\big[\max(\hat y,\ 1-\hat y)\big]"])
    steps_ = [
        Block("Sufficient statistics",
              "Given the prompt, the likelihood of K is a product over all observed transitions: the d transitions of "
              "each context chain and the d - 1 of the query's input. The initial states do not depend on K and "
              "cancel. With a Beta(alpha_r1, alpha_r0) prior on row r the posterior is Beta again and the "
              "predictive probability depends on the counts of row r only, r the query's last observed state:",
              [r"p(K \mid \text{prompt}) \propto a^{N_{01}}(1-a)^{N_{00}}\,c^{N_{10}}(1-c)^{N_{11}}\,p(K)",
               r"P(y_q = 1\mid \text{prompt}) = \frac{\alpha_{01}+N_{01}}{\alpha_{00}+\alpha_{01}+N_{0}}\ "
               r"(s_{q,d}=0),\qquad \frac{\alpha_{11}+N_{11}}{\alpha_{10}+\alpha_{11}+N_{1}}\ (s_{q,d}=1)"]),
        Block("The law of the counts",
              "One indeterminate per transition turns a chain into a monomial; summing over chains (with their initial "
              "weights) gives a generating polynomial, and n i.i.d. context chains give its n-th power. The exact law "
              "of (N, r) is W_r(N) times the prior's Dirichlet moment, an exact rational:",
              _generating_polynomial_math()
              + [r"P(N, r) = W_r(N)\,\prod_{r'}\frac{\prod_j (\alpha_{r'j})_{N_{r'j}}}{(\sum_j\alpha_{r'j})_{N_{r'}}},"
                 r"\qquad \mathcal R_{\mathrm{Bayes}} = \sum_{r,N} P(N,r)\,\hat y(N,r)\big(1-\hat y(N,r)\big)"]),
        Block("Complexity and the exact sums",
              "With T = n d + d - 1 transitions there are at most C(T + 3, 3) count vectors per r (O(T^3), polynomial "
              "in n), against 2^((n+1)(d+1)) prompts. python-flint expands P_r with integer coefficients; when the "
              "other row's prior density is a polynomial (integer Beta parameters, e.g. uniform) it is integrated out "
              "inside the polynomial ring (x_10 = t, x_11 = 1 - t, times the density, integrated over t), leaving "
              "O(T^2) terms. Every sum is exact over the rationals, grouped by the denominators they share."),
    ]
    results = []
    rows = [["$d$", "$n$", r"$\mathcal R_{\mathrm{Bayes}}$", "float", r"$\mathrm{acc}_{\mathrm{Bayes}}$",
             "count vectors"]]
    cache = {}
    for d in (1, 2):
        for nn in sorted({1, 2, 5, nv}):
            r = bayes(d, pv, nn)
            cache[(d, nn)] = r
            risk = f"${sp.latex(r.bayes_risk)}$" if len(str(r.bayes_risk)) < 40 else "(exact; see markov-icl bayes)"
            rows.append([f"${d}$", f"${nn}$", risk, f"{r.bayes_risk_float:.10f}", f"{r.bayes_accuracy_float:.6f}",
                         str(r.count_vectors)])
    results.append(Block(f"Exact risk and accuracy at p = {pv} (uniform prior)", "", table=rows))
    poly = bayes(1, None, 2)
    results.append(Block("The risk as a polynomial in p (d = 1, n = 2; exact interpolation)", "",
                         [r"\mathcal R_{\mathrm{Bayes}}(p) = " + L(poly.bayes_risk)]))
    checks = []
    from markov_icl.oracles.bayes import enumerate_bayes

    for d, nn, pe in ((1, 1, R(1, 2)), (1, 3, R(1, 3)), (2, 2, R(1, 2))):
        o = enumerate_bayes(d, nn, pe)
        e = bayes(d, pe, nn)
        checks.append(check(f"brute force: every prompt enumerated, posterior as a ratio of prompt probabilities "
                            f"(d = {d}, n = {nn}, p = {pe})",
                            (e.bayes_risk, e.bayes_accuracy) == (o["risk"], o["accuracy"]),
                            f"risk {e.bayes_risk}, accuracy {e.bayes_accuracy}"))
    checks.append(check("known values at d = 1, p = 1/2: n = 1 gives 17/72, n = 2 gives 65/288",
                        bayes(1, "1/2", 1).bayes_risk == R(17, 72) and bayes(1, "1/2", 2).bayes_risk == R(65, 288)))
    far = bayes(1, "1/2", 60).bayes_risk
    checks.append(check("the floor falls with n towards E[a(1 - a)] = 1/6 (d = 1, p = 1/2): decreasing over "
                        "n = 1, 2, 5, 60 and within 1/100 of 1/6 at n = 60",
                        cache[(1, 1)].bayes_risk > cache[(1, 2)].bayes_risk > cache[(1, 5)].bayes_risk > far > R(1, 6)
                        and far - R(1, 6) < R(1, 100), f"n = 60: {float(far):.6f}"))
    from markov_icl.symbolic.solve import solve

    s2 = solve(2, pv, nv)
    checks.append(check(f"E[y^2] from the Bayes sums equals the LSA objective's (two independent routes; d = 2, "
                        f"n = {nv})", cache[(2, nv)].E_y2 == s2.E_y2, f"E[y^2] = {s2.E_y2}"))
    checks.append(check(f"the floor lies below the paper's LSA optimum: R_Bayes < f~* (d = 1, 2 at n = {nv})",
                        all(cache[(d, nv)].bayes_risk < solve(d, pv, nv).f_tilde_star for d in (1, 2))))
    if mc_samples:
        from markov_icl.numeric.bayes import BayesPredictor
        from markov_icl.numeric.prompts import sample_prompts
        from markov_icl.symbolic.laws import ChainLaw

        ex = bayes(MC["d"], pv, MC["n"])
        pb = sample_prompts(ChainLaw.default(pv), MC["d"], MC["n"], mc_samples, seed=MC["seed"])
        err = (BayesPredictor()(pb.Z0) - pb.y) ** 2
        se = float(err.std()) / mc_samples**0.5
        z = (float(err.mean()) - ex.bayes_risk_float) / se
        checks.append(check(f"Monte Carlo: the predictor scored on {mc_samples} sampled prompts is within 3 standard "
                            f"errors of the exact risk (d = {MC['d']}, n = {MC['n']}, seed {MC['seed']})", abs(z) < 3,
                            f"estimate {float(err.mean()):.5f} +- {se:.5f}, exact {ex.bayes_risk_float:.5f}, z = {z:.2f}"))
    notes = ("The floor is for in-context learners: a rule that sees the kernel (the known-kernel rule of Figs. 3 and 6) "
             "is not one and lies below it. The same sums hold for S-state chains with Dirichlet rows (markov-icl bayes "
             "--states S) and for query-conditional initial laws (a mixture over the query's first state).")
    return Derivation("bayes", TITLE, statement, steps_, results, checks, notes=notes)


__all__ = ["build", "TITLE"]
