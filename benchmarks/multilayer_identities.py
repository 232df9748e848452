"""Time the direct (fully expanded) forward-pass identities of Theorem 4.1 (docs/theory.md section 7).

    python benchmarks/multilayer_identities.py            # the subset the document runs
    python benchmarks/multilayer_identities.py --grid     # every feasible (d, n, L) with d, n, L <= 3
    python benchmarks/multilayer_identities.py --cases 2,2,3

Prints one row per (d, n, L): whether the L-layer forward pass equals the recursion
theta_{l+1} = theta_l + u_l, the size of the largest polynomial compared, and the seconds.
Exit status 1 if any identity fails.
"""

from __future__ import annotations

import argparse
import sys
import time

from markov_icl.derivations.theorem_4_1 import FORWARD_FULL, FORWARD_SUBSET
from markov_icl.symbolic.multilayer import check_forward_identity


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", action="store_true", help="run the feasible full grid of direct expansions")
    ap.add_argument("--cases", nargs="*", default=None, help="extra d,n,L triples, e.g. 2,2,3")
    args = ap.parse_args(argv)
    cases = list(FORWARD_FULL if args.grid else FORWARD_SUBSET)
    cases += [tuple(int(v) for v in c.split(",")) for c in (args.cases or [])]
    ok = True
    t0 = time.perf_counter()
    print(f"{'d':>2} {'n':>2} {'L':>2} {'holds':>6} {'monomials':>10} {'seconds':>8}")
    for d, n, L in cases:
        r = check_forward_identity(d, n, L)
        ok &= r.holds
        print(f"{d:>2} {n:>2} {L:>2} {str(r.holds):>6} {r.terms:>10} {r.seconds:>8.2f}", flush=True)
    print(f"({time.perf_counter() - t0:.1f} s wall)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
