"""Seed 003's mode equations derived from the engine's exact Gaussian objective (theory §16).

Oracles: the published ZFB optimum (Zhang, Frei and Bartlett 2024, Theorem 4.1) for the fixed point, Monte Carlo on
sampled Gaussian prompts for the reduced loss and for the key-query prediction written out from its definition,
SymPy's chain rule on an undefined function for the conservation law, and a quantity that is *not* conserved.
"""

import numpy as np
import pytest
import sympy as sp
import torch

from markov_icl.numeric.gaussian import sample_gaussian_prompts
from markov_icl.numeric.prompts import enlarged_features
from markov_icl.symbolic.dynamics import PopulationLoss
from markov_icl.symbolic.gaussian import GaussianLaw, restricted_optimum_closed_form
from markov_icl.symbolic.modes import (
    ModeSolution,
    QuadraticObjective,
    conservation_derivative,
    conservation_identity,
    derive_modes,
    join_theta,
    key_query,
    mode_spectrum,
    split_theta,
)
from markov_icl.symbolic.solve import solve

s1, s2, s3, tau2, noise2, n = sp.symbols("s1 s2 s3 tau2 noise2 n", positive=True)


@pytest.mark.parametrize("law", [GaussianLaw((s1, s2), tau2=tau2, noise2=noise2), GaussianLaw((s1, s2, s3)),
                                 GaussianLaw((1, "1/3"))])
def test_mode_equations_follow_from_the_exact_objective(law):
    m = derive_modes(law)
    assert m.loss_identity == 0 and m.off_aligned == 0
    assert all(v == 0 for v in m.equation_identity)


def test_seed_form_and_fixed_point_are_the_zfb_optimum():
    law = GaussianLaw((s1, s2))
    spec = mode_spectrum(law, n)
    for s, si in zip((s1, s2), spec["s_inf"]):
        assert sp.simplify(si - ((n + 1) * s + s1 + s2) / n) == 0     # the seed's s_inf
    assert [sp.simplify(t - 1 / (2 * s ** 2)) for t, s in zip(spec["tau"], (s1, s2))] == [0, 0]
    for lw in (GaussianLaw((1, "1/2"), noise2="1/4", tau2=2), GaussianLaw((s1, s2), tau2=tau2, noise2=noise2)):
        Gamma, _ = restricted_optimum_closed_form(lw, 2, n)
        sp_ = mode_spectrum(lw, n)
        assert [sp.simplify(g - Gamma[a, a]) for a, g in enumerate(sp_["gamma_star"])] == [0, 0]


def test_reduced_loss_against_monte_carlo():
    law = GaussianLaw((1, "1/2"), noise2="1/4")
    ms = ModeSolution.of(law, 6)
    p, q = np.array([0.7, -0.4]), np.array([0.9, 1.3])
    pb = sample_gaussian_prompts(law, 2, 6, 200_000, seed=1)
    Z = pb.Z0.numpy()
    h = (Z[:, :2, :-1] * Z[:, 2:3, :-1]).mean(-1)               # (1/n) sum y_i x_i
    yhat = np.einsum("bu,u,bu->b", h, p * q, Z[:, :2, -1])
    err = (yhat - pb.y.numpy()) ** 2
    assert abs(err.mean() - ms.loss_of_gamma(p * q)) < 4 * err.std() / np.sqrt(len(err))


def test_key_query_prediction_is_its_definition():
    d, h = 2, 3
    rng = np.random.default_rng(0)
    WK, WQ = rng.normal(size=(h, d + 1)), rng.normal(size=(h, d))
    par = key_query(d, h, key_label=True)
    X = np.array([float(v) for v in par.phi(join_theta(WK, WQ, key_label=True))])
    pb = sample_gaussian_prompts(GaussianLaw((1, 2)), d, 5, 50, seed=2)
    Z = pb.Z0.double()
    keys = torch.einsum("au,bui->bai", torch.tensor(WK), Z[:, :, :-1])          # W_K z_i
    queries = torch.einsum("av,bv->ba", torch.tensor(WQ), Z[:, :d, -1])        # W_Q x_q
    direct = (Z[:, d, :-1] * torch.einsum("bai,ba->bi", keys, queries)).mean(-1)
    assert torch.allclose(enlarged_features(pb.Z0) @ torch.tensor(X), direct, atol=1e-10)
    K2, Q2 = split_theta(join_theta(WK, WQ, key_label=True), d, h, True)
    assert np.array_equal(K2, WK) and np.array_equal(Q2, WQ)


def test_conservation_law_is_an_exact_polynomial_identity():
    assert conservation_identity(2, 2).is_zero_matrix and conservation_identity(2, 3, key_label=False).is_zero_matrix
    for obj, kl in ((QuadraticObjective.gaussian(GaussianLaw((1, "1/2")), 10), True),
                    (QuadraticObjective.gaussian(GaussianLaw((1, "1/2"), noise2="1/3"), 4), False),
                    (solve(2, "1/2", 10), True)):
        L = PopulationLoss(key_query(2, key_label=kl), obj)
        assert conservation_derivative(L, 2, key_label=kl).is_zero_matrix
        # W_K W_K^T + W_Q W_Q^T is not conserved: its derivative is a nonzero polynomial
        g = dict(zip(map(str, L.symbols), L.gens))
        assert L.invariant_derivative(g["k_1_1"] ** 2 + g["q_1_1"] ** 2) != 0


def test_label_column_is_useless_for_gaussian_prompts_exactly():
    from markov_icl.symbolic.param import Parameterization, optimum

    law = GaussianLaw((1, "1/2"))
    D = 3
    A = sp.Matrix(D, 2, lambda i, j: sp.Symbol(f"a_{i}_{j}"))
    P = sp.zeros(D, D)
    P[2, 2] = 1
    full = Parameterization("label_free", 2, sp.ImmutableMatrix(P), sp.ImmutableMatrix(A.row_join(sp.zeros(D, 1))),
                            tuple(A))
    assert optimum(n=10, param=full, law=law).f_param_star == restricted_optimum_closed_form(law, 2, 10)[1]
