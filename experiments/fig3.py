"""Fig. 3: accuracy of a dense L-layer LSA vs L in {1, 2, 3} for |S| in {2, 3, 4} states.

Setting (theory §8, §9): S-state chains used as numbers, kernel rows ``Dirichlet(alpha 1)``,
uniform initial states, ``n`` context chains and a query of length ``d + 1`` (the
paper: n = 10, length 6, i.e. d = 5). A :class:`~markov_icl.numeric.lsa.DenseLSA` (theory §2) is
trained by Adam on the squared loss with fresh prompts every step; accuracy is the
fraction of held-out prompts whose prediction, rounded to the nearest state (and
clipped to ``0..S-1``), equals the query's label. Mean and standard deviation over seeds.

Reference columns in the CSV (:data:`REFERENCES`, drawn as horizontal lines): ``bayes``, the
Bayes-optimal in-context rule (the posterior mode of the query's label given the prompt under the
Dirichlet prior, :class:`~markov_icl.numeric.bayes.BayesPredictor`): the true ceiling on every
in-context learner's accuracy, scored on the same prompts; ``known_kernel``, the known-kernel rule,
an oracle that sees the prompt's kernel K and predicts ``argmax_j K_{s_q,d, j}`` (not an in-context
learner: it lies above the ceiling); and ``counts`` (predict the most frequent successor of
``s_{q,d}`` among the context transitions, an in-context rule).

Outputs (atomic writes): ``fig3.csv`` (one row per S, L, seed), ``fig3_summary.csv``
(mean and std per S, L), ``fig3.png``.

Examples:
    >>> rows, summ = run(Fig3Config(states=(3,), layers=(1,), seeds=1, steps=2, batch=8, eval=32, d=2, n=3))
    >>> [(s["states"], s["layers"], s["seeds"]) for s in summ]
    [(3, 1, 1)]
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from markov_icl.errors import Diverged, MarkovICLError
from markov_icl.experiments.config import Config, option
from markov_icl.io import pyplot, save_figure, write_records
from markov_icl.limits import ALPHA_RANGE, MAX_LAYERS, MAX_MODEL_D, MAX_STEPS, check_prompt_entries
from markov_icl.symbolic.laws import MAX_STATES, check_states

#: the paper's numbers for |S| = 3 (Fig. 3)
PAPER_S3 = {1: 0.55, 3: 0.98}

#: reference rule -> (legend text, line style): the CSV columns and the horizontal lines of the figure, in order
REFERENCES = {
    "bayes": ("Bayes-optimal in-context rule (the ceiling)", "-."),
    "known_kernel": ("known-kernel rule (oracle: sees K)", ":"),
    "counts": ("transition counts (in context)", "--"),
}


@dataclass(frozen=True)
class Fig3Config(Config):
    """Options of Fig. 3 (the defaults are the paper's stated sizes; ``--paper`` sets them explicitly)."""

    # the paper states |S|, L, n = 10, length 6 and 5 seeds; not the kernel's alpha nor the training
    PAPER = {"states": (2, 3, 4), "layers": (1, 2, 3), "n": 10, "d": 5, "seeds": 5}

    states: tuple = option((2, 3, 4), f"numbers of states |S| (2..{MAX_STATES})", "ints>=2")
    layers: tuple = option((1, 2, 3), "numbers of layers L", "ints>=1", at_most=MAX_LAYERS, why="layers of one model")
    seeds: int = option(5, "seeds per (S, L)", "int>=1")
    n: int = option(10, "context chains (the paper: 10)", "int>=1")
    d: int = option(5, "chain input length; the chain has d+1 states (the paper: length 6)", "int>=1",
                    at_most=MAX_MODEL_D, why="the trained models' size")
    alpha: float = option(0.1, f"Dirichlet concentration of the kernel rows ({ALPHA_RANGE[0]:g} .. {ALPHA_RANGE[1]:g})",
                          "float>0", at_most=ALPHA_RANGE[1], why="beyond it every row is uniform in float64")
    steps: int = option(400, "Adam steps", "int>=1", at_most=MAX_STEPS, why="one command")
    batch: int = option(256, "prompts per step", "int>=1")
    lr: float = option(0.005, "Adam learning rate", "float>0")
    init_scale: float = option(0.05, "std of the initial P, Q entries", "float>0")
    eval: int = option(5000, "held-out prompts for the accuracy", "int>=1")

    def __post_init__(self) -> None:
        super().__post_init__()
        for S in self.states:
            check_states(S)
        if self.alpha < ALPHA_RANGE[0]:
            raise MarkovICLError(f"--alpha must be at least {ALPHA_RANGE[0]:g} (below it the Dirichlet sampler "
                                 f"returns rows of zeros in float64), got {self.alpha:g}")
        top = max(self.states)  # the sampler holds an S-vector per chain state; autograd one array per layer
        check_prompt_entries("--batch", self.batch, self.n, self.d, per_entry=top + max(self.layers))
        check_prompt_entries("--eval", self.eval, self.n, self.d, per_entry=top)


def dirichlet_spec(alpha: float) -> str:
    """The exact kernel spec of a float concentration (``0.1`` -> ``dirichlet:1/10``)."""
    from fractions import Fraction

    fr = Fraction(repr(float(alpha)))
    return f"dirichlet:{fr.numerator}/{fr.denominator}"


def reference_accuracies(pb, S: int, alpha: float) -> dict[str, float]:
    """Accuracy of every rule of :data:`REFERENCES`: the Bayes-optimal in-context rule
    (:class:`~markov_icl.numeric.bayes.BayesPredictor` for Dirichlet(alpha) rows), the known-kernel rule (an oracle
    that sees K, :func:`~markov_icl.numeric.multistate.known_kernel_predictions`) and the in-context transition-count
    rule (:func:`~markov_icl.numeric.multistate.count_predictions`)."""
    from markov_icl.numeric.bayes import BayesPredictor
    from markov_icl.numeric.multistate import count_predictions, known_kernel_predictions

    y = pb.y.double()
    return {"bayes": float((BayesPredictor(dirichlet_spec(alpha), S).predict_state(pb.Z0) == y).double().mean()),
            "known_kernel": float((known_kernel_predictions(pb) == y).double().mean()),
            "counts": float((count_predictions(pb, S) == y).double().mean())}


def train_one(S: int, L: int, seed: int, config: Fig3Config, progress=None):
    """Train one DenseLSA by Adam on fresh S-state prompts (squared loss of theory §2, gradient norm clipped to 10)."""
    from markov_icl.numeric.lsa import DenseLSA
    from markov_icl.numeric.multistate import sample_multistate
    from markov_icl.numeric.train import train

    c = config
    model = DenseLSA(c.d, layers=L, init_scale=c.init_scale, seed=seed)

    def sampler(batch, generator):
        return sample_multistate(S, c.d, c.n, batch, alpha=c.alpha, generator=generator)

    res = train(model, None, c.d, c.n, steps=c.steps, batch=c.batch, lr=c.lr, seed=10_000 + seed,
                sampler=sampler, clip=10.0, progress=False,
                callback=None if progress is None else (lambda *_: progress()))
    return model, res.losses


def estimate_seconds(config: Fig3Config) -> float:
    """A rough estimate of :func:`run`'s seconds (:func:`~markov_icl.numeric.train.train_seconds` per model; the
    S-state sampler costs about as much as the model). The defaults: 47 s measured, 2-core machine.

    Examples:
        >>> round(estimate_seconds(Fig3Config()))
        47
    """
    from markov_icl.numeric.train import train_seconds

    c = config
    return sum(c.seeds * train_seconds(c.steps, c.batch * (1 + S // 2), c.n, c.d, layers=L) * 0.4
               for S in c.states for L in c.layers)


def run(config: Fig3Config, progress: bool = True) -> tuple[list[dict], list[dict]]:
    """All (S, L, seed) runs; returns (rows, summary). ``progress``: report progress
    (:class:`~markov_icl.progress.Progress`)."""
    import torch

    from markov_icl.numeric.montecarlo import accuracy
    from markov_icl.numeric.multistate import sample_multistate
    from markov_icl.progress import Progress

    c = config
    rows = []
    runs = len(c.states) * len(c.layers) * c.seeds
    bar = Progress("fig3", runs * c.steps, unit="step", estimate=estimate_seconds(c), enabled=progress,
                   what=f"{runs} models (|S| in {list(c.states)}, L in {list(c.layers)}, {c.seeds} seeds) of "
                        f"{c.steps} steps")
    for S in c.states:
        test = sample_multistate(S, c.d, c.n, c.eval, alpha=c.alpha, seed=999_983 + S)
        ref = reference_accuracies(test, S, c.alpha)
        for L in c.layers:
            for seed in range(c.seeds):
                t0 = time.perf_counter()
                model, losses = train_one(S, L, seed, c, progress=lambda: bar.update(1))
                with torch.no_grad():
                    pred = model(test.Z0)
                    mse = float(((pred - test.y) ** 2).mean())
                if not bool(torch.isfinite(pred).all()):
                    raise Diverged(f"fig3: the model with |S| = {S}, L = {L}, seed {seed} predicts non-finite values "
                                   "(training diverged; lower --lr or --init-scale)")
                acc = accuracy(pred, test.y, S)
                rows.append({"states": S, "layers": L, "seed": seed, "accuracy": acc, "test_mse": mse,
                             "final_train_loss": float(np.mean(losses[-50:])), "seconds": time.perf_counter() - t0,
                             **ref})
    bar.close()
    summary_rows = []
    for S in c.states:
        for L in c.layers:
            accs = np.array([r["accuracy"] for r in rows if r["states"] == S and r["layers"] == L])
            any_row = next(r for r in rows if r["states"] == S)
            summary_rows.append({"states": S, "layers": L, "accuracy_mean": float(np.mean(accs)),
                                 "accuracy_std": float(np.std(accs)), "seeds": len(accs),
                                 **{k: any_row[k] for k in REFERENCES},
                                 "paper": PAPER_S3.get(L, "") if S == 3 else ""})
    return rows, summary_rows


def plot(summary_rows: list[dict], path: Path, config: Fig3Config) -> Path:
    """Accuracy vs L, one line per |S| (error bars: std over seeds), each |S|'s reference rules
    (:data:`REFERENCES`) as horizontal lines in its colour; the legend sits beside the axes, off the data."""
    plt = pyplot()
    c = config
    fig, ax = plt.subplots(figsize=(7.6, 3.9))
    for S in c.states:
        pts = [s for s in summary_rows if s["states"] == S]
        line = ax.errorbar([p["layers"] for p in pts], [p["accuracy_mean"] for p in pts],
                           yerr=[p["accuracy_std"] for p in pts], marker="o", capsize=3, label=f"dense LSA, |S| = {S}")
        for key, (_, style) in REFERENCES.items():
            ax.axhline(pts[0][key], ls=style, lw=0.9, color=line[0].get_color())
    for label, style in REFERENCES.values():  # one legend entry per rule, in grey (the colour is |S|'s)
        ax.plot([], [], ls=style, lw=0.9, color="0.35", label=label)
    if 3 in c.states:
        ax.plot(list(PAPER_S3), list(PAPER_S3.values()), "k*", ms=9, label="paper, |S| = 3")
    ax.set_xlabel("layers L")
    ax.set_ylabel("accuracy (held-out prompts)")
    ax.set_xticks(list(c.layers))
    ax.set_title(f"Fig. 3: d = {c.d} (chains of length {c.d + 1}), n = {c.n}, kernel rows Dirichlet({c.alpha:g}), "
                 f"{c.steps} Adam steps, {c.seeds} seeds", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    fig.tight_layout()
    return save_figure(fig, path)


def write(result, config: Fig3Config, out: Path, plot_figure: bool = True) -> list[Path]:
    """``fig3.csv`` (one row per run), ``fig3_summary.csv`` (per S, L) and ``fig3.png``."""
    rows, summary_rows = result
    out = Path(out)
    written = [write_records(out / "fig3.csv", rows), write_records(out / "fig3_summary.csv", summary_rows)]
    if plot_figure:
        written.append(plot(summary_rows, out / "fig3.png", config))
    return written


def summary(result, config: Fig3Config, seconds: float) -> str:
    """What ``markov-icl experiment fig3`` prints."""
    rows, summary_rows = result
    lines = [f"fig3: {len(rows)} runs in {seconds:.0f} s",
             f"{'|S|':>4} {'L':>3} {'accuracy':>18} {'Bayes':>7} {'known-K rule':>13} {'counts':>7} {'paper':>6}"]
    for s in summary_rows:
        lines.append(f"{s['states']:>4} {s['layers']:>3} {s['accuracy_mean']:>10.3f} +- {s['accuracy_std']:.3f} "
                     f"{s['bayes']:>7.3f} {s['known_kernel']:>13.3f} {s['counts']:>7.3f} {str(s['paper']):>6}")
    lines.append("Bayes: the Bayes-optimal in-context rule (the ceiling on any learner's accuracy); known-K rule: sees "
                 "the kernel (not an in-context learner)")
    return "\n".join(lines)


CONFIG = Fig3Config

__all__ = ["Fig3Config", "CONFIG", "run", "write", "plot", "summary", "reference_accuracies", "train_one", "PAPER_S3",
           "REFERENCES", "estimate_seconds"]
