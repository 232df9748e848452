"""Fig. 4: sparse vs dense one-layer LSA training curves reach the same loss.

Setting (SPEC §9; the paper: n = 30, p = 0.3, B = 100 prompts per step): binary chains,
uniform kernel prior, i.i.d. Bernoulli(p) initial states. A one-layer
:class:`numeric.lsa.DenseLSA` (dense ``P, Q``) and a :class:`numeric.lsa.SparseLSA`
(``yhat = b^T G A x_q``) are trained by Adam on the same stream of prompts (fresh every
step, or a fixed dataset with ``--dataset-size``) from independent random
initialisations. Only the last row of ``P`` and the first ``d`` columns of ``Q`` enter a
one-layer prediction (SPEC §2), so both models compute the same function class.

Besides the noisy minibatch loss, every ``--eval-every`` steps each model's population
loss is computed exactly from the derived objective,
``f~(phi(b, A)) = E[y^2] - 2 beta^T phi + phi^T H phi`` (SPEC §3), and the exact
``f~* = E[y^2] - beta^T X*`` is drawn as a line (a lower bound; reached only where X* is
realisable, SPEC §6), together with the best one-layer loss ``f* = min_{b,A} f(b, A)``
(variable projection, :mod:`symbolic.varpro`). For d >= 2 the one-layer landscape has
several local minima, so the two models, started independently, can settle at slightly
different levels between f* and the worst local minimum; ``--shared-init`` starts both at
the same (b, A), and then the runs coincide (the dense model's other entries get no
gradient).

Outputs (atomic writes): ``fig4.csv`` (one row per step) and ``fig4.png``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from derivations.experiments.options import check_options
from derivations.experiments.output import write_csv as write_rows
from derivations.plotting import pyplot, save_figure
from derivations.verify_cmd import exact_objective, population_loss
from numeric.lsa import DenseLSA, SparseLSA, one_layer_params, phi
from numeric.train import train

MODELS = ("dense", "sparse")


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """Options of ``markov-icl experiment fig4`` (laptop-scale defaults; the paper's n, p, B)."""
    ap.add_argument("--d", type=int, default=3, help="chain input length d (default 3)")
    ap.add_argument("--n", type=int, default=30, help="context chains (default 30, as the paper)")
    ap.add_argument("--p", default="3/10", help="initial-state probability, exact (default 3/10, as the paper)")
    ap.add_argument("--batch", type=int, default=100, help="prompts per step B (default 100, as the paper)")
    ap.add_argument("--steps", type=int, default=3000, help="Adam steps (default 3000)")
    ap.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default 0.01)")
    ap.add_argument("--schedule", choices=("constant", "cosine"), default="cosine",
                    help="learning-rate schedule (default cosine to 0, which removes the minibatch noise floor)")
    ap.add_argument("--init-scale", type=float, default=0.3, help="std of the initial parameters (default 0.3)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the prompts; model inits use seed and seed+1")
    ap.add_argument("--dataset-size", type=int, default=None,
                    help="train on a fixed dataset of this many prompts (default: fresh prompts every step)")
    ap.add_argument("--eval-every", type=int, default=25, help="steps between exact population losses (default 25)")
    ap.add_argument("--shared-init", action="store_true",
                    help="start the sparse model at the dense model's (b, A) (then the two runs coincide up to rounding)")
    ap.add_argument("--no-f-star", action="store_true", help="skip the best one-layer loss f* (variable projection)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--no-plot", action="store_true", help="write the CSV only")


def _check(args) -> None:
    check_options(args, ints=("d", "n", "batch", "steps", "eval_every", "threads", "dataset_size"),
                  nonneg_ints=("seed",), positive=("lr", "init_scale"), p=True)


def run_experiment(args) -> dict:
    """Train both models; returns ``{"rows": [...], "f_tilde_star": float, "final": {...}}``."""
    _check(args)
    obj = exact_objective(args.d, args.p, args.n)
    law = obj["law"]
    rows = [{"step": s} for s in range(args.steps)]
    final = {}
    bar = tqdm(total=len(MODELS) * args.steps, desc="fig4", disable=not sys.stderr.isatty())
    for k, name in enumerate(MODELS):
        seed = args.seed + k
        if name == "dense":
            model = DenseLSA(args.d, layers=1, init_scale=args.init_scale, seed=seed)
            init_b, init_A = one_layer_params(model)
        else:
            model = SparseLSA(args.d, init_scale=args.init_scale, seed=seed)
            if args.shared_init:
                with torch.no_grad():
                    model.b.copy_(init_b)
                    model.A.copy_(init_A)

        def record(step, net, loss, name=name):
            bar.update(1)
            if step % args.eval_every == 0 or step == args.steps - 1:
                with torch.no_grad():
                    X = phi(*one_layer_params(net)).numpy()
                rows[step][f"{name}_exact_loss"] = population_loss(X, obj)

        res = train(model, law, args.d, args.n, steps=args.steps, batch=args.batch, lr=args.lr, optimizer="adam",
                    seed=args.seed, online=args.dataset_size is None, dataset_size=args.dataset_size,
                    schedule=args.schedule, progress=False, callback=record)
        for step, loss in enumerate(res.losses):
            rows[step][f"{name}_train_loss"] = loss
        final[name] = {"exact_loss": rows[-1][f"{name}_exact_loss"], "seconds": res.seconds}
    bar.close()
    f_star = None if args.no_f_star else best_one_layer_loss(obj)
    for r in rows:
        r["f_tilde_star"] = obj["f_tilde_star"]
        if f_star is not None:
            r["f_star"] = f_star
    return {"rows": rows, "f_tilde_star": obj["f_tilde_star"], "f_star": f_star, "final": final}


def best_one_layer_loss(obj: dict) -> float | None:
    """``f* = min_{b,A} f(b, A)`` by variable projection (SPEC §6; :mod:`symbolic.varpro`),
    or None when that module is not available."""
    try:
        from symbolic.varpro import best_one_layer
    except ImportError:
        return None
    d = len(obj["index"]) and obj["index"][-1][0]
    ex = obj["exact"]
    return float(best_one_layer(d, ex.H, ex.beta, ex.E_y2).f_star)


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (the first points average what is available)."""
    c = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def plot(result: dict, args, path: Path) -> None:
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
        ax2.semilogy(es, np.maximum(el - fstar, 1e-12), color=colors[name], lw=1.8, label=name)
    ax.axhline(fstar, color="k", ls="--", lw=1, label=f"exact $\\tilde f^*$ = {fstar:.5f}")
    if result.get("f_star") is not None:
        ax.axhline(result["f_star"], color="tab:green", ls=":", lw=1.2,
                   label=f"best one-layer $f^*$ = {result['f_star']:.5f}")
        ax2.axhline(max(result["f_star"] - fstar, 1e-12), color="tab:green", ls=":", lw=1.2, label="$f^* - \\tilde f^*$")
    hi = max(r["dense_exact_loss"] for r in rows if "dense_exact_loss" in r)
    ax.set_ylim(fstar - 0.05 * (hi - fstar) - 1e-3, min(hi, fstar + 3 * (hi - fstar)) + 1e-3)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(f"one-layer LSA, d = {args.d}, n = {args.n}, p = {args.p}, B = {args.batch}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax2.set_xlabel("step")
    ax2.set_ylabel(r"exact loss $-\ \tilde f^*$")
    ax2.set_title("gap to the enlarged-space optimum")
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def write_csv(result: dict, path: Path) -> None:
    """One row per step: minibatch losses, exact population losses (blank between evaluations), f~*."""
    cols = ["step", "dense_train_loss", "sparse_train_loss", "dense_exact_loss", "sparse_exact_loss", "f_tilde_star",
            "f_star"]

    rows = [[(r[k] if k == "step" else repr(float(r[k]))) if k in r else "" for k in cols] for r in result["rows"]]
    write_rows(path, cols, rows)


def run(args) -> int:
    """``markov-icl experiment fig4``: train, write ``fig4.csv`` and ``fig4.png``, print a summary."""
    _check(args)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    result = run_experiment(args)
    out = Path(args.out)
    csv_path = out / "fig4.csv"
    write_csv(result, csv_path)
    written = [csv_path]
    if not args.no_plot:
        png = out / "fig4.png"
        plot(result, args, png)
        written.append(png)
    fstar = result["f_tilde_star"]
    print(f"fig4: one-layer LSA, d={args.d} n={args.n} p={args.p} B={args.batch}, {args.steps} Adam steps "
          f"(lr {args.lr}, {args.schedule}), {time.perf_counter() - t0:.1f} s")
    print(f"  exact f~*                      {fstar:.6f}")
    if result.get("f_star") is not None:
        print(f"  best one-layer f* (varpro)     {result['f_star']:.6f}   (f* - f~* = {result['f_star'] - fstar:.2e})")
    for name in MODELS:
        e = result["final"][name]["exact_loss"]
        print(f"  {name:<6} final exact loss        {e:.6f}   (gap {e - fstar:.2e})")
    diff = abs(result["final"]["dense"]["exact_loss"] - result["final"]["sparse"]["exact_loss"])
    print(f"  |dense - sparse|               {diff:.2e}" + ("" if math.isfinite(diff) else " (diverged)"))
    for p in written:
        print(f"  wrote {p}")
    return 0


__all__ = ["add_arguments", "run", "run_experiment", "plot", "write_csv"]
