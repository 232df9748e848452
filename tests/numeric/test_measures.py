"""Macroscopic measures (theory §17) against their definitions, and the GPT-2 matrices against the attention itself.

Oracles: closed-form entropies of known spectra, least squares by numpy.linalg.lstsq for the subspace distance, and
Hugging Face's own attention module (scores and head outputs) for the QK and OV matrices.
"""

import numpy as np
import pytest
import torch

from markov_icl.numeric.measures import dip, effective_rank, gpt2_matrices, loss_drop, marginal_effective_rank, subspace_distance


def test_effective_rank_of_known_spectra_and_invariances():
    assert effective_rank(np.eye(4)) == pytest.approx(4)
    p = np.array([0.75, 0.25])
    assert effective_rank(np.diag([3.0, 1.0])) == pytest.approx(np.exp(-(p * np.log(p)).sum()))
    rng = np.random.default_rng(0)
    M = rng.normal(size=(5, 3))
    Q1, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    Q2, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    assert effective_rank(7 * Q1 @ M @ Q2) == pytest.approx(effective_rank(M))
    assert marginal_effective_rank(np.diag([9.0, 2.0, 1.0, 1.0]), 1) == pytest.approx(
        np.exp(-sum(q * np.log(q) for q in (0.5, 0.25, 0.25))))
    assert np.isnan(marginal_effective_rank(np.diag([1.0, 2.0]), 1)) and np.isnan(effective_rank(np.zeros((2, 2))))


def test_subspace_distance_is_the_least_squares_residual():
    rng = np.random.default_rng(1)
    for shape, rank in (((3, 6), 3), ((6, 10), 2), ((2, 3), 1)):
        M = rng.normal(size=(shape[0], rank)) @ rng.normal(size=(rank, shape[1]))
        B = rng.normal(size=shape)
        X, *_ = np.linalg.lstsq(M.T, B.T, rcond=None)       # min_A ||A M - B|| = min_X ||M^T X - B^T||
        expect = np.linalg.norm(M.T @ X - B.T) / np.linalg.norm(B)
        assert subspace_distance(M, B) == pytest.approx(expect, abs=1e-10)
    assert subspace_distance(rng.normal(size=(4, 3)), rng.normal(size=(4, 3))) < 1e-12   # full column rank: 0


def test_dip_and_loss_drop_times():
    t = np.linspace(0, 10, 101)
    v = 3 - 2 * np.exp(-((t - 4) ** 2))                 # minimum 1 at t = 4
    dp = dip(t, v)
    assert dp["t_min"] == pytest.approx(4) and dp["min"] == pytest.approx(1)
    half = 4 - np.sqrt(np.log(2 / (2 - 2 * 0.5 * (1 - np.exp(-16)))))  # 3 - 2 e^{-(t-4)^2} = start - (start - 1) / 2
    assert dp["t_half"] == pytest.approx(half, abs=0.01)
    ld = loss_drop(t, 1 / (1 + np.exp(3 * (t - 6))))
    assert ld["t_half"] == pytest.approx(6, abs=0.01) and ld["t_fastest"] == pytest.approx(6, abs=0.06)


def test_gpt2_matrices_reproduce_scores_and_head_outputs():
    from markov_icl.numeric.softmax import SoftmaxICL

    model = SoftmaxICL(d=2, layers=1, heads=2, width=8, max_n=4, seed=3)
    attn = model.gpt2.h[0].attn
    with torch.no_grad():
        attn.c_attn.bias.zero_()
        attn.c_proj.bias.zero_()
    mats = gpt2_matrices(model.gpt2)
    x = torch.randn(1, 3, 8, dtype=torch.float32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        q, k, v = attn.c_attn(x).split(8, dim=2)
    hd = 4
    X = x[0].double().numpy()
    for h in range(2):
        scores = (q[0, :, h * hd:(h + 1) * hd] @ k[0, :, h * hd:(h + 1) * hd].T).double().numpy()
        assert np.allclose(scores, X @ mats[(0, h)]["QK"] @ X.T, atol=1e-5)
    # a head attending to one token j writes v_j W_O (its rows of c_proj): x_j^T OV_h
    with torch.no_grad():
        head_out = torch.zeros(1, 3, 8)
        head_out[0, :, :hd] = v[0, :, :hd]
        out = attn.c_proj(head_out)[0].double().numpy()
    assert np.allclose(out, X @ mats[(0, 0)]["OV"], atol=1e-5)
