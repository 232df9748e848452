"""Fig. 6: a GPT-2 softmax transformer against classical in-context learners and the exact LSA optima.

Setting (the paper's Appendix B.2; theory §9): chains on ``|S|`` states (binary and
``|S| = 3``) used as numbers, every kernel row ``Dirichlet(alpha 1)`` (``alpha = 1``: the
uniform kernel prior of the binary engine), uniform initial states; each prompt's ``n``
context chains and its query share one kernel, and the query's last state is the target.
For each ``|S|``, each ``d`` and each seed a GPT-2 model
(:class:`~markov_icl.numeric.softmax.SoftmaxICL`, Hugging Face ``transformers`` built from a
config, trained from scratch) is trained by Adam (the cross-entropy of the query's state by
default, ``--objective squared`` for the LSA's squared loss) on fresh prompts whose context
length is drawn from the range of the evaluated ``n`` (one model serves every ``n``). On
held-out prompts (fresh per seed, the same for every method) it is compared with:

* classical learners fitted on each prompt's context alone
  (:mod:`~markov_icl.numeric.classical`): logistic regression, linear SVM, 3-nearest
  neighbours, linear regression;
* the exact one-layer LSA optimum in the enlarged space, ``<X*, x_q (kron) g>`` with
  ``X* = H^{-1} beta`` exact (theory §3, §8; population loss ``f~*``), and the best one-layer
  LSA ``f*`` (theory §6: exact at d = 1, certified multistart above), each evaluated as a
  predictor on the same prompts;
* the Bayes-optimal in-context predictor (``bayes``, :class:`~markov_icl.numeric.bayes.BayesPredictor`: the
  posterior mean of the query's label under the Dirichlet prior, its mode for accuracy), the true floor
  under every learner's loss and ceiling on its accuracy, with its exact risk
  (:func:`markov_icl.symbolic.bayes.bayes`) in ``exact_loss`` where the sum is within the engine's limits;
* the known-kernel rule (``known_kernel``: an oracle that sees the prompt's kernel K and predicts
  ``argmax_j K[s_{q,d}, j]``; its expected accuracy bounds that of every rule that sees only the prompt,
  but it is no in-context learner, and its squared loss, of hard labels, bounds nothing), the context
  transition counts, and the majority label of the context (a rule that ignores the query).

Accuracy compares a method's predicted state with the query's label: the classifiers' and
the rules' own answers, GPT-2's argmax (or its rounded number with ``--objective squared``),
and the real-valued predictions of X*, f* and linear regression rounded to the nearest state
(clipped to ``0..S-1``, theory §9). ``mse`` is the squared error of the numeric prediction
(a classifier's is its predicted state; GPT-2's the expected state under its softmax), the
loss the one-layer optima minimise. Two sweeps: accuracy and loss vs ``n`` at
``d = --d``, and vs ``d`` at ``n = --n``.

Outputs (atomic writes): ``fig6.csv`` (one row per |S|, d, n, seed, method),
``fig6_summary.csv`` (mean and std over seeds), ``fig6.png``.

Examples:
    >>> rows, summ = run(Fig6Config(states=(2,), ns=(4,), d=1, ds=(1,), n=4, seeds=1, steps=2, eval=6, width=8,
    ...                             layers=1, heads=1))
    >>> sorted({r["method"] for r in rows}) == sorted(METHODS)
    True
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from markov_icl.errors import MarkovICLError, check_device
from markov_icl.experiments.config import Config, option, write_outputs
from markov_icl.io import pyplot, save_figure
from markov_icl.limits import MAX_STEPS, check_prompt_entries
from markov_icl.symbolic.laws import check_states, parse_alpha

#: method -> legend text, in the order of the CSV and the figure
METHODS = {
    "gpt2": "GPT-2 (softmax, trained)",
    "x_star": r"exact one-layer LSA optimum $X^*$",
    "f_star": r"best one-layer LSA $f^*$",
    "logistic": "logistic regression",
    "linear_svm": "linear SVM",
    "knn3": "3-NN",
    "linear_regression": "linear regression",
    "counts": "transition counts",
    "majority": "majority label",
    "bayes": "Bayes-optimal in-context predictor (floor and ceiling)",
    "known_kernel": "known-kernel rule (oracle: sees K)",
}

#: method -> matplotlib format of its line (a method without one is drawn with :data:`DEFAULT_STYLE`)
STYLES = {"gpt2": "o-", "x_star": "s--", "f_star": "^--", "logistic": "v:", "linear_svm": "<:", "knn3": ">:",
          "linear_regression": "d:", "counts": "x-.", "majority": "+-.", "bayes": "k-", "known_kernel": "*-"}
DEFAULT_STYLE = "h-"

#: method -> short column name of the printed summary
SHORT = {"gpt2": "GPT-2", "x_star": "X*", "f_star": "f*", "logistic": "logreg", "linear_svm": "SVM", "knn3": "3-NN",
         "linear_regression": "linreg", "counts": "counts", "majority": "major", "bayes": "Bayes",
         "known_kernel": "known-K"}

#: the largest d of the exact predictors here (S = 3, d = 4 builds H in ~17 s, d = 5 in minutes)
MAX_FIG6_D = 4


@dataclass(frozen=True)
class SoftmaxConfig(Config):
    """The options of the GPT-2 model and its training, shared by Figs. 6 and 7."""

    # Appendix B.2's sizes are not in our references; the preset is the GPT-2 configuration of
    # Garg et al. (2022) that in-context-learning studies with GPT-2 start from (12 layers, 8 heads,
    # width 256), trained longer: a GPU-scale run.
    PAPER_NOTE = ("Appendix B.2's sizes are not stated in our references; this preset is GPT-2 at the size of "
                  "Garg et al. 2022, GPU-scale")
    PAPER = {"layers": 12, "heads": 8, "width": 256, "steps": 20000, "batch": 64, "lr": 0.0001, "eval": 2000}

    alpha: str = option("1", "Dirichlet concentration of the kernel rows, exact (1: uniform kernels)")
    layers: int = option(2, "GPT-2 layers", "int>=1", at_most=48, why="one command")
    heads: int = option(2, "attention heads per layer", "int>=1", at_most=64, why="one command")
    width: int = option(32, "model width n_embd (a multiple of --heads)", "int>=1", at_most=4096, why="one command")
    steps: int = option(500, "Adam steps per model", "int>=1", at_most=MAX_STEPS, why="one command")
    batch: int = option(128, "prompts per step", "int>=1")
    lr: float = option(0.003, "Adam learning rate (cosine decay to 0)", "float>0")
    objective: str = option("cross_entropy", "GPT-2's training loss: cross_entropy (|S| logits; the argmax is the "
                                             "predicted state) or squared (one number, rounded, as the LSA)", "choice",
                            ("cross_entropy", "squared"))
    device: str = option("cpu", "torch device of the GPT-2 model: cpu, cuda, cuda:N, mps")

    def check_model(self, states: tuple, n_max: int, d_max: int, eval_prompts: int) -> None:
        """The shared checks: the kernel law, the architecture, the device, the memory of a step and of the
        held-out prompts."""
        from markov_icl.numeric.softmax import check_architecture, check_size

        for S in states:
            check_states(S)
        a = parse_alpha(self.alpha)
        if not a.is_number or not 1e-3 <= float(a) <= 1e4:
            raise MarkovICLError(f"--alpha must be an exact number between 1/1000 and 10000, got {self.alpha!r}")
        check_architecture(self.layers, self.heads, self.width, n_max)
        check_device(self.device)
        check_size("--batch", self.batch, n_max, self.layers, self.heads, self.width)
        check_size("--eval", eval_prompts // 4, n_max, self.layers, self.heads, self.width)  # no backward pass
        check_prompt_entries("--eval", eval_prompts, n_max, d_max, per_entry=max(states))

    def step_seconds(self, n_max: int) -> float:
        """A rough estimate of one training step's seconds on the CPU: 30 ms at the defaults (batch 128, 2 layers,
        width 32, 41 tokens; measured on a 2-core machine, one torch thread), scaled by batch, layers, tokens (in
        part: fewer tokens save less) and width squared above 32. A GPU (``--device``) is far faster."""
        tokens = 0.4 + 0.6 * (n_max + 1) / 41
        return 5e-3 + 25e-3 * (self.batch / 128) * (self.layers / 2) * tokens * max(1.0, (self.width / 32) ** 2)

    def model(self, d: int, states: int, max_n: int, seed: int):
        """The untrained :class:`~markov_icl.numeric.softmax.SoftmaxICL` of these options, on ``--device``."""
        from markov_icl.numeric.softmax import SoftmaxICL

        return SoftmaxICL(d, states, layers=self.layers, heads=self.heads, width=self.width, max_n=max_n, seed=seed,
                          objective=self.objective).to(self.device)

    def train(self, model, n_range: tuple[int, int], seed: int, callback=None):
        """Train ``model`` with these options (:func:`~markov_icl.numeric.softmax.train_softmax`)."""
        from markov_icl.numeric.softmax import train_softmax

        return train_softmax(model, n_range, alpha=float(parse_alpha(self.alpha)), steps=self.steps, batch=self.batch,
                             lr=self.lr, seed=seed, device=self.device, callback=callback)


@dataclass(frozen=True)
class Fig6Config(SoftmaxConfig):
    """Options of Fig. 6 (laptop-scale defaults; ``--paper``: GPT-2 at the size ICL studies use)."""

    PAPER = {**SoftmaxConfig.PAPER, "seeds": 5}

    states: tuple = option((2, 3), "numbers of states |S|", "ints>=2")
    ns: tuple = option((5, 10, 20, 40), "context lengths of the accuracy-vs-n sweep (at d = --d)", "ints>=1")
    d: int = option(2, "chain input length of the vs-n sweep; chains have d+1 states", "int>=1", at_most=MAX_FIG6_D,
                    why="the exact X* and f* of the S-state chains")
    ds: tuple = option((1, 2, 3), "values of d of the accuracy-vs-d sweep (at n = --n)", "ints>=1",
                       at_most=MAX_FIG6_D, why="the exact X* and f* of the S-state chains")
    n: int = option(20, "context length of the vs-d sweep", "int>=1")
    seeds: int = option(2, "seeds (a model and a held-out set each)", "int>=1")
    eval: int = option(500, "held-out prompts per (|S|, d, n, seed); every method sees the same ones", "int>=1")
    f_star: bool = option(True, "also evaluate the best one-layer LSA f* (variable projection)", "bool")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_model(self.states, max(self.n_values), max(self.d_values), self.eval)

    @property
    def d_values(self) -> list[int]:
        """Every d a model is trained for."""
        return sorted(set(self.ds) | {self.d})

    @property
    def n_values(self) -> list[int]:
        return sorted(set(self.ns) | {self.n})

    def points(self, d: int) -> list[int]:
        """The context lengths evaluated at ``d``."""
        return sorted((set(self.ns) if d == self.d else set()) | ({self.n} if d in self.ds else set()))


def exact_predictors(S: int, d: int, n: int, alpha: str, f_star: bool) -> dict:
    """The exact one-layer LSA predictors at (S, d, n): ``X*`` and ``phi(b*, A*)`` as float64 vectors on the
    enlarged features, with their exact population losses ``f~*``, ``f*``."""
    import torch

    from markov_icl.symbolic.bayes import MAX_COUNT_VECTORS, bayes, count_vector_bound
    from markov_icl.symbolic.model import phi
    from markov_icl.symbolic.solve import solve
    from markov_icl.symbolic.varpro import best_one_layer

    sol = solve(d, "1/2" if S == 2 else None, n, kernel=f"dirichlet:{alpha}", states=S)
    out = {"x_star": (torch.tensor([float(x) for x in sol.X_star], dtype=torch.float64), float(sol.f_tilde_star))}
    if count_vector_bound(d, n, S) <= MAX_COUNT_VECTORS // 10:  # the exact floor where it takes seconds
        out["bayes"] = (None, bayes(d, "1/2" if S == 2 else None, n, kernel=f"dirichlet:{alpha}",
                                    states=S).bayes_risk_float)
    if f_star:
        fs = best_one_layer(sol)
        out["f_star"] = (torch.as_tensor(np.asarray(phi(fs.b, fs.A), dtype=float)), float(fs.f_star))
    return out


#: measured seconds of the classical learners' four fits on one held-out prompt (2-core machine, one thread)
FIT_SECONDS = 6e-3


def estimate_seconds(config: Fig6Config) -> float:
    """A rough estimate of :func:`run`'s seconds on the CPU: the GPT-2 training steps
    (:meth:`SoftmaxConfig.step_seconds`) and the classical fits on every held-out prompt (:data:`FIT_SECONDS`). The
    defaults: 286 s measured (2-core machine, lightly shared).

    Examples:
        >>> round(estimate_seconds(Fig6Config()))
        252
    """
    c = config
    models = len(c.states) * len(c.d_values) * c.seeds
    prompts = sum(len(c.points(d)) for d in c.d_values) * len(c.states) * c.seeds * c.eval
    return models * c.steps * c.step_seconds(max(c.n_values)) + prompts * FIT_SECONDS


def run(config: Fig6Config, progress: bool = True) -> tuple[list[dict], list[dict]]:
    """Every (|S|, d, seed) model and every method at every evaluated n; returns (rows, summary). ``progress``:
    report progress (:class:`~markov_icl.progress.Progress`: training steps and held-out prompts, one unit each)."""
    import torch

    from markov_icl.numeric.bayes import BayesPredictor
    from markov_icl.numeric.classical import LEARNERS, classical_predictions
    from markov_icl.numeric.montecarlo import accuracy
    from markov_icl.numeric.multistate import count_predictions, known_kernel_predictions, majority_predictions, sample_multistate
    from markov_icl.numeric.prompts import enlarged_features
    from markov_icl.progress import Progress

    c = config
    alpha = float(parse_alpha(c.alpha))
    n_lo, n_hi = min(c.n_values), max(c.n_values)
    evals = sum(len(c.points(d)) for d in c.d_values) * len(c.states) * c.seeds * c.eval
    total = len(c.states) * len(c.d_values) * c.seeds * c.steps + evals
    models = len(c.states) * len(c.d_values) * c.seeds
    bar = Progress("fig6", total, unit="unit", estimate=estimate_seconds(c), enabled=progress,
                   what=f"{models} GPT-2 models of {c.steps} steps, then {evals} held-out prompts x 4 classical fits")
    rows = []
    for S in c.states:
        for d in c.d_values:
            exact = {n: exact_predictors(S, d, n, c.alpha, c.f_star) for n in c.points(d)}
            for seed in range(c.seeds):
                t0 = time.perf_counter()
                model = c.model(d, S, n_hi, seed)
                res = c.train(model, (n_lo, n_hi), 10_000 + seed, callback=lambda *_: bar.update(1))
                seconds = time.perf_counter() - t0
                model.eval()
                for n in c.points(d):
                    test = sample_multistate(S, d, n, c.eval, alpha=alpha, seed=1_000_003 * (seed + 1) + 1009 * S
                                             + 101 * d + n)
                    with torch.no_grad():
                        preds = {"gpt2": model(test.Z0).double().cpu()}
                        states = {"gpt2": model.predict_state(test.Z0).double().cpu()}
                    feats = enlarged_features(test.Z0)
                    for key, (vec, _) in exact[n].items():
                        if vec is not None:
                            preds[key] = feats @ vec
                    bp = BayesPredictor(f"dirichlet:{c.alpha}", S)
                    preds["bayes"], states["bayes"] = bp(test.Z0.double()), bp.predict_state(test.Z0)
                    preds.update(classical_predictions(test, S, tuple(LEARNERS), progress=lambda: bar.update(1)))
                    preds["counts"] = count_predictions(test, S)
                    preds["majority"] = majority_predictions(test, S)
                    preds["known_kernel"] = known_kernel_predictions(test)
                    y = test.y.double()
                    for method in METHODS:
                        if method not in preds:
                            continue
                        pred = preds[method]
                        if not bool(torch.isfinite(pred).all()):
                            raise MarkovICLError(f"fig6: {method} predicts non-finite values at |S| = {S}, d = {d}, "
                                                 f"n = {n}, seed {seed} (lower --lr)")
                        rows.append({"states": S, "d": d, "n": n, "seed": seed, "method": method,
                                     "accuracy": accuracy(states.get(method, pred), y, S), "mse": float(((pred - y) ** 2).mean()),
                                     "exact_loss": exact[n][method][1] if method in exact[n] else None,
                                     "train_loss_last50": float(np.mean(res.losses[-50:])) if method == "gpt2" else None,
                                     "train_seconds": seconds if method == "gpt2" else None})
    bar.close()
    return rows, summarise(rows)


def summarise(rows: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds per (|S|, d, n, method)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["states"], r["d"], r["n"], r["method"]), []).append(r)
    out = []
    for (S, d, n, method), rs in groups.items():
        acc, mse = np.array([r["accuracy"] for r in rs]), np.array([r["mse"] for r in rs])
        out.append({"states": S, "d": d, "n": n, "method": method, "accuracy_mean": float(acc.mean()),
                    "accuracy_std": float(acc.std()), "mse_mean": float(mse.mean()), "mse_std": float(mse.std()),
                    "exact_loss": rs[0]["exact_loss"], "seeds": len(rs)})
    return out


def plot(summary_rows: list[dict], config: Fig6Config, path: Path) -> Path:
    """One row per |S|: accuracy vs n, accuracy vs d, loss vs n, loss vs d (error bars: std over seeds)."""
    plt = pyplot()
    c = config
    fig, axes = plt.subplots(len(c.states), 4, figsize=(16, 3.3 * len(c.states) + 0.9), squeeze=False)
    for i, S in enumerate(c.states):
        for j, (metric, sweep) in enumerate([("accuracy", "n"), ("accuracy", "d"), ("mse", "n"), ("mse", "d")]):
            ax = axes[i, j]
            for method, label in METHODS.items():
                if sweep == "n":
                    pts = [s for s in summary_rows if s["states"] == S and s["d"] == c.d and s["method"] == method
                           and s["n"] in c.ns]
                else:
                    pts = [s for s in summary_rows if s["states"] == S and s["n"] == c.n and s["method"] == method
                           and s["d"] in c.ds]
                if not pts:
                    continue
                pts.sort(key=lambda s: s[sweep])
                ax.errorbar([s[sweep] for s in pts], [s[f"{metric}_mean"] for s in pts],
                            yerr=[s[f"{metric}_std"] for s in pts], fmt=STYLES.get(method, DEFAULT_STYLE), capsize=2,
                            ms=4, lw=1, label=label)
            if sweep == "n":
                ax.set_xscale("log", base=2)
                ax.set_xticks(list(c.ns), [str(v) for v in c.ns])
            else:
                ax.set_xticks(list(c.ds))
            ax.set_xlabel("context chains $n$" if sweep == "n" else "chain input length $d$")
            ax.set_ylabel("accuracy" if metric == "accuracy" else "squared loss (MSE)")
            fixed = f"$d = {c.d}$" if sweep == "n" else f"$n = {c.n}$"
            ax.set_title(f"$|S| = {S}$, {fixed}", fontsize=9)
            ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncol=5, fontsize=8, frameon=False)
    fig.suptitle(rf"Fig. 6: GPT-2 ({c.layers} layers, {c.heads} heads, width {c.width}, {c.steps} steps) vs in-context "
                 rf"learners; kernel rows Dirichlet($\alpha = {c.alpha}$), uniform initial states, {c.seeds} seeds",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.7 / (3.3 * len(c.states) + 0.9), 1, 0.97))
    return save_figure(fig, path)


def write(result, config: Fig6Config, out: Path, plot_figure: bool = True) -> list[Path]:
    """``fig6.csv``, ``fig6_summary.csv`` and ``fig6.png``."""
    rows, summary_rows = result
    return write_outputs(out, {"fig6.csv": rows, "fig6_summary.csv": summary_rows},
                         ("fig6.png", lambda path: plot(summary_rows, config, path)) if plot_figure else None)


def summary(result, config: Fig6Config, seconds: float) -> str:
    """What ``markov-icl experiment fig6`` prints: accuracy (mean over seeds) per method and point."""
    _, summ = result
    c = config
    short = {m: SHORT.get(m, m[:7]) for m in METHODS}
    methods = [m for m in METHODS if any(s["method"] == m for s in summ)]
    lines = [f"fig6: GPT-2 {c.layers}x{c.heads}x{c.width} ({c.objective}), {c.steps} steps, {c.seeds} seeds, alpha = {c.alpha}, "
             f"{c.eval} held-out prompts per point ({seconds:.0f} s); accuracy, mean over seeds",
             f"{'|S|':>3} {'d':>2} {'n':>3} " + " ".join(f"{short[m]:>7}" for m in methods)]
    keys = sorted({(s["states"], s["d"], s["n"]) for s in summ})
    table = {(s["states"], s["d"], s["n"], s["method"]): s for s in summ}
    for S, d, n in keys:
        lines.append(f"{S:>3} {d:>2} {n:>3} " + " ".join(f"{table[(S, d, n, m)]['accuracy_mean']:>7.3f}"
                                                          for m in methods))
    gaps = [table[(S, d, n, "gpt2")]["mse_mean"] - table[(S, d, n, "x_star")]["mse_mean"] for S, d, n in keys]
    lines.append(f"GPT-2's loss minus the exact one-layer optimum's (same prompts): {min(gaps):+.3f} .. "
                 f"{max(gaps):+.3f} (negative: the softmax model beats every one-layer LSA)")
    above = [table[(S, d, n, "gpt2")]["mse_mean"] - table[(S, d, n, "bayes")]["mse_mean"] for S, d, n in keys
             if (S, d, n, "bayes") in table]
    if above:
        lines.append(f"GPT-2's loss minus the Bayes-optimal predictor's (same prompts): {min(above):+.3f} .. "
                     f"{max(above):+.3f} (the floor: no in-context learner is below it in expectation)")
    return "\n".join(lines)


CONFIG = Fig6Config

__all__ = ["Fig6Config", "CONFIG", "METHODS", "STYLES", "SHORT", "estimate_seconds", "run", "write", "summarise", "plot",
           "summary", "exact_predictors"]
