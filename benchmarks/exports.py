"""Float exports (:func:`markov_icl.functions`): build time and memory, batched X* time, accuracy; prints Markdown.

    python benchmarks/exports.py              # d = 8 and 12, accuracy for d = 1..12 (about 5 min)
    python benchmarks/exports.py --quick      # d = 8 only, accuracy for d = 1..8
    python benchmarks/exports.py --repeat 5   # medians of 5 instead of 3

Targets on a 2-core machine (issue: fast float exports): ``functions(8)`` builds in < 2 s and
< 500 MiB; 1000 evaluations of ``X_star`` at d = 8 in < 1 s (NumPy). Every build and every
timing runs in a fresh process (``python benchmarks/exports.py --child ...``), so that caches,
BLAS thread pools and the peak resident memory belong to that measurement alone. Memory is
the process's peak RSS (``ru_maxrss``) minus its peak after the imports (numpy, scipy, sympy,
torch, markov_icl). Torch runs with one thread (``torch.set_num_threads(1)``).

The accuracy table compares ``functions(d).X_star(p, n)`` in float64 (and float32) with the
exact rational X* of :func:`markov_icl.solve` at the same (p, n): the error is
``max_i |X_i - X*_i| / max_i |X*_i|``; cond(H) is the 2-norm condition number of the exact H
rounded to float64. Timings are of one call after a two-point warm-up call.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

POINTS = 1000
ACCURACY_POINTS = (("1/2", 10), ("3/10", 30))


def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _points(count: int, backend: str):
    import numpy as np

    rng = np.random.default_rng(0)
    p, n = rng.uniform(0.05, 0.95, count), rng.uniform(1.0, 100.0, count)
    if backend == "torch":
        import torch

        return torch.tensor(p), torch.tensor(n)
    return p, n


def child(task: str, d: int, backend: str, count: int) -> dict:
    """One measurement in this (fresh) process: ``build`` or ``eval``; returns seconds and MiB."""
    import numpy  # noqa: F401  (imports first: the baseline of the memory figures)
    import scipy.linalg  # noqa: F401
    import sympy  # noqa: F401
    import torch

    from markov_icl import functions

    torch.set_num_threads(1)
    base = _peak_mib()
    t = time.perf_counter()
    fns = functions(d, backend=backend)
    build_s = time.perf_counter() - t
    built = _peak_mib()
    out = {"build_s": build_s, "build_mib": built - base}
    if task == "eval":
        p, n = _points(count, backend)
        fns.X_star(p[:2], n[:2])  # warm-up: the constants cast to the call's dtype / device once
        t = time.perf_counter()
        X = fns.X_star(p, n)
        out["eval_s"] = time.perf_counter() - t
        out["eval_mib"] = _peak_mib() - built
        assert tuple(X.shape) == (count, d * (d + 1) * (d + 2) // 2)
    return out


def _run_child(task: str, d: int, backend: str = "numpy", count: int = POINTS) -> dict:
    cmd = [sys.executable, __file__, "--child", task, str(d), backend, str(count)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def accuracy_rows(top: int) -> list[tuple]:
    import numpy as np
    import sympy as sp
    import torch

    from markov_icl import functions, solve

    torch.set_num_threads(1)
    rows = []
    for d in range(1, top + 1):
        fn, ft = functions(d), functions(d, backend="torch")
        for pv, nv in ACCURACY_POINTS:
            sol = solve(d, pv, nv)
            exact = np.array([float(x) for x in sol.X_star])
            scale = np.abs(exact).max()
            pf = float(sp.Rational(pv))
            e64 = np.abs(fn.X_star(pf, float(nv)) - exact).max() / scale
            pt, nt = torch.tensor(pf, dtype=torch.float64), torch.tensor(float(nv), dtype=torch.float64)
            et = np.abs(ft.X_star(pt, nt).numpy() - exact).max() / scale
            e32 = np.abs(fn.X_star(np.float32(pf), np.float32(nv)).astype(float) - exact).max() / scale
            rows.append((d, len(exact), pv, nv, np.linalg.cond(sol.H_float), e64, et, e32))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="d = 8 only; accuracy for d <= 8")
    ap.add_argument("--repeat", type=int, default=3, help="fresh processes per timing (median)")
    ap.add_argument("--child", nargs=4, metavar=("TASK", "D", "BACKEND", "COUNT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        task, d, backend, count = args.child
        print(json.dumps(child(task, int(d), backend, int(count))))
        return
    dims = (8,) if args.quick else (8, 12)
    print(f"## Build and {POINTS} evaluations of X_star (medians of {args.repeat} fresh processes)\n")
    print("| d | dm | task | wall time (s) | peak memory above baseline (MiB) | target |")
    print("|---:|---:|---|---:|---:|---|")
    for d in dims:
        dm = d * (d + 1) * (d + 2) // 2
        runs = [_run_child("build", d) for _ in range(args.repeat)]
        target = "< 2 s, < 500 MiB" if d == 8 else ""
        print(f"| {d} | {dm} | `functions({d})` build | {_median(runs, 'build_s'):.2f} | {_median(runs, 'build_mib'):.0f} "
              f"| {target} |")
        for backend in ("numpy", "torch"):
            runs = [_run_child("eval", d, backend) for _ in range(args.repeat)]
            target = "< 1 s" if d == 8 and backend == "numpy" else ""
            print(f"| {d} | {dm} | `X_star`, {POINTS} random (p, n), {backend} float64 | {_median(runs, 'eval_s'):.2f} "
                  f"| {_median(runs, 'eval_mib'):.0f} | {target} |")
    top = 8 if args.quick else 12
    print(f"\n## Accuracy against the exact X* (d = 1..{top})\n")
    print("| d | dm | p | n | cond(H) | rel. error NumPy float64 | rel. error torch float64 | rel. error NumPy float32 |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|")
    for d, dm, pv, nv, cond, e64, et, e32 in accuracy_rows(top):
        print(f"| {d} | {dm} | {pv} | {nv} | {cond:.2e} | {e64:.1e} | {et:.1e} | {e32:.1e} |")


if __name__ == "__main__":
    main()
