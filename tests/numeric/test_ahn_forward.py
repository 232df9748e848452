"""Ahn et al.'s one-layer linear attention (NeurIPS 2023, repository chengxiang/LinearTransformer) against ParamLSA.

An independent token-major implementation written from the documented semantics of their
``linear_transformer.py``: ``Z`` is ``B x (N+1) x (d+1)`` (one token per row, the query last, its
label 0); ``P_full = [[P, 0], [0, 1]]``, ``Q_full = [[Q, 0], [0, 0]]`` from ``d x d`` ``P, Q``;
``Attn[b, i, j] = z_i^T Q_full z_j``; ``key_j = P_full z_j``; the mask ``A = I`` with ``A[N, N] = 0``
(the query is no key); ``Output_i = (1/N) sum_j Attn[i, j] A[j, j] key_j``; the model returns
``Z + Output`` and their loss is ``(output[:, N, d] + y)^2``, so the prediction is minus the
(query, label) entry. It must equal ``ParamLSA(preset("ahn", d))`` with ``theta = Q`` flattened
row-major, and ``<phi(b, A), x_q kron g>`` (theory §3); ``P`` must not reach the prediction.
"""

import pytest
import torch

from markov_icl import ChainLaw, ParamLSA, phi, preset, sample_prompts
from markov_icl.numeric.lsa import one_layer_params
from markov_icl.numeric.prompts import enlarged_features

TOL = 1e-12


def ahn_layer(Z: torch.Tensor, P: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    """``Z + Output`` of one Transformer_F layer (one head), token-major ``Z (B, N+1, d+1)``."""
    N, D = Z.shape[1] - 1, Z.shape[2]
    d = D - 1
    P_full = torch.zeros(D, D, dtype=Z.dtype)
    P_full[:d, :d] = P
    P_full[d, d] = 1
    Q_full = torch.zeros(D, D, dtype=Z.dtype)
    Q_full[:d, :d] = Q
    mask = torch.ones(N + 1, dtype=Z.dtype)
    mask[N] = 0                                              # the query token is no key
    attn = torch.einsum("bip,pq,bjq->bij", Z, Q_full, Z)     # z_i^T Q_full z_j
    keys = torch.einsum("pq,bjq->bjp", P_full, Z)            # P_full z_j
    out = torch.einsum("bij,j,bjp->bip", attn, mask, keys) / N
    return Z + out


def ahn_prediction(Z: torch.Tensor, P: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    """Their loss is ``(output[:, N, d] + y)^2``: the prediction is ``-output[:, N, d]``."""
    N, d = Z.shape[1] - 1, Z.shape[2] - 1
    return -ahn_layer(Z, P, Q)[:, N, d]


def _model(d: int, Q: torch.Tensor) -> ParamLSA:
    net = ParamLSA(preset("ahn", d), seed=0)
    with torch.no_grad():
        net.theta.copy_(Q.reshape(-1))                       # theta = Q0 row-major
    return net


@pytest.mark.parametrize("d", [1, 2, 3])
def test_the_order_of_theta_is_q0_row_major(d):
    assert [str(s) for s in preset("ahn", d).params] == [f"Q0_{i}_{j}" for i in range(1, d + 1)
                                                         for j in range(1, d + 1)]


@pytest.mark.parametrize("d", [1, 2, 3])
def test_ahn_prediction_equals_param_lsa_and_the_enlarged_space(d):
    gen = torch.Generator().manual_seed(100 + d)
    n = 7
    pb = sample_prompts(ChainLaw.default("1/3"), d, n, 256, seed=d)
    Z_tok = pb.Z0.transpose(1, 2)                           # (B, n+1, d+1), token-major
    assert Z_tok.shape == (256, n + 1, d + 1) and bool((Z_tok[:, n, d] == 0).all())
    for _ in range(3):
        P0 = torch.randn(d, d, generator=gen, dtype=torch.float64)
        Q0 = torch.randn(d, d, generator=gen, dtype=torch.float64)
        theirs = ahn_prediction(Z_tok, P0, Q0)
        net = _model(d, Q0)
        ours = net(pb.Z0)
        assert torch.allclose(theirs, ours, rtol=0, atol=TOL)
        b, A = one_layer_params(net)
        assert torch.allclose(theirs, enlarged_features(pb.Z0) @ phi(b, A), rtol=0, atol=TOL)
        # their formula in words: yhat = -(1/n) sum_i y_i x_q^T Q0 x_i
        x, y, xq = Z_tok[:, :n, :d], Z_tok[:, :n, d], Z_tok[:, n, :d]
        assert torch.allclose(theirs, -torch.einsum("bi,ij,bkj,bk->b", xq, Q0, x, y) / n, rtol=0, atol=TOL)
        # P0 does not reach the prediction
        for P1 in (torch.zeros(d, d, dtype=torch.float64), 10 * torch.randn(d, d, generator=gen, dtype=torch.float64)):
            assert torch.allclose(ahn_prediction(Z_tok, P1, Q0), theirs, rtol=0, atol=TOL)
        # ... though it does change the other entries of their output (the check would notice a dead P)
        assert not torch.allclose(ahn_layer(Z_tok, 2 * P0 + 1, Q0)[:, :, :d], ahn_layer(Z_tok, P0, Q0)[:, :, :d])


@pytest.mark.parametrize("d", [1, 2, 3])
def test_ahn_prediction_on_real_valued_tokens(d):
    """The identity is algebraic: it holds off the binary prompts too (Gaussian tokens, query label 0)."""
    gen = torch.Generator().manual_seed(7 + d)
    n = 5
    Z0 = torch.randn(64, d + 1, n + 1, generator=gen, dtype=torch.float64)
    Z0[:, d, n] = 0
    Q0 = torch.randn(d, d, generator=gen, dtype=torch.float64)
    P0 = torch.randn(d, d, generator=gen, dtype=torch.float64)
    theirs = ahn_prediction(Z0.transpose(1, 2), P0, Q0)
    net = _model(d, Q0)
    assert torch.allclose(theirs, net(Z0), rtol=0, atol=TOL)
    assert torch.allclose(theirs, enlarged_features(Z0) @ phi(*one_layer_params(net)), rtol=0, atol=TOL)
