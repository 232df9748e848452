"""Vectorised, seeded sampling of Markov-chain prompts (theory §1) and their features (theory §3).

A prompt holds ``n`` context chains and one query chain ``s_1, ..., s_{d+1}`` that share
one kernel ``K = [[1-a, a], [c, 1-c]]`` drawn from the chain law's kernel prior; the
``n + 1`` first states follow its initial law. The embedding is

    Z0 = [z_1, ..., z_n, (x_q, 0)]  in R^{(d+1) x (n+1)},   z_i = (x_i, y_i),

and the hidden label is ``y_q = s_{q, d+1}``. :func:`sample_prompts` accepts the same
:class:`markov_icl.symbolic.laws.ChainLaw` value object as the symbolic side; every parameter must
be numeric there (multi-state prompts, theory §8, are drawn by :mod:`markov_icl.numeric.multistate`).
:func:`enlarged_features` is the feature vector ``x_q (kron) g``
of theory §3 whose second moments are ``H`` and ``beta``.

Everything is vectorised over prompts and chains (the only Python loop runs over the
``d + 1`` positions of a chain) and driven by one ``torch.Generator``, so a seed fixes
the batch bit-for-bit on CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp
import torch

from markov_icl.errors import MarkovICLError, check_int
from markov_icl.limits import check_prompt_entries
from markov_icl.symbolic.laws import ChainLaw


@dataclass
class PromptBatch:
    """A batch of ``B`` prompts (theory §1).

    Attributes:
        Z0: ``(B, d+1, n+1)`` embedding; columns ``z_1..z_n`` and ``(x_q, 0)`` last.
        y: ``(B,)`` the hidden query labels ``y_q = s_{q,d+1}``.
        chains: ``(B, n+1, d+1)`` the states of every chain, the query chain last.
        kernel: ``(B, 2)`` the kernel ``(a, c)`` drawn for each prompt.
    """

    Z0: torch.Tensor
    y: torch.Tensor
    chains: torch.Tensor
    kernel: torch.Tensor

    @property
    def d(self) -> int:
        return self.Z0.shape[1] - 1

    @property
    def n(self) -> int:
        return self.Z0.shape[2] - 1

    def __len__(self) -> int:
        return self.Z0.shape[0]


def make_generator(generator: torch.Generator | None = None, seed: int | None = None,
                   device: str | torch.device = "cpu") -> torch.Generator | None:
    """The generator to draw from: ``generator`` if given, else a fresh one seeded with
    ``seed``, else ``None`` (torch's global generator)."""
    if generator is not None and seed is not None:
        raise MarkovICLError("give either a generator or a seed, not both")
    if generator is not None:
        return generator
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise MarkovICLError(f"seed must be an integer, got {seed!r}")
        return torch.Generator(device=device).manual_seed(seed)
    return None


def _float(x, what: str) -> float:
    """A numeric SymPy parameter as a float; symbols are refused."""
    e = sp.sympify(x)
    if e.free_symbols:
        raise MarkovICLError(
            f"cannot sample a law with symbolic {what} = {e}; fix it to a number (e.g. ChainLaw.default('1/2'))"
        )
    return float(e)


def _numpy_rng(gen: torch.Generator | None, device) -> np.random.Generator:
    """A NumPy generator seeded from the torch stream (for the Beta prior, which torch
    cannot draw from a given generator)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=gen, device=device).item())
    return np.random.default_rng(seed)


def sample_kernels(law: ChainLaw, batch: int, *, generator: torch.Generator | None = None,
                   dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> torch.Tensor:
    """``(batch, 2)`` kernels ``(a, c)`` from the kernel prior of ``law`` (theory §1)."""
    kl = law.kernel
    if kl.kind == "uniform":
        return torch.rand(batch, 2, generator=generator, dtype=dtype, device=device)
    if kl.kind == "fixed":
        a, c = (_float(v, name) for v, name in zip(kl.params, ("kernel a", "kernel c")))
        return torch.tensor([a, c], dtype=dtype, device=device).expand(batch, 2).clone()
    if kl.kind == "beta":
        aa, ba, ac, bc = (_float(v, nm) for v, nm in zip(kl.params, ("alpha_a", "beta_a", "alpha_c", "beta_c")))
        rng = _numpy_rng(generator, device)
        ak = rng.beta(aa, ba, size=batch)
        ck = rng.beta(ac, bc, size=batch)
        return torch.as_tensor(np.stack([ak, ck], 1), dtype=dtype, device=device)
    raise MarkovICLError(f"cannot sample kernel law {kl.kind!r}; allowed: uniform, beta, fixed")


def sample_initial_states(law: ChainLaw, batch: int, n: int, *, generator: torch.Generator | None = None,
                          dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu") -> torch.Tensor:
    """``(batch, n+1)`` initial states, the query's last (theory §1 initial laws).

    i.i.d.: every state ``Bern(p)``. query_conditional (Example C.5 included):
    ``s_q ~ Bern(p)``, then the context states i.i.d. ``Bern(pi_{s_q})``.

    Raises:
        MarkovICLError: for the moment-only ``correlated`` law (it fixes moments, not a law)
            or symbolic parameters.
    """
    init = law.init
    u = torch.rand(batch, n + 1, generator=generator, dtype=dtype, device=device)
    if init.kind == "iid":
        return (u < _float(init.p, "p")).to(dtype)
    if init.kind == "query_conditional":
        p = _float(init.p, "p")
        pi0, pi1 = (_float(v, nm) for v, nm in zip(init.pi, ("pi0", "pi1")))  # type: ignore[arg-type]
        sq = u[:, n:] < p
        pi = torch.where(sq, torch.tensor(pi1, dtype=dtype, device=device), torch.tensor(pi0, dtype=dtype, device=device))
        ctx = u[:, :n] < pi
        return torch.cat([ctx, sq], 1).to(dtype)
    check_sampleable(law)
    raise MarkovICLError(f"cannot sample initial law {init.kind!r}; allowed: iid, query_conditional, example_c5")


def check_sampleable(law: ChainLaw) -> None:
    """Refuse a law that has no sampler: the ``correlated`` initial law fixes moments, not a law.

    Raises:
        MarkovICLError: naming the laws that can be sampled.
    """
    if law.init.kind == "correlated":
        raise MarkovICLError(
            "the 'correlated' initial law fixes only the moments m_cq, m_cc, m_ccq, not a law to sample from; "
            "use iid, query_conditional or example_c5"
        )


def _assemble(chains: torch.Tensor, kernel: torch.Tensor) -> PromptBatch:
    """Z0 and y from the states ``(B, n+1, d+1)`` (theory §1 embedding)."""
    Z0 = chains.transpose(1, 2).contiguous()
    n, d = chains.shape[1] - 1, chains.shape[2] - 1
    y = Z0[:, d, n].clone()
    Z0[:, d, n] = 0
    return PromptBatch(Z0=Z0, y=y, chains=chains, kernel=kernel)


def sample_prompts(law: ChainLaw, d: int, n: int, batch: int, *, generator: torch.Generator | None = None,
                   seed: int | None = None, dtype: torch.dtype = torch.float64,
                   device: str | torch.device = "cpu") -> PromptBatch:
    """Draw ``batch`` prompts of ``n`` context chains and one query chain of length ``d+1``.

    Per prompt: ``(a, c)`` from the kernel prior, the ``n+1`` initial states from the
    initial law, then ``P(s_{t+1} = 1 | s_t) = a`` if ``s_t = 0`` and ``1 - c`` if
    ``s_t = 1`` for every chain of that prompt (theory §1: all chains share one K).

    Args:
        law: a binary chain law with numeric parameters (iid / query_conditional /
            example_c5 initial law; uniform / beta / fixed kernel).
        d, n, batch: chain input length (>= 1), context chains (>= 1), prompts (>= 1).
        generator, seed: the random stream (one of them; neither: torch's global one).

    Returns:
        A :class:`PromptBatch`.

    Raises:
        MarkovICLError: for symbolic parameters, the moment-only correlated law, or bad sizes.

    Examples:
        >>> from markov_icl import ChainLaw
        >>> pb = sample_prompts(ChainLaw.default("1/2"), d=2, n=5, batch=3, seed=0)
        >>> tuple(pb.Z0.shape), tuple(pb.y.shape), tuple(pb.chains.shape)
        ((3, 3, 6), (3,), (3, 6, 3))
    """
    check_int("d", d, 1)
    check_int("n", n, 1)
    check_int("batch", batch, 1)
    check_prompt_entries("batch", batch, n, d)
    if not isinstance(law, ChainLaw):
        raise MarkovICLError(f"law must be a markov_icl.ChainLaw, got {type(law).__name__}")
    gen = make_generator(generator, seed, device)
    kernel = sample_kernels(law, batch, generator=gen, dtype=dtype, device=device)
    s = sample_initial_states(law, batch, n, generator=gen, dtype=dtype, device=device)
    a = kernel[:, 0:1]
    stay1 = 1 - kernel[:, 1:2]
    states = [s]
    u = torch.rand(d, batch, n + 1, generator=gen, dtype=dtype, device=device)
    for t in range(d):  # P(s_{t+1} = 1 | s_t) = a + s_t (1 - c - a)
        prob1 = a + s * (stay1 - a)
        s = (u[t] < prob1).to(dtype)
        states.append(s)
    chains = torch.stack(states, -1)
    return _assemble(chains, kernel)


def gram(Z0: torch.Tensor) -> torch.Tensor:
    """``G = (1/n) sum_{i<=n} z_i z_i^T`` (theory §2), shape ``(B, d+1, d+1)``."""
    n = Z0.shape[-1] - 1
    ctx = Z0[..., :n]
    return torch.einsum("bik,bjk->bij", ctx, ctx) / n


def enlarged_features(Z0: torch.Tensor) -> torch.Tensor:
    """``x_q (kron) g`` (theory §3): entry ``r = (j-1) m + pos(u,v)`` is ``x_{q,j} G_{uv}``.

    Returns ``(B, d m)``; ``yhat = <X, features>`` for a one-layer LSA with ``X = phi(b, A)``.
    """
    D = Z0.shape[1]
    d = D - 1
    iu, iv = torch.triu_indices(D, D, device=Z0.device)  # row-major (u, v), u <= v
    g = gram(Z0)[:, iu, iv]  # (B, m)
    xq = Z0[:, :d, -1]  # (B, d)
    return (xq.unsqueeze(-1) * g.unsqueeze(1)).reshape(Z0.shape[0], -1)


__all__ = [
    "check_sampleable",
    "PromptBatch",
    "make_generator",
    "sample_kernels",
    "sample_initial_states",
    "sample_prompts",
    "gram",
    "enlarged_features",
]
