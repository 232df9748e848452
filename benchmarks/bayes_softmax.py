"""Sizes reached by the exact Bayes floor and the exact softmax loss, timed as a user runs them.

Each row runs ``markov-icl bayes --d D --p 1/2 --n N --json`` (or ``markov-icl softmax ... --starts 1
--json``) in a fresh process and reports its wall time and peak memory (the child's maximum resident set
from ``resource.getrusage``), the number of terms summed and the value. Usage::

    python benchmarks/bayes_softmax.py            # the default grid (a few minutes on 2 cores)
    python benchmarks/bayes_softmax.py --quick    # the small rows only
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

BAYES = [(1, 10), (1, 100), (2, 10), (2, 50), (2, 100), (3, 50), (3, 100), (2, 150)]
BAYES_MULTI = [(1, 5), (1, 10), (1, 15), (2, 3), (2, 5)]
SOFTMAX = [(1, 10), (1, 40), (1, 80), (2, 5), (2, 10), (2, 15), (3, 3), (3, 4)]
QUICK = {"bayes": [(1, 10), (2, 10), (2, 100)], "multi": [(1, 5)], "softmax": [(1, 10), (2, 5)]}


def run(args: list[str]) -> tuple[dict, float, float]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "markov_icl", *args, "--json"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # MiB (Linux: KiB)
    if proc.returncode:
        return {"error": proc.stderr.strip()}, wall, peak
    return json.loads(proc.stdout), wall, peak


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    grids = QUICK if a.quick else {"bayes": BAYES, "multi": BAYES_MULTI, "softmax": SOFTMAX}
    print(f"{'command':<52} {'wall s':>7} {'peak MiB*':>9} {'terms':>9}  value")
    for d, n in grids["bayes"]:
        res, wall, peak = run(["bayes", "--d", str(d), "--p", "1/2", "--n", str(n)])
        val = res.get("bayes_risk_float", res.get("error"))
        print(f"{f'bayes --d {d} --p 1/2 --n {n}':<52} {wall:>7.2f} {peak:>9.0f} {res.get('count_vectors', ''):>9}  {val}")
    for d, n in grids["multi"]:
        res, wall, peak = run(["bayes", "--d", str(d), "--n", str(n), "--states", "3", "--kernel", "dirichlet:1"])
        val = res.get("bayes_risk_float", res.get("error"))
        print(f"{f'bayes --d {d} --n {n} --states 3 --kernel dirichlet:1':<52} {wall:>7.2f} {peak:>9.0f} "
              f"{res.get('count_vectors', ''):>9}  {val}")
    for d, n in grids["softmax"]:
        res, wall, peak = run(["softmax", "--d", str(d), "--p", "1/2", "--n", str(n), "--starts", "1"])
        val = res.get("f_softmax_star", res.get("error"))
        print(f"{f'softmax --d {d} --p 1/2 --n {n} --starts 1':<52} {wall:>7.2f} {peak:>9.0f} {res.get('pairs', ''):>9}  "
              f"{val}")
    print("* peak: the largest child so far (getrusage of all children), so it never decreases down the table")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
