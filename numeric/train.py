"""Training LSA models on sampled Markov prompts (theory §2 loss, no factor 1/2).

Each step minimises the empirical loss ``(1/B) sum_b (yhat_b - y_{q,b})^2`` over a batch
of prompts, with Adam or SGD. Prompts are fresh every step (``online=True``, a stochastic
gradient of the population loss ``f``) or drawn from one fixed dataset (``online=False``,
the paper's setting of ``B`` training prompts). One seed fixes the data stream and the
minibatch order; the model's initialisation is fixed by its own seed. Runs are
reproducible bit-for-bit on CPU (same torch build and thread count).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from markov_icl.errors import Diverged, MarkovICLError, check_int
from markov_icl.numeric.prompts import PromptBatch, sample_prompts
from markov_icl.progress import Progress
from markov_icl.symbolic.laws import ChainLaw

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "cosine")


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained model (the same object that was passed in).
        losses: the training loss of every step (before that step's update).
        seconds: wall time of the loop.
        config: the settings of the run (steps, batch, lr, optimizer, seed, online, ...).
    """

    model: nn.Module
    losses: list[float]
    seconds: float
    config: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        """Short: the model's class, the run's size and its last loss (the loss list is ``losses``)."""
        c = self.config
        last = f"{self.losses[-1]:.6g}" if self.losses else "-"
        return (f"TrainResult(model={type(self.model).__name__}, steps={len(self.losses)}, batch={c.get('batch')}, "
                f"lr={c.get('lr')}, seed={c.get('seed')}, final_loss={last}, seconds={self.seconds:.2f})")

    def _repr_markdown_(self) -> str:
        """The run as Jupyter shows it: its settings and its training loss at a few steps."""
        from markov_icl.display import markdown_table

        k = len(self.losses)
        marks = sorted({0, k // 4, k // 2, 3 * k // 4, k - 1}) if k else []
        settings = ", ".join(f"{key} = {v}" for key, v in self.config.items() if v is not None)
        table = markdown_table(("step", "training loss"), [(s + 1, f"{self.losses[s]:.6g}") for s in marks])
        return f"**TrainResult**: {type(self.model).__name__}, {self.seconds:.2f} s; {settings}\n\n{table}"

    def to_dict(self) -> dict:
        """JSON-ready: the settings, the per-step losses and the seconds (not the model)."""
        return {"model": type(self.model).__name__, "config": dict(self.config), "losses": list(self.losses),
                "seconds": self.seconds}


def train_seconds(steps: int, batch: int, n: int, d: int, layers: int = 1, online: bool = True) -> float:
    """A rough estimate of :func:`train`'s seconds for an LSA, from rates measured on a 2-core machine (one torch
    thread): about 0.5 ms per step and layer, 30 ns per sampled prompt entry (fresh prompts), 8 ns per entry, row
    and layer for the forward and backward pass (entries: ``batch (n + 1) (d + 1)``). Within a factor of 2 of the
    measured runs from d = 1 to 10 and 1 to 10 layers.

    Examples:
        >>> round(train_seconds(1500, 1024, 10, 1), 1)       # verify's default run: 2.0-3.0 s measured
        3.1
    """
    entries = batch * (n + 1) * (d + 1)
    return steps * (5e-4 * (1 + layers) + (3e-8 * entries if online else 0.0) + 8e-9 * entries * (d + 1) * layers)


def _lr_at(step: int, steps: int, lr: float, schedule: str, lr_final: float) -> float:
    if schedule == "constant":
        return lr
    frac = step / max(steps - 1, 1)  # cosine from lr to lr_final
    return lr_final + 0.5 * (lr - lr_final) * (1 + math.cos(math.pi * frac))


def train(model: nn.Module, law: ChainLaw, d: int, n: int, *, steps: int, batch: int, lr: float,
          optimizer: str = "adam", seed: int = 0, online: bool = True, dataset_size: int | None = None,
          schedule: str = "constant", lr_final: float = 0.0, progress: bool = True,
          callback: Callable[[int, nn.Module, float], None] | None = None,
          sampler: Callable[[int, torch.Generator], PromptBatch] | None = None,
          clip: float | None = None, device: str | torch.device | None = None,
          loss_fn: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> TrainResult:
    """Train ``model`` on prompts of ``law`` with the squared loss of theory §2.

    Args:
        model: any module mapping ``Z0 (B, d+1, n+1)`` to ``yhat (B,)``.
        law: numeric chain law (see :func:`markov_icl.numeric.prompts.sample_prompts`).
        d, n: chain input length and number of context chains.
        steps, batch, lr: optimisation steps, prompts per step, learning rate.
        optimizer: ``"adam"`` or ``"sgd"``.
        seed: seed of the data stream and of the minibatch order.
        online: fresh prompts every step; if False, a fixed dataset of ``dataset_size``
            prompts (default ``batch``: full-batch training) sampled once.
        schedule: ``"constant"`` or ``"cosine"`` (from ``lr`` down to ``lr_final``).
        progress: report progress (:class:`~markov_icl.progress.Progress`: a bar on a terminal or in a
            notebook, a line every 30 s in a log; a start line when the run is estimated at 10 s or more).
        callback: called as ``callback(step, model, loss)`` after every step.
        sampler: ``sampler(batch, generator) -> PromptBatch`` instead of ``law`` (e.g. the
            multi-state chains of :mod:`markov_icl.numeric.multistate`); ``law`` is then ignored.
        clip: clip the gradient norm to this before each step (None: no clipping).
        device: move every batch there before the forward pass (the model must already be
            there); prompts are sampled on the CPU either way, so the data stream does not
            depend on the device.
        loss_fn: ``loss_fn(model, Z0, y) -> scalar`` instead of the squared loss (e.g. the
            cross-entropy of a classifier, :mod:`markov_icl.numeric.softmax`).

    Returns:
        A :class:`TrainResult` with the per-step training losses.

    Raises:
        Diverged: when a training loss or a final parameter is not finite.

    Examples:
        >>> from markov_icl import ChainLaw, SparseLSA
        >>> res = train(SparseLSA(1, seed=0), ChainLaw.default("1/2"), 1, 10, steps=20, batch=64, lr=0.05,
        ...             progress=False)
        >>> len(res.losses), res.losses[-1] < res.losses[0]
        (20, True)
    """
    if not isinstance(model, nn.Module):
        raise MarkovICLError(f"train needs a torch model (e.g. markov_icl.DenseLSA(d)), got {type(model).__name__}")
    check_int("steps", steps)
    check_int("batch", batch)
    if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise MarkovICLError(f"lr must be a finite number > 0, got {lr!r}")
    if optimizer not in OPTIMIZERS:
        raise MarkovICLError(f"unknown optimizer {optimizer!r}; allowed: {', '.join(OPTIMIZERS)}")
    if schedule not in SCHEDULES:
        raise MarkovICLError(f"unknown schedule {schedule!r}; allowed: {', '.join(SCHEDULES)}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise MarkovICLError("the model has no trainable parameters")
    dtype = params[0].dtype
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else torch.optim.SGD(params, lr=lr)
    if sampler is None:
        def sampler(size, generator):
            return sample_prompts(law, d, n, size, generator=generator, dtype=dtype)
    data = None
    if not online:
        size = check_int("dataset_size", dataset_size if dataset_size is not None else batch)
        data = sampler(size, gen)
        batch = min(batch, size)
    losses: list[float] = []
    bar = Progress("train", steps, unit="step", enabled=progress, what=f"{steps} steps x {batch} prompts",
                   estimate=train_seconds(steps, batch, n, d, layers=int(getattr(model, "layers", 1) or 1),
                                          online=online))
    t0 = time.perf_counter()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, steps, lr, schedule, lr_final)
        if data is None:
            pb = sampler(batch, gen)
            Z0, y = pb.Z0, pb.y
        elif batch == len(data):
            Z0, y = data.Z0, data.y
        else:
            sel = torch.randperm(len(data), generator=gen)[:batch]
            Z0, y = data.Z0[sel], data.y[sel]
        if device is not None:
            Z0, y = Z0.to(device), y.to(device)
        loss = ((model(Z0) - y) ** 2).mean() if loss_fn is None else loss_fn(model, Z0, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        value = float(loss.detach())
        if not math.isfinite(value):
            bar.close()
            raise Diverged(f"training diverged at step {step + 1} of {steps}: the training loss is {value}; lower the "
                           "learning rate or the initial scale")
        losses.append(value)
        if callback is not None:
            callback(step, model, value)
        bar.update(1)
        if step % 50 == 0:
            bar.set_postfix(loss=f"{value:.5f}")
    bar.close()
    if not all(bool(torch.isfinite(p).all()) for p in params):
        raise Diverged(f"training diverged: a parameter is not finite after {steps} steps; lower the learning rate or "
                       "the initial scale")
    config = dict(steps=steps, batch=batch, lr=lr, optimizer=optimizer, seed=seed, online=online,
                  dataset_size=None if data is None else len(data), schedule=schedule, lr_final=lr_final, d=d, n=n)
    return TrainResult(model, losses, time.perf_counter() - t0, config)


__all__ = ["TrainResult", "train", "train_seconds", "OPTIMIZERS", "SCHEDULES"]
