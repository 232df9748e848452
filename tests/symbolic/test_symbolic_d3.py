"""Symbolic X* and f~* beyond d = 2: X*(p, n) up to d = 3, X*(p) or X*(n) up to d = 4.

Oracle: the exact rational solve at numeric points (``markov_icl.solve(d, p, n)`` with every
parameter a number: python-flint's ``fmpq_mat.solve`` of H, beta assembled at that point,
a code path that shares neither the interpolation grid nor the polynomial reconstruction).
Points are seeded random rationals 0 < p < 1 and integers n >= 1, plus points outside the
interpolation grid (n beyond its last node, p off its nodes k / (deg + 2)). The two-variable
d = 3 check (slow) is in benchmarks/symbolic.py.
"""

import json
import random

import pytest
import sympy as sp

from markov_icl import solve
from markov_icl.cli import main
from markov_icl.cli.objective import format_table
from markov_icl.symbolic import solve as S
from markov_icl.symbolic.laws import N_SYMBOL, P_SYMBOL, ChainLaw
from markov_icl.symbolic.objective import ObjectiveTerms

p, n = P_SYMBOL, N_SYMBOL
R = sp.Rational


def random_points(seed: int, k: int = 5, p_fixed=None, n_fixed=None) -> list[tuple]:
    rng = random.Random(seed)
    out = []
    while len(out) < k:
        b = rng.randint(2, 40)
        pt = (R(rng.randint(1, b - 1), b) if p_fixed is None else R(p_fixed),
              rng.randint(1, 60) if n_fixed is None else n_fixed)
        if pt not in out:
            out.append(pt)
    return out


def assert_agrees(sol, d, points):
    for pv, nv in points:
        ex = solve(d, pv, nv)
        assert ex.is_numeric and ex.X_star is not None  # the exact rational route, not the symbolic one
        sub = {p: pv, n: nv}
        assert tuple(x.xreplace(sub) for x in sol.X_star) == ex.X_star, (pv, nv)
        assert sol.f_tilde_star.xreplace(sub) == ex.f_tilde_star, (pv, nv)


def test_d2_two_variables_matches_the_exact_solve():
    sol = solve(2)
    assert sol.X_star is not None and sol.p == p and sol.n == n
    # off the grid: the n nodes are 1 .. 14 and the p nodes k / 43 at d = 2
    assert_agrees(sol, 2, random_points(2) + [(R(999, 1000), 500), (R(1, 2), 37)])


def test_cli_d2_printed_x_star_matches_the_exact_solve(capsys):
    """The JSON text of X*(p, n) and f~*(p, n), parsed back, agrees with the exact solve at 5 random points."""
    assert main(["objective", "--d", "2", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    names = {"p": p, "n": n}
    xs = [sp.sympify(x, locals=names) for x in res["X_star"]]
    f = sp.sympify(res["f_tilde_star"], locals=names)
    assert res["degrees"]["f_tilde_star"] == {"numerator": [17, 12], "denominator": [16, 12]}
    for pv, nv in random_points(7):
        ex = solve(2, pv, nv)
        sub = {p: pv, n: nv}
        assert [x.xreplace(sub) for x in xs] == list(ex.X_star) and f.xreplace(sub) == ex.f_tilde_star


@pytest.mark.parametrize("d,pv,nv", [(3, None, 10), (4, "1/2", None), (4, None, 7)])
def test_one_variable_forms_match_the_exact_solve(d, pv, nv):
    sol = solve(d, pv, nv)
    assert sol.X_star is not None and len(sol.X_star) == d * (d + 1) * (d + 2) // 2
    free = set().union(*(x.free_symbols for x in sol.X_star))
    assert free == ({p} if pv is None else {n})
    pts = random_points(10 * d + (pv is None), p_fixed=pv, n_fixed=nv)
    far = (R(997, 1000), nv) if pv is None else (R(pv), 1000)  # p off every node k / N; n past the last node
    assert_agrees(sol, d, pts + [far])


def test_the_expressions_are_sympys_own_canonical_form():
    """The fast flint-to-SymPy conversion builds exactly what SymPy builds from the printed text."""
    sol = solve(2, n=3)
    for x in (*sol.X_star[:4], sol.f_tilde_star):
        back = sp.sympify(str(x), locals={"p": p, "n": n})
        assert back == x and back.args == x.args and hash(back) == hash(x)


@pytest.mark.parametrize("d,pv,nv", [(1, None, None), (1, None, 5), (2, None, None), (2, "1/3", None), (2, None, 3)])
def test_printed_text_is_sympys_own(d, pv, nv):
    """The JSON strings are written from python-flint's factors without SymPy; they are the text SymPy's
    printer gives for the same expressions (and so read back as the same functions)."""
    sol = solve(d, pv, nv)
    res = sol.to_dict()
    assert res["X_star"] == [str(x) for x in sol.X_star]
    assert res["f_tilde_star"] == str(sol.f_tilde_star)


def test_degrees_against_sympy_poly():
    sol = solve(2)
    degs = S.symbolic_degrees(sol)
    assert len(degs["X_star"]) == 12
    for x, dg in zip((*sol.X_star, sol.f_tilde_star), (*degs["X_star"], degs["f_tilde_star"])):
        num, den = sp.fraction(sp.together(x))
        pn, pd = sp.Poly(sp.expand(num), p, n), sp.Poly(sp.expand(den), p, n)
        assert sp.gcd(pn, pd).total_degree() == 0  # lowest terms
        assert dg == {"numerator": [pn.degree(p), pn.degree(n)], "denominator": [pd.degree(p), pd.degree(n)]}
    one = S.symbolic_degrees(solve(3, n=10))
    assert one["f_tilde_star"]["numerator"][1] is None and one["f_tilde_star"]["numerator"][0] > 0
    assert S.symbolic_degrees(solve(2, "1/2", 3)) is None and S.symbolic_degrees(solve(4)) is None


def test_the_router_limits(monkeypatch):
    assert S.MAX_SYMBOLIC_D == S.MAX_SYMBOLIC_D_TWO_VARIABLES == 3 and S.MAX_SYMBOLIC_D_ONE_VARIABLE == 4
    assert [S.max_symbolic_d(True, True), S.max_symbolic_d(True, False), S.max_symbolic_d(False, True)] == [3, 4, 4]
    calls = []
    monkeypatch.setattr(S, "solve_symbolic_pn", lambda terms, ps, nv: calls.append((terms.d, ps, nv)) or "solved")
    half = ChainLaw.default(R(1, 2))
    assert S._solve_terms(ObjectiveTerms(3), None) == "solved"
    assert S._solve_terms(ObjectiveTerms(4), 10) == "solved"
    assert S._solve_terms(ObjectiveTerms(4, half), None) == "solved"
    assert calls == [(3, p, None), (4, p, 10), (4, None, None)]
    for terms, nv, limit in ((ObjectiveTerms(4), None, 3), (ObjectiveTerms(5, half), None, 4)):
        s = S._solve_terms(terms, nv)
        assert s.X_star is None and s.f_tilde_star is None and f"d <= {limit}" in s.method
    assert len(calls) == 3


def test_cli_one_variable_d4_prints_exact_x_star(capsys):
    assert main(["objective", "--d", "4", "--p", "1/2", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["n"] == "n" and res["p"] == "1/2" and len(res["X_star"]) == 60
    xs = [sp.sympify(x, locals={"n": n}) for x in res["X_star"]]
    f = sp.sympify(res["f_tilde_star"], locals={"n": n})
    for nv in (3, 250):
        ex = solve(4, "1/2", nv)
        assert [x.subs(n, nv) for x in xs] == list(ex.X_star) and f.subs(n, nv) == ex.f_tilde_star
    # the JSON's degrees: [degree in p, degree in n], p a number here; checked against sympy.Poly of the printed text
    assert len(res["degrees"]["X_star"]) == 60
    for x, dg in zip((*xs[:5], f), (*res["degrees"]["X_star"][:5], res["degrees"]["f_tilde_star"])):
        num, den = sp.fraction(sp.together(x))
        assert dg == {"numerator": [None, sp.Poly(num, n).degree()], "denominator": [None, sp.Poly(den, n).degree()]}


def test_table_names_the_limit_where_x_star_is_not_derived():
    both = format_table(solve(4).to_dict())
    assert "(symbolic, d > 3)" in both and "f~*    = None" in both
    one = format_table(solve(5, "1/2").to_dict())
    assert "(symbolic, d > 4)" in one
