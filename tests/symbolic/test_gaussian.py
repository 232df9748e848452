"""`markov_icl.symbolic.gaussian` / `markov_icl.numeric.gaussian`: Gaussian linear-regression prompts.

Oracles, none of which reads the engine's formulas:

* Monte Carlo over sampled prompts (the sampler shares nothing with the exact side but the law): every entry of H,
  beta and E[y^2] within 5 standard errors, plus a power check that the same estimate rejects a slightly wrong H;
* the published one-layer optimum (Zhang, Frei and Bartlett 2024, Theorem 4.1; Ahn et al. 2023), derived by hand
  from E[h w^T], E[h h^T], against the exact least squares of the engine's H, beta restricted to the x-y block;
* the prediction ``x_q^T Gamma h`` computed directly on sampled prompts against ``<x_of_gamma(Gamma), x_q kron g>``,
  and ``x_of_gamma`` against the model's own ``phi(b, A)``;
* the full enlarged-space optimum ``f~* = E[y^2] - beta^T H^{-1} beta`` (python-flint's exact solve) against the
  restricted optimum: equal, with X* in the x-y block (odd symmetry in (w, eps)).
"""

import numpy as np
import pytest
import sympy as sp
import torch
from sympy.polys.matrices import DomainMatrix

from markov_icl.errors import MarkovICLError
from markov_icl.numeric.gaussian import sample_gaussian_prompts
from markov_icl.numeric.montecarlo import estimate_objective
from markov_icl.numeric.prompts import enlarged_features
from markov_icl.symbolic.gaussian import GaussianLaw, restricted_optimum_closed_form, x_of_gamma
from markov_icl.symbolic.model import phi
from markov_icl.symbolic.objective import Index, f_tilde
from markov_icl.symbolic.solve import exact_solve

R = sp.Rational
N = sp.Symbol("n", positive=True)


def floats(M) -> np.ndarray:
    return np.array(sp.Matrix(M).tolist(), dtype=float)


def design(d: int) -> sp.Matrix:
    """The 0/1 design M (dm x d^2) with ``x_of_gamma(Gamma) = M vec(Gamma)``, vec row-major (theta_(j,u) = Gamma_ju)."""
    cols = []
    for j in range(d):
        for u in range(d):
            E = sp.zeros(d, d)
            E[j, u] = 1
            cols.append(sp.Matrix(x_of_gamma(E, d)))
    return sp.Matrix.hstack(*cols)


def xy_coordinates(d: int) -> set[int]:
    """0-based coordinates (j, (u, d+1)), u <= d: one y factor."""
    idx = Index(d)
    return {idx.r(j, u, d + 1) - 1 for j in range(1, d + 1) for u in range(1, d + 1)}


# -- Monte Carlo ---------------------------------------------------------------------------------------------------------

MC_LAWS = [(1, GaussianLaw((1,), noise2=R(1, 4))), (2, GaussianLaw((1, 2), noise2=R(1, 4)))]


@pytest.mark.parametrize("d,law", MC_LAWS, ids=["d1", "d2"])
def test_monte_carlo_matches_exact_moments(d, law):
    # 2e5 prompts, 5 standard errors per entry. The entries of psi psi^T are degree-8 polynomials in Gaussians, so the
    # standard errors are themselves noisy; over seeds 0..3 the largest |z| over all entries was 1.2..2.9.
    n = 3
    H, beta, ey2 = law.objective(d, n)
    est = estimate_objective(None, d, n, 200_000, seed=11,
                             sampler=lambda k, g: sample_gaussian_prompts(law, d, n, k, generator=g))
    assert est.H.mean.shape == (Index(d).dm, Index(d).dm)
    assert float(est.H.z_scores(floats(H)).abs().max()) < 5
    assert float(est.beta.z_scores(floats(beta).ravel()).abs().max()) < 5
    assert float(est.E_y2.z_scores(float(ey2)).abs()) < 5
    # power: the same estimate rejects the H of n + 1 context points (a 1/n-sized change)
    assert float(est.H.z_scores(floats(law.objective(d, n + 1)[0])).abs().max()) > 8


def test_sampler_layout_and_seed():
    law = GaussianLaw((1, R(1, 2)), tau2=2, noise2=R(1, 3))
    a = sample_gaussian_prompts(law, 2, 4, 50, seed=3)
    b = sample_gaussian_prompts(law, 2, 4, 50, seed=3)
    assert torch.equal(a.Z0, b.Z0) and torch.equal(a.y, b.y)
    assert a.Z0.dtype == torch.float64 and a.d == 2 and a.n == 4 and len(a) == 50
    assert torch.equal(a.Z0[:, :, :4], a.chains[:, :4, :].transpose(1, 2))
    assert torch.equal(a.Z0[:, :2, 4], a.chains[:, 4, :2]) and torch.equal(a.y, a.chains[:, 4, 2])
    assert float(a.Z0[:, 2, 4].abs().max()) == 0 and torch.equal(a.kernel, torch.zeros(50, 2, dtype=torch.float64))
    # noise-free prompts: every label is exactly linear in its input, one w per prompt
    c = sample_gaussian_prompts(GaussianLaw((1, 2)), 2, 4, 20, seed=0)
    w = torch.linalg.lstsq(c.chains[:, :, :2], c.chains[:, :, 2:]).solution
    assert torch.allclose(c.chains[:, :, :2] @ w, c.chains[:, :, 2:], atol=1e-10)
    with pytest.raises(MarkovICLError, match="symbolic"):
        sample_gaussian_prompts(GaussianLaw((sp.Symbol("s", positive=True),)), 1, 3, 5, seed=0)
    with pytest.raises(MarkovICLError, match="does not match"):
        sample_gaussian_prompts(law, 3, 4, 5, seed=0)
    assert torch.equal(law.sample(2, 4, 50, seed=3).Z0, a.Z0)


# -- the published restricted optimum ------------------------------------------------------------------------------------

CLOSED_FORM_LAWS = [
    (1, GaussianLaw((1,))),
    (1, GaussianLaw((R(3, 2),), noise2=R(1, 3))),
    (2, GaussianLaw((1, 2))),
    (2, GaussianLaw((1, 2), noise2=R(1, 3))),
    (2, GaussianLaw((R(1, 2), 3), tau2=2, noise2=R(1, 3))),
]


@pytest.mark.parametrize("d,law", CLOSED_FORM_LAWS, ids=[f"d{d}-{i}" for i, (d, _) in enumerate(CLOSED_FORM_LAWS)])
@pytest.mark.parametrize("n", [N, 5], ids=["n_symbolic", "n5"])
def test_restricted_least_squares_is_the_published_optimum(d, law, n):
    n = sp.sympify(n)  # exact (n + 1) / n below
    H, beta, ey2 = law.objective(d, n)
    M = design(d)
    HM, bM = M.T * H * M, M.T * beta
    theta = HM.LUsolve(bM)
    Gamma, loss = restricted_optimum_closed_form(law, d, n)
    assert all(sp.cancel(theta[j * d + u] - Gamma[j, u]) == 0 for j in range(d) for u in range(d))
    loss_ls = ey2 - (bM.T * theta)[0]
    assert sp.cancel(loss_ls - loss) == 0
    # the loss written out with the hand-derived moments E[h w^T], E[h h^T] (module docstring)
    Sig, tau2, noise2 = law.Sigma, law.tau2, law.noise2
    Ehw = tau2 * Sig
    Ehh = tau2 * ((n + 1) / n * Sig**2 + Sig.trace() / n * Sig) + noise2 / n * Sig
    loss_of = (Sig * Gamma * Ehh * Gamma.T).trace() - 2 * (Sig * Gamma * Ehw).trace() + tau2 * Sig.trace() + noise2
    assert sp.cancel(loss_of - loss) == 0
    # and the engine's f~ at x_of_gamma(Gamma*) agrees
    X = sp.Matrix(x_of_gamma(Gamma, d))
    assert sp.cancel(ey2 - 2 * (beta.T * X)[0] + (X.T * H * X)[0] - loss) == 0


def test_zfb_isotropic_values():
    # ZFB Theorem 4.1 at Lambda = I_d: Gamma* = n / (n + 1 + d) I
    for d in (1, 2, 3):
        Gamma, loss = restricted_optimum_closed_form(GaussianLaw.isotropic(d), d, N)
        assert Gamma == sp.eye(d) * N / (N + 1 + d)
        assert sp.cancel(loss - d * (d + 1) / (N + 1 + d)) == 0
    Gamma, _ = restricted_optimum_closed_form(GaussianLaw.isotropic(2, tau2=2, noise2=1), 2, 4)
    assert Gamma == sp.eye(2) * R(4, 4 + 1 + 2 + R(1, 2))


def test_x_of_gamma_is_the_prediction_and_is_realisable():
    d, n = 2, 4
    Gamma = sp.Matrix([[R(1, 2), -1], [R(2, 3), 3]])
    pb = sample_gaussian_prompts(GaussianLaw((1, 2), noise2=R(1, 5)), d, n, 64, seed=1)
    h = torch.einsum("bui,bi->bu", pb.Z0[:, :d, :n], pb.Z0[:, d, :n]) / n
    direct = torch.einsum("bj,jk,bk->b", pb.Z0[:, :d, n], torch.tensor(floats(Gamma)), h)
    via_X = enlarged_features(pb.Z0) @ torch.tensor(np.array(x_of_gamma(Gamma, d), dtype=float))
    assert torch.allclose(direct, via_X, rtol=1e-12, atol=1e-12)
    b = [0] * d + [1]
    A = [[Gamma[j, u] for j in range(d)] for u in range(d)] + [[0] * d]  # A[u][j] = Gamma_ju, last row 0
    assert phi(b, A) == x_of_gamma(Gamma, d)
    with pytest.raises(MarkovICLError):
        x_of_gamma([[1, 2]], 2)


# -- enlarged-space optimum against the restricted one -------------------------------------------------------------------

FSTAR_LAWS = [
    (1, GaussianLaw((1,))),
    (1, GaussianLaw((1,), noise2=R(1, 3))),
    (2, GaussianLaw((1, 2))),
    (2, GaussianLaw((1, 2), noise2=R(1, 3))),
    (3, GaussianLaw((1, 2, R(1, 2)), tau2=R(3, 2), noise2=R(1, 3))),
]

#: f~* = f_Gamma* at n = 5; by hand from Gamma* = n / ((n+1) sigma_j + tr(Sigma) + noise2/tau2): 1 - 5/7,
#: 4/3 - 15/22, 3 - (5/9 + 4/3), ...
FSTAR_N5 = [R(2, 7), R(43, 66), R(10, 9), R(2885, 1932), R(18875389, 7191030)]


@pytest.mark.parametrize("case", range(len(FSTAR_LAWS)), ids=[f"d{d}-{i}" for i, (d, _) in enumerate(FSTAR_LAWS)])
def test_enlarged_optimum_equals_restricted_optimum(case):
    d, law = FSTAR_LAWS[case]
    n = 5
    H, beta, ey2 = law.objective(d, n)
    dm = Index(d).dm
    # H is positive definite (LDL^T pivots > 0), so X* = H^{-1} beta is unique
    _, D = H.LDLdecomposition(hermitian=False)
    assert all(D[i, i] > 0 for i in range(dm))
    # odd symmetry in (w, eps): H has no coupling between the x-y block and the rest; beta vanishes off the block
    xy = xy_coordinates(d)
    assert all(H[r, s] == 0 for r in range(dm) for s in range(dm) if (r in xy) != (s in xy))
    assert all(beta[r] == 0 for r in range(dm) if r not in xy)
    X_star = exact_solve(DomainMatrix.from_Matrix(H).convert_to(sp.QQ), DomainMatrix.from_Matrix(beta).convert_to(sp.QQ))
    f_star = ey2 - sum(b * x for b, x in zip(beta, X_star))
    Gamma, f_gamma = restricted_optimum_closed_form(law, d, n)
    assert list(X_star) == x_of_gamma(Gamma, d)
    assert f_star == f_gamma
    assert f_tilde(list(X_star), H, list(beta), ey2) == f_star
    assert f_star == FSTAR_N5[case]


# -- validation ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,match", [
    (dict(sigma_diag=(1, 0)), r"sigma_diag\[2\] must be > 0"),
    (dict(sigma_diag=(-1,)), r"sigma_diag\[1\] must be > 0"),
    (dict(sigma_diag=()), "d >= 1"),
    (dict(sigma_diag="12"), "sequence"),
    (dict(sigma_diag=(0.5,)), "floats are not exact"),
    (dict(sigma_diag=(1,), tau2=0), "tau2 must be > 0"),
    (dict(sigma_diag=(1,), noise2=R(-1, 2)), "noise2 must be >= 0"),
    (dict(sigma_diag=(sp.Symbol("s", negative=True),)), "must be > 0"),
    (dict(sigma_diag=(sp.I,)), "finite real|exact rational"),
    (dict(sigma_diag=(sp.oo,)), "finite real|exact rational"),
])
def test_bad_variances_are_refused(kwargs, match):
    with pytest.raises(MarkovICLError, match=match) as info:
        GaussianLaw(**kwargs)
    assert "\n" not in str(info.value)


def test_valid_inputs_and_shapes():
    law = GaussianLaw(["1/2", 2], tau2="3/2", noise2=0)
    assert law.sigma_diag == (R(1, 2), 2) and law.tau2 == R(3, 2) and law.is_numeric
    assert GaussianLaw.isotropic(3).sigma_diag == (1, 1, 1) and hash(law) == hash(GaussianLaw((R(1, 2), 2), R(3, 2)))
    H, beta, ey2 = law.objective(2, None)
    assert H.shape == (12, 12) and beta.shape == (12, 1) and ey2 == R(3, 2) * R(5, 2)
    H[0, 0] = 99  # a copy: the cache is not touched
    assert law.objective(2, None)[0][0, 0] != 99
    with pytest.raises(MarkovICLError, match="does not match"):
        law.objective(1, 3)
    with pytest.raises(MarkovICLError):
        law.objective(2, 0)
    s = sp.Symbol("s", positive=True)
    H, beta, ey2 = GaussianLaw((s,)).objective(1, N)
    assert not GaussianLaw((s,)).is_numeric and ey2 == s
    # entries affine in 1/n: n^2 d^2/dn^2 (n H) = 0
    assert all(sp.simplify(sp.diff(N * e, N, 2)) == 0 for e in H)
