"""Fig. 7: the attention of a trained GPT-2 model on the context chains against their similarity to the query.

Setting (the paper's Appendix B.2; theory §9): a :class:`~markov_icl.numeric.softmax.SoftmaxICL`
(GPT-2, softmax attention) is trained as in Fig. 6 on prompts of ``n`` context chains (kernel
rows Dirichlet(alpha), uniform initial states; binary by default). On held-out prompts we
read, in every layer and head, the attention weights of the query token on the ``n``
context tokens, and compare them with three similarities of context chain ``i`` to the
query (inputs ``x_i``, ``x_q`` of length d, theory §1):

* ``hamming``: the fraction of positions where ``x_i`` and ``x_q`` agree;
* ``last_state``: 1 when ``s_{i,d} = s_{q,d}`` (the chain's last input state is the query's, so its
  label is a draw from the very kernel row the query's label comes from), else 0;
* ``dot``: ``<x_i, x_q>`` (states as numbers).

The agreement of one head with one similarity is Spearman's rank correlation between the
two ``n``-vectors, computed per prompt (average ranks for ties; prompts where either vector
is constant are left out and counted) and averaged over prompts, with its standard error.
The same numbers for the model at its initialisation (before training) are the baseline: a
correlation the architecture has before it learns anything. ``attention_on_matching`` is the
attention mass the query puts on the chains with ``s_{i,d} = s_{q,d}``, next to their share
of the context (``share_matching``): attention that ignores the states puts mass equal to
the share on them.

Outputs (atomic writes): ``fig7.csv`` (one row per model (trained, untrained), layer, head and
similarity), ``fig7.png``.

Examples:
    >>> rows, info = run(Fig7Config(n=6, d=2, steps=2, eval=16, width=8, layers=1, heads=1))
    >>> sorted({(r["model"], r["similarity"]) for r in rows})[:2]
    [('trained', 'dot'), ('trained', 'hamming')]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from markov_icl.errors import MarkovICLError
from markov_icl.experiments.config import option, write_outputs
from markov_icl.experiments.fig6 import SoftmaxConfig
from markov_icl.io import pyplot, save_figure
from markov_icl.limits import MAX_STEPS
from markov_icl.symbolic.laws import parse_alpha

SIMILARITIES = ("hamming", "last_state", "dot")


@dataclass(frozen=True)
class Fig7Config(SoftmaxConfig):
    """Options of Fig. 7 (laptop-scale defaults; ``--paper``: GPT-2 at the size ICL studies use)."""

    states: int = option(2, "number of states |S|", "int>=1")
    d: int = option(3, "chain input length; chains have d+1 states", "int>=1", at_most=64, why="one command")
    n: int = option(20, "context chains (training and evaluation; at least 2)", "int>=1")
    steps: int = option(1500, "Adam steps", "int>=1", at_most=MAX_STEPS, why="one command")
    eval: int = option(1000, "held-out prompts", "int>=1")
    examples: int = option(3, "example prompts drawn in the figure", "int>=1", at_most=8, why="panels of one figure")
    seed: int = option(0, "seed of the model and the training stream", "seed")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n < 2:
            raise MarkovICLError(f"--n must be at least 2 (a rank correlation over the context chains), got {self.n}")
        if self.examples > self.eval:
            raise MarkovICLError(f"--examples must be at most --eval ({self.eval}), got {self.examples}")
        self.check_model((self.states,), self.n, self.d, self.eval)


def similarities(Z0) -> dict[str, np.ndarray]:
    """The three similarities of every context chain to the query: ``{name: (B, n)}``.

    Examples:
        >>> import torch
        >>> Z0 = torch.tensor([[[1., 0., 1.], [1., 1., 1.], [0., 1., 0.]]])  # d = 2, n = 2: x_1 = (1, 1), x_2 = (0, 1)
        >>> {k: v.tolist() for k, v in similarities(Z0).items()}
        {'hamming': [[1.0, 0.5]], 'last_state': [[1.0, 1.0]], 'dot': [[2.0, 1.0]]}
    """
    Z = Z0.detach().cpu().double().numpy()
    d = Z.shape[1] - 1
    X, xq = Z[:, :d, :-1], Z[:, :d, -1:]  # (B, d, n), (B, d, 1)
    return {"hamming": (X == xq).mean(1), "last_state": (X[:, -1] == xq[:, -1]).astype(float),
            "dot": (X * xq).sum(1)}


def rank_correlation(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spearman's rank correlation of the rows of ``a`` and ``b`` (``(..., n)``; average ranks for ties).

    Returns:
        ``(rho, defined)``: ``rho`` per row (0 where undefined) and whether it is defined (neither row constant).

    Examples:
        >>> rho, ok = rank_correlation(np.array([[1., 2., 3.], [1., 1., 1.]]), np.array([[3., 5., 9.], [1., 2., 3.]]))
        >>> rho.tolist(), ok.tolist()
        ([1.0, 0.0], [True, False])
    """
    from scipy.stats import rankdata

    ra, rb = rankdata(a, axis=-1), rankdata(b, axis=-1)
    ra, rb = ra - ra.mean(-1, keepdims=True), rb - rb.mean(-1, keepdims=True)
    den = np.sqrt((ra ** 2).sum(-1) * (rb ** 2).sum(-1))
    defined = den > 1e-12 * max(1.0, float(a.shape[-1]) ** 3)
    rho = np.where(defined, (ra * rb).sum(-1) / np.where(defined, den, 1.0), 0.0)
    return rho, defined


def agreement(att: np.ndarray, sims: dict[str, np.ndarray], model_name: str) -> list[dict]:
    """Rows of the CSV for one model: attention ``(layers, B, heads, n)`` against every similarity."""
    L, B, Hh, n = att.shape
    match = sims["last_state"]  # (B, n)
    rows = []
    for l in range(L):
        for h in range(Hh):
            a = att[l, :, h]  # (B, n)
            mass = (a * match).sum(-1) / np.maximum(a.sum(-1), 1e-300)
            for name, s in sims.items():
                rho, ok = rank_correlation(a, s)
                used = int(ok.sum())
                mean = float(rho[ok].mean()) if used else None
                se = float(rho[ok].std(ddof=1) / np.sqrt(used)) if used > 1 else None
                rows.append({"model": model_name, "layer": l + 1, "head": h + 1, "similarity": name,
                             "spearman_mean": mean, "spearman_se": se, "prompts_used": used, "prompts": B,
                             "attention_on_matching": float(mass.mean()), "share_matching": float(match.mean())})
    return rows


def estimate_seconds(config: Fig7Config) -> float:
    """A rough estimate of :func:`run`'s seconds on the CPU (:meth:`~markov_icl.experiments.fig6.SoftmaxConfig.step_seconds`
    per step). The defaults: 45-47 s measured, 2-core machine.

    Examples:
        >>> round(estimate_seconds(Fig7Config()))
        34
    """
    return config.steps * config.step_seconds(config.n) + 2e-4 * config.eval


def run(config: Fig7Config, progress: bool = True) -> tuple[list[dict], dict]:
    """Train the model, read its attention on held-out prompts (and the untrained model's); returns (rows, info).
    ``progress``: report progress (:class:`~markov_icl.progress.Progress`)."""
    import copy

    import torch

    from markov_icl.numeric.montecarlo import accuracy
    from markov_icl.numeric.multistate import known_kernel_predictions, sample_multistate
    from markov_icl.numeric.softmax import query_attention
    from markov_icl.progress import Progress

    c = config
    alpha = float(parse_alpha(c.alpha))
    model = c.model(c.d, c.states, c.n, c.seed)
    untrained = copy.deepcopy(model)
    bar = Progress("fig7", c.steps, unit="step", estimate=estimate_seconds(c), enabled=progress,
                   what=f"one GPT-2 of {c.steps} steps, then the attention on {c.eval} held-out prompts")
    res = c.train(model, (c.n, c.n), 10_000 + c.seed, callback=lambda *_: bar.update(1))
    bar.close()
    model.eval()
    test = sample_multistate(c.states, c.d, c.n, c.eval, alpha=alpha, seed=2_000_003 + c.seed)
    sims = similarities(test.Z0)
    att = query_attention(model, test.Z0).double().cpu().numpy()
    att0 = query_attention(untrained, test.Z0).double().cpu().numpy()
    rows = agreement(att, sims, "trained") + agreement(att0, sims, "untrained")
    with torch.no_grad():
        pred = model(test.Z0).double().cpu()
    y = test.y.double()
    info = {"accuracy": accuracy(model.predict_state(test.Z0).double().cpu(), y, c.states),
            "mse": float(((pred - y) ** 2).mean()),
            "known_kernel": float((known_kernel_predictions(test) == y).double().mean()),
            "train_loss_last50": float(np.mean(res.losses[-50:])), "train_seconds": res.seconds,
            "examples": {"attention": att[:, : c.examples], "similarity": {k: v[: c.examples] for k, v in sims.items()},
                         "x": test.Z0[: c.examples, : c.d].cpu().numpy()}}
    return rows, info


def plot(rows: list[dict], info: dict, config: Fig7Config, path: Path) -> Path:
    """Left: example prompts (the query's attention per layer and head over the context chains, chains sorted by
    Hamming similarity, with the similarity row above); right: mean Spearman correlation per layer and head."""
    plt = pyplot()
    c = config
    ex = info["examples"]
    E = ex["attention"].shape[1]
    fig = plt.figure(figsize=(14, 1.6 + 1.35 * max(E, 2)))
    grid = fig.add_gridspec(E, 2, width_ratios=[1.5, 1], wspace=0.42, hspace=0.7, bottom=0.2)
    labels = [f"L{l + 1}H{h + 1}" for l in range(c.layers) for h in range(c.heads)]
    example_axes = []
    for e in range(E):
        ax = fig.add_subplot(grid[e, 0])
        sim = ex["similarity"]["hamming"][e]
        order = np.argsort(-sim, kind="stable")
        maps = ex["attention"][:, e].reshape(c.layers * c.heads, -1)[:, order]
        img = np.vstack([sim[order][None, :], maps / np.maximum(maps.max(1, keepdims=True), 1e-300)])
        im = ax.imshow(img, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        example_axes.append(ax)
        ax.set_yticks(range(len(labels) + 1), ["similarity"] + labels, fontsize=7)
        ax.set_xticks([])
        ax.axhline(0.5, color="w", lw=1.5)
        ax.set_title(f"prompt {e + 1}: the query's attention per head (each row / its max)", fontsize=8)
        if e == E - 1:
            ax.set_xlabel(r"context chain $i$, sorted by Hamming similarity to $x_q$ (most similar on the left)",
                          fontsize=8)
    fig.colorbar(im, ax=example_axes, fraction=0.02, pad=0.01).set_label(
        "Hamming similarity; attention / row max", fontsize=8)
    ax = fig.add_subplot(grid[:, 1])
    width = 0.8 / (2 * len(SIMILARITIES))
    pos = np.arange(len(labels))
    for k, name in enumerate(SIMILARITIES):
        for m, (model_name, hatch, alpha) in enumerate([("trained", "", 1.0), ("untrained", "//", 0.45)]):
            vals = [next((r["spearman_mean"] or 0.0) for r in rows if r["model"] == model_name and r["similarity"] == name
                         and f"L{r['layer']}H{r['head']}" == lab) for lab in labels]
            ax.bar(pos + (2 * k + m - len(SIMILARITIES) + 0.5) * width, vals, width, hatch=hatch, alpha=alpha,
                   color=f"C{k}", label=f"{name} ({model_name})")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(pos, labels, fontsize=8)
    ax.set_xlabel("layer and head")
    ax.set_ylabel(r"Spearman $\rho$(attention, similarity), mean over prompts")
    ax.set_title(rf"$|S| = {c.states}$, $d = {c.d}$, $n = {c.n}$: trained accuracy {info['accuracy']:.3f} "
                 rf"(known-kernel rule, an oracle: {info['known_kernel']:.3f})", fontsize=9)
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)
    ax.grid(alpha=0.3, axis="y")
    fig.suptitle("Fig. 7: attention of the query on the context chains vs their similarity to the query", fontsize=10)
    return save_figure(fig, path)


def write(result, config: Fig7Config, out: Path, plot_figure: bool = True) -> list[Path]:
    """``fig7.csv`` and ``fig7.png``."""
    rows, info = result
    return write_outputs(out, {"fig7.csv": rows},
                         ("fig7.png", lambda path: plot(rows, info, config, path)) if plot_figure else None)


def summary(result, config: Fig7Config, seconds: float) -> str:
    """What ``markov-icl experiment fig7`` prints."""
    rows, info = result
    c = config
    lines = [f"fig7: GPT-2 {c.layers}x{c.heads}x{c.width}, |S| = {c.states}, d = {c.d}, n = {c.n}, {c.steps} steps "
             f"({seconds:.0f} s); held-out accuracy {info['accuracy']:.3f} (known-kernel rule, an "
             f"oracle: {info['known_kernel']:.3f}), mse {info['mse']:.4f}",
             "Spearman rho(query attention, similarity), mean over prompts (untrained model in brackets); "
             "attention mass on chains with s_(i,d) = s_(q,d) vs their share",
             f"{'head':>5} " + " ".join(f"{s:>17}" for s in SIMILARITIES) + f" {'mass':>6} {'share':>6}"]
    get = {(r["model"], r["layer"], r["head"], r["similarity"]): r for r in rows}

    def cell(r):
        return "-" if r["spearman_mean"] is None else f"{r['spearman_mean']:+.3f}"

    for l in range(1, c.layers + 1):
        for h in range(1, c.heads + 1):
            parts = [f"{cell(get[('trained', l, h, s)]):>7} [{cell(get[('untrained', l, h, s)]):>6}]" for s in SIMILARITIES]
            t = get[("trained", l, h, "last_state")]
            lines.append(f"L{l}H{h:<3} " + " ".join(f"{p:>17}" for p in parts)
                         + f" {t['attention_on_matching']:>6.3f} {t['share_matching']:>6.3f}")
    used = min(r["prompts_used"] for r in rows if r["model"] == "trained")
    lines.append(f"prompts with a defined correlation: at least {used} of {c.eval} (constant similarity rows left out)")
    return "\n".join(lines)


CONFIG = Fig7Config

__all__ = ["Fig7Config", "CONFIG", "SIMILARITIES", "run", "write", "plot", "summary", "similarities",
           "rank_correlation", "agreement"]
