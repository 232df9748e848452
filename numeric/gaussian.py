"""Seeded sampling of Gaussian linear-regression prompts (the law of :mod:`markov_icl.symbolic.gaussian`).

Per prompt ``w ~ N(0, tau2 I_d)``; the ``n`` context points and the query are ``x_i ~ N(0, Sigma)``,
``Sigma = diag(sigma_diag)``, with ``y_i = w^T x_i + eps_i``, ``eps_i ~ N(0, noise2)``. The embedding is the
one of theory §1, ``Z0 = [z_1, ..., z_n, (x_q, 0)]``, so :func:`markov_icl.numeric.prompts.enlarged_features`
and :func:`markov_icl.numeric.montecarlo.estimate_objective` (through its ``sampler`` argument) apply unchanged.
"""

from __future__ import annotations

import math

import sympy as sp
import torch

from markov_icl.errors import MarkovICLError, check_int
from markov_icl.limits import check_prompt_entries
from markov_icl.numeric.prompts import PromptBatch, make_generator
from markov_icl.symbolic.gaussian import GaussianLaw


def _float(value, what: str) -> float:
    e = sp.sympify(value)
    if e.free_symbols:
        raise MarkovICLError(f"cannot sample a Gaussian law with symbolic {what} = {e}; fix it to a number")
    return float(e)


def sample_gaussian_prompts(law: GaussianLaw, d: int, n: int, batch: int, *, generator: torch.Generator | None = None,
                            seed: int | None = None, dtype: torch.dtype = torch.float64,
                            device: str | torch.device = "cpu") -> PromptBatch:
    """Draw ``batch`` Gaussian linear-regression prompts of ``n`` context points and one query.

    The stream is consumed in a fixed order (``w``, then every ``x``, then every ``eps``, the noise drawn even when
    ``noise2 = 0``), so one seed gives the same ``w`` and ``x`` for every noise level.

    Args:
        law: a :class:`~markov_icl.symbolic.gaussian.GaussianLaw` with numeric parameters; ``d`` must be its dimension.
        d, n, batch: input dimension, context points (>= 1), prompts (>= 1).
        generator, seed: the random stream (one of them; neither: torch's global one).

    Returns:
        A :class:`~markov_icl.numeric.prompts.PromptBatch`: ``Z0`` ``(B, d+1, n+1)`` with the query column
        ``(x_q, 0)``, ``y`` ``(B,)`` the hidden ``y_q``. Its ``chains`` field (required by ``PromptBatch``) holds the
        ``(B, n+1, d+1)`` rows ``(x_i, y_i)``, the query last with its true label; ``kernel`` (no meaning for this
        family) is ``(B, 2)`` zeros.

    Raises:
        MarkovICLError: for a symbolic law, a law of another dimension, or bad sizes.

    Examples:
        >>> pb = sample_gaussian_prompts(GaussianLaw((1, "1/2")), 2, 5, 3, seed=0)
        >>> tuple(pb.Z0.shape), tuple(pb.y.shape), tuple(pb.chains.shape), float(pb.Z0[:, 2, 5].abs().max())
        ((3, 3, 6), (3,), (3, 6, 3), 0.0)
        >>> bool((pb.chains[:, 5, 2] == pb.y).all())
        True
    """
    check_int("d", d, 1)
    check_int("n", n, 1)
    check_int("batch", batch, 1)
    check_prompt_entries("batch", batch, n, d)
    if not isinstance(law, GaussianLaw):
        raise MarkovICLError(f"law must be a markov_icl.symbolic.gaussian.GaussianLaw, got {type(law).__name__}")
    law._check_d(d)
    sig = torch.tensor([math.sqrt(_float(s, f"sigma_diag[{k}]")) for k, s in enumerate(law.sigma_diag, 1)],
                       dtype=dtype, device=device)
    tau = math.sqrt(_float(law.tau2, "tau2"))
    noise = math.sqrt(_float(law.noise2, "noise2"))
    gen = make_generator(generator, seed, device)
    w = tau * torch.randn(batch, d, generator=gen, dtype=dtype, device=device)
    x = torch.randn(batch, n + 1, d, generator=gen, dtype=dtype, device=device) * sig
    eps = noise * torch.randn(batch, n + 1, generator=gen, dtype=dtype, device=device)
    y = torch.einsum("bid,bd->bi", x, w) + eps
    chains = torch.cat([x, y.unsqueeze(-1)], -1)  # (B, n+1, d+1)
    Z0 = chains.transpose(1, 2).contiguous()
    yq = Z0[:, d, n].clone()
    Z0[:, d, n] = 0
    kernel = torch.zeros(batch, 2, dtype=dtype, device=device)
    return PromptBatch(Z0=Z0, y=yq, chains=chains, kernel=kernel)


__all__ = ["sample_gaussian_prompts"]
