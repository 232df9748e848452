"""Wall times of the symbolic X* and f~*, each checked exactly against the exact rational solve; prints a Markdown table.

    python benchmarks/symbolic.py               # the API rows, 1 run each
    python benchmarks/symbolic.py --repeat 3    # medians of 3
    python benchmarks/symbolic.py --cli         # also the whole `markov-icl objective --d D [--p P] [--n N] --json`

Rows: X*(p, n) at d = 2, 3; X*(p) (n = 10) and X*(n) (p = 1/2) at d = 3, 4. ``solve`` is
``markov_icl.solve(d, p, n)`` (caches cleared before each run); ``to_dict`` is the JSON-ready
dict the CLI prints (exact strings written from python-flint's factors, degrees). Agreement: at
5 random points (seeded; rational 0 < p < 1, integer n >= 1, most of them off the interpolation
grid) every X*_r and f~* of the printed strings, evaluated exactly as Python Fraction
arithmetic (no SymPy), equals the exact rational solve
(python-flint at that point, a separate code path); the script exits 1 on any mismatch.
Target (issue): X*(p, n) at d = 3 under 60 s for the whole command on a 2-core machine.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import time
from fractions import Fraction

import sympy as sp

from markov_icl import solve
from markov_icl.symbolic import solve as solve_module
from markov_icl.symbolic.moments import conditional_moment, kernel_power

CASES = [(2, None, None), (3, None, None), (3, None, "10"), (3, "1/2", None), (4, None, "10"), (4, "1/2", None)]


def _fresh() -> None:
    conditional_moment.cache_clear()
    kernel_power.cache_clear()
    solve_module._vandermonde_inverse.cache_clear()
    solve_module._monomial.cache_clear()
    sp.core.cache.clear_cache()


def _label(d, p, n) -> str:
    what = "X*(p, n)" if p is None and n is None else "X*(p), n = " + n if p is None else "X*(n), p = " + p
    return f"{what}, d = {d}"


def _points(d, p, n, rng: random.Random, k: int = 5) -> list[tuple]:
    """k random (p, n): p = a/b with 1 <= a < b <= 60, n in 1..500, only the symbolic one varied."""
    out = []
    while len(out) < k:
        b = rng.randint(2, 60)
        pv = sp.Rational(rng.randint(1, b - 1), b) if p is None else sp.Rational(p)
        nv = rng.randint(1, 500) if n is None else int(n)
        if (pv, nv) not in out:
            out.append((pv, nv))
    return out


_TOKEN = re.compile(r"\s*(?:(\d+)|([pn])|(\*\*|[-+*/()]))")


def evaluate(text: str, env: dict) -> Fraction:
    """The printed expression evaluated exactly in Python Fractions: integers, the names p and n, + - * / ** and
    parentheses, nothing else (a small parser; SymPy's takes minutes on the degree-48 polynomials of d = 3, and
    Python's own compiler recurses once per term of a long sum)."""
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"unexpected text at {pos}: {text[pos:pos + 20]!r}")
        tokens.append(int(m[1]) if m[1] else env[m[2]] if m[2] else m[3])
        pos = m.end()
    tokens.append(None)
    i = 0

    def peek():
        return tokens[i]

    def take():
        nonlocal i
        i += 1
        return tokens[i - 1]

    def atom():
        t = take()
        if t == "(":
            v = expr()
            if take() != ")":
                raise ValueError("unbalanced parentheses")
            return v
        if isinstance(t, (int, Fraction)):
            return Fraction(t)
        raise ValueError(f"unexpected {t!r}")

    def unary():
        if peek() == "-":
            take()
            return -unary()
        v = atom()
        if peek() == "**":
            take()
            v = v ** int(unary())
        return v

    def term():
        v = unary()
        while peek() in ("*", "/"):
            v = v * unary() if take() == "*" else v / unary()
        return v

    def expr():
        v = term()
        while peek() in ("+", "-"):
            v = v + term() if take() == "+" else v - term()
        return v

    out = expr()
    if peek() is not None:
        raise ValueError("trailing text")
    return out


def agreement(res: dict, d, p, n, seed: int = 0) -> tuple[int, int]:
    """(points that agree, points) of the printed symbolic X*, f~* (``res``, a to_dict), evaluated exactly in
    Python Fractions, with the exact rational solve."""
    good = 0
    texts = (*res["X_star"], res["f_tilde_star"])
    pts = _points(d, p, n, random.Random(seed + 1000 * d))
    for pv, nv in pts:
        env = {"p": Fraction(int(pv.p), int(pv.q)), "n": Fraction(nv)}
        got = [evaluate(t, env) for t in texts]
        ex = solve(d, pv, nv)
        want = [Fraction(int(v.p), int(v.q)) for v in (*ex.X_star, ex.f_tilde_star)]
        good += got == want
    return good, len(pts)


def _median(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        _fresh()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _cli(d, p, n, repeat: int) -> float:
    cmd = [sys.executable, "-m", "markov_icl", "objective", "--d", str(d), "--json"]
    cmd += ["--p", p] if p is not None else []
    cmd += ["--n", n] if n is not None else []

    def run():
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    return _median(run, repeat)[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="runs per row (the median is printed)")
    ap.add_argument("--cli", action="store_true", help="also time the whole command")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print("| task | solve (s) | to_dict (s) | " + ("command (s) | " if args.cli else "") +
          "degrees (num; den) | agreement |")
    print("|---|---:|---:|" + ("---:|" if args.cli else "") + "---|---|")
    failed = False
    for d, p, n in CASES:
        t_solve, sol = _median(lambda d=d, p=p, n=n: solve(d, p, n), args.repeat)
        t_str, res = _median(lambda sol=sol: sol.to_dict(), args.repeat)
        degs = res["degrees"]
        rows = degs["X_star"] + [degs["f_tilde_star"]]

        def top(part, k, rows=rows):
            vals = [r[part][k] for r in rows]
            return "-" if vals[0] is None else str(max(vals))

        deg = (f"X*: p {top('numerator', 0)}, n {top('numerator', 1)}; p {top('denominator', 0)}, "
               f"n {top('denominator', 1)}; f~*: {degs['f_tilde_star']['numerator']}; "
               f"{degs['f_tilde_star']['denominator']}")
        good, total = agreement(res, d, p, n, args.seed)
        failed |= good != total
        cli = f"{_cli(d, p, n, args.repeat):.2f} | " if args.cli else ""
        print(f"| {_label(d, p, n)} | {t_solve:.2f} | {t_str:.2f} | {cli}{deg} | {good}/{total} points exact |",
              flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
