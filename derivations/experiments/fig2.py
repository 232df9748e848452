"""Fig. 2: the objectives of Theorem 4.1 (R1, R2) layer by layer in a trained 10-layer structured LSA.

Setting (SPEC §9): binary chains, i.i.d. Bernoulli(p) initial states (p = 0.5), uniform
kernel prior, ``n = 100`` context chains of length 5 (d = 4). A
:class:`numeric.lsa.StructuredLSA` (SPEC §7) with 10 layers is trained by Adam
(:func:`numeric.train.train`, squared loss of SPEC §2). On held-out prompts we run the
recursion ``theta_0 = 0, theta_{l+1} = theta_l + u_l`` (:meth:`StructuredLSA.thetas`) and
evaluate, at ``w_l = -theta_l``, every objective of Theorem 4.1
(:func:`symbolic.multilayer.lambdify_objectives`): R1's squared loss ``L_sq`` and linear
terms ``T_i``, R2's cubic ``C`` and terms ``V_i``, and the layer's weighted ``R1_l(w_l)``,
``R2_l(w_l)``; all divided by n and averaged over prompts. The run also checks
Theorem 4.1 numerically: ``w_{l+1} - w_l = -(Abar_l^T grad R1_l + a_l e_d^T grad R2_l)(w_l)``
by autograd (``max_identity_error`` in the CSV).

Outputs (atomic writes): ``fig2.csv`` (one row per layer l = 0..L), ``fig2.png``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from derivations.experiments.options import check_options
from derivations.experiments.output import write_records
from derivations.plotting import pyplot, save_figure
from numeric.lsa import StructuredLSA
from numeric.prompts import sample_prompts
from numeric.train import train
from symbolic.laws import ChainLaw
from symbolic.multilayer import lambdify_objectives


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """Options of ``markov-icl experiment fig2`` (laptop-scale defaults)."""
    ap.add_argument("--layers", type=int, default=10, help="layers of the structured LSA (default 10)")
    ap.add_argument("--n", type=int, default=100, help="context chains (default 100)")
    ap.add_argument("--d", type=int, default=4, help="chain input length; chains have d+1 states (default 4)")
    ap.add_argument("--p", default="1/2", help="initial-state probability (default 1/2)")
    ap.add_argument("--steps", type=int, default=200, help="Adam steps (default 200)")
    ap.add_argument("--batch", type=int, default=64, help="prompts per step (default 64)")
    ap.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default 0.01)")
    ap.add_argument("--init-scale", type=float, default=0.1, help="std of the initial parameters (default 0.1)")
    ap.add_argument("--eval", type=int, default=500, help="held-out prompts (default 500)")
    ap.add_argument("--readout", choices=("minus", "plus"), default="minus",
                    help="prediction -[Z_L]_{d+1,n+1} = <w_L, x_q> (minus, Theorem 4.1's reading; default) or "
                         "+[Z_L]_{d+1,n+1} (plus, SPEC §2)")
    ap.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    ap.add_argument("--no-plot", action="store_true", help="write the CSV only")


def _weighted(model: StructuredLSA, l: int, vals: dict, n: int, d: int):
    """``R1_l(w)``, ``R2_l(w)`` (per prompt, before the 1/n normalisation) from the parts."""
    bx, by = model.bx[l], model.by[l]
    R1 = by / 2 * vals["L_sq"] - sum(bx[i] * vals[f"T_{i + 1}"] for i in range(d))
    R2 = by * vals["C"] + sum(bx[i] * vals[f"V_{i + 1}"] for i in range(d))
    return R1 / n, R2 / n


def layer_objectives(model: StructuredLSA, Z0: torch.Tensor) -> list[dict]:
    """Per layer l = 0..L: the objectives at ``w_l = -theta_l`` (means over prompts, / n),
    and the largest deviation from Theorem 4.1's step ``w_{l+1} - w_l`` (autograd)."""
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
        err = float("nan")
        if l < model.layers:
            R1, R2 = _weighted(model, l, vals, n, d)
            g1, = torch.autograd.grad(R1.sum(), w, retain_graph=True)
            g2, = torch.autograd.grad(R2.sum(), w)
            with torch.no_grad():
                step = torch.einsum("ij,bi->bj", model.Abar[l], g1) + model.a[l] * g2[:, d - 1:d]
                err = float(((-thetas[:, l + 1]) - (-thetas[:, l]) + step).abs().max())
                row["R1_l"], row["R2_l"] = float(R1.mean()), float(R2.mean())
        else:
            row["R1_l"], row["R2_l"] = float("nan"), float("nan")
        with torch.no_grad():
            pred = torch.einsum("bj,bj->b", thetas[:, l], Z0[:, :d, -1])
        row["max_identity_error"] = err
        row["prediction_mse"] = float("nan")  # filled by the caller (needs y_q)
        row["_pred"] = pred
        rows.append(row)
    return rows


class Negated(torch.nn.Module):
    """``yhat = -[Z_L]_{d+1,n+1}``: with ``w = -theta`` the prediction is ``<w_L, x_q>``."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, Z0: torch.Tensor) -> torch.Tensor:
        return -self.model(Z0)


def run_experiment(args) -> tuple[list[dict], dict]:
    """Train the structured LSA and evaluate the objectives layer by layer."""
    check_options(args, ints=("layers", "n", "d", "steps", "batch", "eval"), nonneg_ints=("seed",),
                  positive=("lr", "init_scale"), p=True)
    law = ChainLaw.default(args.p)
    model = StructuredLSA(args.d, layers=args.layers, init_scale=args.init_scale, seed=args.seed)
    sign = -1.0 if args.readout == "minus" else 1.0
    trained = Negated(model) if sign < 0 else model
    res = train(trained, law, args.d, args.n, steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed,
                progress=True)
    test = sample_prompts(law, args.d, args.n, args.eval, seed=10_000 + args.seed)
    rows = layer_objectives(model, test.Z0)
    for r in rows:
        r["prediction_mse"] = float(((sign * r.pop("_pred") - test.y) ** 2).mean())
    with torch.no_grad():
        final = float(((sign * model(test.Z0) - test.y) ** 2).mean())
    info = {"train_loss_last50": sum(res.losses[-50:]) / len(res.losses[-50:]), "test_loss": final,
            "seconds": res.seconds}
    return rows, info


def plot(rows: list[dict], path: Path, d: int) -> None:
    """Two panels: R1's objectives and R2's objectives vs layer (values / n)."""
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
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    save_figure(fig, path)


def run(args) -> int:
    """``markov-icl experiment fig2``: train, evaluate the objectives per layer, write CSV + plot."""
    out = Path(args.out)
    t0 = time.perf_counter()
    rows, info = run_experiment(args)

    write_records(out / "fig2.csv", rows)
    if not args.no_plot:
        plot(rows, out / "fig2.png", args.d)
    print(f"fig2: {args.layers}-layer structured LSA, n = {args.n}, d = {args.d}, p = {args.p}, readout {args.readout}; "
          f"test loss {info['test_loss']:.4f} ({time.perf_counter() - t0:.0f} s) -> {out / 'fig2.csv'}")
    err = max((r["max_identity_error"] for r in rows[:-1]), default=0.0)
    print(f"Theorem 4.1 step identity, max |w_(l+1) - w_l + Abar^T grad R1 + a e_d^T grad R2| = {err:.2e}")
    print(f"{'l':>3} {'L_sq/n':>9} {'C/n':>9} {'R1_l':>10} {'R2_l':>10} {'mse(l)':>8}")
    for r in rows:
        print(f"{r['layer']:>3} {r['L_sq']:>9.4f} {r['C']:>9.4f} {r['R1_l']:>10.4g} {r['R2_l']:>10.4g} "
              f"{r['prediction_mse']:>8.4f}")
    return 0


__all__ = ["add_arguments", "run", "run_experiment", "layer_objectives"]
