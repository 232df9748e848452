"""Lemma 3.1 certificates: H is positive definite.

At rational parameters the certificate is an exact fraction-free LU of the integer
matrix ``c H`` (c > 0 clears denominators) with no row exchange: its pivots are the
leading principal minors, and H is positive definite iff all of them are positive
(Sylvester). Equivalently ``H = L D L^T`` with ``D`` the ratios of successive minors.

For all 0 < p < 1 and n >= 1 at once (d = 1), each leading principal minor is a
rational function of (p, n); substituting ``p = t / (1 + t)`` and ``n = 1 + s`` with
t > 0, s >= 0 and clearing positive denominators leaves a polynomial in (t, s). If
every coefficient is positive, the minor is positive on the whole region -- a
certificate that a reader can check by looking at the coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import flint
import sympy as sp
from sympy.polys.matrices import DomainMatrix

from markov_icl.symbolic.laws import N_SYMBOL, P_SYMBOL


@dataclass
class PDCertificate:
    """The outcome of a positive-definiteness check."""

    positive_definite: bool | None
    method: str
    minors: list = field(default_factory=list)
    detail: str = ""

    def _repr_markdown_(self) -> str:
        """The certificate as Jupyter shows it: the verdict on ``H`` and how it was reached."""
        from markov_icl.display import shorten

        verdict = {True: r"$H \succ 0$ (positive definite)", False: "$H$ is **not** positive definite",
                   None: "$H$ not certified"}[self.positive_definite]
        return f"{verdict}: {self.method}; {shorten(self.detail, 300)}"


#: matrices larger than this are first tried with the verified floating-point Cholesky test
FLOAT_TEST_MIN_SIZE = 61


def certify_float_cholesky(H: DomainMatrix) -> PDCertificate | None:
    """A proof that the rational symmetric H is positive definite from a floating-point Cholesky factor.

    ``L`` is the float64 Cholesky factor of ``fl(H) - delta I`` (delta a small multiple of the
    rounding level), rounded to a grid of dyadic rationals. Then ``E = H - L L^T`` is computed
    **exactly** (integers, python-flint); if E is strictly diagonally dominant with a positive
    diagonal, E is positive definite (Gershgorin), and so is ``H = L L^T + E`` (L L^T is positive
    semidefinite). Every step that proves something is exact; the floats only propose L.

    Returns:
        The certificate, or None when the test cannot decide (the Cholesky factorisation fails or
        E is not diagonally dominant: H is then not positive definite or too ill-conditioned for
        float64, and the exact route decides).
    """
    import numpy as np

    Hq = H.to_dfm().rep
    size = Hq.nrows()
    if Hq.transpose() != Hq:
        return None
    num, den = Hq.numer_denom()  # H = num / den, den > 0
    Hf = np.array([float(x) for x in Hq.entries()], dtype=np.float64).reshape(size, size)
    scale = float(np.abs(np.diag(Hf)).max())
    if not np.isfinite(Hf).all() or scale <= 0:
        return None
    delta = 8.0 * size * size * np.finfo(float).eps * scale
    try:
        L = np.linalg.cholesky(Hf - delta * np.eye(size))
    except np.linalg.LinAlgError:
        return None
    k = 52 - int(np.ceil(np.log2(np.abs(L).max())))  # L ~ Lint / 2^k with integer entries below 2^52
    Lint = np.rint(np.ldexp(L, k)).astype(np.int64)
    Lm = flint.fmpz_mat(size, size, [int(x) for x in Lint.ravel()])
    E = num * (flint.fmpz(2) ** (2 * k)) - (Lm * Lm.transpose()) * den  # = 4^k den (H - L L^T), exact
    entries = E.entries()
    for i in range(size):
        row = entries[i * size:(i + 1) * size]
        if not 2 * row[i] > sum(map(abs, row)):  # E_ii > sum_{j != i} |E_ij| (and so E_ii > 0)
            return None
    return PDCertificate(True, "verified float Cholesky", detail=(
        f"H = L L^T + E with L a float64 Cholesky factor of H - {delta:.1e} I and E = H - L L^T computed exactly: "
        f"E is strictly diagonally dominant with a positive diagonal, so E and H are positive definite"))


def certify_numeric(H: DomainMatrix) -> PDCertificate:
    """Exact PD check of a rational symmetric matrix: the verified floating-point Cholesky test
    (:func:`certify_float_cholesky`) for sizes from :data:`FLOAT_TEST_MIN_SIZE`, where it decides
    in a fraction of the time; otherwise, or when it cannot decide, fraction-free LU (Sylvester).

    Returns:
        positive_definite True iff every leading principal minor is positive. The
        minors (exact integers of the scaled matrix) are kept in ``minors`` only for
        sizes <= 12 (they grow quickly).
    """
    Hq = H.to_dfm().rep
    n = Hq.nrows()
    if Hq.transpose() != Hq:
        return PDCertificate(False, "symmetry", detail="H is not symmetric")
    if n >= FLOAT_TEST_MIN_SIZE:
        fast = certify_float_cholesky(H)
        if fast is not None:
            return fast
    num, den = Hq.numer_denom()  # H = num / den, den > 0
    P, L, D, U = num.fflu()
    if P != flint.fmpz_mat(n, n, [int(i == j) for i in range(n) for j in range(n)]):
        return PDCertificate(False, "fraction-free LU", detail="a leading principal minor vanishes")
    pivots = [U[i, i] for i in range(n)]
    ok = all(x > 0 for x in pivots)
    bad = next((i + 1 for i, x in enumerate(pivots) if x <= 0), 0)
    detail = (f"all {n} leading principal minors of {den}*H are positive" if ok
              else f"leading principal minor {bad} is {'zero' if pivots[bad - 1] == 0 else 'negative'}")
    return PDCertificate(ok, "fraction-free LU (Sylvester)",
                         [int(x) for x in pivots] if n <= 12 else [], detail)


def positive_on_region(expr: sp.Expr, p=P_SYMBOL, n=N_SYMBOL) -> tuple[bool, sp.Expr]:
    """Certify ``expr(p, n) > 0`` for all 0 < p < 1, n >= 1 by positive coefficients.

    Returns:
        (certified, polynomial in (t, s) whose coefficients were inspected).
    """
    t, s = sp.symbols("t s", positive=True)
    sub = sp.together(sp.sympify(expr).subs({p: t / (1 + t), n: 1 + s}))
    num, den = sp.fraction(sp.factor(sub))

    def positive_poly(e):
        poly = sp.Poly(sp.expand(e), t, s)
        coeffs = poly.coeffs()
        if all(c > 0 for c in coeffs):
            return 1
        if all(c < 0 for c in coeffs):
            return -1
        return 0

    sn, sd = positive_poly(num), positive_poly(den)
    return (sn * sd == 1), sp.expand(num)


def certify_symbolic(H: sp.MatrixBase, p=P_SYMBOL, n=N_SYMBOL) -> PDCertificate:
    """Certify H(p, n) positive definite on 0 < p < 1, n >= 1 via its leading minors."""
    minors = []
    size = H.shape[0]
    for k in range(1, size + 1):
        minors.append(sp.factor(H[:k, :k].det(method="berkowitz")))
    results = [positive_on_region(mk, p, n) for mk in minors]
    ok = all(r[0] for r in results)
    detail = ("every leading principal minor, with p = t/(1+t), n = 1+s, is a ratio of "
              "polynomials in (t, s) with positive coefficients" if ok else
              "positivity of some minor not certified by coefficient signs")
    return PDCertificate(True if ok else None, "Sylvester minors, positive-coefficient test", minors, detail)
