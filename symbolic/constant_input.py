"""A constant input for the LSA: the enlarged-space objective with ``x`` augmented to ``(x, 1)`` (theory §13).

The paper's one-layer LSA predicts ``yhat = b^T G A x_q``, a form without a constant term, so it predicts
0 whenever ``x_q = 0``: at d = 1 it cannot use the chains that start from state 0 at all. Appending a
constant coordinate to every input, ``z_i = (x_i, 1, y_i)`` and query column ``(x_q, 1, 0)``, gives an
LSA on ``d + 1`` inputs whose objective the engine derives exactly the same way (the constant has no
chain position: :class:`~markov_icl.symbolic.objective.ObjectiveTerms` with ``constant_input=True``).
Comparing its optimum with the plain one separates the "no constant input" effect from the "linear"
effect when LSA is set beside the Bayes floor and softmax attention.

Binary chains make ``H`` singular here: ``z_u^2 = z_u``, so the features ``x'_{q,j} G_(u,u)`` and
``x'_{q,j} G_(u,c)`` (c the constant coordinate) coincide for every state coordinate u, and
``null(H)`` has dimension ``(d + 1)^2``. The minimiser is then an affine set ``X* + null(H)`` with one
value ``f~*``; the engine solves the least squares exactly on the pivot columns of H's reduced row
echelon form (a basic solution ``X*``, zero off the pivots) and certifies that ``H`` restricted to them
is positive definite. S-state chains (states 0..S-1 as numbers) have no such identity and a
nonsingular H.

``f*`` (the best one-layer LSA with the constant input) comes from the same variable projection as
without it (theory §6), with least squares that tolerate the null space; exact realisability is decided
for the basic representative ``X*`` (a point), while the question for the whole affine set is answered
numerically by the gap ``f* - f~*``.

Examples:
    >>> c = constant_input(1, "1/2", 10)
    >>> c.f_tilde_star, c.f_tilde_star_plain, c.rank, c.dm
    (7/36, 121/342, 8, 12)
"""

from __future__ import annotations

from dataclasses import dataclass

import flint
import numpy as np
import sympy as sp
from sympy.polys.matrices import DomainMatrix

from markov_icl.errors import MarkovICLError
from markov_icl.symbolic.certify import PDCertificate
from markov_icl.symbolic.laws import ChainLaw, DirichletKernel, check_states, is_dirichlet, parse_probability
from markov_icl.symbolic.objective import Index, ObjectiveTerms, check_d, parse_n
from markov_icl.symbolic.solve import fmpq_matrix, optimal_loss, to_rational


@dataclass
class ConstantInput:
    """The LSA with a constant input beside the plain LSA, at one setting (module docstring).

    Attributes:
        d: the chain's input length; ``D = d + 1`` is the model's input dimension (coordinate D is the constant).
        p, n, states, kernel, init: the setting.
        index: the coordinates ``(j, u, v)`` of X in the order of theory §3 for D inputs.
        H, beta, E_y2: the exact objective (H a DomainMatrix over QQ).
        rank: the rank of H (``dm`` for S > 2 states, ``dm - (d + 1)^2`` for binary chains).
        X_star: the basic minimiser (exact; zero off the pivot columns); f_tilde_star: the exact optimum.
        f_tilde_star_plain: f~* of the paper's LSA (no constant input), exact.
        certificate: the positive-definiteness certificate of H on the pivot columns.
    """

    d: int
    p: object
    n: int
    states: int
    kernel: str
    init: str
    index: tuple
    H: DomainMatrix
    beta: tuple
    E_y2: sp.Rational
    rank: int
    pivots: tuple
    X_star: tuple
    f_tilde_star: sp.Rational
    f_tilde_star_plain: sp.Rational
    certificate: PDCertificate

    @property
    def D(self) -> int:
        return self.d + 1

    @property
    def dm(self) -> int:
        return len(self.index)

    def one_layer_loss(self):
        """The float64 variable projection of this objective (:class:`~markov_icl.symbolic.varpro.OneLayerLoss`),
        with least squares that tolerate null(H)."""
        from markov_icl.symbolic.varpro import OneLayerLoss

        to = sp.QQ.to_sympy
        Hf = np.array([[float(to(x)) for x in row] for row in self.H.to_list()])
        loss = OneLayerLoss(self.D, Hf, np.array([float(b) for b in self.beta]), float(self.E_y2))
        loss.singular = self.rank < self.dm
        return loss

    def to_dict(self) -> dict:
        """Exact strings with float twins."""
        return {
            "d": self.d, "D": self.D, "p": None if self.p is None else str(self.p), "n": self.n, "states": self.states,
            "kernel": self.kernel, "init": self.init, "constant_input": True,
            "index": [list(ix) for ix in self.index], "rank": self.rank, "dm": self.dm,
            "X_star": [str(x) for x in self.X_star], "X_star_float": [float(x) for x in self.X_star],
            "f_tilde_star": str(self.f_tilde_star), "f_tilde_star_float": float(self.f_tilde_star),
            "f_tilde_star_plain": str(self.f_tilde_star_plain), "f_tilde_star_plain_float": float(self.f_tilde_star_plain),
            "E_y2": str(self.E_y2),
            "H_positive_definite_on_pivots": self.certificate.positive_definite,
            "certificate": f"{self.certificate.method}: {self.certificate.detail}",
        }


def exact_least_squares(H: DomainMatrix, beta: DomainMatrix) -> tuple[tuple, tuple, int]:
    """A basic exact minimiser of ``X^T H X - 2 beta^T X`` for a positive semidefinite rational H.

    The pivot columns of H's reduced row echelon form are independent; H restricted to them is positive
    definite and spans H's range, so solving there (zero elsewhere) is a minimiser.

    Returns:
        ``(X, pivots, rank)`` with X as python-flint fmpq values.

    Raises:
        MarkovICLError: when beta is not in the range of H (H is then not a PSD objective's matrix).
    """
    Hq = fmpq_matrix(H)
    R, rank = Hq.rref()
    pivots = []
    row = 0
    ncols = Hq.ncols()
    for col in range(ncols):
        if row < rank and R[row, col] != 0:
            pivots.append(col)
            row += 1
    sub = flint.fmpq_mat(rank, rank, [Hq[i, j] for i in pivots for j in pivots])
    bq = fmpq_matrix(beta)
    rhs = flint.fmpq_mat(rank, 1, [bq[i, 0] for i in pivots])
    x = sub.solve(rhs)
    X = [flint.fmpq(0)] * ncols
    for k, i in enumerate(pivots):
        X[i] = x[k, 0]
    resid = Hq * flint.fmpq_mat(ncols, 1, X) - bq
    if any(resid[i, 0] != 0 for i in range(ncols)):
        raise MarkovICLError("beta is not in the range of H: no minimiser")
    return tuple(X), tuple(pivots), int(rank)


def constant_input(d: int, p=None, n: int = 10, kernel: str = "uniform", init: str = "iid",
                   states: int = 2) -> ConstantInput:
    """The exact optimum of the LSA with a constant input ``(x, 1)``, beside the paper's LSA (module docstring).

    Args:
        d: the chain's input length (the model reads ``d + 1`` inputs).
        p: initial-state probability, exact (binary chains; None for S > 2 states).
        n: number of context chains.
        kernel, init, states: as for :func:`markov_icl.symbolic.solve.solve` (numeric parameters).

    Examples:
        >>> c = constant_input(1, None, 5, kernel="dirichlet:1", states=3)
        >>> c.rank == c.dm, c.f_tilde_star < c.f_tilde_star_plain
        (True, True)
    """
    from markov_icl.symbolic.certify import certify_numeric
    from markov_icl.symbolic.solve import solve

    d = check_d(d)
    S = check_states(states)
    nv = parse_n(n)
    if not nv.is_Integer:
        raise MarkovICLError("the constant-input objective needs a numeric n")
    if S == 2:
        pv = parse_probability(p, "p")
        law = ChainLaw.from_options(pv, kernel, init)
        if law.free_symbols:
            raise MarkovICLError("the constant-input objective needs numeric kernel and init parameters")
        law.init.check_feasible(nv)
        terms = ObjectiveTerms(d, law, constant_input=True)
        H, beta, ey2 = terms.numeric(n=nv)
        kernel_spec, init_spec = law.kernel.spec(), law.init.spec()
    else:
        from markov_icl.symbolic.multistate import MultiStateTerms

        if p is not None:
            raise MarkovICLError(f"with states = {S} the initial state is uniform: leave p out")
        if not is_dirichlet(kernel):
            raise MarkovICLError(f"states = {S} needs the kernel dirichlet:ALPHA, got {kernel!r}")
        law_s = DirichletKernel.parse(kernel, S)
        if sp.sympify(law_s.alpha).free_symbols:
            raise MarkovICLError("the constant-input objective needs a numeric Dirichlet alpha")
        terms_s = MultiStateTerms(S, d, law_s.alpha, constant_input=True)
        H, beta, ey2 = terms_s.H(nv), terms_s.beta_vector(), terms_s.E_y2
        pv, kernel_spec, init_spec = None, law_s.spec(), "uniform"
    X, pivots, rank = exact_least_squares(H, beta)
    bq = fmpq_matrix(beta).entries()
    ey2r = to_rational(sp.QQ.to_sympy(ey2))
    f = optimal_loss(flint.fmpq(int(ey2r.p), int(ey2r.q)), bq, X)
    sub = DomainMatrix([[H.to_list()[i][j] for j in pivots] for i in pivots], (rank, rank), H.domain)
    cert = certify_numeric(sub)
    plain = solve(d, pv, nv, kernel=kernel_spec if S == 2 else kernel, init=init_spec if S == 2 else "iid",
                  states=S).f_tilde_star
    index = tuple(tuple(ix) for ix in Index(d + 1).index)
    return ConstantInput(d, pv, int(nv), S, kernel_spec, init_spec, index, H, tuple(to_rational(b) for b in bq), ey2r,
                         rank, pivots, tuple(to_rational(x) for x in X), to_rational(f), sp.Rational(plain), cert)


@dataclass
class ConstantInputOptimum:
    """f* with and without the constant input (float64 variable projection) and the exact decision for the basic X*."""

    objective: ConstantInput
    f_star: float
    f_star_plain: float
    realizable_basic: bool
    reason: str
    certificate: str

    @property
    def gap(self) -> float:
        """``f* - f~*`` with the constant input."""
        return self.f_star - float(self.objective.f_tilde_star)

    def to_dict(self) -> dict:
        out = self.objective.to_dict()
        out.update({"f_star": self.f_star, "f_star_plain": self.f_star_plain, "gap": self.gap,
                    "realizable_basic_X_star": self.realizable_basic, "reason": self.reason,
                    "f_star_certificate": self.certificate})
        return out


def constant_input_optimum(d: int, p=None, n: int = 10, kernel: str = "uniform", init: str = "iid", states: int = 2,
                           starts: int | None = None, seed: int = 0, progress=None) -> ConstantInputOptimum:
    """:func:`constant_input` plus f* by the variable projection (theory §6) with and without the constant input.

    Examples:
        >>> o = constant_input_optimum(1, "1/2", 10, starts=8)
        >>> abs(o.gap) < 1e-12, round(o.f_star_plain, 9)     # a one-layer LSA with (x, 1) reaches 7/36
        (True, 0.35380117)
    """
    from markov_icl.symbolic.realizability import realize
    from markov_icl.symbolic.solve import solve
    from markov_icl.symbolic.varpro import best_one_layer, minimize_over_b

    obj = constant_input(d, p, n, kernel=kernel, init=init, states=states)
    res = minimize_over_b(obj.one_layer_loss(), starts=starts, seed=seed, progress=progress,
                          desc="f* (constant input)")
    plain_sol = solve(d, obj.p, obj.n, kernel=kernel, init=init if states == 2 else "iid", states=states)
    plain = best_one_layer(plain_sol, starts=starts, seed=seed, progress=progress)
    rz = realize(list(obj.X_star), obj.D)
    return ConstantInputOptimum(obj, float(res.f_star), float(plain.f_star), bool(rz.realizable), rz.reason,
                                res.certificate)


__all__ = ["ConstantInput", "ConstantInputOptimum", "constant_input", "constant_input_optimum", "exact_least_squares"]
