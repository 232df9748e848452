"""``markov-icl realize``: is X* realised by a one-layer LSA, and how far is the best one
(:func:`markov_icl.symbolic.varpro.realize_optimum`)?"""

from __future__ import annotations

import json

from markov_icl.errors import MarkovICLError, check_int, int_option
from markov_icl.limits import DEFAULT_MAX_D, MAX_STARTS, REALIZE_SECONDS, announce, check_at_most, check_d, check_seed
from markov_icl.symbolic.varpro import MAX_CERTIFIED_D, realize_optimum


def format_result(res: dict) -> str:
    """A readable summary of :meth:`~markov_icl.symbolic.varpro.OptimumRealization.to_dict`."""
    lines = [
        f"markov-icl realize  d={res['d']}  p={res['p']}  n={res['n']}",
        f"realizable: {res['realizable']}  ({res['reason']})",
    ]
    if res["discriminant"] is not None:
        lines.append(f"discriminant D = X2^2 - 4 X1 X3 = {res['discriminant']}")
    lines += [
        f"f~*      = {res['f_tilde_star']} ~ {res['f_tilde_star_float']:.12g}",
        f"f*       = {res['f_star']:.12g}",
        f"f(psi)   = {res['f_psi']:.12g}",
        f"gap      = f* - f~* = {res['gap']:.3e}",
        f"sandwich f~* <= f* <= f(psi): {res['sandwich']}",
        "b        = " + ", ".join(f"{x:.6g}" for x in res["b"]),
        "A        = " + "; ".join(", ".join(f"{x:.6g}" for x in row) for row in res["A"]),
        f"certificate: {res['certificate']}",
    ]
    return "\n".join(lines)


def register(sub, argv=()) -> None:
    """Add the ``realize`` subcommand."""
    ap = sub.add_parser("realize", help="is X* realisable by a one-layer LSA; the best one-layer loss f*",
                        description="Exact realisability of X* (docs/theory.md section 6), the d = 1 discriminant, "
                                    "f~*, the best one-layer LSA loss f* by variable projection, f(psi(X*)) "
                                    "(Remark C.15) and the gap f* - f~*.")
    ap.add_argument("--d", type=int_option, required=True,
                    help=f"chain input length d >= 1 (f* certified for d <= {MAX_CERTIFIED_D})")
    ap.add_argument("--p", default=None, help="initial-state probability, exact rational in (0, 1) (required unless "
                                              "--constant-input --states S > 2)")
    ap.add_argument("--n", required=True, help="number of context chains (integer >= 1)")
    ap.add_argument("--starts", type=int_option, default=None, help="multistart directions for f* (d >= 2)")
    ap.add_argument("--seed", type=int_option, default=0, help="seed of the start directions")
    ap.add_argument("--max-d", type=int_option, default=None,
                    help=f"raise the limit on d (default {DEFAULT_MAX_D['realize']}, the certified range of f*)")
    ap.add_argument("--constant-input", action="store_true",
                    help="the LSA with a constant input (x, 1) beside the plain one (docs/theory.md section 13); "
                         "also takes --kernel, --init, --states")
    ap.add_argument("--kernel", default="uniform", help="with --constant-input: the kernel law (default uniform)")
    ap.add_argument("--init", default="iid", help="with --constant-input: the initial law (default iid)")
    ap.add_argument("--states", type=int_option, default=2, help="with --constant-input: chain states S (default 2)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.set_defaults(func=run)


def format_constant(res: dict) -> str:
    """A readable summary of :meth:`~markov_icl.symbolic.constant_input.ConstantInputOptimum.to_dict`."""
    return "\n".join([
        f"markov-icl realize --constant-input  d={res['d']}  p={res['p'] if res['p'] is not None else '(unused)'}  "
        f"n={res['n']}  kernel={res['kernel']}  init={res['init']}"
        + (f"  states={res['states']}" if res["states"] != 2 else ""),
        f"inputs (x, 1): an LSA on D = {res['D']} inputs; H has rank {res['rank']} of {res['dm']}"
        + (" (binary states: z_u^2 = z_u makes G_(u,u) and G_(u,c) one feature)" if res["rank"] < res["dm"] else ""),
        f"f~* (constant input)    = {res['f_tilde_star']} ~ {res['f_tilde_star_float']:.12g}",
        f"f~* (paper's LSA)       = {res['f_tilde_star_plain']} ~ {res['f_tilde_star_plain_float']:.12g}",
        f"f*  (constant input)    = {res['f_star']:.12g}   gap f* - f~* = "
        + (f"{res['gap']:.3e}" if abs(res["gap"]) >= 1e-12 else "0 to 1e-12 (a one-layer LSA reaches f~*)"),
        f"f*  (paper's LSA)       = {res['f_star_plain']:.12g}",
        f"basic X* realizable: {res['realizable_basic_X_star']}  ({res['reason']})",
        f"certificate: H on its {res['rank']} pivot columns positive definite: {res['H_positive_definite_on_pivots']} "
        f"({res['certificate']}); f*: {res['f_star_certificate']}",
    ])


def run(args) -> int:
    """Check the options, decide, print."""
    check_int("--d", args.d, 1)
    check_d("realize", args.d, args.max_d)
    if args.starts is not None:
        check_at_most("--starts", check_int("--starts", args.starts), MAX_STARTS, "each start is a BFGS run")
    check_seed("--seed", check_int("--seed", args.seed, 0))
    if args.constant_input:
        from markov_icl.symbolic.constant_input import constant_input_optimum

        check_d("realize", args.d + 1, args.max_d)
        with announce("realize --constant-input", args.d + 1, lambda d: 2 * REALIZE_SECONDS.get(d, 5.4 * 3.3 ** (d - 4)),
                      "the objectives and both f*"):
            res = constant_input_optimum(args.d, None if args.states > 2 else args.p, args.n, kernel=args.kernel,
                                         init=args.init, states=args.states, starts=args.starts, seed=args.seed,
                                         progress=True).to_dict()
        print(json.dumps(res, allow_nan=False) if args.json else format_constant(res))
        return 0
    if (args.kernel, args.init, args.states) != ("uniform", "iid", 2):
        raise MarkovICLError("--kernel, --init and --states apply to --constant-input; realize of the paper's LSA uses "
                             "the uniform kernel and i.i.d. starts")
    with announce("realize", args.d, lambda d: REALIZE_SECONDS.get(d, 5.4 * 3.3 ** (d - 4)), "X* and f*"):
        res = realize_optimum(args.d, args.p, args.n, starts=args.starts, seed=args.seed, progress=True).to_dict()
    print(json.dumps(res, allow_nan=False) if args.json else format_result(res))
    return 0


__all__ = ["register", "run", "format_result"]
