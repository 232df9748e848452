"""One-layer softmax attention over the context labels, as a torch model (theory §14).

The numeric twin of :mod:`markov_icl.symbolic.softmax`: Huang, Cheng and Liang's form

    yhat_q = sum_{i<=n} y_i softmax_i(xt_i^T Q xt_q),   xt = (x, 1),

read from a prompt ``Z0 (B, d+1, n+1)`` (columns ``z_i = (x_i, y_i)``, query ``(x_q, 0)``). ``Q`` is a
plain ``(d+1) x (d+1)`` parameter, so a trained model's exact population loss is
``SoftmaxLoss(...).loss(model.Q)``. It differs from the GPT-2 model of Figs. 6-7
(:mod:`markov_icl.numeric.softmax`), which adds value and output maps, MLPs, layer norms and position
embeddings; positions break the exchangeability of the context chains, so that model's loss is a sum
over ordered chain sequences, not over type counts.

Examples:
    >>> import torch
    >>> from markov_icl import ChainLaw, sample_prompts
    >>> pb = sample_prompts(ChainLaw.default("1/2"), d=1, n=4, batch=3, seed=0)
    >>> model = SoftmaxAttention(1)                      # Q = 0: the mean context label
    >>> torch.allclose(model(pb.Z0), pb.Z0[:, 1, :4].mean(1))
    True
"""

from __future__ import annotations

import torch
from torch import nn

from markov_icl.errors import MarkovICLError, check_int


class SoftmaxAttention(nn.Module):
    """``yhat = sum_i y_i softmax_i(xt_i^T Q xt_q)`` with a trainable ``Q`` (module docstring).

    Args:
        d: chain input length.
        init_scale: standard deviation of Q's initial entries (0: Q = 0, uniform attention).
        seed: seeds the initialisation.
        dtype: float dtype of Q.

    Examples:
        >>> tuple(SoftmaxAttention(2, init_scale=0.1).Q.shape)
        (3, 3)
    """

    def __init__(self, d: int, init_scale: float = 0.0, seed: int = 0, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        self.d = check_int("d", d, 1)
        if not (isinstance(init_scale, (int, float)) and init_scale >= 0 and init_scale == init_scale
                and init_scale != float("inf")):
            raise MarkovICLError(f"init_scale must be a finite number >= 0, got {init_scale!r}")
        g = torch.Generator().manual_seed(seed)
        Q = torch.randn(d + 1, d + 1, generator=g, dtype=dtype) * float(init_scale)
        self.Q = nn.Parameter(Q)

    def scores(self, Z0: torch.Tensor) -> torch.Tensor:
        """``xt_i^T Q xt_q``, shape ``(B, n)``."""
        if Z0.ndim != 3 or Z0.shape[1] != self.d + 1 or Z0.shape[2] < 2:
            raise MarkovICLError(f"prompts must have shape (B, d+1, n+1) with d = {self.d}, n >= 1, got {tuple(Z0.shape)}")
        Z0 = Z0.to(dtype=self.Q.dtype, device=self.Q.device)
        B, _, T = Z0.shape
        ones = torch.ones(B, 1, T, dtype=Z0.dtype, device=Z0.device)
        xt = torch.cat([Z0[:, : self.d, :], ones], 1)  # (B, d+1, n+1)
        return torch.einsum("bui,uw,bw->bi", xt[:, :, :-1], self.Q, xt[:, :, -1])

    def attention(self, Z0: torch.Tensor) -> torch.Tensor:
        """The query's attention weights on the context chains, ``(B, n)``."""
        return self.scores(Z0).softmax(-1)

    def forward(self, Z0: torch.Tensor) -> torch.Tensor:
        """``yhat (B,)``."""
        att = self.attention(Z0)  # checks the shape
        y = Z0[:, self.d, :-1].to(dtype=self.Q.dtype, device=self.Q.device)
        return (att * y).sum(-1)


__all__ = ["SoftmaxAttention"]
