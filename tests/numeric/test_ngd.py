"""The NGD transformer against NGD written out independently, and its accuracy vs depth against enumeration.

Oracles: NGD with the gradient from torch.autograd of the exponential loss (no softmax, no hand-written
gradient), a plain-Python NGD scored on every prompt of tiny sizes with exact prompt probabilities
(tests/oracles/ngd.py), the exact Bayes accuracy (at d = 1 one NGD step is the Bayes decision), Monte Carlo
with standard errors, and scikit-learn fitted per prompt.
"""

import numpy as np
import pytest
import sympy as sp
import torch

from markov_icl.numeric.ngd import (
    NGDTransformer,
    _logistic_fits,
    ngd_depth_table,
    ngd_depth_table_mc,
    ngd_iterates,
    prompt_features,
    train_looped,
)
from markov_icl.numeric.prompts import sample_prompts
from markov_icl.oracles.bayes import enumerate_ngd
from markov_icl.symbolic.laws import ChainLaw
from markov_icl.symbolic.ngd import NGDConstruction


def autograd_ngd(U, etas):
    """w <- w - eta grad L / L with grad L from torch.autograd of L(w) = mean exp(-U w)."""
    U = torch.as_tensor(U, dtype=torch.float64)
    w = torch.zeros(U.shape[0], U.shape[-1], dtype=torch.float64)
    out = [w.clone()]
    for eta in etas:
        w = w.detach().requires_grad_(True)
        L = torch.exp(-(U @ w[..., None])[..., 0]).mean(-1)
        (g,) = torch.autograd.grad(L.sum(), w)
        w = (w - eta * g / L[:, None]).detach()
        out.append(w.clone())
    return torch.stack(out, 1).numpy()


@pytest.mark.parametrize("d,n,layers,eta", [(1, 5, 3, "1/2"), (2, 10, 6, 1), (3, 7, 4, ("1/4", "1/2", 1, "3/2")),
                                            (2, 20, 12, "1/2")])
def test_layer_outputs_equal_the_ngd_iterates_to_1e_10(d, n, layers, eta):
    c = NGDConstruction(d, layers, list(eta) if isinstance(eta, tuple) else eta)
    pb = sample_prompts(ChainLaw.default("1/3"), d, n, 300, seed=d * 100 + n)
    model = NGDTransformer(c)
    with torch.no_grad():
        tokens = model(pb.Z0)
        W = model.iterates(pb.Z0).numpy()
        z = model.logits(pb.Z0).numpy()
    U, xq = prompt_features(pb.Z0)
    etas = [float(e) for e in c.eta]
    ref = autograd_ngd(U.numpy(), etas)
    assert np.abs(W - ref).max() < 1e-10
    assert np.abs(ngd_iterates(U.numpy(), etas, layers) - ref).max() < 1e-10
    assert np.abs(z - np.einsum("blk,bk->bl", ref, xq.numpy())).max() < 1e-10
    # every context token carries the same iterates, and the U and X slots never move
    assert np.abs(tokens[:, :, :-1, c.slot("W")].numpy() - ref[:, :, None, :]).max() < 1e-10
    assert torch.equal(tokens[:, -1, :, : 2 * c.k], tokens[:, 0, :, : 2 * c.k])


def test_plain_ngd_separable_context_grows_along_the_max_margin_direction():
    from markov_icl.numeric.ngd import max_margin_direction

    U = np.array([[1.0, 1.0, 1.0], [1.0, -1.0, 1.0], [-1.0, 1.0, 1.0], [1.0, 1.0, -1.0]])
    v, gam = max_margin_direction(U)   # min-norm point of the hull: (u_2 + u_3 + u_4) / 3 = (1, 1, 1) / 3
    W = ngd_iterates(U, 0.5, 400)
    assert np.allclose(v, np.ones(3) / np.sqrt(3), atol=1e-6) and abs(gam - 1 / np.sqrt(3)) < 1e-6
    assert W[-1] @ v / np.linalg.norm(W[-1]) > 0.999


@pytest.mark.parametrize("d,n,p,layers,eta", [(1, 2, "1/2", 3, 1.0), (1, 3, "1/3", 2, 0.5), (2, 2, "1/2", 3, 0.5)])
def test_exact_depth_table_matches_enumeration_of_every_prompt(d, n, p, layers, eta):
    acc, sq, sep = enumerate_ngd(d, n, sp.Rational(p), layers, eta)
    t = ngd_depth_table(d, p, n, layers, eta=sp.nsimplify(eta), logistic=False, bayes=False)
    assert [sp.Rational(r["accuracy_exact"]) for r in t.rows] == acc
    assert max(abs(r["squared_loss"] - s) for r, s in zip(t.rows, sq)) < 1e-12
    assert sp.Rational(t.reference["separable_fraction_exact"]) == sep
    assert t.ties == 0


def test_at_d1_one_step_and_every_later_one_is_the_bayes_decision():
    t = ngd_depth_table(1, "1/2", 6, 5, logistic=False)
    assert t.rows[0]["accuracy_exact"] == "1/2"
    assert {r["accuracy_exact"] for r in t.rows[1:]} == {t.reference["bayes_accuracy_exact"]}


def test_every_depth_and_logistic_regression_stay_behind_the_bayes_floor_at_d2():
    """No in-context learner beats the Bayes rule: at every depth the construction's exact accuracy is at most the
    Bayes accuracy and its squared loss at least the Bayes risk; the same for the exactly weighted logistic fits.
    At d = 2 the floor is strict: one NGD step is already behind it."""
    t = ngd_depth_table(2, "1/2", 4, 4)
    ref = t.reference
    b_acc, b_risk = sp.Rational(ref["bayes_accuracy_exact"]), sp.Rational(ref["bayes_risk_exact"])
    for r in t.rows:
        assert sp.Rational(r["accuracy_exact"]) <= b_acc, r
        assert r["squared_loss"] >= float(b_risk) - 1e-12, r
    assert sp.Rational(t.rows[1]["accuracy_exact"]) < b_acc
    assert sp.Rational(ref["logistic_accuracy_exact"]) <= b_acc
    assert ref["logistic_squared_loss"] >= float(b_risk) - 1e-12


def test_monte_carlo_table_agrees_with_the_exact_sums():
    ex = ngd_depth_table(2, "1/2", 3, 3, logistic=False)
    mc = ngd_depth_table_mc(2, "1/2", 3, 3, samples=6000, seed=1, logistic=False)
    for a, b in zip(ex.rows, mc.rows):
        assert abs(a["accuracy"] - b["accuracy"]) < 4 * b["accuracy_se"] + 1e-12
        assert abs(a["squared_loss"] - b["squared_loss"]) < 4 * b["squared_loss_se"] + 1e-12
        if "cos_max_margin" in a:
            assert abs(a["cos_max_margin"] - b["cos_max_margin"]) < 4 * b["cos_max_margin_se"] + 1e-9
    sf = mc.reference
    assert abs(sf["separable_fraction"] - ex.reference["separable_fraction"]) < 4 * sf["separable_fraction_se"]
    assert abs(sf["bayes_accuracy"] - ex.reference["bayes_accuracy"]) < 4 * sf["bayes_accuracy_se"]


def test_weighted_logistic_fit_equals_the_fit_on_the_repeated_context():
    from markov_icl.numeric.classical import fit_predict

    pb = sample_prompts(ChainLaw.default("1/2"), 2, 7, 40, seed=3)
    Z = pb.Z0.numpy()
    types_x = np.array([[a, b] for a in (0, 1) for b in (0, 1) for _ in (0, 1)], dtype=float)
    types_y = np.array([y for _ in range(4) for y in (0, 1)])
    inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    for b in range(len(Z)):
        X, y, xq = Z[b, :2, :-1].T, Z[b, 2, :-1], Z[b, :2, -1]
        counts = np.zeros(8)
        for xi, yi in zip(X, y):
            counts[int(4 * xi[0] + 2 * xi[1] + yi)] += 1
        P = _logistic_fits(types_x, types_y, counts[None], inputs)[0, int(2 * xq[0] + xq[1])]
        assert (P > 0.5) == (fit_predict("logistic", X, y, xq, 2) == 1) or abs(P - 0.5) < 1e-9


def test_looped_layer_learns_the_step_and_tracks_the_iterates():
    r = train_looped(d=1, n=6, eta="1/2", layers=4, steps=600, batch=128, eval_prompts=500, seed=0)
    assert r.losses[-1] < 1e-2 * r.losses[0]
    assert r.one_step_error < 0.05 and max(r.iterate_error) < 0.1
    assert max(abs(a - b) for a, b in zip(r.accuracy, r.construction_accuracy)) <= 0.01
