"""Training (numeric/train.py), the Monte Carlo loss, and the trained model against the exact optimum."""

import math

import numpy as np
import pytest
import sympy as sp
import torch

from markov_icl import solve
from markov_icl.errors import MarkovICLError
from markov_icl.numeric.lsa import DenseLSA, SparseLSA, one_layer_params
from markov_icl.numeric.montecarlo import estimate_loss
from markov_icl.numeric.train import train
from markov_icl.numeric.verify import verify
from markov_icl.oracles import closed_form_d1, features, mean_se, phi_by_definition, sample_chains
from markov_icl.symbolic.laws import ChainLaw

LAW = ChainLaw.default("1/2")


def test_mc_loss_matches_exact_loss_of_a_random_model():
    """E[(yhat - y)^2] by Monte Carlo vs E[y^2] - 2 beta.phi + phi.H.phi from the exact objective."""
    sol = solve(2, "1/3", 5)
    model = SparseLSA(2, init_scale=0.8, seed=7)
    b, A = one_layer_params(model)
    est = estimate_loss(model, sol.law, 2, 5, 200_000, seed=3)
    assert abs(float(est.mean) - float(sol.loss(b.numpy(), A.numpy()))) < 5 * float(est.stderr)
    # oracle: the loss of <phi, x_q kron g> (hand-written phi) on prompts of the plain NumPy sampler
    X = np.array(phi_by_definition(b.detach().numpy(), A.detach().numpy()), dtype=float)
    ctx, q = sample_chains(1 / 3, 5, 2, 200_000, seed=23)
    _, feats, y = features(ctx, q, 2)
    mean, se = mean_se((feats @ X - y) ** 2)
    assert abs(mean - float(sol.loss(b.numpy(), A.numpy()))) < 5 * se


@pytest.mark.parametrize("online", [True, False])
def test_training_is_reproducible_bit_for_bit(online):
    def run():
        m = DenseLSA(1, seed=2, init_scale=0.5)
        r = train(m, LAW, 1, 6, steps=30, batch=64, lr=0.02, seed=9, online=online, dataset_size=None if online else 256,
                  progress=False)
        return r.losses, [p.detach().clone() for p in m.parameters()]

    (l1, p1), (l2, p2) = run(), run()
    assert l1 == l2
    assert all(torch.equal(a, b) for a, b in zip(p1, p2))


def test_sgd_on_a_fixed_dataset_decreases_the_loss():
    m = SparseLSA(2, seed=0, init_scale=0.5)
    r = train(m, LAW, 2, 8, steps=200, batch=128, lr=0.2, optimizer="sgd", online=False, progress=False)
    assert r.config["dataset_size"] == 128 and len(r.losses) == 200
    assert np.mean(r.losses[-10:]) < 0.8 * np.mean(r.losses[:10])


@pytest.mark.parametrize("kw", [dict(optimizer="lbfgs"), dict(steps=0), dict(lr=-1.0), dict(schedule="step")])
def test_bad_settings(kw):
    args = dict(steps=5, batch=4, lr=0.1) | kw
    with pytest.raises(MarkovICLError):
        train(SparseLSA(1, seed=0), LAW, 1, 3, progress=False, **args)


def test_trained_one_layer_reaches_the_exact_optimum():
    """d = 1, p = 1/2, n = 10 is realisable (theory §6): f(phi) -> f~*, phi -> X* = (4/57, 52/57, 8/19)."""
    res = verify(1, "1/2", 10, seed=0, progress=False).to_dict()
    assert res["X_star"] == ["4/57", "52/57", "8/19"] and res["f_tilde_star"] == "121/342"
    assert np.allclose(res["X_star_float"], [4 / 57, 52 / 57, 8 / 19], atol=1e-15)
    assert 0 <= res["trained_loss_exact"] - 121 / 342 < 1e-3
    assert res["phi_distance"] < 0.05
    assert math.isclose(res["phi_distance"], float(np.linalg.norm(np.subtract(res["phi_trained"], res["X_star_float"]))))
    assert abs(res["trained_loss_mc"] - res["trained_loss_exact"]) < 5 * res["trained_loss_mc_stderr"]
    # oracle: the trained loss from theory §5's closed-form H, beta at phi_trained
    H, beta, ey2, _, _ = closed_form_d1(sp.Rational(1, 2), 10)
    x = np.array(res["phi_trained"])
    want = float(ey2) - 2 * np.array(beta.tolist(), dtype=float)[:, 0] @ x + x @ np.array(H.tolist(), dtype=float) @ x
    assert abs(res["trained_loss_exact"] - want) < 1e-12


def test_unrealisable_point_trains_to_f_star_not_f_tilde_star():
    """p = 1/2, n = 5: X* is not realisable (D = -1/12, theory §6); training stops at f* > f~*."""
    res = verify(1, "1/2", 5, seed=0, progress=False, with_f_star=True).to_dict()
    assert res["f_tilde_star"] == "35/96"
    assert res["f_star"] - 35 / 96 > 2e-5
    assert abs(res["trained_loss_exact"] - res["f_star"]) < 2e-6
