"""``markov-icl objective``: the exact enlarged-space objective (:func:`markov_icl.symbolic.solve.solve`)."""

from __future__ import annotations

import json

from markov_icl.errors import check_int, int_option
from markov_icl.limits import (
    DEFAULT_MAX_D,
    MULTISTATE_SECONDS,
    SYMBOLIC_SECONDS,
    announce,
    check_d,
    check_multistate_d,
    estimated_seconds,
)
from markov_icl.symbolic.solve import MAX_SYMBOLIC_D_ONE_VARIABLE, MAX_SYMBOLIC_D_TWO_VARIABLES, max_symbolic_d, solve


def format_table(res: dict) -> str:
    """A readable table of :meth:`~markov_icl.symbolic.solve.Solution.to_dict`."""
    lines = [
        f"markov-icl objective  d={res['d']}  p={res['p'] if res['p'] is not None else '(unused)'}  n={res['n']}  "
        f"kernel={res['kernel']}  "
        f"init={res['init']}  form={res['form']}" + (f"  states={res['states']}" if res.get("states", 2) != 2 else ""),
        "",
    ]
    xs = res["X_star"] or [None] * len(res["index"])
    # where X* is not derived: the largest d it is derived for (p, n symbolic as "p", "n"; S > 2 states: d = 1)
    limit = max_symbolic_d(res["p"] == "p", res["n"] == "n") if res.get("states", 2) == 2 else 1
    w_idx = max(len("[j,u,v]"), *(len(str(ix)) for ix in res["index"]))
    w_b = max(len("beta"), *(len(b) for b in res["beta"]))
    lines.append(f"{'r':>4}  {'[j,u,v]':<{w_idx}}  {'beta':<{w_b}}  X*")
    for r, (ix, b, x) in enumerate(zip(res["index"], res["beta"], xs), start=1):
        lines.append(f"{r:>4}  {str(ix):<{w_idx}}  {b:<{w_b}}  "
                     f"{x if x is not None else f'(symbolic, d > {limit})'}")
    lines += [
        "",
        f"E[y^2] = {res['E_y2']}",
        f"f~*    = {res['f_tilde_star']}",
        f"H positive definite: {res['H_positive_definite']}  ({res['certificate']})",
    ]
    if res["H_positive_definite"] is None and res["X_star"] is not None:
        lines.append("note: X* = H^-1 beta is the minimiser and f~* the optimum only where H is positive definite, "
                     "which is not certified here")
    return "\n".join(lines)


def register(sub, argv=()) -> None:
    """Add the ``objective`` subcommand."""
    ap = sub.add_parser("objective", help="exact H, beta, X*, f~* of the enlarged-space objective",
                        description="The exact enlarged-space objective of a one-layer LSA (docs/theory.md section 3): "
                                    "beta, E[y^2], X* = H^-1 beta, f~* and the Lemma 3.1 certificate that H is "
                                    "positive definite. Omitted p, n stay symbolic: X* and f~* are then exact "
                                    f"rational functions for d <= {MAX_SYMBOLIC_D_TWO_VARIABLES} with both omitted, "
                                    f"d <= {MAX_SYMBOLIC_D_ONE_VARIABLE} with one omitted (beyond that: H, beta and "
                                    "E[y^2] only, X* null).")
    ap.add_argument("--d", type=int_option, required=True, help="chain input length d >= 1")
    ap.add_argument("--p", default=None, help="initial-state probability, exact (e.g. 1/2); symbolic if omitted "
                                              f"(X*(p) for d <= {MAX_SYMBOLIC_D_ONE_VARIABLE}, "
                                              f"X*(p, n) for d <= {MAX_SYMBOLIC_D_TWO_VARIABLES})")
    ap.add_argument("--n", default=None, help="number of context chains; symbolic if omitted "
                                              f"(X*(n) for d <= {MAX_SYMBOLIC_D_ONE_VARIABLE})")
    ap.add_argument("--kernel", default="uniform",
                    help="uniform | beta:AA,BA,AC,BC | fixed:A,C | dirichlet:ALPHA (rows Dirichlet(alpha 1); "
                         "the only kernel for --states > 2; ALPHA may be 'alpha' for d = 1)")
    ap.add_argument("--states", type=int_option, default=2,
                    help="number of chain states S >= 2 (default 2); S > 2: Lemma C.8, uniform initial state, p unused")
    ap.add_argument("--init", default="iid",
                    help="iid | correlated:MCQ,MCC,MCCQ[,PC] | query_conditional:PI0,PI1 | example_c5")
    ap.add_argument("--product-form", action="store_true", help="use the paper's Lemma 3.2 product form of H")
    ap.add_argument("--max-d", type=int_option, default=None,
                    help=f"raise the limit on d (default {DEFAULT_MAX_D['objective']}; "
                         f"{DEFAULT_MAX_D['objective-symbolic']} with p or n symbolic; 4, 2, 2, 1 with --states "
                         "S = 3, 4, 5, 6)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--full", action="store_true", help="with --json: also H (exact strings) and H_float")
    ap.set_defaults(func=run)


def run(args) -> int:
    """Solve and print (a table, or one JSON object)."""
    check_int("--d", args.d, 1)
    if args.states > 2:
        check_multistate_d(args.states, args.d, args.max_d)
        report = announce("objective", args.d, lambda d: MULTISTATE_SECONDS.get((args.states, d)) or 0)
    elif args.p is None or args.n is None or "alpha" in args.kernel.lower():
        check_d("objective-symbolic", args.d, args.max_d)
        report = announce("objective", args.d, lambda d: estimated_seconds(d, SYMBOLIC_SECONDS), "the symbolic solve")
    else:
        check_d("objective", args.d, args.max_d)
        report = announce("objective", args.d)
    with report:
        sol = solve(args.d, args.p, args.n, kernel=args.kernel, init=args.init,
                    form="product" if args.product_form else "exact", states=args.states)
        sol.check_minimiser()
        res = sol.to_dict(full=args.full)
    if sol.states == 2:  # p and n as given on the command line
        res["p"] = str(sol.p) if args.p is None else str(args.p)
    res["n"] = str(sol.n) if args.n is None else str(args.n)
    print(json.dumps(res, allow_nan=False) if args.json else format_table(res))
    return 0


__all__ = ["register", "run", "format_table"]
