"""The prompt sampler (theory §1) against the exact objective and the kernel it was given.

Oracles: the exact H, beta, E[y^2] of :class:`symbolic.objective.ObjectiveTerms`, checked here
against brute-force enumeration (:func:`markov_icl.oracles.objective_at_n`), with a Monte Carlo
tolerance of 5 standard errors per entry; transition and initial-state frequencies against the
drawn kernel; the feature order of :func:`markov_icl.oracles.feature_index`.
"""

import numpy as np
import pytest
import sympy as sp
import torch

from markov_icl.errors import MarkovICLError
from markov_icl.numeric.montecarlo import estimate_objective
from markov_icl.numeric.prompts import enlarged_features, sample_prompts
from markov_icl.oracles import feature_index, objective_at_n
from markov_icl.symbolic.laws import A_SYMBOL, ChainLaw, InitLaw, KernelLaw
from markov_icl.symbolic.objective import ObjectiveTerms

Z_TOL = 5.0  # standard errors

LAWS = {
    "iid-uniform": (ChainLaw.default("1/3"), 2, 3),
    "c5-beta": (ChainLaw(InitLaw.example_c5("2/5"), KernelLaw.beta(2, 3, 1, 2)), 2, 4),
    "qc-fixed": (ChainLaw(InitLaw.query_conditional("1/2", "1/5", "3/4"), KernelLaw.fixed("1/4", "3/5")), 1, 3),
}

#: the same laws for the enumeration oracle: (p, prior, init); Example C.5 is s_i | s_q ~ Bern((s_q - p)^2)
ORACLE_LAWS = {
    "iid-uniform": ("1/3", "uniform", "iid"),
    "c5-beta": ("2/5", ("beta", 2, 3, 1, 2), ("qc", sp.Rational(2, 5) ** 2, sp.Rational(3, 5) ** 2)),
    "qc-fixed": ("1/2", ("fixed", sp.Rational(1, 4), sp.Rational(3, 5)), ("qc", sp.Rational(1, 5), sp.Rational(3, 4))),
}


def _exact(law, d, n):
    H, beta, ey2 = ObjectiveTerms(d, law).numeric(n=n)
    Hf = np.array([[float(x) for x in row] for row in H.to_Matrix().tolist()])
    bf = np.array([float(x) for x in beta.to_Matrix()])
    return Hf, bf, float(ey2)


@pytest.mark.parametrize("name", list(LAWS))
def test_moments_match_exact_objective(name):
    law, d, n = LAWS[name]
    H, beta, ey2 = _exact(law, d, n)
    # the exact side against the oracle: every prompt enumerated (n = 1, 2; H is affine in 1/n)
    pv, prior, init = ORACLE_LAWS[name]
    He, be, ye = objective_at_n(d, n, pv, prior=prior, init=init)
    assert np.array_equal(H, np.array(He.tolist(), dtype=float))  # equal rationals give equal floats
    assert np.array_equal(beta, np.array(be.tolist(), dtype=float)[:, 0]) and ey2 == float(ye)
    est = estimate_objective(law, d, n, 200_000, seed=11)
    for got, want in ((est.H, H), (est.beta, beta), (est.E_y2, ey2)):
        z = got.z_scores(torch.as_tensor(want)).abs().max().item()
        assert z < Z_TOL, f"{name}: max |z| = {z:.2f}"


def test_moments_detect_a_wrong_law():
    """The tolerance is tight enough to tell p = 1/3 from p = 0.36 (the check can fail)."""
    law, d, n = LAWS["iid-uniform"]
    _, beta, _ = _exact(law, d, n)
    est = estimate_objective(ChainLaw.default("9/25"), d, n, 200_000, seed=11)
    assert est.beta.z_scores(torch.as_tensor(beta)).abs().max().item() > Z_TOL


@pytest.mark.parametrize("kernel", [KernelLaw.uniform(), KernelLaw.beta(3, 1, 1, 4), KernelLaw.fixed("1/5", "7/10")])
def test_transition_frequencies_match_the_kernel(kernel):
    law = ChainLaw(InitLaw.iid("1/2"), kernel)
    pb = sample_prompts(law, 4, 20, 4000, seed=5)
    s = pb.chains  # (B, n+1, d+1)
    a = pb.kernel[:, 0, None, None]
    c = pb.kernel[:, 1, None, None]
    prev, nxt = s[..., :-1], s[..., 1:]
    prob = torch.where(prev == 0, a.expand_as(prev), (1 - c).expand_as(prev))  # P(s_{t+1}=1 | s_t)
    for state in (0, 1):
        sel = prev == state
        resid = (nxt - prob)[sel]
        se = resid.std() / resid.numel() ** 0.5
        assert abs(resid.mean()) < Z_TOL * se, f"state {state}: {resid.mean():.4g} +- {se:.2g}"
    if kernel.kind == "fixed":
        assert torch.all(pb.kernel == torch.tensor([0.2, 0.7], dtype=torch.float64))
        for state, want in ((0, 0.2), (1, 0.3)):
            freq = nxt[prev == state].mean().item()
            assert abs(freq - want) < 0.01


def test_query_conditional_initial_states():
    law = ChainLaw(InitLaw.query_conditional("3/10", "1/10", "4/5"), KernelLaw.uniform())
    pb = sample_prompts(law, 1, 50, 20_000, seed=2)
    first = pb.chains[..., 0]
    sq, ctx = first[:, -1], first[:, :-1]
    # within 5 standard errors of the Bernoulli laws (SE = sqrt(q(1-q)/N) for N draws)
    for x, q in [(sq, 0.3), (ctx[sq == 1], 0.8), (ctx[sq == 0], 0.1)]:
        assert abs(x.mean().item() - q) < 5 * (q * (1 - q) / x.numel()) ** 0.5


def test_embedding_layout():
    pb = sample_prompts(ChainLaw.default("1/2"), 3, 6, 50, seed=0)
    assert pb.Z0.shape == (50, 4, 7) and pb.chains.shape == (50, 7, 4) and pb.y.shape == (50,)
    assert pb.kernel.shape == (50, 2) and pb.Z0.dtype == torch.float64
    assert torch.equal(pb.Z0[:, :, :6], pb.chains[:, :6, :].transpose(1, 2))
    assert torch.equal(pb.Z0[:, :3, 6], pb.chains[:, 6, :3])
    assert torch.all(pb.Z0[:, 3, 6] == 0)
    assert torch.equal(pb.y, pb.chains[:, 6, 3])
    assert set(pb.chains.unique().tolist()) <= {0.0, 1.0}


def test_seeded_reproducibility():
    law = ChainLaw(InitLaw.example_c5("1/3"), KernelLaw.beta(2, 2, 1, 3))
    a = sample_prompts(law, 3, 8, 100, seed=42)
    b = sample_prompts(law, 3, 8, 100, generator=torch.Generator().manual_seed(42))
    c = sample_prompts(law, 3, 8, 100, seed=43)
    assert torch.equal(a.Z0, b.Z0) and torch.equal(a.kernel, b.kernel) and torch.equal(a.y, b.y)
    assert not torch.equal(a.Z0, c.Z0)


def test_features_order():
    """x_q (kron) g in the order r = (j-1) m + pos(u, v), u <= v row-major (theory §3)."""
    pb = sample_prompts(ChainLaw.default("1/2"), 2, 5, 7, seed=1)
    feats = enlarged_features(pb.Z0)
    idx = ObjectiveTerms(2, ChainLaw.default("1/2")).idx.index
    assert [tuple(t) for t in idx] == feature_index(2)  # the order written out by the oracle
    ctx = pb.Z0[:, :, :5]
    for r, (j, u, v) in enumerate(idx):
        G_uv = (ctx[:, u - 1, :] * ctx[:, v - 1, :]).mean(-1)
        assert torch.allclose(feats[:, r], pb.Z0[:, j - 1, 5] * G_uv, atol=1e-14)


@pytest.mark.parametrize(
    "law",
    [
        ChainLaw.default(),  # p symbolic
        ChainLaw(InitLaw.correlated("1/2", "1/5", "1/5", "1/10"), KernelLaw.uniform()),
        ChainLaw(InitLaw.iid("1/2"), KernelLaw.fixed(A_SYMBOL, "1/2")),  # symbolic kernel entry
    ],
)
def test_unsampleable_laws_raise(law):
    with pytest.raises(MarkovICLError):
        sample_prompts(law, 2, 3, 4, seed=0)


@pytest.mark.parametrize("kw", [dict(d=0), dict(n=0), dict(batch=0)])
def test_bad_sizes(kw):
    args = dict(d=2, n=3, batch=4) | kw
    with pytest.raises(MarkovICLError):
        sample_prompts(ChainLaw.default("1/2"), args["d"], args["n"], args["batch"])
