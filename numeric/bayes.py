"""The Bayes-optimal in-context predictor as a function of sampled prompts (theory §13).

:class:`BayesPredictor` reads a batch of prompts the way the models do (``Z0 (B, d+1, n+1)``,
columns ``z_i = (x_i, y_i)`` and the query ``(x_q, 0)``; states as numbers), counts the
transitions of the context chains (``d`` each) and of the query's first ``d`` states
(``d - 1``), and returns the posterior mean of the query's label,

    yhat = sum_j j P(y_q = j | prompt),   P(y_q = j | prompt) = (alpha_rj + N_rj) / (sum_j alpha_rj + N_r),

with r the query's last observed state (:func:`markov_icl.symbolic.bayes.posterior_predictive`, the
formula's one home). It is the predictor whose exact risk :func:`markov_icl.symbolic.bayes.bayes`
computes, so experiments can score it on the prompts they sample, beside trained models.
``probabilities`` gives the whole posterior predictive and ``predict_state`` its mode (the Bayes
0-1 rule; ties go to the lower state). A fixed kernel ignores the context: ``P(y_q = j) = K_rj``.

Examples:
    >>> from markov_icl import ChainLaw, sample_prompts
    >>> pb = sample_prompts(ChainLaw.default("1/2"), d=1, n=3, batch=2, seed=0)
    >>> bp = BayesPredictor()
    >>> tuple(bp(pb.Z0).shape), bool(((bp(pb.Z0) > 0) & (bp(pb.Z0) < 1)).all())
    ((2,), True)
    >>> type(bp(pb.Z0.numpy())).__name__                 # NumPy in, NumPy out
    'ndarray'

"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from markov_icl.errors import MarkovICLError
from markov_icl.symbolic.bayes import KernelPrior, posterior_predictive


def transition_counts(Z0: torch.Tensor, states: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, r)``: the ``(B, S, S)`` transition counts of a batch of prompts and the query's last observed state.

    The context chains contribute ``d`` transitions each (inputs and label), the query its first ``d``
    states (``d - 1`` transitions); the hidden label slot is not read.
    """
    if not isinstance(Z0, torch.Tensor):
        Z0 = torch.as_tensor(np.asarray(Z0))
    if Z0.ndim != 3 or Z0.shape[1] < 2 or Z0.shape[2] < 2:
        raise MarkovICLError(f"prompts must have shape (B, d+1, n+1) with d, n >= 1, got {tuple(Z0.shape)}")
    Zl = Z0.round().long()
    if bool((Zl < 0).any()) or bool((Zl >= states).any()):
        raise MarkovICLError(f"prompt states must be integers in 0..{states - 1}")
    B, L, T = Zl.shape
    d, n = L - 1, T - 1
    ctx = Zl[:, :, :n]  # (B, d+1, n) context chains as columns
    q = Zl[:, :d, n]  # (B, d) the query's observed states
    src = torch.cat([ctx[:, :-1, :].reshape(B, -1), q[:, :-1]], 1)
    dst = torch.cat([ctx[:, 1:, :].reshape(B, -1), q[:, 1:]], 1)
    N = torch.zeros(B, states * states, dtype=torch.float64, device=Z0.device)
    N.scatter_add_(1, src * states + dst, torch.ones_like(src, dtype=torch.float64))
    return N.reshape(B, states, states), q[:, -1]


class BayesPredictor(nn.Module):
    """The Bayes-optimal in-context predictor for a kernel prior (theory §13), a parameter-free module.

    Args:
        kernel: the kernel prior's spelling (``uniform``, ``beta:AA,BA,AC,BC``, ``fixed:A,C``, ``dirichlet:ALPHA``).
        states: the number of chain states S.

    Examples:
        >>> import torch
        >>> Z0 = torch.tensor([[[0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0]]])   # three chains and x_q = 0
        >>> BayesPredictor()(Z0)                      # (1 + N_01) / (2 + N_0) = 2 / 4
        tensor([0.5000])
    """

    def __init__(self, kernel: str = "uniform", states: int = 2) -> None:
        super().__init__()
        prior = KernelPrior.parse(kernel, states)
        self.states = prior.states
        self.kernel = prior.spec
        if prior.fixed is not None:
            self.register_buffer("fixed", torch.tensor([[float(v) for v in row] for row in prior.fixed],
                                                       dtype=torch.float64))
            self.register_buffer("alpha", torch.zeros(self.states, self.states, dtype=torch.float64))
        else:
            self.fixed = None
            assert prior.rows is not None
            self.register_buffer("alpha", torch.tensor([[float(v) for v in row] for row in prior.rows],
                                                       dtype=torch.float64))

    def probabilities(self, Z0: torch.Tensor) -> torch.Tensor:
        """``P(y_q = j | prompt)``, shape ``(B, S)`` (float64)."""
        N, r = transition_counts(Z0, self.states)
        B = N.shape[0]
        idx = torch.arange(B, device=N.device)
        if self.fixed is not None:
            return self.fixed.to(N.device)[r]
        alpha: torch.Tensor = self.alpha  # type: ignore[assignment]
        return posterior_predictive(N[idx, r], alpha.to(N.device)[r])

    def forward(self, Z0):
        """The posterior mean ``yhat = E[y_q | prompt]`` (states as numbers), shape ``(B,)``: a tensor in Z0's float
        dtype for a tensor, a float64 NumPy array for a NumPy array."""
        P = self.probabilities(Z0)
        yhat = P @ torch.arange(self.states, dtype=P.dtype, device=P.device)
        if not isinstance(Z0, torch.Tensor):
            return yhat.numpy()
        return yhat.to(Z0.dtype if Z0.is_floating_point() else torch.float64)

    def predict_state(self, Z0: torch.Tensor) -> torch.Tensor:
        """The posterior mode (the Bayes 0-1 rule; ties: the lower state), shape ``(B,)``, float."""
        return self.probabilities(Z0).argmax(-1).double()


__all__ = ["BayesPredictor", "transition_counts"]
