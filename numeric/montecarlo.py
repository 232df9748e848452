"""Unbiased Monte Carlo estimators with standard errors (theory §3).

Over i.i.d. prompts from :func:`markov_icl.numeric.prompts.sample_prompts`, with
``psi = x_q (kron) g`` (:func:`markov_icl.numeric.prompts.enlarged_features`):

    H      = E[psi psi^T],   beta = E[y_q psi],   E[y^2] = E[y_q^2],
    f(model) = E[(yhat - y_q)^2].

Each estimate is the sample mean over ``samples`` prompts (unbiased), and its standard
error is the sample standard deviation over sqrt(samples). Prompts are drawn in chunks so
memory stays bounded; a seed fixes the result bit-for-bit on CPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from markov_icl.errors import MarkovICLError, check_int
from markov_icl.limits import MAX_PROMPT_ENTRIES, check_mc_entries, prompts_per_chunk
from markov_icl.numeric.prompts import enlarged_features, make_generator, sample_prompts
from markov_icl.symbolic.laws import ChainLaw


@dataclass
class Estimate:
    """A Monte Carlo mean and its standard error (same shape), over ``samples`` prompts."""

    mean: torch.Tensor
    stderr: torch.Tensor
    samples: int

    def z_scores(self, exact) -> torch.Tensor:
        """``(mean - exact) / stderr`` elementwise (entries with zero stderr must match exactly)."""
        exact = torch.as_tensor(exact, dtype=self.mean.dtype)
        diff = self.mean - exact
        safe = torch.where(self.stderr > 0, self.stderr, torch.ones_like(self.stderr))
        return torch.where(self.stderr > 0, diff / safe, torch.where(diff.abs() > 1e-12, torch.inf, 0.0))


@dataclass
class ObjectiveEstimate:
    """Monte Carlo estimates of ``H``, ``beta`` and ``E[y^2]`` (theory §3)."""

    H: Estimate
    beta: Estimate
    E_y2: Estimate


class _Moments:
    """Running sums of x and x^2 for a mean and a standard error."""

    def __init__(self) -> None:
        self.s1: torch.Tensor | None = None
        self.s2: torch.Tensor | None = None
        self.count = 0

    def add(self, x: torch.Tensor) -> None:
        s1, s2 = x.sum(0), (x * x).sum(0)
        self.s1 = s1 if self.s1 is None else self.s1 + s1
        self.s2 = s2 if self.s2 is None else self.s2 + s2
        self.count += x.shape[0]

    def estimate(self) -> Estimate:
        N = self.count
        if self.s1 is None or self.s2 is None:
            raise MarkovICLError("no samples were added")
        mean = self.s1 / N
        var = (self.s2 - N * mean * mean).clamp_min(0) / max(N - 1, 1)
        return Estimate(mean, (var / N).sqrt(), N)


def _law(law: ChainLaw | None) -> ChainLaw:
    """The chain law to sample from (a sampler replaces it; without one it is required)."""
    if law is None:
        raise MarkovICLError("give a chain law or a sampler")
    return law


def _chunks(samples: int, chunk: int):
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
        raise MarkovICLError(f"samples must be an integer >= 2, got {samples!r}")
    while samples > 0:
        k = min(chunk, samples)
        yield k
        samples -= k


def estimate_objective(law: ChainLaw | None, d: int, n: int, samples: int, *, seed: int | None = 0,
                       generator: torch.Generator | None = None, chunk: int = 20000,
                       sampler=None) -> ObjectiveEstimate:
    """Unbiased estimates of ``H = E[psi psi^T]``, ``beta = E[y_q psi]``, ``E[y^2]`` (theory §3).

    Returns an :class:`ObjectiveEstimate`; ``H.mean`` is ``(dm, dm)``, ``beta.mean`` ``(dm,)``.
    ``sampler(batch, generator) -> PromptBatch`` replaces the binary sampler of ``law`` (e.g. the
    S-state prompts of :func:`markov_icl.numeric.multistate.sample_multistate`).

    Examples:
        >>> from markov_icl import ChainLaw, solve
        >>> est = estimate_objective(ChainLaw.default("1/2"), 1, 5, 20_000, seed=0)
        >>> exact = solve(1, "1/2", 5).beta_float
        >>> bool((est.beta.z_scores(exact).abs() < 5).all())      # within 5 standard errors
        True
    """
    check_int("d", d)
    check_int("n", n)
    check_mc_entries("samples", check_int("samples", samples), n, d)
    gen = make_generator(generator, seed)
    dm = d * (d + 1) * (d + 2) // 2
    # bound the (chunk, dm, dm) outer products and the (chunk, n+1, d+1) prompts (markov_icl.limits)
    chunk = max(1, min(chunk, MAX_PROMPT_ENTRIES // (2 * dm * dm), prompts_per_chunk(n, d)))
    mh, mb, my = _Moments(), _Moments(), _Moments()
    for k in _chunks(samples, chunk):
        pb = sampler(k, gen) if sampler is not None else sample_prompts(_law(law), d, n, k, generator=gen)
        psi = enlarged_features(pb.Z0)
        mh.add(psi.unsqueeze(2) * psi.unsqueeze(1))
        mb.add(pb.y.unsqueeze(1) * psi)
        my.add(pb.y * pb.y)
    return ObjectiveEstimate(mh.estimate(), mb.estimate(), my.estimate())


@torch.no_grad()
def estimate_loss(model: nn.Module, law: ChainLaw, d: int, n: int, samples: int, *, seed: int | None = 0,
                  generator: torch.Generator | None = None, chunk: int = 20000) -> Estimate:
    """Unbiased estimate of a model's population loss ``f = E[(yhat - y_q)^2]`` (theory §2).

    Examples:
        >>> from markov_icl import ChainLaw, SparseLSA, one_layer_params, solve
        >>> model = SparseLSA(1, seed=0)
        >>> est = estimate_loss(model, ChainLaw.default("1/2"), 1, 5, 20_000, seed=0)
        >>> exact = float(solve(1, "1/2", 5).loss(*(t.numpy() for t in one_layer_params(model))))
        >>> abs(float(est.mean) - exact) < 5 * float(est.stderr)
        True
    """
    if not isinstance(model, nn.Module) or not any(True for _ in model.parameters()):
        raise MarkovICLError(f"estimate_loss needs a torch model with parameters, got {type(model).__name__}")
    check_int("d", d)
    check_int("n", n)
    check_mc_entries("samples", check_int("samples", samples), n, d)
    gen = make_generator(generator, seed)
    m = _Moments()
    dtype = next(model.parameters(), torch.zeros((), dtype=torch.float64)).dtype  # parameter-free models: float64
    chunk = min(chunk, prompts_per_chunk(n, d))
    for k in _chunks(samples, chunk):
        pb = sample_prompts(law, d, n, k, generator=gen, dtype=dtype)
        m.add((model(pb.Z0) - pb.y) ** 2)
    return m.estimate()


def mean_and_stderr(values: torch.Tensor) -> tuple[float, float]:
    """The mean of a 1-d sample and its standard error ``std / sqrt(N)``."""
    N = values.numel()
    if N < 2:
        raise MarkovICLError("need at least two samples for a standard error")
    return float(values.mean()), float(values.std(unbiased=True)) / math.sqrt(N)


def accuracy(pred: torch.Tensor, y: torch.Tensor, states: int = 2) -> float:
    """Fraction of predictions that, rounded to the nearest state in ``0..states-1``, equal y (theory §9)."""
    return float((pred.round().clamp(0, states - 1) == y).double().mean())


__all__ = ["Estimate", "ObjectiveEstimate", "estimate_objective", "estimate_loss", "mean_and_stderr", "accuracy"]
