"""H, beta, E[y^2] against enumeration, Monte Carlo and the paper's closed forms."""

import numpy as np
import pytest
import sympy as sp

from markov_icl.oracles import enumerate_objective, monte_carlo_objective, objective_at_n
from markov_icl.symbolic.laws import N_SYMBOL, P_SYMBOL, ChainLaw, InitLaw, KernelLaw
from markov_icl.symbolic.objective import Index, ObjectiveTerms
from markov_icl.symbolic.solve import solve_numeric, solve_symbolic_pn

p, n = P_SYMBOL, N_SYMBOL


def exact_at(d, nval, law):
    H, b, y = ObjectiveTerms(d, law).numeric(n=nval)
    to = H.domain.to_sympy
    return sp.Matrix(H.to_Matrix()).applyfunc(lambda v: v), sp.Matrix(b.to_Matrix()), to(y)


@pytest.mark.parametrize("d,nval", [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_enumeration_uniform_iid(d, nval):
    pv = sp.Rational(1, 3)
    He, be, ye = enumerate_objective(d, nval, pv)
    H, b, y = exact_at(d, nval, ChainLaw.default(pv))
    assert (H - He).is_zero_matrix
    assert (b - be).is_zero_matrix
    assert y == ye


def test_enumeration_symbolic_p_d1():
    He, be, ye = enumerate_objective(1, 2, p)
    H, b, y = ObjectiveTerms(1).symbolic(n=2)
    assert (H - He).applyfunc(sp.expand).is_zero_matrix
    assert (b - be).applyfunc(sp.expand).is_zero_matrix
    assert sp.expand(y - ye) == 0


def test_enumeration_beta_prior():
    pv = sp.Rational(2, 5)
    He, be, ye = enumerate_objective(2, 1, pv, prior=("beta", 2, 3, 1, 2))
    H, b, y = exact_at(2, 1, ChainLaw(InitLaw.iid(pv), KernelLaw.beta(2, 3, 1, 2)))
    assert (H - He).is_zero_matrix and (b - be).is_zero_matrix and y == ye


def test_enumeration_fixed_kernel():
    pv = sp.Rational(1, 2)
    He, be, ye = enumerate_objective(2, 2, pv, prior=("fixed", sp.Rational(1, 5), sp.Rational(2, 3)))
    H, b, y = exact_at(2, 2, ChainLaw(InitLaw.iid(pv), KernelLaw.fixed("1/5", "2/3")))
    assert (H - He).is_zero_matrix and (b - be).is_zero_matrix and y == ye


def test_enumeration_correlated_example_c5_and_moments():
    pv = sp.Rational(1, 3)
    pi0, pi1 = pv**2, (1 - pv) ** 2
    He, be, ye = enumerate_objective(2, 2, pv, init=("qc", pi0, pi1))
    H, b, y = exact_at(2, 2, ChainLaw(InitLaw.example_c5(pv), KernelLaw.uniform()))
    assert (H - He).is_zero_matrix and (b - be).is_zero_matrix and y == ye
    # the same law given by its moments (context marginal p_c differs from p here)
    pc = (1 - pv) * pi0 + pv * pi1
    law = InitLaw.correlated(pv, pv * pi1, (1 - pv) * pi0**2 + pv * pi1**2, pv * pi1**2, p_c=pc)
    H2, b2, y2 = exact_at(2, 2, ChainLaw(law, KernelLaw.uniform()))
    assert (H2 - He).is_zero_matrix and (b2 - be).is_zero_matrix


def test_example_c5_context_marginal_is_not_p():
    """theory §1 says every initial state is Bernoulli(p); Example C.5's are not (evidence)."""
    law = InitLaw.example_c5()
    assert sp.expand(law.joint_moment(0, 1, 0) - p) != 0
    assert sp.expand(law.joint_moment(0, 1, 0) - p * (1 - p)) == 0
    assert sp.expand(law.joint_moment(1, 1, 0) - (p - 2 * p**2 + p**3)) == 0  # c1 / n


@pytest.mark.parametrize("d,nval,num", [(2, 3, 200_000), (3, 2, 200_000)])
def test_monte_carlo(d, nval, num):
    pv = 0.4
    mH, seH, mb, seb = monte_carlo_objective(d, nval, pv, num, seed=d)
    H, b, _ = exact_at(d, nval, ChainLaw.default(sp.Rational(2, 5)))
    Hf = np.array(H.tolist(), dtype=float)
    bf = np.array(b.tolist(), dtype=float)[:, 0]
    # 5 standard errors per entry (plus 1e-4 for entries that are rare); with
    # ~900 entries a 5-sigma miss under the null has probability < 1e-3
    assert np.all(np.abs(mH - Hf) <= 5 * seH + 1e-4), np.max(np.abs(mH - Hf) / (seH + 1e-12))
    assert np.all(np.abs(mb - bf) <= 5 * seb + 1e-4)


def test_closed_forms_theorem_3_3():
    H, b, y = ObjectiveTerms(1).symbolic()
    expected_beta = [p**2 / 2, p**2 / 3, p**2 / 12 + p / 4]
    assert all(sp.simplify(b[i] - expected_beta[i]) == 0 for i in range(3))
    H11 = p**2 * (1 + (n - 1) * p) / n
    expected = {
        (0, 0): H11, (0, 1): H11 / 2, (0, 2): p**2 / 2,
        (1, 1): p**2 * (3 + 2 * (n - 1) * p) / (6 * n),
        (1, 2): p**2 * (3 * (n + 1) + (n - 1) * p) / (12 * n),
        (2, 2): p * (2 * n + 1 - (n - 1) * p * (1 - p)) / (6 * n),
    }
    for (i, j), v in expected.items():
        assert sp.simplify(H[i, j] - v) == 0
        assert sp.simplify(H[j, i] - v) == 0


def test_closed_form_points():
    s5 = solve_numeric(ObjectiveTerms(1), p="1/2", n=5)
    assert s5.X_star == (sp.Rational(1, 6), sp.Rational(1, 2), sp.Rational(1, 2))
    assert s5.f_tilde_star == sp.Rational(35, 96)
    s10 = solve_numeric(ObjectiveTerms(1), p="1/2", n=10)
    assert s10.X_star == (sp.Rational(4, 57), sp.Rational(52, 57), sp.Rational(8, 19))


@pytest.mark.parametrize("d", [1, 2])
def test_symbolic_x_star_matches_exact_points(d):
    """The interpolated X*(p, n) against the direct exact solve at points, and against an independent
    oracle: SymPy's LU solve of H, beta from enumerating every prompt (n = 2)."""
    T = ObjectiveTerms(d)
    sol = solve_symbolic_pn(T, p)
    for pv, nv in [(sp.Rational(1, 2), 5), (sp.Rational(1, 7), 3), (sp.Rational(5, 6), 12)]:
        ex = solve_numeric(T, p=pv, n=nv)
        got = tuple(x.subs({p: pv, n: nv}) for x in sol.X_star)
        assert got == ex.X_star
        assert sol.f_tilde_star.subs({p: pv, n: nv}) == ex.f_tilde_star
    pv = sp.Rational(2, 5)
    He, be, ye = enumerate_objective(d, 2, pv)
    X = He.LUsolve(be)
    assert tuple(x.subs({p: pv, n: 2}) for x in sol.X_star) == tuple(X)
    assert sol.f_tilde_star.subs({p: pv, n: 2}) == ye - (be.T * X)[0]


def test_product_form_differs_for_random_kernel_and_agrees_for_fixed():
    pv = sp.Rational(1, 2)
    for d in (2, 3):
        exact = ObjectiveTerms(d, ChainLaw.default(pv)).numeric(n=4)[0]
        prod = ObjectiveTerms(d, ChainLaw.default(pv), product_form=True).numeric(n=4)[0]
        assert exact != prod
    # d = 1: x_q = s_1 does not depend on K, so the forms agree
    e1 = ObjectiveTerms(1, ChainLaw.default(pv)).numeric(n=4)[0]
    p1 = ObjectiveTerms(1, ChainLaw.default(pv), product_form=True).numeric(n=4)[0]
    assert e1 == p1
    fixed = ChainLaw(InitLaw.iid(pv), KernelLaw.fixed("1/3", "1/4"))
    for d in (2, 3):
        assert ObjectiveTerms(d, fixed).numeric(n=4)[0] == ObjectiveTerms(d, fixed, product_form=True).numeric(n=4)[0]
    # oracle: the same three statements by enumerating every prompt (product form: each factor enumerated on its
    # own), and the engine's matrices equal to the enumerated ones (n = 4 from n = 1, 2: H is affine in 1/n)
    for d in (1, 2):
        Ee = objective_at_n(d, 4, pv)[0]
        Pe = objective_at_n(d, 4, pv, product_form=True)[0]
        assert (Ee != Pe) == (d == 2)
        assert sp.Matrix(ObjectiveTerms(d, ChainLaw.default(pv)).numeric(n=4)[0].to_Matrix()) == Ee
        assert sp.Matrix(ObjectiveTerms(d, ChainLaw.default(pv), product_form=True).numeric(n=4)[0].to_Matrix()) == Pe
    fx = ("fixed", sp.Rational(1, 3), sp.Rational(1, 4))  # fixed kernel: at n = 1 (n = 2 takes seconds)
    Fe = enumerate_objective(2, 1, pv, prior=fx)[0]
    assert Fe == enumerate_objective(2, 1, pv, prior=fx, product_form=True)[0]
    assert sp.Matrix(ObjectiveTerms(2, fixed).numeric(n=1)[0].to_Matrix()) == Fe


def test_product_form_against_enumeration_of_separate_expectations():
    """Product form = E[x_qi x_qj] * E[G G] with each factor enumerated independently."""
    pv = sp.Rational(1, 3)
    d, nval = 2, 2
    He, _, _ = enumerate_objective(d, nval, pv)
    # E[x_qi x_qj]: enumerate one chain; E[G G]: from He with the query fixed to ones
    prod = ObjectiveTerms(d, ChainLaw.default(pv), product_form=True).numeric(n=nval)[0]
    P = sp.Matrix(prod.to_Matrix())
    idx = Index(d)
    m = idx.m
    # block (1,1) of the product form is E[x_q1^2] E[G G]; E[x_q1] = p for the first state
    block = P[:m, :m] / pv
    # enumerate E[G G] directly (context chains only)
    Hc, _, _ = enumerate_objective(d, nval, pv)
    # E[x_q1 G G] = E_K[E[x_q1] E[G G | K]] = p E[G G] because x_q1 = s_1 is K-free
    assert (Hc[:m, :m] / pv - block).is_zero_matrix
    # and every block: the oracle's product form, E[x_qi x_qj] and E[G G] each enumerated and integrated on its own
    Hp, _, _ = enumerate_objective(d, nval, pv, product_form=True)
    assert (P - Hp).is_zero_matrix


def test_index_order():
    idx = Index(2)
    assert idx.pairs == [(1, 1), (1, 2), (1, 3), (2, 2), (2, 3), (3, 3)]
    assert idx.index[6] == [2, 1, 1]
    assert idx.r(2, 2, 3) == 6 + 5


@pytest.mark.parametrize("pv,nv", [(None, 5), (sp.Rational(1, 2), None)])
def test_symbolic_in_one_variable(pv, nv):
    """X* symbolic in p alone (n fixed) or in n alone (p fixed) agrees with exact points."""
    law = ChainLaw.default(pv)
    T = ObjectiveTerms(2, law)
    sol = solve_symbolic_pn(T, p if pv is None else None, nv)
    for val in (sp.Rational(1, 3), 7):
        if pv is None and val == 7:
            continue
        if nv is None and val != 7:
            continue
        pp, nn = (val, nv) if pv is None else (pv, val)
        ex = solve_numeric(ObjectiveTerms(2, ChainLaw.default(pp)), n=nn)
        sub = {p: pp, n: nn}
        assert tuple(x.subs(sub) for x in sol.X_star) == ex.X_star
        assert sol.f_tilde_star.subs(sub) == ex.f_tilde_star
        # oracle: X* by SymPy's LU solve of H, beta from enumerating every prompt (n = 1, 2; H affine in 1/n)
        He, be, ye = objective_at_n(2, nn, pp)
        Xe = He.LUsolve(be)
        assert tuple(x.subs(sub) for x in sol.X_star) == tuple(Xe)
        assert sol.f_tilde_star.subs(sub) == ye - (be.T * Xe)[0]


def test_symbolic_kernel_and_correlation_parameters():
    """Beta-prior and correlation parameters may stay symbols (generic fraction-field solve)."""
    from markov_icl.symbolic.solve import solve_generic

    al = sp.Symbol("alpha", positive=True)
    T = ObjectiveTerms(1, ChainLaw(InitLaw.iid("1/2"), KernelLaw.beta(al, 1, 1, 1)))
    sol = solve_generic(T, 5)
    # Beta(1, 1) is the uniform prior: theory §5's point
    assert [x.subs(al, 1) for x in sol.X_star] == [sp.Rational(1, 6), sp.Rational(1, 2), sp.Rational(1, 2)]
    m1, m2, m3 = sp.symbols("m1 m2 m3")
    Tc = ObjectiveTerms(1, ChainLaw(InitLaw.correlated(None, m1, m2, m3), KernelLaw.uniform()))
    H, b, _ = Tc.symbolic()
    # H11 = E[s_q G_11^2] = m_cq / n + (1 - 1/n) m_ccq, beta_1 = E[s_q s_q2 G_11] = m_cq / 2
    assert sp.simplify(H[0, 0] - (m1 / n + (1 - 1 / n) * m3)) == 0
    assert sp.simplify(b[0] - m1 / 2) == 0
    # with the i.i.d. moments it reduces to the i.i.d. objective
    Hi, bi, _ = ObjectiveTerms(1).symbolic()
    sub = {m1: p**2, m2: p**2, m3: p**3}
    assert (H.subs(sub) - Hi).applyfunc(sp.simplify).is_zero_matrix


@pytest.mark.parametrize("d", [1, 2, 3])
def test_where_the_context_marginal_enters(d):
    """The context marginal p_c and m_cc enter H exactly in the blocks (j, j') with j, j' >= 2 (every entry of
    them), and beta only in entries with j >= 2; at d = 1 nowhere: every entry carries x_q = s_{q,1} (theory §10)."""
    mcq, mcc, mccq, pc = sp.symbols("m_cq m_cc m_ccq p_c", positive=True)
    T = ObjectiveTerms(d, ChainLaw(InitLaw.correlated("1/3", mcq, mcc, mccq, pc), KernelLaw.uniform()))
    H, b, _ = T.symbolic(n=4)
    idx = T.idx.index
    dep = {(r, s) for r in range(len(idx)) for s in range(len(idx)) if H[r, s].has(pc) or H[r, s].has(mcc)}
    block = {(r, s) for r in range(len(idx)) for s in range(len(idx)) if idx[r][0] >= 2 and idx[s][0] >= 2}
    assert dep == block
    assert {r for r in range(len(idx)) if b[r].has(pc) or b[r].has(mcc)} <= {r for r in range(len(idx)) if idx[r][0] >= 2}
    if d <= 2:
        # oracle: enumerate two query-conditional laws with the same p, m_cq = p pi1, m_ccq = p pi1^2 but different
        # p_c = (1-p) pi0 + p pi1 and m_cc = (1-p) pi0^2 + p pi1^2 (pi0 changes): the entries that change are the
        # engine's dependency set (n = 2: both the one-chain and the two-chain terms enter)
        pv, pi1 = sp.Rational(1, 3), sp.Rational(3, 5)
        Ha, ba, _ = enumerate_objective(d, 2, pv, init=("qc", sp.Rational(1, 7), pi1))
        Hb, bb, _ = enumerate_objective(d, 2, pv, init=("qc", sp.Rational(5, 6), pi1))
        assert {(r, s) for r in range(len(idx)) for s in range(len(idx)) if Ha[r, s] != Hb[r, s]} == block
        assert {r for r in range(len(idx)) if ba[r] != bb[r]} == {r for r in range(len(idx)) if b[r].has(pc) or b[r].has(mcc)}


@pytest.mark.parametrize("d", [1, 2])
def test_example_c5_marginal_matters_only_from_d_2(d):
    """Enumeration of Example C.5 (its true context marginal p(1-p)) against the engine given Example C.5's
    moments but the marginal p: equal at d = 1; at d = 2 different, and only inside the j = j' = 2 block."""
    pv = sp.Rational(1, 3)
    law = InitLaw.example_c5(pv)
    He, be, _ = enumerate_objective(d, 2, pv, init=("qc", pv**2, (1 - pv) ** 2))
    wrong = InitLaw.correlated(pv, law.joint_moment(1, 1, 0), law.joint_moment(0, 1, 1), law.joint_moment(1, 1, 1))
    H, b, _ = exact_at(d, 2, ChainLaw(wrong, KernelLaw.uniform()))
    idx = Index(d).index
    diff = {(r, s) for r in range(len(idx)) for s in range(len(idx)) if H[r, s] != He[r, s]}
    if d == 1:
        assert not diff and b == be
    else:
        assert diff and all(idx[r][0] == 2 and idx[s][0] == 2 for r, s in diff)
        assert all(idx[r][0] == 2 for r in range(len(idx)) if b[r] != be[r])
