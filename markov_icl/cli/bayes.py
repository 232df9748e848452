"""``markov-icl bayes``: the exact Bayes floor of in-context learning on Markov prompts
(:func:`markov_icl.symbolic.bayes.bayes`)."""

from __future__ import annotations

import json

from markov_icl.cli.options import add_law_options
from markov_icl.errors import MarkovICLError, check_int, int_option
from markov_icl.symbolic.bayes import MAX_COUNT_VECTORS, bayes, count_vector_bound

#: measured seconds per count vector of the whole command (2-core machine; docs/benchmarks.md): binary chains
#: with an integer Beta prior integrate the other row in the polynomial ring; the rest sum term by term
SECONDS_PER_VECTOR = {"integrated": 1.3e-6, "termwise": 1.2e-5}


def format_result(res: dict) -> str:
    """A readable summary of :meth:`~markov_icl.symbolic.bayes.BayesRisk.to_dict`."""
    head = (f"markov-icl bayes  d={res['d']}  p={res['p'] if res['p'] is not None else '(unused)'}  n={res['n']}  "
            f"kernel={res['kernel']}  init={res['init']}" + (f"  states={res['states']}" if res["states"] != 2 else ""))

    def line(name, exact, flt):
        return f"{name} = {exact}" + (f"\n{' ' * len(name)} ~ {flt:.12g}" if flt is not None else "")

    return "\n".join([
        head, "",
        line("Bayes risk (squared loss)  ", res["bayes_risk"], res["bayes_risk_float"]),
        line("Bayes accuracy (0-1 loss)  ", res["bayes_accuracy"], res["bayes_accuracy_float"]),
        line("Var(y_q) (best constant)   ", res["variance"], res["variance_float"]),
        f"E[y_q] = {res['E_y']}, E[y_q^2] = {res['E_y2']}",
        f"count vectors summed: {res['count_vectors']}  ({res['method']})",
    ])


def register(sub, argv=()) -> None:
    """Add the ``bayes`` subcommand."""
    ap = sub.add_parser("bayes", help="the exact Bayes floor: risk and accuracy of the Bayes-optimal in-context predictor",
                        description="The Bayes-optimal in-context predictor yhat = E[y_q | context, x_q] under the kernel "
                                    "prior, and its exact risk (the floor under every in-context learner's squared "
                                    "loss) and accuracy (the ceiling on every learner's accuracy), as finite sums over "
                                    "transition-count vectors (docs/theory.md section 13).")
    ap.add_argument("--d", type=int_option, required=True, help="chain input length d >= 1")
    ap.add_argument("--p", default=None, help="initial-state probability, exact (e.g. 1/2); symbolic if omitted "
                                              "(a polynomial in p); not used with --states > 2")
    ap.add_argument("--n", type=int_option, required=True, help="number of context chains n >= 1")
    add_law_options(ap, states=True)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.set_defaults(func=run)


def run(args) -> int:
    """Check the sizes, sum, print."""
    check_int("--d", args.d, 1)
    check_int("--n", args.n, 1)
    check_int("--states", args.states, 2)
    bound = count_vector_bound(args.d, args.n, args.states)
    if bound > MAX_COUNT_VECTORS:
        raise MarkovICLError(f"--n {args.n} --d {args.d}: the exact Bayes sum has up to {bound:.3g} count vectors; at "
                             f"most {MAX_COUNT_VECTORS:.0e} (memory and minutes); lower --n or --d")
    per = SECONDS_PER_VECTOR["integrated" if args.states == 2 else "termwise"]
    from markov_icl.progress import Progress

    with Progress("bayes", estimate=bound * per, enabled=bound * per >= 10, delay=1.0,
                  what=f"exact sums over up to {bound:.2g} count vectors (2-core machine)"):
        res = bayes(args.d, args.p, args.n, kernel=args.kernel, init=args.init, states=args.states,
                    progress=True)
    out = res.to_dict()
    print(json.dumps(out, allow_nan=False) if args.json else format_result(out))
    return 0


__all__ = ["register", "run", "format_result"]
