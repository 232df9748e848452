"""``markov-icl evaluate``: the exact population loss of a saved one-layer model (:func:`markov_icl.numeric.evaluate.loss_of`)."""

from __future__ import annotations

import json

from markov_icl.cli.options import add_output_options, add_point_options
from markov_icl.errors import MarkovICLError, int_option
from markov_icl.limits import DEFAULT_MAX_D, check_d


def register(sub, argv=()) -> None:
    from markov_icl.symbolic.param import PRESETS

    ap = sub.add_parser("evaluate", help="the exact population loss of a saved one-layer model",
                        description="The exact population loss f~(phi(sign * b, A)) of a saved one-layer LSA "
                                    "(every float weight at its exact binary value; no sampling), f~*, and the gap "
                                    "to the best loss of a parameterization. FILE: a .pt state_dict (DenseLSA: P.0, "
                                    "Q.0; SparseLSA: b, A; ParamLSA: theta with --param; or tensors P, Q) or a .npz "
                                    "with arrays P, Q (or b, A, or theta). Files are read without running code.")
    ap.add_argument("file", help="the saved parameters (.pt or .npz)")
    add_point_options(ap, numeric=True)
    ap.add_argument("--sign", type=int_option, default=1, choices=(1, -1),
                    help="read-out sign: the prediction is SIGN * [Z_1]_{d+1, n+1} (-1 for Ahn et al.'s models)")
    ap.add_argument("--param", choices=PRESETS, default=None,
                    help="compare with this parameterization's exact optimum (and read theta from FILE)")
    add_output_options(ap, f"raise the limit on d (default {DEFAULT_MAX_D['realize']})")
    ap.set_defaults(func=run)


def run(args) -> int:
    from markov_icl.numeric.evaluate import load_params, loss_of
    from markov_icl.symbolic.laws import ChainLaw
    from markov_icl.symbolic.param import optimum
    from markov_icl.symbolic.solve import solve

    check_d("realize", args.d, args.max_d)
    if args.n < 1:
        raise MarkovICLError(f"--n must be an integer >= 1, got {args.n}")
    law = ChainLaw.from_options(args.p, args.kernel, args.init)
    if law.free_symbols:
        raise MarkovICLError("evaluate needs every parameter of the law numeric")
    params = load_params(args.file)
    res = loss_of(params, law, d=args.d, n=args.n, sign=args.sign, param=args.param)
    out = {"file": args.file, "d": args.d, "p": str(args.p), "n": str(args.n), "kernel": law.kernel.spec(),
           "init": law.init.spec(), "sign": args.sign,
           "b": res.b.tolist(), "A": res.A.tolist(), "X": res.X.tolist(),
           "loss_exact": str(res.f_tilde), "loss_float": res.f_tilde_float,
           "f_tilde_star": str(res.f_tilde_star), "f_tilde_star_float": float(res.f_tilde_star),
           "gap": res.f_tilde_float - float(res.f_tilde_star)}
    if args.param:
        sol = solve(args.d, args.p, args.n, kernel=args.kernel, init=args.init)
        opt = optimum(param=args.param, solution=sol, with_f_star=False)
        out.update({"param": args.param, "f_param_star": str(opt.f_param_star) if opt.theta_star is not None else None,
                    "f_param_star_float": float(opt.f_param_star),
                    "gap_param": res.f_tilde_float - float(opt.f_param_star)})
    if args.json:
        print(json.dumps(out, allow_nan=False))
        return 0
    lines = [f"markov-icl evaluate  {args.file}  d={args.d}  p={args.p}  n={args.n}  kernel={out['kernel']}  "
             f"init={out['init']}  sign={args.sign:+d}", "",
             f"population loss, exact   {out['loss_float']:.12f}",
             f"f~* (exact optimum)      {out['f_tilde_star_float']:.12f}   (= {out['f_tilde_star']})",
             f"gap to f~*               {out['gap']:.3e}"]
    if args.param:
        lines += [f"{'f_param* (' + args.param + ')':<25}{out['f_param_star_float']:.12f}",
                  f"gap to f_param*          {out['gap_param']:.3e}"]
    lines.append(f"(exact loss: {out['loss_exact'][:60]}{'...' if len(out['loss_exact']) > 60 else ''})")
    print("\n".join(lines))
    return 0
