"""The ``objective`` job: exact H, beta, E[y^2], X*, f~* and the Lemma 3.1 certificate.

:func:`objective_result` is what ``markov-icl objective`` prints (SPEC §3, issue 2's
JSON contract); other derivations reuse it.
"""

from __future__ import annotations

import sympy as sp

from symbolic.certify import certify_numeric, certify_symbolic
from symbolic.errors import MarkovICLError
from symbolic.laws import N_SYMBOL, P_SYMBOL, ChainLaw, InitLaw, KernelLaw
from symbolic.multistate import MultiStateTerms, check_states, parse_dirichlet, solve_multistate
from symbolic.objective import ObjectiveTerms, check_d, parse_n
from symbolic.solve import Solution, solve_generic, solve_numeric, solve_symbolic_pn

#: the largest d for which X* is derived symbolically
MAX_SYMBOLIC_D = 2


def _is_dirichlet(kernel: str) -> bool:
    return kernel.strip().lower().partition(":")[0].strip() == "dirichlet"


def build_law(p=None, kernel: str = "uniform", init: str = "iid") -> ChainLaw:
    """A :class:`ChainLaw` from the CLI's spellings (p symbolic when None).

    ``dirichlet:ALPHA`` is accepted for binary chains: rows ``Dirichlet(alpha, alpha)``
    are ``a, c ~ Beta(alpha, alpha)``, i.e. the kernel law ``beta:ALPHA,ALPHA,ALPHA,ALPHA``.
    """
    if _is_dirichlet(kernel):
        alpha = parse_dirichlet(kernel)
        return ChainLaw(InitLaw.parse(init, p), KernelLaw.beta(alpha, alpha, alpha, alpha))
    return ChainLaw(InitLaw.parse(init, p), KernelLaw.parse(kernel))


def solve(terms: ObjectiveTerms, n=None) -> Solution | None:
    """X*, f~* by the fastest exact route; None when symbolic and d > MAX_SYMBOLIC_D."""
    nval = parse_n(n)
    free = set(terms.law.free_symbols)
    if not free and nval.is_number:
        return solve_numeric(terms, n=nval)
    if terms.d > MAX_SYMBOLIC_D:
        return None
    if free <= {P_SYMBOL}:
        return solve_symbolic_pn(terms, P_SYMBOL if free else None, None if not nval.is_number else nval)
    return solve_generic(terms, nval)


def _s(x) -> str | None:
    return None if x is None else str(x)


def multistate_result(d: int, states: int, kernel: str, n=None, init: str = "iid",
                      product_form: bool = False) -> dict:
    """``markov-icl objective --states S`` for S > 2 (Lemma C.8, SPEC §8).

    Kernel rows ``Dirichlet(alpha 1)``, uniform initial states (p does not apply and is
    reported as null). X* is exact at a rational alpha and numeric n (any d); with a
    symbolic alpha (``dirichlet:alpha``) or symbolic n only d = 1 is solved.

    Raises:
        MarkovICLError: a binary kernel spec, a non-i.i.d. init, the product form, or a
            symbolic alpha with d > 1.
    """
    if not _is_dirichlet(kernel):
        raise MarkovICLError(f"--states {states} needs --kernel dirichlet:ALPHA (rows Dirichlet(alpha 1)); "
                             f"the binary kernel spec {kernel!r} applies only to --states 2")
    alpha = parse_dirichlet(kernel)
    if init.strip().lower() != "iid":
        raise MarkovICLError(f"--states {states}: initial states are uniform on 0..{states - 1}; --init {init!r} applies "
                             "only to --states 2")
    if product_form:
        raise MarkovICLError("--product-form applies only to --states 2")
    if alpha.free_symbols and d > 1:
        raise MarkovICLError(f"a symbolic Dirichlet alpha is supported for d = 1 only (got d = {d}); give a rational "
                             "alpha such as dirichlet:1")
    nval = parse_n(n)
    terms = MultiStateTerms(states, d, alpha)
    sol = solve_multistate(terms, nval)
    pd, cert = None, "not certified (symbolic H)"
    if nval.is_number and not alpha.free_symbols:
        c = certify_numeric(terms.H(nval))
        pd, cert = c.positive_definite, f"{c.method}: {c.detail}"
    return {
        "d": d,
        "p": None,
        "n": str(nval) if n is None else str(n),
        "kernel": f"dirichlet:{alpha}",
        "init": "uniform",
        "form": "exact",
        "index": terms.idx.index,
        "X_star": None if sol.X_star is None else [_s(x) for x in sol.X_star],
        "beta": [_s(b) for b in sol.beta],
        "E_y2": _s(sol.E_y2),
        "f_tilde_star": None if sol.f_tilde_star is None else _s(sol.f_tilde_star),
        "H_positive_definite": pd,
        "certificate": cert,
        "states": states,
    }


def objective_result(d: int, p=None, n=None, kernel: str = "uniform", init: str = "iid",
                     product_form: bool = False, states: int = 2) -> dict:
    """Everything ``markov-icl objective`` reports, as a JSON-ready dict.

    Keys: d, p, n (as given, strings; the symbol's name when omitted), kernel, init,
    form, index, X_star, beta, E_y2, f_tilde_star (exact strings; X_star and
    f_tilde_star null when symbolic and d > 2), H_positive_definite, certificate, states.
    ``states > 2`` dispatches to :func:`multistate_result` (Lemma C.8).
    """
    check_d(d)
    check_states(states)
    if states > 2:
        return multistate_result(d, states, kernel, n, init, product_form)
    law = build_law(p, kernel, init)
    nval = parse_n(n)
    terms = ObjectiveTerms(d, law, product_form=product_form)
    sol = solve(terms, n)
    if sol is not None:
        beta, ey2 = sol.beta, sol.E_y2
    else:
        _, bs, ey2 = terms.symbolic(nval, include_H=False)
        beta = [sp.factor(b) for b in bs]
    pd, cert = None, "not certified (symbolic H with d > 1)"
    if sol is not None and not isinstance(sol.H, sp.MatrixBase):
        c = certify_numeric(sol.H)
        pd, cert = c.positive_definite, f"{c.method}: {c.detail}"
    elif d == 1 and sol is not None and law.free_symbols <= {P_SYMBOL}:
        c = certify_symbolic(sol.H)
        pd, cert = c.positive_definite, f"{c.method}: {c.detail} (for all 0 < p < 1, n >= 1)"
    return {
        "d": d,
        "p": str(law.p) if p is None else str(p),
        "n": str(nval) if n is None else str(n),
        "kernel": law.kernel.spec(),
        "init": law.init.spec(),
        "form": "product" if product_form else "exact",
        "index": terms.idx.index,
        "X_star": None if sol is None else [_s(x) for x in sol.X_star],
        "beta": [_s(b) for b in beta],
        "E_y2": _s(ey2),
        "f_tilde_star": None if sol is None else _s(sol.f_tilde_star),
        "H_positive_definite": pd,
        "certificate": cert,
        "states": 2,
    }


def format_table(res: dict) -> str:
    """A readable table of :func:`objective_result`."""
    lines = [
        f"markov-icl objective  d={res['d']}  p={res['p'] if res['p'] is not None else '(unused)'}  n={res['n']}  "
        f"kernel={res['kernel']}  "
        f"init={res['init']}  form={res['form']}" + (f"  states={res['states']}" if res.get("states", 2) != 2 else ""),
        "",
    ]
    xs = res["X_star"] or [None] * len(res["index"])
    w_idx = max(len("[j,u,v]"), *(len(str(ix)) for ix in res["index"]))
    w_b = max(len("beta"), *(len(b) for b in res["beta"]))
    lines.append(f"{'r':>4}  {'[j,u,v]':<{w_idx}}  {'beta':<{w_b}}  X*")
    for r, (ix, b, x) in enumerate(zip(res["index"], res["beta"], xs), start=1):
        lines.append(f"{r:>4}  {str(ix):<{w_idx}}  {b:<{w_b}}  {x if x is not None else '(symbolic, d > 2)'}")
    lines += [
        "",
        f"E[y^2] = {res['E_y2']}",
        f"f~*    = {res['f_tilde_star']}",
        f"H positive definite: {res['H_positive_definite']}  ({res['certificate']})",
    ]
    return "\n".join(lines)


def register(sub) -> None:
    """Add the ``objective`` subcommand to the CLI."""
    ap = sub.add_parser("objective", help="exact H, beta, X*, f~* of the enlarged-space objective",
                        description="Exact enlarged-space objective (SPEC §3): beta, E[y^2], X* = H^-1 beta, "
                                    "f~*, and the Lemma 3.1 certificate. Omitted p, n stay symbolic.")
    ap.add_argument("--d", type=int, required=True, help="chain input length d >= 1")
    ap.add_argument("--p", default=None, help="initial-state probability, exact (e.g. 1/2); symbolic if omitted")
    ap.add_argument("--n", default=None, help="number of context chains; symbolic if omitted")
    ap.add_argument("--kernel", default="uniform",
                    help="uniform | beta:AA,BA,AC,BC | fixed:A,C | dirichlet:ALPHA (rows Dirichlet(alpha 1); "
                         "the only kernel for --states > 2; ALPHA may be 'alpha' for d = 1)")
    ap.add_argument("--states", type=int, default=2,
                    help="number of chain states S >= 2 (default 2); S > 2: Lemma C.8, uniform initial state, p unused")
    ap.add_argument("--init", default="iid", help="iid | correlated:MCQ,MCC,MCCQ[,PC] | example_c5")
    ap.add_argument("--product-form", action="store_true", help="use the paper's Lemma 3.2 product form of H")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.set_defaults(func=_run)


def _run(args) -> int:
    import json

    if args.d < 1:
        raise MarkovICLError(f"--d must be an integer >= 1, got {args.d}")
    res = objective_result(args.d, args.p, args.n, args.kernel, args.init, args.product_form,
                           states=getattr(args, "states", 2))
    print(json.dumps(res) if args.json else format_table(res))
    return 0


__all__ = ["objective_result", "multistate_result", "format_table", "register", "build_law", "solve", "MAX_SYMBOLIC_D",
           "N_SYMBOL"]
