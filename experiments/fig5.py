"""Fig. 5: accuracy vs d for the reparameterised least-squares model and a trained one-layer LSA.

Setting (theory §9; the paper: d = 1..10, n = 100, B = 1000 prompts, Adam lr 0.01, 1000
steps, 5 seeds): binary chains, uniform kernel prior, i.i.d. Bernoulli(p) initial
states. For every d:

* the *reparameterised least-squares model* predicts ``<X*, x_q (kron) g>`` with the
  exact ``X* = H^{-1} beta`` (theory §3), i.e. the enlarged-space optimum, whose population
  loss is the exact ``f~*``;
* a one-layer :class:`~markov_icl.numeric.lsa.DenseLSA` is trained by Adam on a fixed dataset of B
  prompts (full batch, the paper's setting); its exact population loss is
  ``f(b, A) = f~(phi(b, A))`` from the derived objective;
* the best one-layer loss ``f* = min_{b,A} f(b, A)`` (variable projection,
  :mod:`~markov_icl.symbolic.varpro`, Remark C.15) is computed where ``d <= --f-star-max-d``
  (default 6: exact for d = 1, certified multistart for 2 <= d <= 6).

Accuracy rounds the prediction to the nearest state (0 or 1) and compares it with the
query's label on held-out prompts (the same prompts for both models). Outputs (atomic
writes): ``fig5.csv`` (one row per d and seed) and ``fig5.png``.

Examples:
    >>> rows = run(Fig5Config(ds="1", n=5, batch=32, steps=5, seeds=1, eval_prompts=200))
    >>> rows[0]["d"], rows[0]["f_star_how"]
    (1, 'exact (critical points of a rational function)')
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from markov_icl.errors import MarkovICLError, shown
from markov_icl.experiments.config import Config, option
from markov_icl.io import pyplot, save_figure, write_records
from markov_icl.limits import DEFAULT_MAX_D, HARD_MAX_D, MAX_PROMPT_ENTRIES, MAX_STARTS, MAX_STEPS, check_prompt_entries
from markov_icl.symbolic.varpro import MAX_CERTIFIED_D


def parse_ds(text: str, max_d: int = DEFAULT_MAX_D["fig5"]) -> list[int]:
    """``"1-10"`` or ``"1,2,5"`` -> list of d, each in ``1 .. max_d``.

    Examples:
        >>> parse_ds("1-3"), parse_ds("2,5")
        ([1, 2, 3], [2, 5])
        >>> parse_ds("1-100000")
        Traceback (most recent call last):
        ...
        markov_icl.errors.MarkovICLError: --ds: d = 100000 is above fig5's limit 10 (raise it with --max-d)
    """
    if not isinstance(text, str) or len(text) > 200:
        raise MarkovICLError(f"--ds must be a range such as 1-10 or a list such as 1,2,5, got {shown(text)}")
    try:
        if "-" in text:
            lo, hi = (int(t) for t in text.split("-", 1))
            ends = [lo, hi]
        else:
            ends = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise MarkovICLError(f"--ds must be a range such as 1-10 or a list such as 1,2,5, got {shown(text)}") from None
    if not ends or min(ends) < 1:
        raise MarkovICLError(f"--ds must name values d >= 1, got {shown(text)}")
    if max(ends) > max_d:
        raise MarkovICLError(f"--ds: d = {max(ends)} is above fig5's limit {max_d} (raise it with --max-d)")
    ds = list(range(ends[0], ends[1] + 1)) if "-" in text else ends
    if not ds:
        raise MarkovICLError(f"--ds: the range {shown(text)} is empty")
    return ds


@dataclass(frozen=True)
class Fig5Config(Config):
    """Options of Fig. 5 (laptop-scale defaults; :meth:`paper` for the paper's sizes)."""

    PAPER = {"ds": "1-10", "n": 100, "batch": 1000, "steps": 1000, "lr": 0.01, "seeds": 5}

    ds: str = option("1-10", "values of d: a range 1-10 or a list 1,2,5")
    max_d: int = option(DEFAULT_MAX_D["fig5"], "the largest d allowed in --ds (the exact solve and the float H grow "
                                                "as d^6)", "int>=1", at_most=HARD_MAX_D,
                        why="beyond it H alone has over 2e7 exact entries")
    n: int = option(30, "context chains", "int>=1")
    p: str = option("1/2", "initial-state probability, exact", "p")
    batch: int = option(300, "training prompts B (one fixed dataset, full batch)", "int>=1")
    steps: int = option(300, "Adam steps, full batch", "int>=1", at_most=MAX_STEPS, why="one command")
    lr: float = option(0.01, "Adam learning rate", "float>0")
    seeds: int = option(2, "training seeds per d", "int>=1")
    eval_prompts: int = option(4000, "held-out prompts for the accuracy", "int>=1")
    init_scale: float = option(0.2, "std of the initial parameters", "float>0")
    f_star_max_d: int = option(6, f"compute f* for d up to this (the certified range is d <= {MAX_CERTIFIED_D}; "
                                  "larger d gives a multistart upper bound, flagged in the CSV)", "int>=0")
    f_star_starts: int | None = option(None, "multistart directions for f* (None: 16 * 2^ceil(log2(d + 1)))",
                                       "int>=1?", at_most=MAX_STARTS, why="each start is a BFGS run")

    def __post_init__(self) -> None:
        super().__post_init__()
        top = max(parse_ds(self.ds, self.max_d))
        dm = top * (top + 1) * (top + 2) // 2
        check_prompt_entries("--batch", self.batch, self.n, top)
        check_prompt_entries("--eval-prompts", self.eval_prompts, self.n, top)
        if self.eval_prompts * dm > MAX_PROMPT_ENTRIES:
            raise MarkovICLError(f"--eval-prompts: the features of the held-out prompts would hold eval-prompts "
                                 f"d(d+1)(d+2)/2 = {self.eval_prompts * dm:.2g} entries at d = {top}; at most "
                                 f"{MAX_PROMPT_ENTRIES:.0e}")

    @property
    def d_values(self) -> list[int]:
        return parse_ds(self.ds, self.max_d)


def estimate_seconds(config: Fig5Config) -> float:
    """A rough estimate of :func:`run`'s seconds: per d the exact solve (:data:`~markov_icl.limits.OBJECTIVE_SECONDS`),
    f* (multistart) and the training runs (:func:`~markov_icl.numeric.train.train_seconds`, full batch). The
    defaults: 24 s measured, 2-core machine.

    Examples:
        >>> round(estimate_seconds(Fig5Config()))
        31
    """
    from markov_icl.limits import estimated_seconds
    from markov_icl.numeric.train import train_seconds

    c = config
    total = 0.0
    for d in c.d_values:
        total += max(estimated_seconds(d) - 0.5, 0.05) + (0.15 * 2.2 ** (d - 1) if 1 < d <= c.f_star_max_d else 0.0)
        total += c.seeds * train_seconds(c.steps, c.batch, c.n, d, online=False) * 0.3
    return total


def run(config: Fig5Config, progress: bool = True) -> list[dict]:
    """One row per (d, seed): accuracies, exact losses, f~*, f*. ``progress``: report progress
    (:class:`~markov_icl.progress.Progress`)."""
    import torch

    from markov_icl.numeric.lsa import DenseLSA, one_layer_params
    from markov_icl.numeric.montecarlo import accuracy
    from markov_icl.numeric.prompts import enlarged_features, sample_prompts
    from markov_icl.numeric.train import train
    from markov_icl.progress import Progress
    from markov_icl.symbolic.solve import solve
    from markov_icl.symbolic.varpro import best_one_layer

    c = config
    ds = c.d_values
    rows = []
    bar = Progress("fig5", len(ds) * c.seeds, unit="model", estimate=estimate_seconds(c), enabled=progress,
                   what=f"d in {ds[0]}..{ds[-1]}: an exact solve, f* and {c.seeds} models of {c.steps} steps each")
    for d in ds:
        sol = solve(d, c.p, c.n)
        sol.check_minimiser()  # f~* is the optimum only where H is positive definite
        law = sol.law
        X = torch.tensor([float(x) for x in sol.X_star], dtype=torch.float64)
        ft = float(sol.f_tilde_star)
        fstar, fstar_how = None, ""
        if d <= c.f_star_max_d:
            fs = best_one_layer(sol, starts=c.f_star_starts)
            fstar = fs.f_star
            if fs.exact is not None:
                fstar_how = "exact (critical points of a rational function)"
            else:
                agree = sum(1 for v in fs.runs if v - fstar <= 1e-9)
                fstar_how = (f"multistart: {agree}/{len(fs.runs)} runs agree"
                             + ("" if d <= MAX_CERTIFIED_D else f"; upper bound, not certified (d > {MAX_CERTIFIED_D})"))
        ev = sample_prompts(law, d, c.n, c.eval_prompts, seed=10_000 + d)
        acc_ls = accuracy(enlarged_features(ev.Z0) @ X, ev.y)
        for seed in range(c.seeds):
            model = DenseLSA(d, layers=1, init_scale=c.init_scale, seed=seed)
            t0 = time.perf_counter()
            res = train(model, law, d, c.n, steps=c.steps, batch=c.batch, lr=c.lr, optimizer="adam",
                        seed=seed, online=False, dataset_size=c.batch, progress=False)
            with torch.no_grad():
                acc_lsa = accuracy(model(ev.Z0), ev.y)
            b, A = one_layer_params(model)
            rows.append({
                "d": d, "seed": seed, "acc_least_squares": acc_ls, "acc_lsa": acc_lsa,
                "lsa_exact_loss": float(sol.loss(b.numpy(), A.numpy())), "lsa_final_train_loss": res.losses[-1],
                "f_tilde_star": ft, "f_star": fstar if fstar is not None else "", "f_star_how": fstar_how,
                "train_seconds": time.perf_counter() - t0,
            })
            bar.update(1)
    bar.close()
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Per d: mean and std over seeds."""
    out = []
    for d in sorted({r["d"] for r in rows}):
        rs = [r for r in rows if r["d"] == d]
        acc = np.array([r["acc_lsa"] for r in rs])
        el = np.array([r["lsa_exact_loss"] for r in rs])
        out.append({"d": d, "acc_least_squares": rs[0]["acc_least_squares"], "acc_lsa_mean": acc.mean(),
                    "acc_lsa_std": acc.std(), "lsa_exact_loss_mean": el.mean(), "f_tilde_star": rs[0]["f_tilde_star"],
                    "f_star": rs[0]["f_star"], "f_star_how": rs[0]["f_star_how"]})
    return out


def plot(summary: list[dict], config: Fig5Config, path: Path) -> Path:
    """Left: accuracy vs d; right: exact population losses vs d."""
    plt = pyplot()

    ds = np.array([s["d"] for s in summary])
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax.plot(ds, [s["acc_least_squares"] for s in summary], "o-", label="least squares on $x_q\\otimes g$ ($X^*$)")
    ax.errorbar(ds, [s["acc_lsa_mean"] for s in summary], yerr=[s["acc_lsa_std"] for s in summary], fmt="s-",
                capsize=3, label=f"trained one-layer LSA ({config.seeds} seeds)")
    ax.set_xlabel("d")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Fig. 5: n = {config.n}, p = {config.p}, B = {config.batch}, {config.steps} Adam steps")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax2.plot(ds, [s["f_tilde_star"] for s in summary], "o-", label="exact $\\tilde f^*$ (enlarged space)")
    fs = [(s["d"], s["f_star"]) for s in summary if s["f_star"] != ""]
    if fs:
        ax2.plot(*np.array(fs).T, "^-", label="exact best one-layer $f^*$ (varpro)")
    ax2.plot(ds, [s["lsa_exact_loss_mean"] for s in summary], "s-", label="trained LSA, exact population loss")
    ax2.set_xlabel("d")
    ax2.set_ylabel("population loss")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def write(rows: list[dict], config: Fig5Config, out: Path, plot_figure: bool = True) -> list[Path]:
    """``fig5.csv`` (one row per (d, seed), floats at full precision) and ``fig5.png``."""
    out = Path(out)
    written = [write_records(out / "fig5.csv", rows, float_format="")]
    if plot_figure:
        written.append(plot(summarise(rows), config, out / "fig5.png"))
    return written


def summary(rows: list[dict], config: Fig5Config, seconds: float) -> str:
    """What ``markov-icl experiment fig5`` prints."""
    c = config
    lines = [f"fig5: n={c.n} p={c.p} B={c.batch} steps={c.steps} lr={c.lr} seeds={c.seeds}, {seconds:.1f} s",
             f"  {'d':>2}  {'acc LS(X*)':>10}  {'acc LSA':>14}  {'f~*':>9}  {'f*':>9}  {'LSA loss':>9}"]
    summ = summarise(rows)
    for s in summ:
        fs = f"{s['f_star']:.6f}" if s["f_star"] != "" else "-"
        lines.append(f"  {s['d']:>2}  {s['acc_least_squares']:>10.4f}  {s['acc_lsa_mean']:>7.4f}+-{s['acc_lsa_std']:.4f}  "
                     f"{s['f_tilde_star']:.6f}  {fs:>9}  {s['lsa_exact_loss_mean']:.6f}")
    for s in summ:
        if s["f_star_how"]:
            lines.append(f"  f* at d = {s['d']}: {s['f_star_how']}")
    return "\n".join(lines)


CONFIG = Fig5Config

__all__ = ["Fig5Config", "CONFIG", "run", "write", "summarise", "plot", "summary", "parse_ds"]
