"""``markov-icl softmax``: exact one-layer softmax attention on Markov prompts
(:mod:`markov_icl.symbolic.softmax`)."""

from __future__ import annotations

import json
import math

import numpy as np

from markov_icl.cli.options import add_law_options
from markov_icl.errors import MarkovICLError, check_int, float_option, int_option
from markov_icl.limits import MAX_STARTS, check_at_most, check_seed
from markov_icl.symbolic.softmax import MAX_TYPE_VECTORS, SoftmaxLoss, best_softmax, softmax_flow, type_vector_count

#: measured seconds per (x_q, N) pair of the exact weights (2-core machine; docs/benchmarks.md)
SECONDS_PER_VECTOR = 3e-5
#: measured seconds per pair of one multistart L-BFGS run (2-core machine: 0.9e-5 to 2.6e-5 at d = 1..3, n up to 80)
SECONDS_PER_VECTOR_START = 2e-5

#: the longest gradient flow accepted (in the loss's time units; the d <= 2 flows settle before t = 1e4)
MAX_FLOW_TIME = 1e6


def _matrix(Q) -> list:
    return [[float(v) for v in row] for row in np.asarray(Q)]


def format_result(res: dict) -> str:
    """A readable summary of the ``--json`` object."""
    lines = [
        f"markov-icl softmax  d={res['d']}  p={res['p'] if res['p'] is not None else '(unused)'}  n={res['n']}  "
        f"kernel={res['kernel']}  init={res['init']}" + (f"  states={res['states']}" if res["states"] != 2 else ""),
        "",
        f"loss at Q = 0 (uniform attention) = {res['loss_at_zero']} ~ {res['loss_at_zero_float']:.12g}",
        f"f_softmax*                        = {res['f_softmax_star']:.12g}  "
        f"(certified f(Q*) in [{res['f_softmax_star_interval'][0]:.15g}, {res['f_softmax_star_interval'][1]:.15g}])",
    ]
    if res.get("bayes_risk_float") is not None:
        lines.append(f"Bayes floor                       = {res['bayes_risk_float']:.12g}")
    lines.append("Q* (last row: no effect)          = "
                 + "; ".join(", ".join(f"{v:.6g}" for v in row) for row in res["Q_star"]))
    a = res["attention"]
    lines += [
        f"attention on chains with x_i = x_q: {a['exact']:.6g} at Q* ({a['exact_given']:.6g} when one is present), "
        f"{a['exact_uniform']:.6g} at Q = 0",
        f"attention on chains with the query's last state: {a['last_state']:.6g} at Q*, {a['last_state_uniform']:.6g} "
        "at Q = 0",
        f"certificate: {res['certificate']}",
    ]
    if res.get("flow"):
        fl = res["flow"]
        lines += ["", f"gradient flow from Q = 0 to t = {fl['T']:g}: final loss {fl['final_loss']:.12g}, attention on "
                      f"matching chains {fl['final_attention']:.6g}"]
        lines += [f"  {k}: t = {v:.6g}" for k, v in fl["stages"].items()]
    return "\n".join(lines)


def estimate_seconds(size: int, starts: int, flow: bool = False) -> float:
    """The command's expected run time on the 2-core machine: ``size`` (query, type counts) pairs, ``starts``
    multistart runs, and the gradient flow when asked (the rates above)."""
    return size * SECONDS_PER_VECTOR + starts * (0.05 + size * SECONDS_PER_VECTOR_START) + (size * 1e-4 if flow else 0.0)


def register(sub, argv=()) -> None:
    """Add the ``softmax`` subcommand."""
    ap = sub.add_parser("softmax", help="exact one-layer softmax attention: loss at Q = 0, best loss, gradient flow",
                        description="One-layer softmax attention yhat = sum_i y_i softmax_i(xt_i^T Q xt_q), xt = (x, 1): "
                                    "its exact population loss as a finite sum over context type counts "
                                    "(docs/theory.md section 14), the exact loss at Q = 0, the best loss f_softmax* "
                                    "with its minimiser (multistart, exact gradient), and the gradient flow from Q = 0.")
    ap.add_argument("--d", type=int_option, required=True, help="chain input length d >= 1")
    ap.add_argument("--p", default=None, help="initial-state probability, exact (binary chains)")
    ap.add_argument("--n", type=int_option, required=True, help="number of context chains n >= 1")
    add_law_options(ap, states=True)
    ap.add_argument("--starts", type=int_option, default=12, help="multistart runs (default 12)")
    ap.add_argument("--seed", type=int_option, default=0, help="seed of the random starts")
    ap.add_argument("--flow", type=float_option, default=None, metavar="T",
                    help="also integrate the gradient flow from Q = 0 to time T and report its stages")
    ap.add_argument("--out", default=None, help="with --flow: write flow.csv and flow.png into this folder")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.set_defaults(func=run)


def run(args) -> int:
    """Check the options, compute, print."""
    check_int("--d", args.d, 1)
    check_int("--n", args.n, 1)
    check_int("--states", args.states, 2)
    check_at_most("--starts", check_int("--starts", args.starts), MAX_STARTS, "each start is an L-BFGS run")
    check_seed("--seed", check_int("--seed", args.seed, 0))
    if args.flow is not None and not (math.isfinite(args.flow) and 0 < args.flow <= MAX_FLOW_TIME):
        raise MarkovICLError(f"--flow must be a time in (0, {MAX_FLOW_TIME:g}], got {args.flow}")
    if args.out is not None and args.flow is None:
        raise MarkovICLError("--out writes the gradient flow: give --flow T too")
    if args.out is not None:
        from markov_icl.io import check_out_dir

        check_out_dir(args.out)
    size = type_vector_count(args.d, args.n, args.states)
    if size > MAX_TYPE_VECTORS:
        raise MarkovICLError(f"--n {args.n} --d {args.d}: the exact softmax loss sums over {size:.3g} (query, context "
                             f"type counts) pairs; at most {MAX_TYPE_VECTORS:.0e}: lower --n or --d")
    from markov_icl.progress import Progress

    est = estimate_seconds(size, args.starts, args.flow is not None)
    with Progress("softmax", estimate=est, enabled=est >= 10, delay=1.0,
                  what=f"exact weights of {size:.2g} (query, type counts) pairs, {args.starts} starts"
                       + ("" if args.flow is None else f", the flow to t = {args.flow:g}") + " (2-core machine)"):
        L = SoftmaxLoss(args.d, args.p, args.n, kernel=args.kernel, init=args.init, states=args.states, progress=True)
        opt = best_softmax(L, starts=args.starts, seed=args.seed, progress=True)
        flow = softmax_flow(L, T=args.flow) if args.flow is not None else None
    res = {
        "d": args.d, "p": None if L.p is None else str(L.p), "n": args.n, "states": args.states, "kernel": L.kernel,
        "init": L.init, "pairs": L.size,
        "loss_at_zero": str(opt.loss_at_zero), "loss_at_zero_float": float(opt.loss_at_zero),
        "f_softmax_star": opt.f_softmax_star, "f_softmax_star_interval": list(opt.certified),
        "Q_star": _matrix(opt.Q_star), "hessian_eigenvalues": [float(x) for x in opt.hessian_eigenvalues],
        "runs": opt.runs, "attention": opt.attention, "certificate": opt.certificate, "E_y2": str(L.E_y2),
    }
    from markov_icl.symbolic.bayes import MAX_COUNT_VECTORS, bayes, count_vector_bound

    if count_vector_bound(args.d, args.n, args.states) <= MAX_COUNT_VECTORS // 10:
        b = bayes(args.d, args.p, args.n, kernel=args.kernel, init=args.init, states=args.states)
        res["bayes_risk"], res["bayes_risk_float"] = str(b.bayes_risk), b.bayes_risk_float
    if flow is not None:
        res["flow"] = {"T": args.flow, "final_loss": float(flow.loss[-1]),
                       "final_attention": float(flow.attention_exact[-1]), "stages": flow.stages}
        if args.out:
            _write_flow(args.out, flow, res)
    print(json.dumps(res, allow_nan=False) if args.json else format_result(res))
    return 0


def _write_flow(out, flow, res: dict) -> None:
    """flow.csv (t, loss, attention on matching chains, the first d rows of Q) and flow.png, each atomic."""
    from pathlib import Path

    from markov_icl.io import pyplot, save_figure, write_csv

    out = Path(out)
    k = flow.Q.shape[1]
    header = ["t", "loss", "attention_exact", "attention_last_state"] + [f"Q{u + 1}{v + 1}" for u in range(k - 1)
                                                                         for v in range(k)]
    rows = [[float(t), float(flow.loss[i]), float(flow.attention_exact[i]), float(flow.attention_last[i])]
            + [float(x) for x in flow.Q[i, :-1].reshape(-1)] for i, t in enumerate(flow.t)]
    write_csv(out / "flow.csv", header, rows)
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    t = flow.t[1:]
    a1.semilogx(t, flow.loss[1:], label="softmax attention (exact loss)")
    a1.axhline(res["f_softmax_star"], ls="--", color="k", lw=0.8, label="f_softmax*")
    a1.axhline(res["loss_at_zero_float"], ls="-.", color="C7", lw=0.8, label="Q = 0 (uniform attention)")
    if res.get("bayes_risk_float") is not None:
        a1.axhline(res["bayes_risk_float"], ls=":", color="C3", label="Bayes floor")
    a1.set_xlabel("flow time t (log scale)")
    a1.set_ylabel("population loss E[(y_q - yhat)^2]")
    a1.legend(fontsize=8)
    a2.semilogx(t, flow.attention_exact[1:], label="on chains with x_i = x_q")
    a2.semilogx(t, flow.attention_last[1:], ls="--", label="on chains with the query's last state")
    a2.set_xlabel("flow time t (log scale)")
    a2.set_ylabel("expected attention mass")
    a2.set_ylim(0, 1)
    a2.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"gradient flow of one-layer softmax attention from Q = 0 (d = {res['d']}, p = {res['p']}, "
                 f"n = {res['n']}, kernel {res['kernel']})", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out / "flow.png")


__all__ = ["register", "run", "format_result", "estimate_seconds"]
