"""``markov-icl realize``: is X* realisable by a one-layer LSA, and how far is the best one (SPEC §6)?

Reports, at given (d, p, n) (i.i.d. Bernoulli(p) initial states, uniform kernel):
the exact realisability decision for X* (:func:`symbolic.realizability.realize`), the
d = 1 discriminant ``D = X2^2 - 4 X1 X3`` (exact), ``f~*``, the best one-layer loss
``f*`` by variable projection (:mod:`symbolic.varpro`), ``f(psi(X*))`` and the gap
``f* - f~*`` (Remark C.15's sandwich ``f~* <= f* <= f(psi(X*))``).
"""

from __future__ import annotations

import json

import numpy as np
import sympy as sp

from symbolic.errors import MarkovICLError, check_int
from symbolic.laws import ChainLaw, parse_probability
from symbolic.objective import ObjectiveTerms, check_d, parse_n
from symbolic.realizability import realize
from symbolic.solve import solve_numeric
from symbolic.varpro import OneLayerLoss, best_one_layer, psi

#: above this d the multistart search is still run but not called certified
MAX_CERTIFIED_D = 6


def _progress_bar(iterable, desc):
    """A progress bar over the multistart runs, on a terminal only."""
    import sys

    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, leave=False, disable=not sys.stderr.isatty())


def realize_result(d: int, p, n, starts: int | None = None, seed: int = 0, progress: bool = False) -> dict:
    """Everything ``markov-icl realize`` prints, as a JSON-ready dict.

    Keys: d, p, n, realizable, reason, discriminant (d = 1, exact string; else None),
    X_star (exact strings), f_tilde_star, f_star, f_psi, gap (floats), b, A (the best
    one-layer parameters found, floats), realization (exact strings of (b, A) with
    phi(b, A) = X* when realisable, else None), sandwich (bool), certificate (text).

    Raises:
        MarkovICLError: d < 1, p outside (0, 1) or not exact, n not a positive integer.
    """
    check_d(d)
    if p is None or n is None:
        raise MarkovICLError("realize needs numeric --p and --n (e.g. --p 1/2 --n 5)")
    pv = parse_probability(p)
    nv = parse_n(n)
    terms = ObjectiveTerms(d, ChainLaw.default())
    sol = solve_numeric(terms, p=pv, n=nv)
    X = sol.X_star
    ft = sol.f_tilde_star
    rz = realize(X, d)
    disc = None
    if d == 1:
        disc = str(sp.Rational(X[1] ** 2 - 4 * X[0] * X[2]))
    bar = _progress_bar if progress else None
    res = best_one_layer(d, sol.H, sol.beta, sol.E_y2, starts=starts, seed=seed, progress=bar)
    loss = OneLayerLoss(d, sol.H, sol.beta, sol.E_y2)
    ps = psi(X, d, starts=starts, seed=seed, progress=bar)
    f_psi = loss.tilde(ps.X)
    cert = [res.certificate]
    if d > MAX_CERTIFIED_D:
        cert.append(f"d = {d} > {MAX_CERTIFIED_D}: the multistart minimum is an upper bound on f*, not certified")
    b, A = res.b, res.A
    f_star = res.f_star
    realization = None
    if rz.realizable:
        realization = {"b": [str(x) for x in rz.b], "A": [[str(x) for x in row] for row in rz.A]}
        bf = np.array([float(sp.N(x, 30)) for x in rz.b])
        Af = np.array([[float(sp.N(x, 30)) for x in row] for row in rz.A])
        scale = np.linalg.norm(bf)
        b, A = bf / scale, Af * scale
        cert.insert(0, f"X* is realisable ({rz.reason}); phi(b, A) = X* verified exactly, so f* = f~* exactly; "
                       f"the search independently gives f* - f~* = {res.f_star - float(ft):.2e}")
        f_star = float(ft)
        f_psi = float(ft)
    else:
        cert.insert(0, f"X* is not realisable ({rz.reason}), so f* > f~*")
    gap = f_star - float(ft)
    sandwich = float(ft) - 1e-12 <= f_star <= f_psi + 1e-12
    return {
        "d": d,
        "p": str(pv),
        "n": str(nv),
        "realizable": bool(rz.realizable),
        "reason": rz.reason,
        "discriminant": disc,
        "X_star": [str(x) for x in X],
        "f_tilde_star_exact": str(ft),
        "f_tilde_star": float(ft),
        "f_star": float(f_star),
        "f_psi": float(f_psi),
        "gap": float(gap),
        "sandwich": bool(sandwich),
        "b": [float(x) for x in b],
        "A": [[float(x) for x in row] for row in np.asarray(A)],
        "realization": realization,
        "psi": "psi(X) = phi(b, A) of the Euclidean-nearest realisable point (SPEC is silent on the paper's psi)",
        "certificate": " | ".join(cert),
    }


def format_result(res: dict) -> str:
    """A readable summary of :func:`realize_result`."""
    lines = [
        f"markov-icl realize  d={res['d']}  p={res['p']}  n={res['n']}",
        f"realizable: {res['realizable']}  ({res['reason']})",
    ]
    if res["discriminant"] is not None:
        lines.append(f"discriminant D = X2^2 - 4 X1 X3 = {res['discriminant']}")
    lines += [
        f"f~*      = {res['f_tilde_star_exact']} ~ {res['f_tilde_star']:.12g}",
        f"f*       = {res['f_star']:.12g}",
        f"f(psi)   = {res['f_psi']:.12g}",
        f"gap      = f* - f~* = {res['gap']:.3e}",
        f"sandwich f~* <= f* <= f(psi): {res['sandwich']}",
        "b        = " + ", ".join(f"{x:.6g}" for x in res["b"]),
        "A        = " + "; ".join(", ".join(f"{x:.6g}" for x in row) for row in res["A"]),
        f"certificate: {res['certificate']}",
    ]
    return "\n".join(lines)


def register(sub) -> None:
    """Add the ``realize`` subcommand to the CLI."""
    ap = sub.add_parser("realize", help="is X* realisable by a one-layer LSA; best one-layer loss f*",
                        description="Exact realisability of X* (SPEC §6), the d = 1 discriminant, f~*, the best "
                                    "one-layer LSA loss f* by variable projection, f(psi(X*)) and the gap.")
    ap.add_argument("--d", type=int, required=True, help="chain input length d >= 1 (f* certified for d <= 6)")
    ap.add_argument("--p", required=True, help="initial-state probability, exact rational in (0, 1)")
    ap.add_argument("--n", required=True, help="number of context chains (integer >= 1)")
    ap.add_argument("--starts", type=int, default=None, help="multistart directions for f* (d >= 2)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the start directions")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.set_defaults(func=_run)


def _run(args) -> int:
    if args.starts is not None:
        check_int("--starts", args.starts)
    check_int("--seed", args.seed, 0)
    res = realize_result(args.d, args.p, args.n, starts=args.starts, seed=args.seed, progress=True)
    print(json.dumps(res) if args.json else format_result(res))
    return 0


__all__ = ["realize_result", "format_result", "register"]
