"""Wall times of the core engine (issue 2's targets); prints a Markdown table.

    python benchmarks/objective.py            # all rows
    python benchmarks/objective.py --quick    # skip d = 9, 10

Targets on a 2-core machine: d = 3 symbolic H and beta < 1 s; d = 2 symbolic X* < 5 s;
d = 8 exact X* < 20 s; d = 10 exact X* < 60 s. Each row runs in a fresh process state
as far as caches go (lru caches of the chain polynomials are cleared).
"""

from __future__ import annotations

import argparse
import time

from markov_icl.symbolic.laws import P_SYMBOL, ChainLaw
from markov_icl.symbolic.moments import conditional_moment, kernel_power
from markov_icl.symbolic.objective import ObjectiveTerms
from markov_icl.symbolic.solve import solve_numeric, solve_symbolic_pn


def _fresh():
    conditional_moment.cache_clear()
    kernel_power.cache_clear()


def timed(fn):
    _fresh()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rows = []
    for d in (1, 2, 3, 4):
        t = timed(lambda d=d: ObjectiveTerms(d).symbolic())
        rows.append((f"H, beta symbolic in (p, n), d = {d}", t, "< 1 s" if d == 3 else ""))
    for d in (1, 2):
        t = timed(lambda d=d: solve_symbolic_pn(ObjectiveTerms(d), P_SYMBOL))
        rows.append((f"X*, f~* symbolic in (p, n), d = {d}", t, "< 5 s" if d == 2 else ""))
    top = 8 if args.quick else 10
    for d in range(1, top + 1):
        t = timed(lambda d=d: solve_numeric(ObjectiveTerms(d, ChainLaw.default("1/2")), n=10))
        target = {8: "< 20 s", 10: "< 60 s"}.get(d, "")
        rows.append((f"X*, f~* exact at p = 1/2, n = 10, d = {d} (dm = {d * (d + 1) * (d + 2) // 2})", t, target))
    print("| task | wall time (s) | target |")
    print("|---|---:|---|")
    for name, t, target in rows:
        print(f"| {name} | {t:.3f} | {target} |")


if __name__ == "__main__":
    main()
