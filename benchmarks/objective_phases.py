"""Where the time of ``markov-icl objective --d D --p 1/2 --n 10 --json`` goes, phase by phase; prints Markdown.

    python benchmarks/objective_phases.py                  # d = 1..14 (d = 13, 14 take minutes)
    python benchmarks/objective_phases.py --ds 1-10        # a range or a list, e.g. 8,10,12
    python benchmarks/objective_phases.py --monte-carlo    # also the Monte Carlo baseline at d = 2 and 4

Each d runs in a fresh process. The phases are the library calls the command makes: the
chain-moment tables (``ObjectiveTerms``), the assembly of H, beta at (p, n) = (1/2, 10), the
exact flint solve, the positive-definiteness certificate, and the output (``to_dict`` and the
JSON string). ``main()`` is the command's own work, ``markov_icl.cli.main(argv)`` timed in a
fresh process after the imports (numpy, sympy, python-flint and the package); ``command`` is
the whole ``markov-icl objective ...`` process
(interpreter start and imports included, the import time in brackets) with its peak resident
memory. The ratios divide by the bare work (tables + assembly + solve); the performance target
bounds ``main() / bare`` by 2 (at small d the whole command is mostly start-up).

The Monte Carlo baseline is what a user would do without the engine: estimate H and beta
from sampled prompts (``markov_icl.numeric.montecarlo.estimate_objective``), solve, and
compare with the exact X*. Its error falls like N^(-1/2); the table extrapolates the
number of prompts (and the time) needed for a relative error of 1e-3.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time
sys.set_int_max_str_digits(0)
d = int(sys.argv[1])
from markov_icl.symbolic.certify import certify_numeric
from markov_icl.symbolic.laws import ChainLaw
from markov_icl.symbolic.objective import ObjectiveTerms
from markov_icl.symbolic.solve import exact_solve_flint, solve_numeric
law = ChainLaw.default("1/2")
t0 = time.perf_counter(); terms = ObjectiveTerms(d, law)
t1 = time.perf_counter(); H, beta, ey2 = terms.numeric(n=10)
t2 = time.perf_counter(); X = exact_solve_flint(H, beta)
t3 = time.perf_counter(); cert = certify_numeric(H)
t4 = time.perf_counter()
sol = solve_numeric(terms, n=10)
sol.__dict__["certificate"] = cert
t5 = time.perf_counter(); text = json.dumps(sol.to_dict(), allow_nan=False)
t6 = time.perf_counter()
print(json.dumps({"tables": t1 - t0, "assembly": t2 - t1, "solve": t3 - t2, "certificate": t4 - t3,
                  "method": cert.method, "output": t6 - t5, "json_mb": len(text) / 1e6}))
"""

IN_PROCESS = r"""
import contextlib, io, json, os, sys, time
t = time.perf_counter()
import flint, numpy, sympy  # noqa: the libraries the command imports when it runs
import markov_icl.symbolic.solve
from markov_icl.cli import main
t_import = time.perf_counter() - t
with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(io.StringIO()):
    t = time.perf_counter()
    status = main(sys.argv[1:])
    t_main = time.perf_counter() - t
assert status == 0, status
print(json.dumps({"import": t_import, "main": t_main}))
"""

MEASURE = r"""
import resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def parse_ds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = (int(t) for t in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(t) for t in text.split(",")]


def phases(d: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(d)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _argv(d: int) -> list[str]:
    return ["objective", "--d", str(d), "--p", "1/2", "--n", "10", "--json", "--max-d", "20"]


def command(d: int) -> tuple[float, float]:
    """The whole command in its own process: (wall seconds, peak RSS in MB)."""
    exe = os.path.join(os.path.dirname(sys.executable), "markov-icl")
    out = subprocess.run([sys.executable, "-c", MEASURE, exe, *_argv(d)], capture_output=True, text=True, check=True)
    seconds, rss_kb = out.stdout.split()
    return float(seconds), int(rss_kb) / 1024


def in_process(d: int) -> dict:
    """``markov_icl.cli.main(argv)`` timed inside a fresh process, after its imports: {"import": s, "main": s}."""
    out = subprocess.run([sys.executable, "-c", IN_PROCESS, *_argv(d)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def monte_carlo(d: int, samples: list[int], seeds: int = 3) -> list[dict]:
    import numpy as np

    from markov_icl import solve
    from markov_icl.numeric.montecarlo import estimate_objective

    sol = solve(d, "1/2", 10)
    exact = np.array([float(x) for x in sol.X_star])
    rows = []
    for N in samples:
        errs, secs = [], []
        for seed in range(seeds):
            t = time.perf_counter()
            est = estimate_objective(sol.law, d, 10, N, seed=seed)
            X = np.linalg.solve(est.H.mean.numpy(), est.beta.mean.numpy())
            secs.append(time.perf_counter() - t)
            errs.append(float(np.linalg.norm(X - exact) / np.linalg.norm(exact)))
        err = float(np.median(errs))
        need = N * (err / 1e-3) ** 2
        rows.append({"d": d, "N": N, "rel_error": err, "seconds": float(np.median(secs)), "N_for_1e-3": need,
                     "seconds_for_1e-3": float(np.median(secs)) * need / N})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ds", default="1-14")
    ap.add_argument("--monte-carlo", action="store_true")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    print("| d | dm | tables | assembly | solve | certificate (method) | output (JSON MB) | bare = tables + assembly "
          "+ solve | main() | main() / bare | command (imports) | command / bare | peak RSS (MB) |")
    print("|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for d in parse_ds(args.ds):
        ph = phases(d)
        inner = in_process(d)
        secs, rss = command(d)
        bare = ph["tables"] + ph["assembly"] + ph["solve"]
        print(f"| {d} | {d * (d + 1) * (d + 2) // 2} | {ph['tables']:.2f} | {ph['assembly']:.2f} | {ph['solve']:.2f} "
              f"| {ph['certificate']:.2f} ({ph['method']}) | {ph['output']:.2f} ({ph['json_mb']:.1f}) | {bare:.2f} "
              f"| {inner['main']:.2f} | {inner['main'] / bare:.2f} | {secs:.2f} ({inner['import']:.2f}) "
              f"| {secs / bare:.2f} | {rss:.0f} |", flush=True)
    if args.monte_carlo:
        print()
        print("| d | prompts N | relative error of X* (median of 3) | seconds | N for 1e-3 (extrapolated) "
              "| seconds for 1e-3 |")
        print("|---:|---:|---:|---:|---:|---:|")
        for d, samples in ((2, [10**5, 10**6]), (4, [10**5, 10**6])):
            for r in monte_carlo(d, samples):
                print(f"| {r['d']} | {r['N']:.0e} | {r['rel_error']:.2e} | {r['seconds']:.1f} | {r['N_for_1e-3']:.1e} "
                      f"| {r['seconds_for_1e-3']:.0f} |", flush=True)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main()
