"""Fig. 2: the objectives of Theorem 4.1 (R1, R2) layer by layer in a trained 10-layer structured LSA.

Setting (theory §9): binary chains, i.i.d. Bernoulli(p) initial states (p = 0.5), uniform
kernel prior, ``n = 100`` context chains of length 5 (d = 4). A
:class:`~markov_icl.numeric.lsa.StructuredLSA` (theory §7) with 10 layers is trained by Adam
(:func:`~markov_icl.numeric.train.train`, squared loss of theory §2). On held-out prompts we run the
recursion ``theta_0 = 0, theta_{l+1} = theta_l + u_l`` (:meth:`StructuredLSA.thetas`) and
evaluate, at ``w_l = -theta_l``, every objective of Theorem 4.1
(:func:`~markov_icl.symbolic.multilayer.lambdify_objectives`): R1's squared loss ``L_sq`` and linear
terms ``T_i``, R2's cubic ``C`` and terms ``V_i``, and the layer's weighted ``R1_l(w_l)``,
``R2_l(w_l)``; all divided by n and averaged over prompts. The run also checks
Theorem 4.1 numerically: ``w_{l+1} - w_l = -(Abar_l^T grad R1_l + a_l e_d^T grad R2_l)(w_l)``
by autograd (``max_identity_error`` in the CSV).

**Pareto view** (``--pareto A,B``, default ``L_sq,C``: R1's squared loss against R2's cubic).
For each layer l the points ``P_l`` are the held-out prompts' values ``(A/n, B/n)`` at ``w_l``
(one point per prompt); the layer's front ``F_l`` is the non-dominated subset of ``P_l``
(both objectives minimised, :mod:`markov_icl.numeric.pareto`); the reference front ``F*`` is
the non-dominated subset of the union of all layers' points; and
``GD_l = generational_distance(F_l, F*)`` = ``(1/|F_l|) (sum_{a in F_l} min_{r in F*} ||a - r||_2^2)^(1/2)``
(Van Veldhuizen and Lamont, p = 2, no normalisation). The paper does not give its own GD
construction: this one is our stated assumption (theory §9).

Outputs (atomic writes): ``fig2.csv`` (one row per layer l = 0..L, with ``pareto_front_size``
= |F_l|, ``on_reference_front`` = how many points of F_l lie on F* and ``generational_distance`` = GD_l),
``fig2_pareto.csv`` (one row per point of every layer's front), ``fig2.png``.

Examples:
    >>> rows, info = run(Fig2Config(layers=2, n=4, d=2, steps=2, batch=4, eval=8))
    >>> [r["layer"] for r in rows], max(r["max_identity_error"] for r in rows[:-1]) < 1e-10
    ([0, 1, 2], True)
    >>> info["pareto"]["objectives"], sum(r["on_reference_front"] for r in rows) == len(info["pareto"]["reference"])
    (('L_sq', 'C'), True)
    >>> Fig2Config(pareto="L_sq,W_1")
    Traceback (most recent call last):
    ...
    markov_icl.errors.MarkovICLError: --pareto must be two different objective names ... got 'L_sq,W_1'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from markov_icl.errors import Diverged, MarkovICLError, shown
from markov_icl.experiments.config import Config, option
from markov_icl.io import pyplot, save_figure, write_records
from markov_icl.limits import MAX_LAYERS, MAX_MODEL_D, MAX_STEPS, check_prompt_entries


def objective_names(d: int) -> list[str]:
    """The objectives of Theorem 4.1 that fig2 evaluates, in the CSV's order: ``L_sq, T_1..T_d, C, V_1..V_d``."""
    return ["L_sq", *(f"T_{i}" for i in range(1, d + 1)), "C", *(f"V_{i}" for i in range(1, d + 1))]


def parse_pareto(text, d: int) -> tuple[str, str]:
    """The two objective names of ``--pareto`` ("A,B", spaces allowed); else one-line :class:`MarkovICLError`.

    Examples:
        >>> parse_pareto(" T_2 , V_1", 2)
        ('T_2', 'V_1')
    """
    names = [t.strip() for t in text.split(",")] if isinstance(text, str) else []
    if len(names) != 2 or names[0] == names[1] or not set(names) <= set(objective_names(d)):
        raise MarkovICLError(f"--pareto must be two different objective names separated by a comma, from L_sq, C, "
                             f"T_1..T_{d}, V_1..V_{d} (d = {d}), got {shown(text)}")
    return names[0], names[1]


@dataclass(frozen=True)
class Fig2Config(Config):
    """Options of Fig. 2 (laptop-scale defaults)."""

    #: the paper's stated setting: a 10-layer structured LSA, 100 context chains of length 5, p = 0.5
    PAPER: ClassVar[dict] = {"layers": 10, "n": 100, "d": 4, "p": "1/2"}

    layers: int = option(10, "layers of the structured LSA", "int>=1", at_most=MAX_LAYERS, why="layers of one model")
    n: int = option(100, "context chains", "int>=1")
    d: int = option(4, "chain input length; chains have d+1 states", "int>=1", at_most=MAX_MODEL_D,
                    why="the per-coordinate objectives T_i, V_i are built symbolically")
    p: str = option("1/2", "initial-state probability", "p")
    steps: int = option(200, "Adam steps", "int>=1", at_most=MAX_STEPS, why="one command")
    batch: int = option(64, "prompts per step", "int>=1")
    lr: float = option(0.01, "Adam learning rate", "float>0")
    init_scale: float = option(0.1, "std of the initial parameters", "float>0")
    eval: int = option(500, "held-out prompts", "int>=1")
    readout: str = option("minus", "prediction -[Z_L]_{d+1,n+1} = <w_L, x_q> (minus, Theorem 4.1's reading) or "
                                   "+[Z_L]_{d+1,n+1} (plus, Section 2.4)", "choice", ("minus", "plus"))
    pareto: str = option("L_sq,C", "the two objectives (A,B among L_sq, C, T_i, V_i) of the Pareto view: "
                                   "per-prompt points, each layer's front and its generational distance")
    seed: int = option(0, "seed", "seed")

    def __post_init__(self) -> None:
        super().__post_init__()
        parse_pareto(self.pareto, self.d)
        # autograd keeps each layer's activations (training), the layer-by-layer objectives ~4 arrays (evaluation)
        check_prompt_entries("--batch", self.batch, self.n, self.d, per_entry=self.layers)
        check_prompt_entries("--eval", self.eval, self.n, self.d, per_entry=4)


def layer_objectives(model, Z0) -> list[dict]:
    """Per layer l = 0..L: the objectives at ``w_l = -theta_l`` (means over prompts, / n),
    and the largest deviation from Theorem 4.1's step ``w_{l+1} - w_l`` (autograd).

    Each row also carries ``"_per_prompt"``: ``{name: float64 array (B,)}``, every objective per prompt
    (/ n; the means above are their means), and ``"_pred"``, layer l's prediction (both for the caller)."""
    import torch

    from markov_icl.symbolic.multilayer import lambdify_objectives, weighted_objectives

    d, n = model.d, Z0.shape[-1] - 1
    X, y = Z0[:, :d, :n], Z0[:, d, :n]
    objs = lambdify_objectives(d, "torch")
    with torch.no_grad():
        thetas = model.thetas(Z0)  # (B, L+1, d)
    rows = []
    for l in range(model.layers + 1):
        w = (-thetas[:, l]).detach().requires_grad_(True)
        vals = {k: f(w, X, y) for k, f in objs.items()}
        row = {"layer": l}
        per_prompt = {}
        for k, v in vals.items():
            row[k] = float(v.detach().mean() / n)
            per_prompt[k] = (v.detach() / n).to(torch.float64).cpu().numpy()
        err = None
        if l < model.layers:
            R1, R2 = weighted_objectives(model.bx[l], model.by[l], vals, n)
            g1, = torch.autograd.grad(R1.sum(), w, retain_graph=True)
            g2, = torch.autograd.grad(R2.sum(), w)
            with torch.no_grad():
                step = torch.einsum("ij,bi->bj", model.Abar[l], g1) + model.a[l] * g2[:, d - 1:d]
                err = float(((-thetas[:, l + 1]) - (-thetas[:, l]) + step).abs().max())
                row["R1_l"], row["R2_l"] = float(R1.mean()), float(R2.mean())
        else:  # the last layer takes no step: nothing to report (an empty CSV cell)
            row["R1_l"], row["R2_l"] = None, None
        with torch.no_grad():
            pred = torch.einsum("bj,bj->b", thetas[:, l], Z0[:, :d, -1])
        row["max_identity_error"] = err
        row["prediction_mse"] = None  # filled by the caller (needs y_q)
        row["_pred"] = pred
        row["_per_prompt"] = per_prompt
        rows.append(row)
    return rows


def pareto_view(points: list, objectives: tuple[str, str]) -> dict:
    """The Pareto view of per-layer point sets ``points[l]`` (``(B, 2)`` arrays, both objectives minimised).

    Returns ``{"objectives", "points", "fronts", "front_on_reference", "reference", "on_reference", "gd"}``: the
    points ``P_l``; each layer's front ``F_l`` (non-dominated subset of ``P_l``, sorted by the first objective) and
    which of its points lie on the reference front ``F*`` (the non-dominated subset of the union of all ``P_l``);
    ``on_reference[l]`` = how many points of ``F_l`` lie on ``F*`` (these counts sum to ``|F*|``: a point of the
    union that no point dominates is on its own layer's front); ``gd[l]`` = ``generational_distance(F_l, F*)``.

    Examples:
        >>> import numpy as np
        >>> v = pareto_view([np.array([[0., 2.], [2., 0.]]), np.array([[1., 1.], [3., 3.]])], ("a", "b"))
        >>> [len(f) for f in v["fronts"]], len(v["reference"]), v["on_reference"], v["gd"]
        ([2, 1], 3, [2, 1], [0.0, 0.0])
    """
    import numpy as np

    from markov_icl.numeric.pareto import generational_distance, pareto_front

    reference = pareto_front(np.concatenate(points))
    values = {tuple(r) for r in reference.tolist()}  # equal points are dominated alike: membership by value
    fronts = [pareto_front(P) for P in points]
    flags = [np.array([tuple(f) in values for f in F.tolist()], dtype=bool) for F in fronts]
    return {"objectives": tuple(objectives), "points": list(points), "fronts": fronts, "front_on_reference": flags,
            "reference": reference, "on_reference": [int(f.sum()) for f in flags],
            "gd": [generational_distance(F, reference) for F in fronts]}


def run(config: Fig2Config, progress: bool = True) -> tuple[list[dict], dict]:
    """Train the structured LSA, evaluate the objectives layer by layer and build the Pareto view
    (``info["pareto"]``, :func:`pareto_view`)."""
    import numpy as np
    import torch

    from markov_icl.numeric.lsa import Negated, StructuredLSA
    from markov_icl.numeric.prompts import sample_prompts
    from markov_icl.numeric.train import train
    from markov_icl.symbolic.laws import ChainLaw

    c = config
    law = ChainLaw.default(c.p)
    model = StructuredLSA(c.d, layers=c.layers, init_scale=c.init_scale, seed=c.seed)
    sign = -1.0 if c.readout == "minus" else 1.0
    trained = Negated(model) if sign < 0 else model
    res = train(trained, law, c.d, c.n, steps=c.steps, batch=c.batch, lr=c.lr, seed=c.seed, progress=progress)
    test = sample_prompts(law, c.d, c.n, c.eval, seed=10_000 + c.seed)
    rows = layer_objectives(model, test.Z0)
    objectives = parse_pareto(c.pareto, c.d)
    points = []
    for r in rows:
        r["prediction_mse"] = float(((sign * r.pop("_pred") - test.y) ** 2).mean())
        per_prompt = r.pop("_per_prompt")
        points.append(np.column_stack([per_prompt[objectives[0]], per_prompt[objectives[1]]]))
        if not np.isfinite(points[-1]).all():
            raise Diverged(f"experiment fig2: a per-prompt objective at layer {r['layer']} is not finite (training "
                           "diverged; lower the learning rate or the initial scale)")
    view = pareto_view(points, objectives)
    for r, size, on_ref, gd in zip(rows, map(len, view["fronts"]), view["on_reference"], view["gd"]):
        r["pareto_front_size"], r["on_reference_front"], r["generational_distance"] = size, on_ref, gd
    with torch.no_grad():
        final = float(((sign * model(test.Z0) - test.y) ** 2).mean())
    info = {"train_loss_last50": sum(res.losses[-50:]) / len(res.losses[-50:]), "test_loss": final,
            "seconds": res.seconds, "pareto": view}
    return rows, info


def objective_label(name: str, per_n: bool = True) -> str:
    r"""``L_sq`` -> ``$\mathcal{L}_{\mathrm{sq}}/n$``, ``T_3`` -> ``$T_{3}/n$`` (matplotlib mathtext)."""
    base = r"\mathcal{L}_{\mathrm{sq}}" if name == "L_sq" else (
        name if "_" not in name else "{}_{{{}}}".format(*name.split("_", 1)))
    return f"${base}/n$" if per_n else f"${base}$"


def plot_layers(L: int) -> list[int]:
    """The layers drawn in the Pareto panel: 0, 1, 2, L//2, L (those that exist)."""
    return sorted({l for l in (0, 1, 2, L // 2, L) if 0 <= l <= L})


def plot(rows: list[dict], path: Path, d: int, view: dict | None = None, title: str | None = None) -> Path:
    """Top row: R1's objectives, R2's objectives, and the weighted per-layer values (all / n), layer by layer.
    Bottom row (with the Pareto ``view`` of :func:`pareto_view`): per-prompt points, each drawn layer's front and
    the reference front; and GD_l against the layer. ``title``: the setting, above the panels."""
    import numpy as np

    plt = pyplot()
    ls = [r["layer"] for r in rows]
    fig = plt.figure(figsize=(13, 7.6) if view is not None else (13, 3.6))
    grid = fig.add_gridspec(2 if view is not None else 1, 3, hspace=0.42, wspace=0.28)
    axes = [fig.add_subplot(grid[0, k]) for k in range(3)]
    for name in ["L_sq"] + [f"T_{i}" for i in range(1, d + 1)]:
        axes[0].plot(ls, [r[name] for r in rows], marker=".", label=objective_label(name, per_n=False))
    for name in ["C"] + [f"V_{i}" for i in range(1, d + 1)]:
        axes[1].plot(ls, [r[name] for r in rows], marker=".", label=objective_label(name, per_n=False))
    axes[2].plot(ls[:-1], [r["R1_l"] for r in rows[:-1]], marker="o", label=r"$R_{1,l}(w_l)$")
    axes[2].plot(ls[:-1], [r["R2_l"] for r in rows[:-1]], marker="s", label=r"$R_{2,l}(w_l)$")
    axes[2].plot(ls, [r["prediction_mse"] for r in rows], "k--", label=r"test MSE of layer $l$'s prediction")
    titles = [r"$R_1$'s objectives at $w_l = -\theta_l$ ($/n$)", r"$R_2$'s objectives at $w_l = -\theta_l$ ($/n$)",
              r"weighted objectives of layer $l$ ($/n$)"]
    for ax, title in zip(axes, titles):
        ax.set_xlabel(r"layer $l$")
        ax.set_ylabel("value (mean over prompts)")
        ax.set_title(title, fontsize=9)
        last = ax is axes[2]
        ax.legend(fontsize=7, ncol=2 if d > 2 and not last else 1, loc="upper right" if last else "best")
    if view is not None:
        L = len(rows) - 1
        cloud, zoom = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
        _pareto_panel(cloud, view, plot_layers(L), plt.get_cmap("viridis"), zoomed=False)
        _pareto_panel(zoom, view, plot_layers(L), plt.get_cmap("viridis"), zoomed=True)
        gax = fig.add_subplot(grid[1, 2])
        gd, layer = np.array(view["gd"]), np.array(ls)
        pos = gd > 0
        log = bool(pos.any() and gd[pos].max() > 10 * gd[pos].min())  # values spanning decades
        shown_gd = pos if log else np.ones_like(pos)  # a log axis cannot show GD = 0: marked on its bottom edge
        gax.plot(layer[shown_gd], gd[shown_gd], marker="o", color="C3")
        if log:
            gax.set_yscale("log")
        if (~pos).any():
            zero = r"$\mathrm{GD} = 0$: $F_l \subseteq F^\ast$" + (" (bottom edge)" if log else "")
            gax.plot(layer[~pos], np.full((~pos).sum(), 0.03) if log else gd[~pos], "v", color="C3", mfc="white",
                     ms=8, transform=gax.get_xaxis_transform() if log else gax.transData, clip_on=False, label=zero)
        gax.set_xlabel(r"layer $l$")
        gax.set_ylabel(r"$\mathrm{GD}(F_l, F^\ast)$")
        gax.set_title(r"generational distance to $F^\ast$ ($p = 2$)", fontsize=9)
        gax.set_xlim(-0.5, L + 0.5)
        if (~pos).any():
            gax.legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def _pareto_panel(ax, view: dict, layers: list[int], cmap, zoomed: bool) -> None:
    """Per-prompt points (dots), the fronts F_l of ``layers`` (steps) and F* (black) on ``ax``; ``zoomed``: the
    window around the fronts only."""
    import numpy as np

    a, b = view["objectives"]
    R = view["reference"]
    for k, l in enumerate(layers):
        color = cmap(k / max(1, len(layers) - 1) * 0.9)
        P, F = view["points"][l], view["fronts"][l]
        ax.scatter(P[:, 0], P[:, 1], s=5 if not zoomed else 9, alpha=0.2, color=color, linewidths=0, rasterized=True)
        ax.plot(F[:, 0], F[:, 1], drawstyle="steps-post", color=color, lw=1.4, marker=".", ms=5,
                label=rf"layer {l}: $P_{{{l}}}$, $F_{{{l}}}$ ($|F_{{{l}}}| = {len(F)}$)")
    ax.plot(R[:, 0], R[:, 1], drawstyle="steps-post", color="black", lw=1.0, ls="--", marker="x", ms=4,
            label=rf"reference front $F^\ast$ ($|F^\ast| = {len(R)}$)")
    if zoomed:
        box = np.concatenate([R, *(view["fronts"][l] for l in layers)])
        lo, hi = box.min(axis=0), box.max(axis=0)
        pad = 0.06 * np.maximum(hi - lo, 1e-12)
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        ax.set_title(r"zoom on the fronts $F_l$ (steps) and $F^\ast$ (black)", fontsize=9)
    else:
        ax.set_title(r"per-prompt points $P_l$ (dots) at $w_l$, both minimised", fontsize=9)
        ax.legend(fontsize=7, loc="best")  # one legend for both panels (the zoom has the same colours)
    ax.set_xlabel(objective_label(a))
    ax.set_ylabel(objective_label(b))


def pareto_records(view: dict) -> list[dict]:
    """One record per point of every layer's front: ``layer``, the two objective values (/ n), and
    ``on_reference_front`` (1 if the point lies on F*, else 0)."""
    a, b = view["objectives"]
    return [{"layer": l, a: float(x), b: float(y), "on_reference_front": int(on)}
            for l, (F, flags) in enumerate(zip(view["fronts"], view["front_on_reference"]))
            for (x, y), on in zip(F, flags)]


def write(result, config: Fig2Config, out: Path, plot_figure: bool = True) -> list[Path]:
    """``fig2.csv`` (one row per layer l = 0..L), ``fig2_pareto.csv`` (one row per point of every layer's front)
    and ``fig2.png``."""
    rows, info = result
    out = Path(out)
    written = [write_records(out / "fig2.csv", rows),
               write_records(out / "fig2_pareto.csv", pareto_records(info["pareto"]), float_format=".17g")]
    if plot_figure:
        c = config
        title = (f"Fig. 2: {c.layers}-layer structured LSA, d = {c.d}, n = {c.n}, p = {c.p}, readout {c.readout}, "
                 f"{c.steps} Adam steps, {c.eval} held-out prompts")
        written.append(plot(rows, out / "fig2.png", config.d, info["pareto"], title=title))
    return written


def summary(result, config: Fig2Config, seconds: float) -> str:
    """What ``markov-icl experiment fig2`` prints."""
    rows, info = result
    c = config
    view = info["pareto"]
    a, b = view["objectives"]
    err = max((r["max_identity_error"] for r in rows[:-1]), default=0.0)
    blank = f"{'':>10}"
    lines = [f"fig2: {c.layers}-layer structured LSA, n = {c.n}, d = {c.d}, p = {c.p}, readout {c.readout}; "
             f"test loss {info['test_loss']:.4f} ({seconds:.0f} s)",
             f"Theorem 4.1 step identity, max |w_(l+1) - w_l + Abar^T grad R1 + a e_d^T grad R2| = {err:.2e}",
             f"Pareto ({a}/n, {b}/n) per prompt, minimised: |F*| = {len(view['reference'])} (front of all "
             f"{sum(map(len, view['points']))} points, all layers); "
             "GD_l = (1/|F_l|) sqrt(sum_{a in F_l} min_{r in F*} ||a - r||^2)",
             f"{'l':>3} {'L_sq/n':>9} {'C/n':>9} {'R1_l':>10} {'R2_l':>10} {'mse(l)':>8} {'|F_l|':>6} {'GD_l':>9}"]
    for r in rows:
        r1 = blank if r["R1_l"] is None else f"{r['R1_l']:>10.4g}"
        r2 = blank if r["R2_l"] is None else f"{r['R2_l']:>10.4g}"
        lines.append(f"{r['layer']:>3} {r['L_sq']:>9.4f} {r['C']:>9.4f} {r1} {r2} {r['prediction_mse']:>8.4f} "
                     f"{r['pareto_front_size']:>6} {r['generational_distance']:>9.3g}")
    return "\n".join(lines)


CONFIG = Fig2Config

__all__ = ["Fig2Config", "CONFIG", "run", "write", "plot", "summary", "layer_objectives", "objective_names",
           "parse_pareto", "pareto_view", "pareto_records", "objective_label", "plot_layers"]
