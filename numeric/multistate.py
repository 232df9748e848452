"""Sampling S-state Markov-chain prompts (theory §8, Lemma C.8) and their enlarged-space moments.

Per prompt: every row of the kernel ``K`` is drawn ``Dirichlet(alpha 1)`` independently,
the ``n + 1`` initial states are i.i.d. uniform on ``{0, ..., S-1}``, and every chain of
the prompt moves with that ``K``. States are used as numbers. The result has the shape
of :class:`markov_icl.numeric.prompts.PromptBatch` (``Z0 (B, d+1, n+1)``, ``y (B,)``,
``chains (B, n+1, d+1)``, ``kernel (B, S, S)``), so the LSA models and the training loop
accept it unchanged.

Randomness: one NumPy ``Generator`` (PCG64) seeded from ``seed``, or from one draw of a
given ``torch.Generator``; results are reproducible bit-for-bit.
"""

from __future__ import annotations

import numpy as np
import torch

from markov_icl.errors import MarkovICLError, check_int
from markov_icl.limits import check_prompt_entries
from markov_icl.numeric.prompts import PromptBatch, _assemble


def _rng(generator: torch.Generator | None, seed: int | None) -> np.random.Generator:
    if generator is not None and seed is not None:
        raise MarkovICLError("give either a generator or a seed, not both")
    if generator is not None:
        return np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator).item()))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise MarkovICLError(f"seed must be an integer, got {seed!r}")
    return np.random.default_rng(seed)


def sample_multistate(S: int, d: int, n: int, batch: int, *, alpha: float = 1.0,
                      generator: torch.Generator | None = None, seed: int | None = None,
                      dtype: torch.dtype = torch.float64) -> PromptBatch:
    """Draw ``batch`` prompts of ``n`` context chains and one query chain on S states (theory §8).

    Args:
        S: number of states (>= 2); states are the numbers ``0..S-1``.
        d, n, batch: chain input length (>= 1), context chains (>= 1), prompts (>= 1).
        alpha: Dirichlet concentration of every kernel row (> 0).
        generator, seed: the random stream (one of them; neither: fresh entropy).

    Returns:
        A :class:`PromptBatch`; ``kernel`` holds the ``(B, S, S)`` transition matrices.

    Examples:
        >>> pb = sample_multistate(3, d=2, n=4, batch=2, alpha=0.5, seed=0)
        >>> tuple(pb.Z0.shape), tuple(pb.kernel.shape), int(pb.chains.max()) <= 2
        ((2, 3, 5), (2, 3, 3), True)
    """
    check_int("S", S, 2)
    check_int("d", d, 1)
    check_int("n", n, 1)
    check_int("batch", batch, 1)
    check_prompt_entries("batch", batch, n, d)
    if not float(alpha) > 0:
        raise MarkovICLError(f"Dirichlet alpha must be > 0, got {alpha}")
    rng = _rng(generator, seed)
    K = rng.dirichlet(np.full(S, float(alpha)), size=(batch, S))  # (B, S, S), rows sum to 1
    cdf = np.cumsum(K, axis=-1)
    cdf[..., -1] = np.inf  # the last state takes any rounding remainder
    s = rng.integers(0, S, size=(batch, n + 1))
    states = [s]
    u = rng.random((d, batch, n + 1))
    b_idx = np.arange(batch)[:, None]
    for t in range(d):
        rows = cdf[b_idx, s]  # (B, n+1, S): the cdf of the row of the current state
        s = (u[t][..., None] >= rows).sum(-1)
        states.append(s)
    chains = torch.as_tensor(np.stack(states, -1), dtype=dtype)  # (B, n+1, d+1)
    return _assemble(chains, torch.as_tensor(K, dtype=dtype))


def monte_carlo_moments(S: int, d: int, n: int, samples: int, *, alpha: float = 1.0, seed: int = 0,
                        chunk: int = 100_000) -> dict[str, np.ndarray]:
    """Monte Carlo means and standard errors of ``H``, ``h`` and ``E[y^2]`` for S-state prompts (Lemma C.8):
    :func:`markov_icl.numeric.montecarlo.estimate_objective` with :func:`sample_multistate` as the sampler.

    Returns:
        ``{"H", "H_se", "h", "h_se", "E_y2", "E_y2_se"}`` as float arrays.
    """
    from markov_icl.numeric.montecarlo import estimate_objective

    def sampler(batch, generator):
        return sample_multistate(S, d, n, batch, alpha=alpha, generator=generator)

    est = estimate_objective(None, d, n, samples, seed=seed, chunk=chunk, sampler=sampler)
    out = {}
    for key, e in (("H", est.H), ("h", est.beta), ("E_y2", est.E_y2)):
        out[key], out[key + "_se"] = e.mean.numpy(), e.stderr.numpy()
    return out


def known_kernel_predictions(pb) -> torch.Tensor:
    """The known-kernel rule, ``argmax_j K[s_{q,d}, j]`` (ties: the lower state): an oracle that sees each prompt's
    kernel K. Its expected accuracy bounds that of every rule that sees only the prompt; it is no in-context
    learner (the best of those, the posterior-predictive Bayes rule, does not know K)."""
    chains = pb.chains.long()
    B, n1, L1 = chains.shape
    last = chains[:, n1 - 1, L1 - 2]
    return pb.kernel[torch.arange(B), last].argmax(-1).double()


def count_predictions(pb, states: int) -> torch.Tensor:
    """The most frequent successor of ``s_{q,d}`` among the context transitions (ties: the lower state;
    a state never left in the context predicts itself)."""
    chains = pb.chains.long()  # (B, n+1, d+1)
    B, n1, L1 = chains.shape
    last = chains[:, n1 - 1, L1 - 2]
    ctx = chains[:, : n1 - 1]
    src, dst = ctx[:, :, :-1].reshape(B, -1), ctx[:, :, 1:].reshape(B, -1)
    counts = torch.zeros(B, states, states, dtype=torch.float64)
    counts.index_put_((torch.arange(B)[:, None].expand_as(src), src, dst), torch.ones_like(src, dtype=torch.float64),
                      accumulate=True)
    row = counts[torch.arange(B), last]
    return torch.where(row.sum(-1) > 0, row.argmax(-1), last).double()


def majority_predictions(pb, states: int) -> torch.Tensor:
    """The most frequent label among the prompt's context chains (ties: the lower state): the rule that ignores
    the query."""
    y = pb.chains[:, :-1, -1].long()  # (B, n) context labels
    counts = torch.zeros(y.shape[0], states, dtype=torch.float64)
    counts.scatter_add_(1, y, torch.ones_like(y, dtype=torch.float64))
    return counts.argmax(-1).double()


__all__ = ["sample_multistate", "monte_carlo_moments", "known_kernel_predictions", "count_predictions",
           "majority_predictions"]
