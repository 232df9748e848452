"""``markov-icl ngd``: the softmax transformer whose layers run normalized gradient descent on the context
(:mod:`markov_icl.symbolic.ngd`, :mod:`markov_icl.numeric.ngd`; docs/theory.md section 15)."""

from __future__ import annotations

import json

from markov_icl.cli.options import add_law_options
from markov_icl.errors import MarkovICLError, check_int, int_option

#: the most pairs of an exact depth table (beyond it: Monte Carlo); about 3e-5 s per pair and layer
MAX_EXACT_PAIRS = 200_000
#: the most entries of the exact sums' arrays (pairs x (L + 1) x chain types; 8 bytes each)
MAX_EXACT_ENTRIES = 5 * 10**7
#: the most layers the command evaluates
MAX_COMMAND_LAYERS = 1000

#: measured seconds on the 2-core machine (d = 1..3, n up to 30): start-up, identity and verification; per exact
#: pair and chain type; per distinct context of the exact logistic fits; per Monte Carlo prompt without and with
#: its logistic fit; per Adam step of the looped layer
SECONDS_FIXED, SECONDS_PER_PAIR_TYPE, SECONDS_PER_FIT = 3.0, 1.5e-5, 1.6e-3
SECONDS_PER_MC_PROMPT, SECONDS_PER_MC_FIT, SECONDS_PER_LOOPED_STEP = 1e-4, 1.7e-3, 1.6e-2


def estimate_seconds(d: int, n: int, exact: bool, pairs: int, samples: int, logistic: bool, looped_steps: int) -> float:
    """The command's expected run time on the 2-core machine (the rates above, scaled by the sizes asked for)."""
    from math import comb

    from markov_icl.numeric.ngd import LOGISTIC_SAMPLES, MAX_LOGISTIC_FITS

    if exact:
        t = pairs * 2 ** (d + 1) * SECONDS_PER_PAIR_TYPE
        contexts = comb(n + 2 ** (d + 1) - 1, n)      # distinct contexts: one weighted fit each, else Monte Carlo
        if logistic:
            t += contexts * SECONDS_PER_FIT if contexts <= MAX_LOGISTIC_FITS \
                else LOGISTIC_SAMPLES * (SECONDS_PER_MC_PROMPT + SECONDS_PER_MC_FIT)
    else:
        t = samples * (SECONDS_PER_MC_PROMPT + (SECONDS_PER_MC_FIT if logistic else 0.0))
    return SECONDS_FIXED + t + looped_steps * SECONDS_PER_LOOPED_STEP


def verify_layers(construction, n: int, p, prompts: int = 256, seed: int = 0, kernel: str = "uniform",
                  init: str = "iid") -> list[float]:
    """Largest ``|W slot of the query after layer l - w_l|`` over seeded prompts, ``l = 0..L`` (the torch model
    against the direct NGD of :func:`markov_icl.numeric.ngd.ngd_iterates`)."""
    import numpy as np
    import torch

    from markov_icl.numeric.ngd import NGDTransformer, _law, batch_chunk, ngd_iterates, prompt_features
    from markov_icl.numeric.prompts import sample_prompts

    pb = sample_prompts(_law(p, kernel, init), construction.d, n, prompts, seed=seed)
    model = NGDTransformer(construction)
    step = batch_chunk(n, construction.layers, construction.width)
    with torch.no_grad():
        W = np.concatenate([model.iterates(pb.Z0[i:i + step]).numpy() for i in range(0, prompts, step)])
    U, _ = prompt_features(pb.Z0, construction.bias)
    direct = ngd_iterates(U.numpy(), [float(e) for e in construction.eta], construction.layers)
    return [float(v) for v in np.abs(W - direct).max(axis=(0, 2))]


def _fmt_matrix(rows) -> list[str]:
    w = max(len(v) for r in rows for v in r)
    return ["    [" + " ".join(v.rjust(w) for v in r) + "]" for r in rows]


def format_result(res: dict) -> str:
    """The text ``markov-icl ngd`` prints."""
    c, t = res["construction"], res["table"]
    lines = [f"markov-icl ngd  d={res['d']}  n={res['n']}  layers={c['layers']}  eta={','.join(sorted(set(c['eta'])))}  "
             f"bias={'yes' if c['bias'] else 'no'}  p={res['p']}  kernel={res['kernel']}", "",
             f"construction: tokens (u, psi(x), w) of 3k = {c['width']} entries, u = (2y-1) psi(x), "
             "psi(x) = (2x-1" + (", 1)" if c["bias"] else ")") + "; every layer: h_t += sum_i softmax_i(h_i^T W_KQ h_t) W_OV h_i "
             "over the n context tokens; logit z = h_q^T R h_q = psi(x_q)^T w",
             "  W_KQ (score -u_i^T w_t):"] + _fmt_matrix(c["W_KQ"]) + \
        ["  W_OV (writes eta u_i into the W slot" + ("" if isinstance(c["W_OV"][0][0], str) else ", layer 1") + "):"] + \
        _fmt_matrix(c["W_OV"] if isinstance(c["W_OV"][0][0], str) else c["W_OV"][0]) + \
        [f"symbolic identity (one layer, SymPy, generic u_i, w, eta; d = {res['identity']['d']}, "
         f"n = {res['identity']['n']}): layer output - NGD step = {res['identity']['difference']}",
         f"layer outputs vs direct NGD (float64, {res['verification']['prompts']} prompts, seed "
         f"{res['verification']['seed']}): max |difference| = {max(res['verification']['max_abs_error']):.1e} over layers "
         f"0..{c['layers']}", "",
         f"depth table ({t['method']}, {t['size']} {'pairs' if t['method'].startswith('exact') else 'prompts'}; "
         "yhat = sigma(2 z) for the losses; ties z = 0 count 1/2):"]
    mc = t["method"] == "monte carlo"
    head = f"  {'L':>4} {'accuracy':>10} {'sq. loss':>9} {'log loss':>9} {'ctx loss':>9} {'cos mm':>7} {'margin':>7}"
    lines.append(head + ("  (+- standard errors)" if mc else "   accuracy exact"))
    for r in t["depths"]:
        def f(k, w=9, dgt=5, r=r):
            return f"{r[k]:>{w}.{dgt}f}" if k in r else " " * (w - 1) + "-"
        line = f"  {r['layer']:>4} {f('accuracy', 10)} {f('squared_loss')} {f('log_loss')} {f('context_loss')} " \
               f"{f('cos_max_margin', 7, 4)} {f('margin_ratio', 7, 4)}"
        line += f"  +-{r['accuracy_se']:.4f}" if mc else f"   {r['accuracy_exact']}"
        lines.append(line)
    ref = t["reference"]

    def val(k, dgt=6):
        if k not in ref:
            return "-"
        s = f"{ref[k]:.{dgt}f}"
        if k + "_se" in ref:
            s += f" +- {ref[k + '_se']:.{dgt}f}"
        if k + "_exact" in ref:
            s += f" ({ref[k + '_exact']})"
        return s

    lines += ["", f"Bayes floor: accuracy {val('bayes_accuracy')}, risk {val('bayes_risk')}",
              f"logistic regression (scikit-learn, L2, C = 1, intercept; {ref.get('logistic_method', 'monte carlo')}): "
              f"accuracy {val('logistic_accuracy')}" + (f", squared loss {ref['logistic_squared_loss']:.6f}"
                                                        if "logistic_squared_loss" in ref else ""),
              f"linearly separable contexts (exact LP certificates): {val('separable_fraction')}"]
    if t["near_ties"]:
        lines.append(f"note: {t['near_ties']} pairs have a logit within [1e-9, 1e-6] of zero at some depth")
    if "looped" in res:
        lp = res["looped"]
        lines += ["", f"looped model: one free softmax layer trained ({lp['steps']} Adam steps) on one NGD step, then "
                      f"looped: one-step error {lp['one_step_error']:.2e}; |W_KQ, W_OV - construction| on their "
                      f"blocks {lp['weight_error']:.2e}, largest other entry {lp['other_blocks']:.2e}",
                  "  depth  max|w_loop - w_l|  accuracy looped  accuracy construction   (" +
                  f"{lp['eval_prompts']} held-out prompts)"]
        for i, (e, a, b) in enumerate(zip(lp["iterate_error"], lp["accuracy"], lp["construction_accuracy"]), 1):
            lines.append(f"  {i:>5}  {e:>17.3e}  {a:>15.4f}  {b:>21.4f}")
    return "\n".join(lines)


def register(sub, argv=()) -> None:
    """Add the ``ngd`` subcommand."""
    ap = sub.add_parser("ngd", help="a softmax transformer whose layer l is the l-th normalized-GD step on the context",
                        description="Emit the weights of an L-layer softmax transformer whose layer l computes the "
                                    "l-th iterate of normalized gradient descent w <- w - eta grad L / L on the "
                                    "in-context exponential loss of the binary Markov task (features psi(x) = "
                                    "(2x-1, 1), labels 2y-1); verify it against a direct NGD and a symbolic identity; "
                                    "its exact accuracy and losses vs depth beside logistic regression, the Bayes "
                                    "floor and the fraction of separable contexts (docs/theory.md section 15).")
    ap.add_argument("--d", type=int_option, required=True, help="chain input length d >= 1")
    ap.add_argument("--n", type=int_option, required=True, help="number of context chains n >= 1")
    ap.add_argument("--layers", type=int_option, required=True, help="number of layers L >= 1")
    ap.add_argument("--eta", default="1/2", help="NGD step size, exact (default 1/2)")
    ap.add_argument("--p", default="1/2", help="initial-state probability, exact (default 1/2)")
    add_law_options(ap, states=False)
    ap.add_argument("--no-bias", action="store_true", help="drop the constant feature from psi")
    ap.add_argument("--samples", type=int_option, default=None,
                    help="Monte Carlo prompts (default: exact sums where they have at most 2e5 pairs, else 20000)")
    ap.add_argument("--seed", type=int_option, default=0, help="seed of every sampled prompt (default 0)")
    ap.add_argument("--no-logistic", action="store_true", help="skip the logistic-regression reference")
    ap.add_argument("--looped", action="store_true", help="also train one softmax layer on one NGD step and loop it")
    ap.add_argument("--looped-steps", type=int_option, default=3000, help="Adam steps of the looped layer (default 3000)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.set_defaults(func=run)


def run(args) -> int:
    """Build, verify, tabulate, print."""
    from markov_icl.symbolic.laws import parse_probability
    from markov_icl.symbolic.ngd import NGDConstruction
    from markov_icl.symbolic.softmax import type_vector_count

    check_int("--d", args.d, 1)
    check_int("--n", args.n, 1)
    check_int("--layers", args.layers, 1)
    check_int("--seed", args.seed, 0)
    if args.layers > MAX_COMMAND_LAYERS:
        raise MarkovICLError(f"--layers must be at most {MAX_COMMAND_LAYERS}, got {args.layers}")
    if args.samples is not None:
        check_int("--samples", args.samples, 2)
    p = parse_probability(args.p)
    check_int("--looped-steps", args.looped_steps, 1)
    c = NGDConstruction(args.d, args.layers, args.eta, bias=not args.no_bias)
    if any(not e.is_number for e in c.eta):
        raise MarkovICLError("--eta must be a number")
    from markov_icl.limits import check_mc_entries, check_prompt_entries

    pairs = type_vector_count(args.d, args.n)
    # exact sums hold (pairs, L + 1, 2^(d+1)) float arrays: at most MAX_EXACT_ENTRIES entries
    exact = args.samples is None and pairs <= MAX_EXACT_PAIRS \
        and pairs * (args.layers + 1) * 2 ** (args.d + 1) <= MAX_EXACT_ENTRIES
    check_prompt_entries("the verification (256 prompts)", 256, args.n, args.d)
    from markov_icl.numeric.ngd import MAX_ATTENTION_ENTRIES

    if (args.n + 1) * args.n > MAX_ATTENTION_ENTRIES:
        raise MarkovICLError(f"--n {args.n}: one prompt's attention holds (n+1) n = {(args.n + 1) * args.n:.2g} weights "
                             f"in the torch model; at most {MAX_ATTENTION_ENTRIES:.0e}: lower --n")
    samples = args.samples or 20_000
    if not exact:
        check_mc_entries("--samples", samples, args.n, args.d)
    if args.looped and (args.kernel != "uniform" or args.init != "iid"):
        raise MarkovICLError("--looped trains on the uniform kernel with i.i.d. initial states")
    from markov_icl.progress import Progress

    est = estimate_seconds(args.d, args.n, exact, pairs, samples, not args.no_logistic,
                           args.looped_steps if args.looped else 0)
    what = (f"{args.layers} layers; exact sums over {pairs:.2g} (query, type counts) pairs" if exact
            else f"{args.layers} layers; Monte Carlo over {samples} prompts") \
        + ("" if args.no_logistic else ", logistic regression") \
        + (f", the looped layer ({args.looped_steps} steps)" if args.looped else "") + " (2-core machine)"
    with Progress("ngd", estimate=est, enabled=est >= 10, delay=1.0, what=what):
        res = _compute(args, c, p, exact, samples)
    if args.json:
        from markov_icl.errors import check_finite

        print(json.dumps(check_finite(res, "ngd"), allow_nan=False))
    else:
        print(format_result(res))
    return 0


def _compute(args, c, p, exact: bool, samples: int) -> dict:
    """The identity, the verification, the depth table and (with --looped) the looped layer, as the JSON object."""
    from markov_icl.numeric.ngd import ngd_depth_table, ngd_depth_table_mc, train_looped
    from markov_icl.symbolic.ngd import one_layer_identity

    idn = (min(args.d, 3), min(args.n, 3))
    diff = one_layer_identity(*idn, bias=c.bias)
    errs = verify_layers(c, args.n, p, seed=args.seed, kernel=args.kernel, init=args.init)
    if exact:
        table = ngd_depth_table(args.d, p, args.n, args.layers, c.eta, c.bias, args.kernel, args.init,
                            logistic=not args.no_logistic, seed=args.seed, progress=True)
    else:
        table = ngd_depth_table_mc(args.d, p, args.n, args.layers, c.eta, c.bias, samples=samples,
                               seed=args.seed, kernel=args.kernel, init=args.init, logistic=not args.no_logistic,
                               progress=True)
    res = {"d": args.d, "n": args.n, "p": str(p), "kernel": args.kernel, "init": args.init,
           "construction": c.to_dict(),
           "identity": {"d": idn[0], "n": idn[1], "difference": [str(v) for v in diff],
                        "holds": all(v == 0 for v in diff)},
           "verification": {"prompts": 256, "seed": args.seed, "max_abs_error": errs,
                            "holds_1e-10": max(errs) < 1e-10},
           "table": table.to_dict()}
    if args.looped:
        lp = train_looped(args.d, args.n, c.eta[0], args.layers, p, steps=args.looped_steps, seed=args.seed,
                          bias=c.bias, progress=True)
        res["looped"] = {"steps": args.looped_steps, "eval_prompts": 2000, "final_loss": lp.losses[-1],
                         "one_step_error": lp.one_step_error, "iterate_error": lp.iterate_error,
                         "weight_error": lp.weight_error, "other_blocks": lp.other_blocks, "accuracy": lp.accuracy,
                         "construction_accuracy": lp.construction_accuracy}
    return res


__all__ = ["register", "run", "format_result", "verify_layers", "estimate_seconds"]
