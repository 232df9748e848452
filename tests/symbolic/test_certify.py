"""Lemma 3.1 certificates: exact PD at rational points, symbolic for d = 1."""

import numpy as np
import sympy as sp

from markov_icl.oracles import closed_form_d1
from markov_icl.symbolic.certify import certify_numeric, certify_symbolic, positive_on_region
from markov_icl.symbolic.laws import N_SYMBOL, P_SYMBOL, ChainLaw, InitLaw, KernelLaw
from markov_icl.symbolic.objective import ObjectiveTerms


def test_numeric_pd_and_agrees_with_eigenvalues():
    for d, pv, nv in [(1, "1/2", 5), (2, "1/3", 2), (3, "3/4", 7)]:
        H, _, _ = ObjectiveTerms(d, ChainLaw.default(pv)).numeric(n=nv)
        cert = certify_numeric(H)
        assert cert.positive_definite is True
        ev = np.linalg.eigvalsh(np.array(sp.Matrix(H.to_Matrix()).tolist(), dtype=float))
        assert ev.min() > 0


def test_numeric_not_pd_for_degenerate_fixed_kernel():
    # a = c = 0: every chain is constant, so features coincide and H is singular
    law = ChainLaw(InitLaw.iid("1/2"), KernelLaw.fixed(0, 0))
    H, _, _ = ObjectiveTerms(2, law).numeric(n=3)
    assert certify_numeric(H).positive_definite is False
    M = sp.Matrix(H.to_Matrix())
    assert M.det() == 0


def test_certificate_detects_indefinite_matrix():
    from sympy.polys.matrices import DomainMatrix

    M = DomainMatrix.from_Matrix(sp.Matrix([[2, 3], [3, 2]])).convert_to(sp.QQ)
    assert certify_numeric(M).positive_definite is False


def test_symbolic_d1_all_p_n():
    H, _, _ = ObjectiveTerms(1).symbolic()
    cert = certify_symbolic(H)
    assert cert.positive_definite is True
    # the certified minors really are the leading minors
    assert sp.simplify(cert.minors[2] - H.det()) == 0
    # oracle: H is theory §5's closed form, and its leading minors are positive on a grid of the region
    p, n = P_SYMBOL, N_SYMBOL
    Hc = closed_form_d1(p, n)[0]
    assert (H - Hc).applyfunc(sp.simplify).is_zero_matrix
    for pv in [sp.Rational(k, 20) for k in (1, 5, 10, 15, 19)]:
        for nv in (1, 2, 3, 7, 50, 1000):
            Hv = Hc.subs({p: pv, n: nv})
            assert all(Hv[:k, :k].det() > 0 for k in (1, 2, 3)), (pv, nv)


def test_positive_on_region_rejects_sign_changing():
    p, n = sp.symbols("p n", positive=True)
    assert positive_on_region(p - sp.Rational(1, 2), p, n)[0] is False
    assert positive_on_region(p * (1 - p) * n, p, n)[0] is True


# ----------------------------------------------------------------------------- the verified float Cholesky test


def _rational_orthogonal(size: int, seed: int) -> sp.Matrix:
    """An exactly orthogonal rational matrix: a product of Householder reflections with integer vectors."""
    rng = np.random.default_rng(seed)
    Q = sp.eye(size)
    for _ in range(2):
        v = sp.Matrix([int(x) for x in rng.integers(-3, 4, size)])
        if v.dot(v) == 0:
            continue
        Q = Q * (sp.eye(size) - 2 * v * v.T / v.dot(v))
    return Q


def _dm(M):
    from sympy.polys.matrices import DomainMatrix

    return DomainMatrix.from_Matrix(M).convert_to(sp.QQ)


def test_float_cholesky_proves_pd_matrices_of_known_spectrum():
    from markov_icl.symbolic.certify import certify_float_cholesky

    # oracle: H = Q diag(lam) Q^T with exact rational orthogonal Q and positive lam, PD by construction
    size = 64
    Q = _rational_orthogonal(size, 0)
    lam = [sp.Rational(k + 1, 97) for k in range(size)]
    H = Q * sp.diag(*lam) * Q.T
    cert = certify_float_cholesky(_dm(H))
    assert cert is not None and cert.positive_definite is True and cert.method == "verified float Cholesky"


def test_float_cholesky_never_proves_an_indefinite_matrix_that_floats_call_pd():
    from markov_icl.symbolic.certify import certify_float_cholesky

    # lam_min = -10^-30: in float64 the matrix is indistinguishable from a PD one, exactly it is indefinite
    size = 64
    Q = _rational_orthogonal(size, 1)
    lam = [sp.Rational(k + 1, 97) for k in range(size - 1)] + [-sp.Rational(1, 10**30)]
    H = Q * sp.diag(*lam) * Q.T
    Hf = np.array(H.tolist(), dtype=float)
    assert np.linalg.eigvalsh(Hf).min() > -1e-12  # floats cannot see the sign
    assert certify_float_cholesky(_dm(H)) is None
    cert = certify_numeric(_dm(H))  # the exact route decides
    assert cert.positive_definite is False and cert.method == "fraction-free LU (Sylvester)"
    assert (Q * Q.T - sp.eye(size)).is_zero_matrix  # oracle: Q is orthogonal, so lam is H's spectrum, one negative


def test_large_objectives_are_certified_by_the_float_test_and_agree_with_the_exact_route():
    from markov_icl.symbolic.certify import FLOAT_TEST_MIN_SIZE, certify_float_cholesky

    H, _, _ = ObjectiveTerms(5, ChainLaw.default("1/3")).numeric(n=4)  # dm = 105
    assert H.shape[0] >= FLOAT_TEST_MIN_SIZE
    fast = certify_numeric(H)
    assert fast.method == "verified float Cholesky" and fast.positive_definite is True
    Hq = H.to_dfm().rep
    num, _ = Hq.numer_denom()
    pivots = num.fflu()[3]
    assert all(pivots[i, i] > 0 for i in range(H.shape[0]))  # oracle: every leading minor positive (Sylvester)
    assert certify_float_cholesky(H) is not None
