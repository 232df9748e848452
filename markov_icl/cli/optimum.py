"""``markov-icl optimum``: the exact best loss of a one-layer parameterization (:func:`markov_icl.symbolic.param.optimum`)."""

from __future__ import annotations

import json

from markov_icl.cli.options import add_output_options, add_point_options
from markov_icl.limits import DEFAULT_MAX_D, check_d


def _s(x) -> str | None:
    return None if x is None else str(x)


def result(opt, where: dict, numeric: bool) -> dict:
    """The JSON-ready dict of a :class:`~markov_icl.symbolic.param.ParamOptimum`; ``where`` names the law and point
    (d, p, n, kernel, init or family)."""
    exact = opt.theta_star is not None
    chain = [{"name": name, "value": value} for name, value in opt.chain] if numeric else []
    reaches = {"f_tilde_star": "the enlarged-space optimum X* (any X, realisable or not)",
               "f_star": "the best one-layer LSA (dense or sparse (b, A))",
               "f_param_star": f"the best {opt.param.name!r} parameters"}
    for c in chain:
        c["reached_by"] = reaches[c["name"]]
    return {
        "param": opt.param.name, "description": opt.param.description, **where, "linear": opt.param.is_linear,
        "params": [str(s) for s in opt.param.params] if exact else None,
        "theta_star": [str(t) for t in opt.theta_star] if exact else None,
        "theta_star_float": [float(t) for t in opt.theta_star] if exact and numeric else None,
        "f_param_star": str(opt.f_param_star) if exact else None,
        "f_param_star_float": float(opt.f_param_star) if numeric else None,
        "f_tilde_star": str(opt.f_tilde_star),
        "f_tilde_star_float": float(opt.f_tilde_star) if numeric else None,
        "f_star_float": opt.f_star,
        "chain": chain if numeric else None,
        "chain_holds": opt.chain_holds() if numeric else None,
        "method": opt.method,
    }


def format_table(res: dict) -> str:
    law = f"family={res['family']}" if "family" in res else f"p={res['p']}  n={res['n']}  kernel={res['kernel']}  " \
        f"init={res['init']}"
    if "family" in res:
        law += f"  n={res['n']}"
    lines = [f"markov-icl optimum  param={res['param']}  d={res['d']}  {law}", f"  {res['description']}", ""]
    if res["theta_star"] is not None:
        w = max([5, *(len(s) for s in res["params"])])
        lines.append(f"{'param':<{w}}  theta*")
        for name, t in zip(res["params"], res["theta_star"]):
            lines.append(f"{name:<{w}}  {t}")
        lines.append("")
        lines.append(f"f_param* = {res['f_param_star']}" + (f" = {res['f_param_star_float']:.10f}"
                                                             if res["f_param_star_float"] is not None else ""))
    else:
        lines.append(f"f_param* = {res['f_param_star_float']:.10f}  ({res['method']})")
    if res["chain"]:
        lines.append("")
        lines.append("  " + "  <=  ".join(f"{c['name']} = {c['value']:.10f}" for c in res["chain"])
                     + f"   ({'holds' if res['chain_holds'] else 'VIOLATED'})")
    else:
        lines.append(f"f~*      = {res['f_tilde_star']}")
    return "\n".join(lines)


def register(sub, argv=()) -> None:
    from markov_icl.symbolic.param import PRESETS

    ap = sub.add_parser("optimum", help="the exact best loss of a one-layer parameterization (ahn, zfb, gd, ...)",
                        description="The exact best population loss of a one-layer LSA parameterization "
                                    "(docs/theory.md section 6): exact least squares where the prediction is linear "
                                    "in the free parameters (ahn, zfb, gd), the variable projection f* for dense and "
                                    "sparse; with the chain f~* <= f* <= f_param*.")
    ap.add_argument("--param", required=True, choices=PRESETS, help="the parameterization (docs/python.md)")
    add_point_options(ap, numeric=False, d_help="chain input length d >= 1 (with --gaussian: the number of variances)")
    ap.add_argument("--gaussian", default=None, metavar="S1,...,SD",
                    help="the Gaussian linear-regression family instead of chains: x ~ N(0, diag(S1..SD)), "
                         "w ~ N(0, tau2 I), y = w^T x + noise (d = the number of variances, --d not needed; "
                         "needs --n)")
    ap.add_argument("--tau2", default="1", help="with --gaussian: the variance of w (default 1)")
    ap.add_argument("--noise2", default="0", help="with --gaussian: the noise variance sigma^2 (default 0)")
    ap.add_argument("--no-f-star", action="store_true", help="skip f* (the best one-layer loss) in the chain")
    add_output_options(ap, f"raise the limit on d (default {DEFAULT_MAX_D['realize']}, the certified range of f*)")
    ap.set_defaults(func=run)


def run(args) -> int:
    from markov_icl.errors import MarkovICLError
    from markov_icl.limits import REALIZE_SECONDS, announce, check_optimum_symbolic_d
    from markov_icl.symbolic.param import LINEAR_PRESETS, optimum, preset
    from markov_icl.symbolic.solve import solve

    if args.gaussian is not None:
        variances = [v.strip() for v in args.gaussian.split(",")]
        if args.d is not None and len(variances) != args.d:
            raise MarkovICLError(f"--gaussian gives {len(variances)} variances; --d {args.d} needs {args.d} "
                                 "(--d may be left out: the variances fix it)")
        args.d = len(variances)
    if args.d is None:
        raise MarkovICLError("optimum needs --d (or --gaussian S1,...,SD, whose number of variances is d)")
    check_d("realize", args.d, args.max_d)
    long = args.param in ("dense", "sparse") or not args.no_f_star
    report = announce("optimum", args.d, lambda d: REALIZE_SECONDS.get(d, 5.4 * 3.3 ** (d - 4)) if long else 0, "f*")
    if args.gaussian is not None:
        with report:
            res = _run_gaussian(args, optimum, preset)
    else:
        symbolic = (args.p is None) + (args.n is None)
        if symbolic:  # before any work: the limits of the symbolic least squares
            if args.param not in LINEAR_PRESETS:
                raise MarkovICLError(f"--param {args.param} is bilinear: its best loss f* needs numeric p and n (give "
                                     "--p and --n; symbolic optima: " + ", ".join(LINEAR_PRESETS) + ")")
            check_optimum_symbolic_d(args.d, symbolic, args.max_d)
        sol = solve(args.d, args.p, args.n, kernel=args.kernel, init=args.init)
        if sol.is_numeric:
            sol.check_minimiser()
        with report:
            opt = optimum(param=args.param, solution=sol, with_f_star=sol.is_numeric and not args.no_f_star,
                          progress=True)
        where = {"d": sol.d, "p": str(sol.p) if args.p is None else str(args.p),
                 "n": str(sol.n) if args.n is None else str(args.n), "kernel": sol.kernel, "init": sol.init}
        res = result(opt, where, sol.is_numeric)
    print(json.dumps(res, allow_nan=False) if args.json else format_table(res))
    return 0


def _run_gaussian(args, optimum, preset) -> dict:
    from markov_icl.errors import MarkovICLError
    from markov_icl.symbolic.gaussian import GaussianLaw
    from markov_icl.symbolic.objective import parse_n

    if args.p is not None or args.kernel != "uniform" or args.init != "iid":
        raise MarkovICLError("--gaussian replaces the chain law: drop --p, --kernel and --init")
    variances = [v.strip() for v in args.gaussian.split(",")]
    law = GaussianLaw(tuple(variances), tau2=args.tau2, noise2=args.noise2)
    n = parse_n(args.n)
    numeric = n.is_number and law.is_numeric
    opt = optimum(n=n, param=preset(args.param, law.d), law=law, with_f_star=numeric and not args.no_f_star,
                  progress=True)
    where = {"d": args.d, "family": f"gaussian:{','.join(map(str, law.sigma_diag))};tau2={law.tau2};noise2={law.noise2}",
             "n": str(n)}
    return result(opt, where, numeric)
