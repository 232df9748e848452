"""Training (numeric/train.py), the Monte Carlo loss, and the trained model against the exact optimum."""

import math

import numpy as np
import pytest
import torch

from derivations.verify_cmd import exact_objective, population_loss, verify
from numeric.lsa import DenseLSA, SparseLSA, one_layer_params, phi
from numeric.montecarlo import estimate_loss
from numeric.train import train
from symbolic.errors import MarkovICLError
from symbolic.laws import ChainLaw

LAW = ChainLaw.default("1/2")


def test_mc_loss_matches_exact_loss_of_a_random_model():
    """E[(yhat - y)^2] by Monte Carlo vs E[y^2] - 2 beta.phi + phi.H.phi from the exact objective."""
    obj = exact_objective(2, "1/3", 5)
    model = SparseLSA(2, init_scale=0.8, seed=7)
    X = phi(*one_layer_params(model)).numpy()
    est = estimate_loss(model, obj["law"], 2, 5, 200_000, seed=3)
    assert abs(float(est.mean) - population_loss(X, obj)) < 5 * float(est.stderr)


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
    """d = 1, p = 1/2, n = 10 is realisable (SPEC §6): f(phi) -> f~*, phi -> X* = (4/57, 52/57, 8/19)."""
    res = verify(1, "1/2", 10, seed=0, progress=False)
    assert np.allclose(res["X_star"], [4 / 57, 52 / 57, 8 / 19], atol=1e-12)
    assert 0 <= res["trained_loss_exact"] - res["f_tilde_star"] < 1e-3
    assert res["phi_distance"] < 0.05
    assert math.isclose(res["phi_distance"], float(np.linalg.norm(np.subtract(res["phi_trained"], res["X_star"]))))
    assert abs(res["trained_loss_mc"] - res["trained_loss_exact"]) < 5 * res["trained_loss_mc_stderr"]


def test_unrealisable_point_trains_to_f_star_not_f_tilde_star():
    """p = 1/2, n = 5: X* is not realisable (D = -1/12, SPEC §6); training stops at f* > f~*."""
    pytest.importorskip("symbolic.varpro")
    res = verify(1, "1/2", 5, seed=0, progress=False, with_f_star=True)
    assert res["f_star"] - res["f_tilde_star"] > 2e-5
    assert abs(res["trained_loss_exact"] - res["f_star"]) < 2e-6
