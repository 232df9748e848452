"""`markov_icl.solve`: the solver routing, the Solution object, its loss, and its JSON.

Oracles: enumeration of every prompt (H, beta, E[y^2] and X* by SymPy's own LU solve), the
published values at d = 1 (theory §5), and the loss written out here with the hand-written phi.
"""

import json

import numpy as np
import pytest
import sympy as sp

from markov_icl import MarkovICLError, solve
from markov_icl.oracles import enumerate_multistate, enumerate_objective, objective_at_n, phi_by_definition
from markov_icl.symbolic.solve import MAX_SYMBOLIC_D

R = sp.Rational


def test_numeric_route_matches_enumeration():
    s = solve(2, "1/3", 2)
    He, be, ye = enumerate_objective(2, 2, R(1, 3))
    assert s.is_numeric and s.H == He and sp.Matrix(s.beta) == be and s.E_y2 == ye
    assert s.X_star == tuple(He.LUsolve(be))
    assert s.f_tilde_star == ye - (be.T * He.LUsolve(be))[0]


def test_symbolic_routes_and_their_limits():
    p, n = sp.symbols("p n", positive=True)
    s1 = solve(1)  # symbolic in p and n
    assert s1.X_star is not None and s1.certificate.positive_definite is True
    assert s1.f_tilde_star.subs({s1.p: R(1, 2), s1.n: 5}) == R(35, 96)
    s4 = solve(MAX_SYMBOLIC_D + 1)  # p and n symbolic: X* is derived up to d = 3
    assert s4.X_star is None and s4.f_tilde_star is None and s4.certificate.positive_definite is None
    assert len(s4.beta) == 60 and s4.H.shape == (60, 60) and "d <= 3" in s4.method
    # a symbolic kernel parameter: the fraction-field route (uniform = Beta(1, 1) at the published point)
    al = sp.Symbol("alpha", positive=True)
    from markov_icl.symbolic.laws import ChainLaw, InitLaw, KernelLaw
    from markov_icl.symbolic.objective import ObjectiveTerms
    from markov_icl.symbolic.solve import solve_generic

    g = solve_generic(ObjectiveTerms(1, ChainLaw(InitLaw.iid("1/2"), KernelLaw.beta(al, 1, 1, 1))), 5)
    assert tuple(x.subs(al, 1) for x in g.X_star) == (R(1, 6), R(1, 2), R(1, 2))


def test_multistate_route_matches_enumeration():
    s = solve(1, n=2, states=3, kernel="dirichlet:1")
    H, h, ey2 = enumerate_multistate(3, 1, 2, 1)
    assert s.p is None and s.states == 3 and s.kernel == "dirichlet:1" and s.init == "uniform"
    assert s.H == H and sp.Matrix(s.beta) == h and s.E_y2 == ey2 and s.X_star == tuple(H.LUsolve(h))


def test_product_form_route():
    exact, prod = solve(2, "1/2", 3), solve(2, "1/2", 3, form="product")
    assert prod.form == "product" and prod.X_star != exact.X_star
    for sol, product in ((exact, False), (prod, True)):  # oracle: enumeration of every prompt, SymPy's LU solve
        He3, be3, _ = objective_at_n(2, 3, "1/2", product_form=product)
        assert sol.H == He3 and sol.X_star == tuple(He3.LUsolve(be3))
    He, be, _ = enumerate_objective(2, 1, R(1, 3), product_form=True)
    assert solve(2, "1/3", 1, form="product").H == He


def test_loss_of_parameters_against_a_hand_written_loss():
    s = solve(2, "1/2", 5)
    rng = np.random.default_rng(0)
    b = [R(int(v), 7) for v in rng.integers(-5, 6, 3)]
    A = [[R(int(v), 5) for v in rng.integers(-5, 6, 2)] for _ in range(3)]
    X = sp.Matrix(phi_by_definition(b, A))
    H, beta = s.H, sp.Matrix(s.beta)
    He, be, ye = objective_at_n(2, 5, "1/2")  # oracle: enumeration of every prompt (n = 1, 2; H affine in 1/n)
    assert H == He and beta == be and s.E_y2 == ye
    want = s.E_y2 - 2 * (beta.T * X)[0] + (X.T * H * X)[0]
    assert s.loss(b, A) == want  # exact
    bf, Af = np.array(b, dtype=float), np.array(A, dtype=float)
    assert abs(float(s.loss(bf, Af)) - float(want)) < 1e-12  # float
    assert s.f_tilde(s.X_star) == s.f_tilde_star
    assert s.f_tilde_star == ye - (be.T * He.LUsolve(be))[0]


def test_json_has_exact_strings_and_float_twins():
    res = json.loads(json.dumps(solve(1, "1/2", 5).to_dict(full=True)))
    for key in ("X_star", "beta", "E_y2", "f_tilde_star", "H"):
        exact, flt = res[key], res[key + "_float"]
        assert np.allclose(np.array(flt, dtype=float),
                           np.vectorize(lambda t: float(sp.Rational(t)))(np.array(exact, dtype=object)).astype(float),
                           rtol=1e-15, atol=0), key
    assert res["f_tilde_star"] == "35/96" and res["H"][0] == ["3/20", "3/40", "1/8"]
    sym = solve(1).to_dict()
    assert sym["X_star_float"] is None and sym["f_tilde_star_float"] is None and "n" in sym["f_tilde_star"]


@pytest.mark.parametrize("kw,needle", [
    (dict(d=0), "d must be"),
    (dict(d=1, p=0.5), "floats are not exact"),
    (dict(d=1, p="3/2"), "open interval"),
    (dict(d=1, n=0), "n must be"),
    (dict(d=1, form="lemma"), "unknown form"),
    (dict(d=1, states=3), "dirichlet"),
    (dict(d=2, states=3, kernel="dirichlet:alpha"), "d = 1 only"),
    (dict(d=1, kernel="gauss"), "unknown kernel"),
])
def test_bad_input(kw, needle):
    with pytest.raises(MarkovICLError, match=needle):
        solve(**kw)
