"""Fig. 4: sparse vs dense one-layer LSA training curves reach the same loss.

Setting (theory §9; the paper's, and the defaults: length-2 chains d = 1, n = 30, p = 0.3,
B = 100 prompts per step): binary chains, uniform kernel prior, i.i.d. Bernoulli(p) initial states. A one-layer
:class:`~markov_icl.numeric.lsa.DenseLSA` (dense ``P, Q``) and a
:class:`~markov_icl.numeric.lsa.SparseLSA` (``yhat = b^T G A x_q``) are trained by Adam on the
same stream of prompts (fresh every step, or a fixed dataset with ``dataset_size``) from
independent random initialisations. Only the last row of ``P`` and the first ``d`` columns
of ``Q`` enter a one-layer prediction (theory §2), so both models compute the same function
class.

Besides the noisy minibatch loss, every ``eval_every`` steps each model's population loss
is computed exactly from the derived objective, ``f~(phi(b, A))`` (theory §3), and the exact
``f~* = E[y^2] - beta^T X*`` is drawn as a line (a lower bound; reached only where X* is
realisable, theory §6), together with the best one-layer loss ``f* = min_{b,A} f(b, A)``
(variable projection). For d >= 2 the one-layer landscape has several local minima, so the
two models, started independently, can settle at slightly different levels between f* and
the worst local minimum; ``shared_init`` starts both at the same (b, A), and then the runs
coincide (the dense model's other entries get no gradient).

Outputs (atomic writes): ``fig4.csv`` (one row per step) and ``fig4.png``.

Examples:
    >>> result = run(Fig4Config(d=1, n=5, p="1/2", batch=16, steps=3, f_star=False))
    >>> len(result["rows"]), round(result["f_tilde_star"], 6)
    (3, 0.364583)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from markov_icl.errors import MarkovICLError
from markov_icl.experiments.config import Config, option
from markov_icl.io import pyplot, save_figure, write_csv
from markov_icl.limits import DEFAULT_MAX_D, HARD_MAX_D, MAX_STEPS, check_prompt_entries

MODELS = ("dense", "sparse")


@dataclass(frozen=True)
class Fig4Config(Config):
    """Options of Fig. 4 (the defaults are the paper's setting: d = 1, n = 30, p = 3/10, B = 100)."""

    PAPER: ClassVar[dict] = {"d": 1, "n": 30, "p": "3/10", "batch": 100}

    d: int = option(1, "chain input length d (the paper: 1, length-2 chains; at most --max-d)", "int>=1")
    max_d: int = option(DEFAULT_MAX_D["fig4"], "the largest d allowed (f* is certified up to d = 6)", "int>=1",
                        at_most=HARD_MAX_D, why="beyond it H alone has over 2e7 exact entries")
    n: int = option(30, "context chains (the paper: 30)", "int>=1")
    p: str = option("3/10", "initial-state probability, exact (the paper: 3/10)", "p")
    batch: int = option(100, "prompts per step B (the paper: 100)", "int>=1")
    steps: int = option(3000, "Adam steps", "int>=1", at_most=MAX_STEPS, why="one command")
    lr: float = option(0.01, "Adam learning rate", "float>0")
    schedule: str = option("cosine", "learning-rate schedule (cosine to 0 removes the minibatch noise floor)",
                           "choice", ("constant", "cosine"))
    init_scale: float = option(0.3, "std of the initial parameters", "float>0")
    seed: int = option(0, "seed of the prompts; model inits use seed and seed+1", "seed")
    dataset_size: int | None = option(None, "train on a fixed dataset of this many prompts (None: fresh prompts)",
                                      "int>=1?")
    eval_every: int = option(25, "steps between exact population losses", "int>=1")
    shared_init: bool = option(False, "start the sparse model at the dense model's (b, A)", "bool")
    f_star: bool = option(True, "compute the best one-layer loss f* (variable projection)", "bool")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.d > self.max_d:
            raise MarkovICLError(f"--d {self.d} is above fig4's limit {self.max_d} (raise it with --max-d)")
        check_prompt_entries("--batch", self.batch, self.n, self.d)
        if self.dataset_size is not None:
            check_prompt_entries("--dataset-size", self.dataset_size, self.n, self.d)


def estimate_seconds(config: Fig4Config) -> float:
    """A rough estimate of :func:`run`'s seconds: two training runs
    (:func:`~markov_icl.numeric.train.train_seconds`), an exact loss every ``eval_every`` steps, f*.

    Examples:
        >>> round(estimate_seconds(Fig4Config()))
        8
    """
    from markov_icl.limits import REALIZE_SECONDS
    from markov_icl.numeric.train import train_seconds

    c = config
    one = train_seconds(c.steps, c.batch, c.n, c.d, online=c.dataset_size is None)
    return 2 * one + 2 * (c.steps / c.eval_every) * 2e-4 * c.d ** 2 + (REALIZE_SECONDS.get(c.d, 20.0) if c.f_star else 0)


def run(config: Fig4Config, progress: bool = True) -> dict:
    """Train both models; returns ``{"rows": [...], "f_tilde_star", "f_star", "final": {...}}``. ``progress``:
    report progress (:class:`~markov_icl.progress.Progress`)."""
    import torch

    from markov_icl.numeric.lsa import DenseLSA, SparseLSA, one_layer_params
    from markov_icl.numeric.train import train
    from markov_icl.progress import Progress
    from markov_icl.symbolic.model import phi
    from markov_icl.symbolic.solve import solve

    c = config
    sol = solve(c.d, c.p, c.n)
    sol.check_minimiser()  # f~* is the optimum only where H is positive definite
    law = sol.law
    ft = float(sol.f_tilde_star)
    rows = [{"step": s} for s in range(c.steps)]
    final = {}
    bar = Progress("fig4", len(MODELS) * c.steps, unit="step", estimate=estimate_seconds(c), enabled=progress,
                   what=f"{len(MODELS)} one-layer LSAs (dense, sparse) of {c.steps} steps at d = {c.d}, n = {c.n}")
    for k, name in enumerate(MODELS):
        seed = c.seed + k
        if name == "dense":
            model = DenseLSA(c.d, layers=1, init_scale=c.init_scale, seed=seed)
            init_b, init_A = one_layer_params(model)
        else:
            model = SparseLSA(c.d, init_scale=c.init_scale, seed=seed)
            if c.shared_init:
                with torch.no_grad():
                    model.b.copy_(init_b)
                    model.A.copy_(init_A)

        def record(step, net, loss, name=name):
            bar.update(1)
            if step % c.eval_every == 0 or step == c.steps - 1:
                with torch.no_grad():
                    X = phi(*one_layer_params(net)).numpy()
                rows[step][f"{name}_exact_loss"] = float(sol.f_tilde(X))

        res = train(model, law, c.d, c.n, steps=c.steps, batch=c.batch, lr=c.lr, optimizer="adam", seed=c.seed,
                    online=c.dataset_size is None, dataset_size=c.dataset_size, schedule=c.schedule, progress=False,
                    callback=record)
        for step, loss in enumerate(res.losses):
            rows[step][f"{name}_train_loss"] = loss
        final[name] = {"exact_loss": rows[-1][f"{name}_exact_loss"], "seconds": res.seconds}
    bar.close()
    f_star = None
    if c.f_star:
        from markov_icl.symbolic.varpro import best_one_layer

        f_star = float(best_one_layer(sol).f_star)
    for r in rows:
        r["f_tilde_star"] = ft
        if f_star is not None:
            r["f_star"] = f_star
    return {"rows": rows, "f_tilde_star": ft, "f_star": f_star, "final": final}


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (the first points average what is available)."""
    c = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def plot(result: dict, config: Fig4Config, path: Path) -> Path:
    """Left: minibatch loss (smoothed) and exact population loss; right: exact loss - f~* (log)."""
    plt = pyplot()
    rows, fstar = result["rows"], result["f_tilde_star"]
    steps = np.array([r["step"] for r in rows])
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    colors = {"dense": "tab:blue", "sparse": "tab:orange"}
    window = max(1, len(rows) // 50)
    for name in MODELS:
        train_loss = np.array([r[f"{name}_train_loss"] for r in rows])
        ax.plot(steps, _smooth(train_loss, window), color=colors[name], alpha=0.45,
                label=f"{name}: minibatch loss (moving avg {window})")
        ev = [(r["step"], r[f"{name}_exact_loss"]) for r in rows if f"{name}_exact_loss" in r]
        es, el = np.array(ev).T
        ax.plot(es, el, color=colors[name], lw=1.8, label=f"{name}: exact population loss")
        gap = el - fstar
        pos = gap > 0  # a log axis has no zero: points at or below f~* (within rounding) are left out, not clamped
        ax2.semilogy(es[pos], gap[pos], color=colors[name], lw=1.8, label=name)
    ax.axhline(fstar, color="k", ls="--", lw=1, label=f"exact $\\tilde f^*$ = {fstar:.5f}")
    if result.get("f_star") is not None:
        ax.axhline(result["f_star"], color="tab:green", ls=":", lw=1.2,
                   label=f"best one-layer $f^*$ = {result['f_star']:.5f}")
        if result["f_star"] - fstar > 1e-13:
            ax2.axhline(result["f_star"] - fstar, color="tab:green", ls=":", lw=1.2, label="$f^* - \\tilde f^*$")
        else:  # X* realisable: f* = f~*, a zero gap, which a log axis cannot show as a line
            ax2.plot([], [], color="tab:green", ls=":", lw=1.2, label="$f^* = \\tilde f^*$ ($X^*$ realisable): gap 0")
    hi = max(r["dense_exact_loss"] for r in rows if "dense_exact_loss" in r)
    ax.set_ylim(fstar - 0.05 * (hi - fstar) - 1e-3, min(hi, fstar + 3 * (hi - fstar)) + 1e-3)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"Fig. 4: one-layer LSA, d = {config.d}, n = {config.n}, p = {config.p}, B = {config.batch}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax2.set_xlabel("step")
    ax2.set_ylabel(r"exact loss $-\ \tilde f^*$")
    ax2.set_title(f"gap to the enlarged-space optimum (d = {config.d}, n = {config.n}, p = {config.p})", fontsize=10)
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


COLUMNS = ["step", "dense_train_loss", "sparse_train_loss", "dense_exact_loss", "sparse_exact_loss", "f_tilde_star",
           "f_star"]


def write(result: dict, config: Fig4Config, out: Path, plot_figure: bool = True) -> list[Path]:
    """``fig4.csv`` (one row per step: minibatch losses, exact population losses, blank between
    evaluations, f~*, f*) and ``fig4.png``; returns the paths written."""
    out = Path(out)
    rows = [[(r[k] if k == "step" else repr(float(r[k]))) if k in r else "" for k in COLUMNS] for r in result["rows"]]
    written = [write_csv(out / "fig4.csv", COLUMNS, rows)]
    if plot_figure:
        written.append(plot(result, config, out / "fig4.png"))
    return written


def summary(result: dict, config: Fig4Config, seconds: float) -> str:
    """What ``markov-icl experiment fig4`` prints."""
    c, fstar = config, result["f_tilde_star"]
    lines = [f"fig4: one-layer LSA, d={c.d} n={c.n} p={c.p} B={c.batch}, {c.steps} Adam steps "
             f"(lr {c.lr}, {c.schedule}), {seconds:.1f} s",
             f"  exact f~*                      {fstar:.6f}"]
    if result.get("f_star") is not None:
        lines.append(f"  best one-layer f* (varpro)     {result['f_star']:.6f}   (f* - f~* = {result['f_star'] - fstar:.2e})")
    for name in MODELS:
        e = result["final"][name]["exact_loss"]
        lines.append(f"  {name:<6} final exact loss        {e:.6f}   (gap {e - fstar:.2e})")
    diff = abs(result["final"]["dense"]["exact_loss"] - result["final"]["sparse"]["exact_loss"])
    lines.append(f"  |dense - sparse|               {diff:.2e}" + ("" if math.isfinite(diff) else " (diverged)"))
    return "\n".join(lines)


CONFIG = Fig4Config

__all__ = ["Fig4Config", "CONFIG", "run", "write", "plot", "summary", "MODELS"]
