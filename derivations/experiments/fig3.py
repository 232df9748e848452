"""Fig. 3: accuracy of a dense L-layer LSA vs L in {1, 2, 3} for |S| in {2, 3, 4} states.

Setting (SPEC §8, §9): S-state chains used as numbers, kernel rows ``Dirichlet(alpha 1)``,
uniform initial states, ``n`` context chains and a query of length ``d + 1`` (the
paper: n = 10, length 6, i.e. d = 5). A :class:`numeric.lsa.DenseLSA` (SPEC §2) is
trained by Adam on the squared loss with fresh prompts every step; accuracy is the
fraction of held-out prompts whose prediction, rounded to the nearest state (and
clipped to ``0..S-1``), equals the query's label. Mean and standard deviation over seeds.

Reference columns in the CSV: ``bayes_known_K`` (predict ``argmax_j K_{s_q,d, j}`` with
the true kernel: no in-context method can beat it on average) and ``counts``
(predict the most frequent successor of ``s_{q,d}`` among the context transitions).

Outputs (atomic writes): ``fig3.csv`` (one row per S, L, seed), ``fig3_summary.csv``
(mean and std per S, L), ``fig3.png``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from derivations.experiments.options import check_options
from derivations.experiments.output import write_records
from derivations.plotting import pyplot, save_figure
from numeric.lsa import DenseLSA
from numeric.montecarlo import accuracy
from numeric.multistate import sample_multistate
from numeric.train import train

#: the paper's numbers for |S| = 3 (Fig. 3)
PAPER_S3 = {1: 0.55, 3: 0.98}


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """Options of ``markov-icl experiment fig3`` (laptop-scale defaults)."""
    ap.add_argument("--states", type=int, nargs="+", default=[2, 3, 4], help="numbers of states |S| (default 2 3 4)")
    ap.add_argument("--layers", type=int, nargs="+", default=[1, 2, 3], help="numbers of layers L (default 1 2 3)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds per (S, L) (default 5)")
    ap.add_argument("--n", type=int, default=10, help="context chains (default 10, as the paper)")
    ap.add_argument("--d", type=int, default=5, help="chain input length; the chain has d+1 states (default 5)")
    ap.add_argument("--alpha", type=float, default=0.1, help="Dirichlet concentration of kernel rows (default 0.1)")
    ap.add_argument("--steps", type=int, default=400, help="Adam steps (default 400)")
    ap.add_argument("--batch", type=int, default=256, help="prompts per step (default 256)")
    ap.add_argument("--lr", type=float, default=0.005, help="Adam learning rate (default 0.005)")
    ap.add_argument("--init-scale", type=float, default=0.05, help="std of the initial P, Q entries (default 0.05)")
    ap.add_argument("--eval", type=int, default=5000, help="held-out prompts for the accuracy (default 5000)")
    ap.add_argument("--no-plot", action="store_true", help="write the CSVs only")


def _check(args) -> None:
    check_options(args, ints=("seeds", "n", "d", "steps", "batch", "eval"), positive=("alpha", "lr", "init_scale"),
                  int_lists={"states": 2, "layers": 1})


def reference_accuracies(pb, S: int) -> dict[str, float]:
    """Accuracy of the known-kernel Bayes rule and of the in-context transition-count rule."""
    chains = pb.chains.long()  # (B, n+1, d+1)
    B, n1, L1 = chains.shape
    n = n1 - 1
    y = pb.y.long()
    last = chains[:, n, L1 - 2]  # s_{q,d}
    rows = pb.kernel[torch.arange(B), last]  # (B, S)
    bayes = float((rows.argmax(-1) == y).double().mean())
    ctx = chains[:, :n]
    src, dst = ctx[:, :, :-1].reshape(B, -1), ctx[:, :, 1:].reshape(B, -1)
    counts = torch.zeros(B, S, S, dtype=torch.float64)
    counts.index_put_((torch.arange(B)[:, None].expand_as(src), src, dst), torch.ones_like(src, dtype=torch.float64),
                      accumulate=True)
    # tie-break deterministically towards the lower state; unseen rows predict the last state itself
    row = counts[torch.arange(B), last]
    guess = torch.where(row.sum(-1) > 0, row.argmax(-1), last)
    return {"bayes_known_K": bayes, "counts": float((guess == y).double().mean())}


def train_one(S: int, L: int, seed: int, args, progress=None) -> tuple[DenseLSA, list[float]]:
    """Train one DenseLSA by Adam on fresh S-state prompts (squared loss of SPEC §2, gradient norm clipped to 10)."""
    model = DenseLSA(args.d, layers=L, init_scale=args.init_scale, seed=seed)

    def sampler(batch, generator):
        return sample_multistate(S, args.d, args.n, batch, alpha=args.alpha, generator=generator)

    res = train(model, None, args.d, args.n, steps=args.steps, batch=args.batch, lr=args.lr, seed=10_000 + seed,
                sampler=sampler, clip=10.0, progress=False,
                callback=None if progress is None else (lambda *_: progress()))
    return model, res.losses


def run_experiment(args) -> tuple[list[dict], list[dict]]:
    """All (S, L, seed) runs; returns (rows, summary)."""
    _check(args)
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    rows = []
    total = len(args.states) * len(args.layers) * args.seeds * args.steps
    bar = tqdm(total=total, desc="fig3", unit="step", disable=not sys.stderr.isatty(), mininterval=1.0)
    for S in args.states:
        test = sample_multistate(S, args.d, args.n, args.eval, alpha=args.alpha, seed=999_983 + S)
        ref = reference_accuracies(test, S)
        for L in args.layers:
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                model, losses = train_one(S, L, seed, args, progress=lambda: bar.update(1))
                with torch.no_grad():
                    pred = model(test.Z0)
                    mse = float(((pred - test.y) ** 2).mean())
                acc = accuracy(pred, test.y, S) if torch.isfinite(pred).all() else float("nan")
                rows.append({"states": S, "layers": L, "seed": seed, "accuracy": acc, "test_mse": mse,
                             "final_train_loss": float(np.mean(losses[-50:])), "seconds": time.perf_counter() - t0,
                             **ref})
    bar.close()
    summary = []
    for S in args.states:
        for L in args.layers:
            accs = np.array([r["accuracy"] for r in rows if r["states"] == S and r["layers"] == L])
            any_row = next(r for r in rows if r["states"] == S)
            summary.append({"states": S, "layers": L, "accuracy_mean": float(np.nanmean(accs)),
                            "accuracy_std": float(np.nanstd(accs)), "seeds": len(accs),
                            "bayes_known_K": any_row["bayes_known_K"], "counts": any_row["counts"],
                            "paper": PAPER_S3.get(L, "") if S == 3 else ""})
    return rows, summary


def _write_csv(path: Path, rows: list[dict]) -> None:
    write_records(path, rows)


def plot(summary: list[dict], path: Path, args) -> None:
    """Accuracy vs L, one line per |S| (error bars: std over seeds)."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    for S in args.states:
        pts = [s for s in summary if s["states"] == S]
        ax.errorbar([p["layers"] for p in pts], [p["accuracy_mean"] for p in pts],
                    yerr=[p["accuracy_std"] for p in pts], marker="o", capsize=3, label=f"|S| = {S}")
        ax.axhline(pts[0]["bayes_known_K"], ls=":", lw=0.8, color=ax.lines[-1].get_color())
    if 3 in args.states:
        ax.plot(list(PAPER_S3), list(PAPER_S3.values()), "k*", ms=9, label="paper, |S| = 3")
    ax.set_xlabel("layers L")
    ax.set_ylabel("accuracy")
    ax.set_xticks(args.layers)
    ax.set_title(f"dense LSA, n = {args.n}, length {args.d + 1}, Dirichlet({args.alpha:g})", fontsize=9)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def run(args) -> int:
    """``markov-icl experiment fig3``: train, evaluate, write CSVs and the plot."""
    out = Path(args.out)
    t0 = time.perf_counter()
    rows, summary = run_experiment(args)
    _write_csv(out / "fig3.csv", rows)
    _write_csv(out / "fig3_summary.csv", summary)
    if not args.no_plot:
        plot(summary, out / "fig3.png", args)
    print(f"fig3: {len(rows)} runs in {time.perf_counter() - t0:.0f} s -> {out / 'fig3_summary.csv'}")
    print(f"{'|S|':>4} {'L':>3} {'accuracy':>18} {'known-K Bayes':>14} {'counts':>7} {'paper':>6}")
    for s in summary:
        print(f"{s['states']:>4} {s['layers']:>3} {s['accuracy_mean']:>10.3f} +- {s['accuracy_std']:.3f} "
              f"{s['bayes_known_K']:>14.3f} {s['counts']:>7.3f} {str(s['paper']):>6}")
    return 0


__all__ = ["add_arguments", "run", "run_experiment", "reference_accuracies", "train_one", "PAPER_S3"]
