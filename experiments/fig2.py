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

Outputs (atomic writes): ``fig2.csv`` (one row per layer l = 0..L), ``fig2.png``.

Examples:
    >>> rows, info = run(Fig2Config(layers=2, n=4, d=2, steps=2, batch=4, eval=8))
    >>> [r["layer"] for r in rows], max(r["max_identity_error"] for r in rows[:-1]) < 1e-10
    ([0, 1, 2], True)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from markov_icl.experiments.config import Config, option
from markov_icl.io import pyplot, save_figure, write_records
from markov_icl.limits import MAX_LAYERS, MAX_MODEL_D, MAX_STEPS, check_prompt_entries


@dataclass(frozen=True)
class Fig2Config(Config):
    """Options of Fig. 2 (laptop-scale defaults)."""

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
    seed: int = option(0, "seed", "seed")

    def __post_init__(self) -> None:
        super().__post_init__()
        # autograd keeps each layer's activations (training), the layer-by-layer objectives ~4 arrays (evaluation)
        check_prompt_entries("--batch", self.batch, self.n, self.d, per_entry=self.layers)
        check_prompt_entries("--eval", self.eval, self.n, self.d, per_entry=4)


def layer_objectives(model, Z0) -> list[dict]:
    """Per layer l = 0..L: the objectives at ``w_l = -theta_l`` (means over prompts, / n),
    and the largest deviation from Theorem 4.1's step ``w_{l+1} - w_l`` (autograd)."""
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
        for k, v in vals.items():
            row[k] = float(v.detach().mean() / n)
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
        rows.append(row)
    return rows


def run(config: Fig2Config, progress: bool = True) -> tuple[list[dict], dict]:
    """Train the structured LSA and evaluate the objectives layer by layer."""
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
    for r in rows:
        r["prediction_mse"] = float(((sign * r.pop("_pred") - test.y) ** 2).mean())
    with torch.no_grad():
        final = float(((sign * model(test.Z0) - test.y) ** 2).mean())
    info = {"train_loss_last50": sum(res.losses[-50:]) / len(res.losses[-50:]), "test_loss": final,
            "seconds": res.seconds}
    return rows, info


def plot(rows: list[dict], path: Path, d: int) -> Path:
    """Three panels: R1's objectives, R2's objectives, and the weighted per-layer values (all / n)."""
    plt = pyplot()
    ls = [r["layer"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for name in ["L_sq"] + [f"T_{i}" for i in range(1, d + 1)]:
        axes[0].plot(ls, [r[name] for r in rows], marker=".", label=name)
    for name in ["C"] + [f"V_{i}" for i in range(1, d + 1)]:
        axes[1].plot(ls, [r[name] for r in rows], marker=".", label=name)
    axes[2].plot(ls[:-1], [r["R1_l"] for r in rows[:-1]], marker="o", label="R1_l(w_l)")
    axes[2].plot(ls[:-1], [r["R2_l"] for r in rows[:-1]], marker="s", label="R2_l(w_l)")
    axes[2].plot(ls, [r["prediction_mse"] for r in rows], "k--", label="test MSE of layer l's prediction")
    for ax, title in zip(axes, ["R1 objectives at w_l = -theta_l (/n)", "R2 objectives (/n)", "weighted, per layer"]):
        ax.set_xlabel("layer l")
        ax.set_ylabel("value (mean over prompts)")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def write(result, config: Fig2Config, out: Path, plot_figure: bool = True) -> list[Path]:
    """``fig2.csv`` (one row per layer l = 0..L) and ``fig2.png``."""
    rows, _ = result
    out = Path(out)
    written = [write_records(out / "fig2.csv", rows)]
    if plot_figure:
        written.append(plot(rows, out / "fig2.png", config.d))
    return written


def summary(result, config: Fig2Config, seconds: float) -> str:
    """What ``markov-icl experiment fig2`` prints."""
    rows, info = result
    c = config
    err = max((r["max_identity_error"] for r in rows[:-1]), default=0.0)
    blank = f"{'':>10}"
    lines = [f"fig2: {c.layers}-layer structured LSA, n = {c.n}, d = {c.d}, p = {c.p}, readout {c.readout}; "
             f"test loss {info['test_loss']:.4f} ({seconds:.0f} s)",
             f"Theorem 4.1 step identity, max |w_(l+1) - w_l + Abar^T grad R1 + a e_d^T grad R2| = {err:.2e}",
             f"{'l':>3} {'L_sq/n':>9} {'C/n':>9} {'R1_l':>10} {'R2_l':>10} {'mse(l)':>8}"]
    for r in rows:
        r1 = blank if r["R1_l"] is None else f"{r['R1_l']:>10.4g}"
        r2 = blank if r["R2_l"] is None else f"{r['R2_l']:>10.4g}"
        lines.append(f"{r['layer']:>3} {r['L_sq']:>9.4f} {r['C']:>9.4f} {r1} {r2} {r['prediction_mse']:>8.4f}")
    return "\n".join(lines)


CONFIG = Fig2Config

__all__ = ["Fig2Config", "CONFIG", "run", "write", "plot", "summary", "layer_objectives"]
