"""One exact table of in-context learners on Markov prompts, with the Bayes floor under all of them.

For every setting (|S|, d, p, n) of a grid: the exact Bayes risk (the floor under every in-context
learner, :mod:`markov_icl.symbolic.bayes`); one-layer softmax attention, at Q = 0 (exact) and at its best
Q (exact weights, float64 exponentials, certified enclosure; :mod:`markov_icl.symbolic.softmax`); the
paper's one-layer LSA (``f~*`` exact, ``f*`` by the variable projection), the same with a constant input
``(x, 1)`` (:mod:`markov_icl.symbolic.constant_input`), and the restricted parameterizations ``zfb``,
``ahn``, ``gd`` (exact least squares); then, by Monte Carlo on held-out prompts with standard errors,
GPT-2 trained from scratch (the model of Fig. 6, :mod:`markov_icl.numeric.softmax`), the classical
learners of Fig. 6 fitted per prompt (hard labels), the transition-count and majority rules, and the
known-kernel rule (it sees K: not an in-context learner, so it may lie below the floor). The exact
predictors (Bayes, softmax at Q*, Q = 0, LSA X*) are scored on the same prompts too, a check of their
exact losses.

Kernel rows are ``Dirichlet(alpha)`` (binary: ``a, c ~ Beta(alpha, alpha)``; ``alpha = 1`` is the uniform
prior), initial states i.i.d. with ``P(s_1 = 1) = p`` (binary) or uniform (|S| > 2), states as numbers.

Outputs (atomic writes): ``learners.csv`` (one row per setting and learner, and per seed for GPT-2),
``learners_summary.csv`` (GPT-2 averaged over seeds), ``learners.png`` (loss vs n per learner, one panel
per (|S|, d, p), the Bayes floor drawn).

Examples:
    >>> rows, summ = run(LearnersConfig(states=(2,), ds=(1,), ns=(2,), ds_multistate=(1,), ns_multistate=(2,),
    ...                  seeds=1, steps=2, eval=20, width=8, layers=1, heads=1, classical=False, f_star=False,
    ...                  softmax_starts=1), progress=False)
    >>> all(r["loss"] >= r["bayes_risk"] - 1e-12 for r in rows if r["kind"].startswith("exact"))
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from markov_icl.errors import MarkovICLError
from markov_icl.experiments.config import option, write_outputs
from markov_icl.experiments.fig6 import SoftmaxConfig
from markov_icl.io import pyplot, save_figure
from markov_icl.symbolic.laws import parse_alpha, parse_probability

#: learner -> legend text, in the order of the CSV and the figure
LEARNERS = {
    "bayes": "Bayes-optimal predictor (the floor)",
    "softmax": "one-layer softmax attention, best Q",
    "uniform_attention": "softmax attention at Q = 0 (mean label)",
    "lsa_const_f_tilde": "LSA with constant input: f~*",
    "lsa_const_f_star": "LSA with constant input: best one layer f*",
    "lsa_f_tilde": "paper's LSA: f~*",
    "lsa_f_star": "paper's LSA: best one layer f*",
    "zfb": "LSA restricted (ZFB / Ahn et al.)",
    "gd": "LSA restricted (one GD step)",
    "gpt2": "GPT-2 (trained)",
    "logistic": "logistic regression (hard labels)",
    "linear_svm": "linear SVM (hard labels)",
    "knn3": "3-NN (hard labels)",
    "linear_regression": "linear regression",
    "counts": "transition counts (hard labels)",
    "majority": "majority label (hard labels)",
    "known_kernel": "known-kernel rule (sees K; not in-context)",
}

#: the learners whose losses are exact (or exact weights with float64 exponentials / a float search)
EXACT = ("bayes", "softmax", "uniform_attention", "lsa_const_f_tilde", "lsa_const_f_star", "lsa_f_tilde", "lsa_f_star",
         "zfb", "gd")


@dataclass(frozen=True)
class LearnersConfig(SoftmaxConfig):
    """Options of ``markov-icl experiment learners`` (laptop defaults; GPT-2's options as in Fig. 6)."""

    PAPER_NOTE = ("no figure of the paper: a larger run, GPT-2 at the size of Garg et al. 2022 (GPU-scale), "
                  "5 seeds, 4000 held-out prompts")
    PAPER = {**SoftmaxConfig.PAPER, "seeds": 5, "eval": 4000}

    states: tuple = option((2, 3), "numbers of states |S|", "ints>=2")
    ds: tuple = option((1, 2), "chain input lengths d of the binary chains", "ints>=1", at_most=3,
                       why="the exact softmax sums")
    ns: tuple = option((2, 5, 10, 20), "context lengths n of the binary chains", "ints>=1", at_most=100,
                       why="the exact Bayes sums")
    ds_multistate: tuple = option((1,), "chain input lengths d for |S| > 2", "ints>=1", at_most=2,
                                  why="the exact sums grow as S^(d+1)")
    ns_multistate: tuple = option((2, 5, 10), "context lengths n for |S| > 2", "ints>=1", at_most=20,
                                  why="the exact sums grow as S^(d+1)")
    p: str = option("1/2", "initial probability P(s_1 = 1) of the binary chains, exact (|S| > 2: uniform)", "p")
    seeds: int = option(2, "GPT-2 seeds (a model and a held-out set each)", "int>=1")
    eval: int = option(1000, "held-out prompts per setting for the Monte Carlo estimates (at least 2)", "int>=1")
    gpt2: bool = option(True, "train and score GPT-2", "bool")
    classical: bool = option(True, "score the classical learners (fitted per prompt)", "bool")
    f_star: bool = option(True, "the best one-layer LSA f* with and without the constant input", "bool")
    softmax_starts: int = option(6, "multistart runs of the best softmax attention", "int>=1", at_most=256,
                                 why="each start is an L-BFGS run")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.eval < 2:
            raise MarkovICLError(f"--eval must be at least 2 (a standard error needs two prompts), got {self.eval}")
        n_max = max(max(self.ns), max(self.ns_multistate))
        d_max = max(max(self.ds), max(self.ds_multistate))
        self.check_model(self.states, n_max, d_max, self.eval)

    def settings(self) -> list[tuple[int, int, object]]:
        """``(S, d, p)`` of every panel (p None for |S| > 2)."""
        out = []
        for S in self.states:
            for d in (self.ds if S == 2 else self.ds_multistate):
                out.append((S, d, parse_probability(self.p, "--p") if S == 2 else None))
        return out

    def n_values(self, S: int) -> tuple:
        return self.ns if S == 2 else self.ns_multistate


def kernel_spec(alpha: str) -> str:
    """``dirichlet:ALPHA``: Beta(alpha, alpha) rows for binary chains, Dirichlet(alpha 1) rows otherwise."""
    return f"dirichlet:{parse_alpha(alpha)}"


def exact_learners(S: int, d: int, p, n: int, alpha: str = "1", softmax_starts: int = 6, f_star: bool = True,
                   seed: int = 0) -> tuple[list[dict], dict]:
    """The exact learners at one setting: rows ``{learner, kind, loss, loss_exact, ...}`` and the predictors
    the Monte Carlo scoring needs (``Q_star``, ``X_star``).

    Learners whose sums are above the engine's limits are left out (the Bayes floor then comes from the
    Bayes predictor's Monte Carlo estimate).
    """
    from markov_icl.symbolic.bayes import MAX_COUNT_VECTORS, bayes, count_vector_bound
    from markov_icl.symbolic.constant_input import constant_input, constant_input_optimum
    from markov_icl.symbolic.param import optimum
    from markov_icl.symbolic.softmax import MAX_TYPE_VECTORS, SoftmaxLoss, best_softmax, type_vector_count
    from markov_icl.symbolic.solve import solve
    from markov_icl.symbolic.varpro import best_one_layer

    kernel = kernel_spec(alpha)
    rows: list[dict] = []
    preds: dict = {}

    def add(learner, kind, loss, exact=None, interval=None):
        rows.append({"learner": learner, "kind": kind, "loss": float(loss), "loss_exact": None if exact is None
                     else str(exact), "interval_lo": None if interval is None else float(interval[0]),
                     "interval_hi": None if interval is None else float(interval[1])})

    if count_vector_bound(d, n, S) <= MAX_COUNT_VECTORS:
        b = bayes(d, p, n, kernel=kernel, states=S)
        add("bayes", "exact", b.bayes_risk_float, b.bayes_risk)
        preds["bayes_accuracy"] = b.bayes_accuracy_float
    if type_vector_count(d, n, S) <= MAX_TYPE_VECTORS:
        L = SoftmaxLoss(d, p, n, kernel=kernel, states=S)
        z = L.at_zero()
        add("uniform_attention", "exact", float(z), z)
        opt = best_softmax(L, starts=softmax_starts, seed=seed)
        add("softmax", "exact weights, float64 exp (certified enclosure), multistart", opt.f_softmax_star,
            interval=opt.certified)
        preds["Q_star"] = opt.Q_star
    sol = solve(d, p, n, kernel=kernel, states=S)
    add("lsa_f_tilde", "exact", float(sol.f_tilde_star), sol.f_tilde_star)
    preds["X_star"] = np.array([float(x) for x in sol.X_star])
    if f_star:
        add("lsa_f_star", "float64 variable projection" + (" (exact at d = 1)" if d == 1 and S == 2 else ""),
            best_one_layer(sol, seed=seed).f_star)
        co = constant_input_optimum(d, p, n, kernel=kernel, states=S, seed=seed)
        add("lsa_const_f_tilde", "exact", float(co.objective.f_tilde_star), co.objective.f_tilde_star)
        add("lsa_const_f_star", "float64 variable projection", co.f_star)
    else:
        c = constant_input(d, p, n, kernel=kernel, states=S)
        add("lsa_const_f_tilde", "exact", float(c.f_tilde_star), c.f_tilde_star)
    for name in ("zfb", "gd"):
        o = optimum(param=name, solution=sol, with_f_star=False)
        add(name, "exact", float(o.f_param_star), o.f_param_star)
    return rows, preds


def sampler(S: int, d: int, p, alpha: str):
    """``sample(n, size, generator) -> PromptBatch`` of the setting (binary: p and Beta(alpha, alpha) rows)."""
    from markov_icl.numeric.multistate import sample_multistate
    from markov_icl.numeric.prompts import sample_prompts
    from markov_icl.symbolic.laws import ChainLaw

    a = parse_alpha(alpha)
    if S == 2:
        law = ChainLaw.from_options(p, f"beta:{a},{a},{a},{a}")

        def sample(n, size, generator):
            return sample_prompts(law, d, n, size, generator=generator)
    else:
        def sample(n, size, generator):
            return sample_multistate(S, d, n, size, alpha=float(a), generator=generator)
    return sample


#: measured seconds of the exact learners of one setting at the defaults (2-core machine, shared; the largest:
#: d = 2, n = 10, where the softmax weights and two variable projections dominate)
EXACT_SECONDS = 6.0


def estimate_seconds(config: LearnersConfig) -> float:
    """A rough estimate of :func:`run`'s seconds on the CPU: the exact learners of every setting
    (:data:`EXACT_SECONDS`), GPT-2's training steps and the classical fits on every held-out prompt. The
    defaults: 736 s measured (2-core machine, load 3-4).

    Examples:
        >>> 200 < estimate_seconds(LearnersConfig()) < 2000
        True
    """
    from markov_icl.experiments.fig6 import FIT_SECONDS

    c = config
    settings = c.settings()
    points = sum(len(c.n_values(S)) for S, _, _ in settings)
    gpt = len(settings) * c.seeds * c.steps * c.step_seconds(max(max(c.ns), max(c.ns_multistate))) if c.gpt2 else 0.0
    fits = points * c.seeds * c.eval * FIT_SECONDS if c.classical else 0.0
    return points * EXACT_SECONDS + gpt + fits


def _mc(values) -> tuple[float, float]:
    v = np.asarray(values, dtype=np.float64)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))


def run(config: LearnersConfig, progress: bool = True) -> tuple[list[dict], list[dict]]:
    """Every setting's exact learners and Monte Carlo estimates; returns (rows, summary)."""
    import torch

    from markov_icl.numeric.attention import SoftmaxAttention
    from markov_icl.numeric.bayes import BayesPredictor
    from markov_icl.numeric.multistate import count_predictions, known_kernel_predictions, majority_predictions
    from markov_icl.numeric.prompts import enlarged_features
    from markov_icl.progress import Progress

    c = config
    settings = c.settings()
    n_total = sum(len(c.n_values(S)) for S, _, _ in settings)
    total = n_total * (1 + c.seeds) + (len(settings) * c.seeds * c.steps if c.gpt2 else 0)
    bar = Progress("learners", total, unit="unit", estimate=estimate_seconds(c), enabled=progress,
                   what=f"{n_total} settings (exact sums), {len(settings) * c.seeds if c.gpt2 else 0} GPT-2 models of "
                        f"{c.steps} steps, {n_total * c.eval} held-out prompts")
    rows: list[dict] = []
    for S, d, p in settings:
        sample = sampler(S, d, p, c.alpha)
        ns = c.n_values(S)
        exact = {}
        for n in ns:
            exact[n] = exact_learners(S, d, p, n, c.alpha, c.softmax_starts, c.f_star)
            bar.update(1)
        for seed in range(c.seeds):
            model = None
            if c.gpt2:
                from markov_icl.numeric.softmax import train_softmax

                model = c.model(d, S, max(ns), seed)
                train_softmax(model, (min(ns), max(ns)), alpha=float(parse_alpha(c.alpha)), steps=c.steps,
                              batch=c.batch, lr=c.lr, seed=10_000 + seed, device=c.device, sample=sample,
                              callback=lambda *_: bar.update(1))
                model.eval()
            for n in ns:
                erows, preds = exact[n]
                gen = torch.Generator().manual_seed(1_000_003 * (seed + 1) + 1009 * S + 101 * d + n)
                test = sample(n, c.eval, gen)
                y = test.y.double()
                numeric: dict = {"bayes": BayesPredictor(kernel_spec(c.alpha), S)(test.Z0).double(),
                                 "uniform_attention": test.Z0[:, d, :n].double().mean(1)}
                states: dict = {"bayes": BayesPredictor(kernel_spec(c.alpha), S).predict_state(test.Z0)}
                if "Q_star" in preds:
                    att = SoftmaxAttention(d)
                    with torch.no_grad():
                        att.Q.copy_(torch.as_tensor(preds["Q_star"]))
                        numeric["softmax"] = att(test.Z0).double()
                numeric["lsa_f_tilde"] = enlarged_features(test.Z0.double()) @ torch.as_tensor(preds["X_star"])
                if model is not None:
                    with torch.no_grad():
                        numeric["gpt2"] = model(test.Z0).double().cpu()
                        states["gpt2"] = model.predict_state(test.Z0).double().cpu()
                if c.classical:
                    from markov_icl.numeric.classical import LEARNERS as CLASSICAL
                    from markov_icl.numeric.classical import classical_predictions

                    numeric.update(classical_predictions(test, S, tuple(CLASSICAL)))
                numeric["counts"] = count_predictions(test, S)
                numeric["majority"] = majority_predictions(test, S)
                kern = test.kernel if S > 2 else _binary_kernel(test.kernel)
                last = test.chains[:, -1, d - 1].long()
                K_row = kern[torch.arange(len(y)), last]
                numeric["known_kernel"] = K_row @ torch.arange(S, dtype=K_row.dtype)
                states["known_kernel"] = known_kernel_predictions(_as_multistate(test, kern))
                bayes_row = next((r for r in erows if r["learner"] == "bayes"), None)
                bayes_risk = None if bayes_row is None else bayes_row["loss"]
                mc_bayes = _mc((numeric["bayes"] - y) ** 2)
                for learner in LEARNERS:
                    exact_row = next((r for r in erows if r["learner"] == learner), None)
                    if learner in EXACT and exact_row is None:
                        continue
                    if learner == "gpt2" and model is None:
                        continue
                    if exact_row is None and learner not in numeric:
                        continue  # not run (e.g. --no-classical)
                    if seed > 0 and learner != "gpt2" and learner not in numeric:
                        continue
                    if seed > 0 and learner != "gpt2":
                        continue  # the exact learners and the fixed rules: scored once (seed 0's prompts)
                    row = {"states": S, "d": d, "p": None if p is None else str(p), "n": n, "learner": learner,
                           "seed": seed if learner == "gpt2" else None,
                           "kind": exact_row["kind"] if exact_row else "monte carlo",
                           "loss": exact_row["loss"] if exact_row else None,
                           "loss_exact": exact_row["loss_exact"] if exact_row else None,
                           "interval_lo": exact_row["interval_lo"] if exact_row else None,
                           "interval_hi": exact_row["interval_hi"] if exact_row else None,
                           "loss_mc": None, "loss_se": None, "accuracy_mc": None, "accuracy_se": None,
                           "bayes_risk": bayes_risk, "bayes_risk_mc": mc_bayes[0], "bayes_risk_mc_se": mc_bayes[1],
                           "eval": c.eval}
                    if learner in numeric:
                        pred = numeric[learner]
                        if not bool(torch.isfinite(pred).all()):
                            raise MarkovICLError(f"learners: {learner} predicts non-finite values at |S| = {S}, d = {d},"
                                                 f" n = {n} (lower --lr)")
                        row["loss_mc"], row["loss_se"] = _mc((pred - y) ** 2)
                        st = states.get(learner, pred.round().clamp(0, S - 1))
                        row["accuracy_mc"], row["accuracy_se"] = _mc((st == y).double())
                    if row["loss"] is None:
                        row["loss"] = row["loss_mc"]
                    rows.append(row)
                bar.update(1)
    bar.close()
    return rows, summarise(rows)


def _binary_kernel(k):
    """Binary kernels ``(a, c)`` as ``(B, 2, 2)`` transition matrices."""
    import torch

    a, c = k[:, 0], k[:, 1]
    return torch.stack([torch.stack([1 - a, a], -1), torch.stack([c, 1 - c], -1)], 1)


def _as_multistate(pb, K):
    from markov_icl.numeric.prompts import PromptBatch

    return PromptBatch(pb.Z0, pb.y, pb.chains, K)


def summarise(rows: list[dict]) -> list[dict]:
    """One row per (|S|, d, p, n, learner): GPT-2's Monte Carlo losses averaged over seeds (standard error of the
    mean over seeds and prompts), the fraction of the gap from the paper's f~* to the Bayes floor it closes."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["states"], r["d"], r["p"], r["n"], r["learner"]), []).append(r)
    out = []
    for (S, d, p, n, learner), rs in groups.items():
        loss = float(np.mean([r["loss"] for r in rs]))
        se = None
        if rs[0]["loss_se"] is not None:
            se = float(np.sqrt(np.sum([r["loss_se"] ** 2 for r in rs])) / len(rs))
        base = groups.get((S, d, p, n, "lsa_f_tilde"))
        floor = rs[0]["bayes_risk"]
        closed = None
        if base and floor is not None and base[0]["loss"] - floor > 0:
            closed = (base[0]["loss"] - loss) / (base[0]["loss"] - floor)
        out.append({"states": S, "d": d, "p": p, "n": n, "learner": learner, "kind": rs[0]["kind"], "loss": loss,
                    "loss_se": se if rs[0]["kind"] == "monte carlo" else rs[0]["loss_se"],
                    "accuracy": None if rs[0]["accuracy_mc"] is None else float(np.mean([r["accuracy_mc"] for r in rs])),
                    "bayes_risk": floor, "gap_closed": closed, "seeds": len(rs)})
    return out


def plot(summary_rows: list[dict], config: LearnersConfig, path: Path) -> Path:
    """Loss vs n per learner, one panel per (|S|, d, p); the Bayes floor as a thick black line."""
    from matplotlib.ticker import NullFormatter

    plt = pyplot()
    settings = config.settings()
    cols = min(3, len(settings))
    nrows = (len(settings) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 3.9 * nrows + 1.2), squeeze=False)
    markers = "os^v<>dxP*hH+1234"
    for k, (S, d, p) in enumerate(settings):
        ax = axes[k // cols, k % cols]
        ps = None if p is None else str(p)
        for i, (learner, label) in enumerate(LEARNERS.items()):
            pts = sorted((s for s in summary_rows if (s["states"], s["d"], s["p"], s["learner"]) == (S, d, ps, learner)),
                         key=lambda s: s["n"])
            if not pts:
                continue
            xs = [s["n"] for s in pts]
            ys = [s["loss"] for s in pts]
            if learner == "bayes":
                ax.plot(xs, ys, "k-", lw=2.5, label=label, zorder=5)
                continue
            exact = learner in EXACT
            err = None if exact else [s["loss_se"] or 0.0 for s in pts]
            lw = 2.0 if learner in ("softmax", "lsa_const_f_tilde", "lsa_f_tilde", "gpt2") else 0.9
            ax.errorbar(xs, ys, yerr=err, fmt=markers[i % len(markers)] + ("-" if exact else ":"), ms=4,
                        lw=lw, capsize=2, label=label)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ns = config.n_values(S)
        ax.set_xticks(list(ns), [str(v) for v in ns])
        ax.set_xlabel("context chains n (log scale)")
        ax.set_ylabel("population loss E[(y_q - yhat)^2]")
        ax.set_title(f"|S| = {S}, d = {d}" + (f", p = {p}" if p is not None else ", uniform starts")
                     + f", Dirichlet({config.alpha}) rows", fontsize=9)
        ax.grid(alpha=0.3)
    for k in range(len(settings), nrows * cols):
        axes[k // cols, k % cols].axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7.5, frameon=False)
    fig.suptitle("In-context learners on Markov prompts against the exact Bayes floor (exact: solid; Monte Carlo "
                 f"with standard errors: dotted, {config.eval} held-out prompts; GPT-2 {config.layers} layers x "
                 f"{config.heads} heads x width {config.width}, {config.steps} steps, {config.seeds} seeds)", fontsize=10)
    fig.tight_layout(rect=(0, 1.3 / (3.9 * nrows + 1.2), 1, 0.96))
    return save_figure(fig, path)


def write(result, config: LearnersConfig, out: Path, plot_figure: bool = True) -> list[Path]:
    """``learners.csv``, ``learners_summary.csv`` and ``learners.png``."""
    rows, summary_rows = result
    return write_outputs(out, {"learners.csv": rows, "learners_summary.csv": summary_rows},
                         ("learners.png", lambda path: plot(summary_rows, config, path)) if plot_figure else None)


def summary(result, config: LearnersConfig, seconds: float) -> str:
    """What ``markov-icl experiment learners`` prints: each learner's loss per setting, and the gap closed."""
    _, summ = result
    short = {"bayes": "Bayes", "softmax": "softmax", "uniform_attention": "Q=0", "lsa_const_f_tilde": "c-f~*",
             "lsa_const_f_star": "c-f*", "lsa_f_tilde": "f~*", "lsa_f_star": "f*", "zfb": "zfb", "gd": "gd",
             "gpt2": "GPT-2", "logistic": "logreg", "linear_svm": "SVM", "knn3": "3-NN", "linear_regression": "linreg",
             "counts": "counts", "majority": "major", "known_kernel": "known-K"}
    learners = [m for m in LEARNERS if any(s["learner"] == m for s in summ)]
    table = {(s["states"], s["d"], s["p"], s["n"], s["learner"]): s for s in summ}
    keys = sorted({(s["states"], s["d"], s["p"] or "", s["n"]) for s in summ})
    lines = [f"learners: {len(keys)} settings ({seconds:.0f} s); squared loss (exact where the learner is exact, "
             "else Monte Carlo); c- = with a constant input",
             f"{'|S|':>3} {'d':>2} {'p':>4} {'n':>3} " + " ".join(f"{short[m]:>7}" for m in learners)]
    for S, d, p, n in keys:
        pk = p or None
        lines.append(f"{S:>3} {d:>2} {p or '-':>4} {n:>3} " + " ".join(
            f"{table[(S, d, pk, n, m)]['loss']:>7.4f}" if (S, d, pk, n, m) in table else f"{'':>7}" for m in learners))
    lines.append("share of the gap from the paper's f~* to the Bayes floor closed (mean over settings):")
    for m in ("lsa_const_f_tilde", "softmax", "gpt2"):
        vals = [s["gap_closed"] for s in summ if s["learner"] == m and s["gap_closed"] is not None]
        if vals:
            lines.append(f"  {LEARNERS[m]}: {np.mean(vals):.3f} (min {min(vals):.3f}, max {max(vals):.3f})")
    below = [s for s in summ if s["bayes_risk"] is not None and s["learner"] not in ("bayes", "known_kernel")
             and s["loss"] < s["bayes_risk"] - 3 * (s["loss_se"] or 0.0) - 1e-12]
    lines.append("every learner at or above the floor: " + ("yes" if not below else
                                                             f"NO ({len(below)} rows below; see learners.csv)"))
    return "\n".join(lines)


CONFIG = LearnersConfig

__all__ = ["LearnersConfig", "CONFIG", "LEARNERS", "EXACT", "run", "write", "summarise", "plot", "summary",
           "exact_learners", "sampler", "kernel_spec", "estimate_seconds", "EXACT_SECONDS"]
