"""Exact one-layer softmax attention on Markov prompts: its population loss as a finite sum, its best loss, and
the gradient flow from uniform attention (theory §14).

Checks: brute-force enumeration of every prompt, finite differences of the gradient, a 128-bit ball enclosure of
the float64 value, Monte Carlo with the torch model, and the chain Bayes floor <= f_softmax* <= f(0).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from markov_icl.derivations import steps
from markov_icl.derivations.document import Block, Derivation
from markov_icl.derivations.steps import check
from markov_icl.symbolic.bayes import bayes
from markov_icl.symbolic.softmax import SoftmaxLoss, best_softmax, softmax_flow

TITLE = "One-layer softmax attention on Markov prompts: exact loss, best attention, gradient flow"
R = sp.Rational


def build(p=None, n=None, mc_samples: int = 100_000, **kw) -> Derivation:
    """The document at the evaluation point (p, n) (defaults 1/2, 10), d = 1."""
    pv, nv = steps.point(p, n)
    nv = int(nv)
    statement = Block(
        "Statement",
        "The one-layer softmax attention of Huang, Cheng and Liang reads the context labels with weights that depend "
        "on the inputs: xt = (x, 1), Q a (d+1) x (d+1) matrix. Its population loss on Markov prompts is a finite sum "
        "over the counts of context chains of each type, with exact rational weights; the exponentials are evaluated "
        "in float64 and enclosed rigorously in ball arithmetic.",
        [r"\hat y_q = \sum_{i=1}^n y_i\,\mathrm{softmax}_i\big(\tilde x_i^\top Q\,\tilde x_q\big),\qquad "
         r"\tilde x = (x, 1)",
         r"f(Q) = \mathbb E[y^2] - 2\sum_{x_q,N} A_1(x_q,N)\,\hat y + \sum_{x_q,N} A_0(x_q,N)\,\hat y^2,\quad "
         r"A_k = \mathbb E_K\big[P(x_q\mid K)\,\mathrm{Mult}(N\mid K)\,\mathbb E[y_q^k\mid K,x_q]\big]"])
    steps_ = [
        Block("Type counts",
              "The score of context chain i depends on its input alone, so the prediction depends on the context "
              "through N_x (chains with input x) and Y_x (their label sum). Given K the counts are multinomial and "
              "independent of the query; each A_k is a multinomial coefficient times initial weights times a Dirichlet "
              "moment of the total transition counts: an exact rational.",
              [r"\hat y = \frac{\sum_x e^{s_x} Y_x}{\sum_x e^{s_x} N_x},\qquad s_x = \tilde x_x^\top Q\,\tilde x_q"]),
        Block("Invariance",
              "A score shift that depends on the query alone cancels: the last row of Q has no effect. At d = 1 the "
              "loss depends on two logit gaps, Q_11 + Q_12 (query input 1) and Q_12 (query input 0)."),
        Block("Gradient and Hessian",
              "With alpha_x = N_x e^(s_x) / Z the attention on input x and J_x = alpha_x (Y_x / N_x - yhat):",
              [r"\frac{\partial \hat y}{\partial s_x} = J_x,\qquad \frac{\partial^2\hat y}{\partial s_x\partial s_{x'}}"
               r" = \delta_{xx'}J_x - \alpha_x J_{x'} - \alpha_{x'}J_x,\qquad "
               r"\frac{\partial f}{\partial Q_{uw}} = \sum 2(A_0\hat y - A_1)\,J_x\,\tilde x_{x,u}\tilde x_{q,w}"]),
    ]
    L = SoftmaxLoss(1, pv, nv)
    opt = best_softmax(L, starts=8)
    fb = bayes(1, pv, nv).bayes_risk_float
    gap0, gap1 = opt.Q_star[0, 1], opt.Q_star[0, 0] + opt.Q_star[0, 1]
    results = [Block(f"Best attention at d = 1, p = {pv}, n = {nv}", "",
                     [r"f(0) = " + sp.latex(opt.loss_at_zero) + r"\approx " + f"{float(opt.loss_at_zero):.10f}",
                      r"f_{\mathrm{softmax}}^* = " + f"{opt.f_softmax_star:.12f}"
                      + r",\quad f(Q^*) \in [" + f"{opt.certified[0]:.15f}, {opt.certified[1]:.15f}]",
                      r"\text{logit gaps of the matching input: } x_q = 0:\ " + f"{-gap0:.6f}"
                      + r",\quad x_q = 1:\ " + f"{gap1:.6f}",
                      r"\mathcal R_{\mathrm{Bayes}} = " + f"{fb:.12f}"])]
    rows = [["$n$", r"$f(0)$", r"$f_{\mathrm{softmax}}^*$", r"$\mathcal R_{\mathrm{Bayes}}$",
             "attention on $x_i = x_q$"]]
    for nn in (2, 5, 10, 20, 40):
        Ln = SoftmaxLoss(1, pv, nn)
        on = best_softmax(Ln, starts=3)
        rows.append([f"${nn}$", f"{float(on.loss_at_zero):.6f}", f"{on.f_softmax_star:.6f}",
                     f"{bayes(1, pv, nn).bayes_risk_float:.6f}", f"{on.attention['exact']:.4f}"])
    results.append(Block("Over n (d = 1): the attention on matching chains settles at a finite level below one",
                         "Hard attention on the matching chains would estimate the query's transition probability by "
                         "the raw frequency among them, with no estimate when none matches; the optimum keeps some weight "
                         "on the other chains, a shrinkage towards the pooled label mean that plays the part of the "
                         "Bayes rule's prior pseudo-counts. As n grows the matching frequency becomes reliable and "
                         "the optimal attention on it rises towards one.", table=rows))
    flow = softmax_flow(L, T=5000.0, points=120)
    results.append(Block("Gradient flow from Q = 0", "Stages of the exact flow (times in units of the loss's gradient):",
                         [r"\text{" + k.replace("_", " ") + "}: t = " + f"{v:.4g}" for k, v in flow.stages.items()]
                         + [r"f(Q(5000)) = " + f"{flow.loss[-1]:.10f}" + r",\ \text{attention } "
                            + f"{flow.attention_exact[-1]:.4f}"]))
    checks = []
    from markov_icl.oracles.bayes import enumerate_softmax_loss

    Qt = np.array([[0.7, -0.3], [0.2, 0.5]])
    for nn, pe in ((2, R(1, 3)), (3, R(1, 2))):
        Ls = SoftmaxLoss(1, pe, nn)
        ok = abs(Ls.loss(Qt) - enumerate_softmax_loss(1, nn, Qt, p=pe)) < 1e-12
        checks.append(check(f"brute force: every prompt enumerated (d = 1, n = {nn}, p = {pe}, a fixed Q)", ok))
    g = L.gradient(Qt)
    eps = 1e-6
    fd = np.array([[(L.loss(Qt + eps * np.eye(2)[u][:, None] * np.eye(2)[w][None, :])
                     - L.loss(Qt - eps * np.eye(2)[u][:, None] * np.eye(2)[w][None, :])) / (2 * eps)
                    for w in range(2)] for u in range(2)])
    checks.append(check("gradient against central finite differences (step 1e-6), to 1e-8",
                        np.abs(g - fd).max() < 1e-8, f"max difference {np.abs(g - fd).max():.1e}"))
    checks.append(check("f(0) exact equals the float64 evaluation at Q = 0",
                        abs(float(opt.loss_at_zero) - L.loss(np.zeros((2, 2)))) < 1e-14))
    checks.append(check("the float64 value at Q* lies within 1e-13 of its 128-bit ball enclosure",
                        opt.certified[0] - 1e-13 <= opt.f_softmax_star <= opt.certified[1] + 1e-13))
    checks.append(check("Q* is a strict local minimum: the Hessian in the first row of Q is positive definite",
                        opt.hessian_eigenvalues.min() > 0, f"eigenvalues {opt.hessian_eigenvalues}"))
    checks.append(check("Bayes floor < f_softmax* < f(0): attention helps, and stays above the floor",
                        fb < opt.f_softmax_star < float(opt.loss_at_zero)))
    if mc_samples:
        import torch

        from markov_icl.numeric.attention import SoftmaxAttention
        from markov_icl.numeric.montecarlo import estimate_loss
        from markov_icl.symbolic.laws import ChainLaw

        model = SoftmaxAttention(1)
        with torch.no_grad():
            model.Q.copy_(torch.as_tensor(opt.Q_star))
        est = estimate_loss(model, ChainLaw.default(pv), 1, nv, mc_samples, seed=0)
        z = (float(est.mean) - opt.f_softmax_star) / float(est.stderr)
        checks.append(check(f"Monte Carlo: the torch model at Q* on {mc_samples} sampled prompts, within 3 standard "
                            f"errors of f_softmax*", abs(z) < 3, f"z = {z:.2f}"))
    notes = ("The GPT-2 model of Figs. 6-7 adds value and output maps, MLPs, layer norms and position embeddings; "
             "positions break the exchangeability of the context chains, so its loss is a sum over ordered chain "
             "sequences rather than type counts, and it is compared by Monte Carlo (markov-icl experiment learners).")
    return Derivation("softmax", TITLE, statement, steps_, results, checks, notes=notes)


__all__ = ["build", "TITLE"]
