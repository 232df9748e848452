"""The enlarged-space objective (theory §3-4): index order, H, beta, E[y^2], X*, f~*.

With ``phi_r = x_{q,j} G_(u,v)`` in the order ``r = (j-1) m + pos(u,v)`` the loss of a
one-layer LSA is ``f~(X) = E[y^2] - 2 beta^T X + X^T H X`` where

    H_{(j,uv),(j',u'v')} = E_K[ E[x_qj x_qj' | K] E[G_uv G_u'v' | K] ],
    E[G_uv G_u'v' | K]   = (1/n) E[z_u z_v z_u' z_v' | K] + (1 - 1/n) E[z_u z_v|K] E[z_u' z_v'|K].

Each chain moment is affine in that chain's first state, ``alpha_T + s_1 delta_T``
(:mod:`markov_icl.symbolic.moments`), so with ``e`` ranging over {alpha, delta} choices

    H = (1/n) sum_{e0,e1} w(e0,e1,0) L(nu^e0 mu4^e1) + (1 - 1/n) sum_{e0,e1,e2} w(e0,e1,e2) L(nu^e0 mu^e1 mu'^e2)

with the initial-state moments ``w(e) = E[s_q^e0 s_i^e1 s_k^e2]`` (i != k context
chains; ``p^(e0+e1+e2)`` for i.i.d. states) and the kernel functional L. The tables
``L(...)`` are computed once per (d, kernel law) by exact matrix products over
monomial coefficients; the weights carry p, n and the correlation moments.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import product as iproduct
from typing import Any

import numpy as np
import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from markov_icl.errors import MarkovICLError, check_int
from markov_icl.symbolic.laws import N_SYMBOL, ChainLaw, parse_value
from markov_icl.symbolic.moments import (
    _R,
    KernelFunctional,
    coefficient_rows,
    conditional_moment,
    integer_matrix,
    monomials,
)

E2 = [(0, 0), (0, 1), (1, 0), (1, 1)]
E3 = list(iproduct((0, 1), repeat=3))


def check_d(d) -> int:
    """Validate the input dimension d (an integer >= 1)."""
    return check_int("d", d, 1)


def parse_n(value) -> sp.Expr:
    """Parse the number of context chains: a positive integer, or symbolic n when None."""
    if value is None:
        return N_SYMBOL
    v = parse_value(value, "n")
    if v.is_number and not (v.is_integer and v >= 1):
        raise MarkovICLError(f"n must be an integer >= 1, got {v}")
    return v


@dataclass(frozen=True)
class Index:
    """The enlarged-space index order of theory §3.

    ``pairs`` lists ``(u, v)``, ``1 <= u <= v <= d+1``, row-major; ``pos(u, v)`` is the
    1-based rank; ``index`` lists ``[j, u, v]`` in order ``r = (j-1) m + pos(u, v)``.

    Examples:
        >>> idx = Index(2)
        >>> idx.m, idx.dm, idx.pairs[:3], idx.r(2, 2, 3)
        (6, 12, [(1, 1), (1, 2), (1, 3)], 11)
    """

    d: int

    def __post_init__(self) -> None:
        check_int("d", self.d)

    @cached_property
    def pairs(self) -> list[tuple[int, int]]:
        n = self.d + 1
        return [(u, v) for u in range(1, n + 1) for v in range(u, n + 1)]

    @property
    def m(self) -> int:
        return (self.d + 1) * (self.d + 2) // 2

    @property
    def dm(self) -> int:
        return self.d * self.m

    @cached_property
    def _pos(self) -> dict[tuple[int, int], int]:
        return {uv: k + 1 for k, uv in enumerate(self.pairs)}

    def pos(self, u: int, v: int) -> int:
        """1-based rank of the pair (min(u,v), max(u,v))."""
        return self._pos[(min(u, v), max(u, v))]

    @cached_property
    def index(self) -> list[list[int]]:
        return [[j, u, v] for j in range(1, self.d + 1) for (u, v) in self.pairs]

    def r(self, j: int, u: int, v: int) -> int:
        """1-based r = (j-1) m + pos(u, v)."""
        return (j - 1) * self.m + self.pos(u, v)

    @cached_property
    def query_pairs(self) -> list[tuple[int, int]]:
        return [(j, k) for j in range(1, self.d + 1) for k in range(j, self.d + 1)]


def _weight_tables(law: ChainLaw, product_form: bool):
    """The initial-state weights of every table: {key: sympy expr}."""
    w = law.init.joint_moment
    if product_form:
        part1 = {(e0, e1): sp.expand(w(e0, 0, 0) * w(0, e1, 0)) for e0, e1 in E2}
        part2 = {e: sp.expand(w(e[0], 0, 0) * w(0, e[1], e[2])) for e in E3}
    else:
        part1 = {(e0, e1): sp.expand(w(e0, e1, 0)) for e0, e1 in E2}
        part2 = {e: sp.expand(w(*e)) for e in E3}
    beta = {(e0, e1): sp.expand(w(e0, e1, 0)) for e0, e1 in E2}
    ey2 = {e0: sp.expand(w(e0, 0, 0)) for e0 in (0, 1)}
    return part1, part2, beta, ey2


class ObjectiveTerms:
    """The kernel-integrated tables of H, beta and E[y^2] for one (d, law, form).

    Args:
        d: chain input length (>= 1).
        law: the chain law; its kernel law fixes the tables, its initial law the weights.
        product_form: if True, build the paper's Lemma 3.2 product form
            ``E[x_qi x_qj] E[G G]`` instead of the exact shared-kernel H (theory §4).
        constant_input: append a constant coordinate 1 to every input, ``z = (x, 1, y)``: the objective of
            an LSA with ``d + 1`` inputs (theory §13); :attr:`d` is then ``d + 1`` (the index's), and
            :attr:`chain_d` the chain's.

    The values depend on p, n, and the other free parameters only through
    :meth:`weights`; :meth:`H` / :meth:`beta` combine them (numbers or symbols).
    """

    def __init__(self, d: int, law: ChainLaw | None = None, product_form: bool = False, constant_input: bool = False):
        self.chain_d = check_d(d)
        self.constant_input = bool(constant_input)
        self.d = self.chain_d + int(self.constant_input)  # the model's input dimension (the index's d)
        self.law = law or ChainLaw.default()
        self.product_form = product_form
        self.idx = Index(self.d)
        self.kf = KernelFunctional(self.law.kernel, self.chain_d)
        self.domain = self.kf.domain
        self._build()

    # -- tables ---------------------------------------------------------------
    def _position(self, coord: int) -> int | None:
        """The chain position of input coordinate ``coord`` (1-based; ``d + 1`` is the label): the constant
        coordinate ``chain_d + 1`` of a constant input has none (its value is 1)."""
        if coord <= self.chain_d:
            return coord
        return None if coord <= self.d else self.chain_d + 1

    def _set(self, coords) -> frozenset[int]:
        return frozenset(t for t in map(self._position, coords) if t is not None)

    def _rows(self, sets, e):
        polys = [conditional_moment(frozenset(s))[e] if s else (_R.one if e == 0 else _R.zero) for s in sets]
        return integer_matrix(coefficient_rows(polys, self.chain_d), self.domain)

    def _build(self) -> None:
        d, idx, kf = self.d, self.idx, self.kf
        ypos = d + 1
        qsets = [self._set((j, k)) for (j, k) in idx.query_pairs]
        csets = [self._set((u, v)) for (u, v) in idx.pairs]
        ysets = [self._set((j, ypos)) for j in range(1, d + 1)]
        # every union of two context pairs, as a set (<= 4 positions)
        union_of = {}
        tsets: list[frozenset[int]] = []
        tpos: dict[frozenset[int], int] = {}
        for a in range(idx.m):
            for b in range(idx.m):
                t = frozenset(csets[a] | csets[b])
                if t not in tpos:
                    tpos[t] = len(tsets)
                    tsets.append(t)
                union_of[(a, b)] = tpos[t]
        self._union = union_of
        Nq = [self._rows(qsets, e) for e in (0, 1)]
        Cc = [self._rows(csets, e) for e in (0, 1)]
        Ny = [self._rows(ysets, e) for e in (0, 1)]
        Tq = [self._rows(tsets, e) for e in (0, 1)]
        Yv = [self._rows([self._set((ypos,))], e) for e in (0, 1)]
        M0 = kf.shifted_matrix((0, 0))
        Lv = kf.vector()
        M0Ct = [M0 * Cc[e].transpose() for e in (0, 1)]
        M0Tt = [M0 * Tq[e].transpose() for e in (0, 1)]
        self.ey2_tab = {e0: (Yv[e0] * Lv).to_list()[0][0] for e0 in (0, 1)}
        self.beta_tab = {(e0, e1): (Ny[e0] * M0Ct[e1]) for e0, e1 in E2}  # d x m
        nq = len(idx.query_pairs)
        if self.product_form:
            qx = [(Nq[e] * Lv).to_list() for e in (0, 1)]  # nq x 1
            g4 = [(Tq[e] * Lv).to_list() for e in (0, 1)]  # nT x 1
            g2 = {(e1, e2): Cc[e1] * M0Ct[e2] for e1 in (0, 1) for e2 in (0, 1)}
            self.part1 = {}
            for e0, e1 in E2:
                block = self._gather([g4[e1][t][0] for t in range(len(tsets))])
                self.part1[(e0, e1)] = [block * qx[e0][q][0] for q in range(nq)]
            self.part2 = {e: [g2[(e[1], e[2])] * qx[e[0]][q][0] for q in range(nq)] for e in E3}
            return
        # 1/n part: L(nu^e0 mu4^e1), gathered into m x m blocks
        self.part1 = {}
        for e0, e1 in E2:
            lam = (Nq[e0] * M0Tt[e1]).to_list()  # nq x nT
            self.part1[(e0, e1)] = [self._gather(lam[q]) for q in range(nq)]
        # (1 - 1/n) part: L(nu^e0 mu^e1 mu'^e2) = C^e1 (sum_g nu_g M^(g)) C^e2^T
        shifted = [kf.shifted_matrix(g) for g in monomials(self.chain_d)]
        nu = [Nq[e].to_list() for e in (0, 1)]
        Ct = [Cc[e].transpose() for e in (0, 1)]
        self.part2 = {e: [None] * nq for e in E3}
        zero = DomainMatrix.zeros((kf.mons.__len__(),) * 2, self.domain)
        for q in range(nq):
            for e0 in (0, 1):
                loc = zero
                for g, coeff in enumerate(nu[e0][q]):
                    if coeff:
                        loc = loc + shifted[g] * coeff
                left = [Cc[e1] * loc for e1 in (0, 1)]
                for e1 in (0, 1):
                    for e2 in (0, 1):
                        self.part2[(e0, e1, e2)][q] = left[e1] * Ct[e2]

    def _gather(self, row) -> DomainMatrix:
        """The m x m block ``B[a, b] = row[union(a, b)]``."""
        m = self.idx.m
        u = self._union
        rows = [[row[u[(a, b)]] for b in range(m)] for a in range(m)]
        return DomainMatrix(rows, (m, m), self.domain)

    # -- weights ----------------------------------------------------------------
    def weights(self, n: sp.Expr = N_SYMBOL):
        """``(part1, part2, beta, ey2)`` weight dicts; part1 carries 1/n, part2 (1 - 1/n)."""
        part1, part2, beta, ey2 = _weight_tables(self.law, self.product_form)
        n = sp.sympify(n)
        part1 = {k: v / n for k, v in part1.items()}
        part2 = {k: v * (1 - 1 / n) for k, v in part2.items()}
        return part1, part2, beta, ey2

    # -- assembly -----------------------------------------------------------------
    def _assemble(self, blocks: list[DomainMatrix]) -> DomainMatrix:
        """The dm x dm matrix whose (j, j') block is blocks[q(j, j')] (transposed below)."""
        d, m = self.d, self.idx.m
        qpos = {jk: q for q, jk in enumerate(self.idx.query_pairs)}
        lists = [b.to_list() for b in blocks]
        rows = []
        for j in range(1, d + 1):
            row_blocks = []
            for k in range(1, d + 1):
                blk = lists[qpos[(min(j, k), max(j, k))]]
                row_blocks.append(blk if j <= k else [list(col) for col in zip(*blk)])
            for a in range(m):
                rows.append([x for blk in row_blocks for x in blk[a]])
        return rows

    def _combine_numeric(self, values: dict):
        part1, part2, wb, wy = self.weights(values.get("n", N_SYMBOL))
        subs = {k: v for k, v in values.items() if k != "n"}
        dom = self.domain

        def conv(expr):
            e = sp.sympify(expr).subs(subs)
            if e.free_symbols - self.law.kernel.free_symbols:
                raise MarkovICLError(f"cannot evaluate numerically: free symbols {sorted(map(str, e.free_symbols))}")
            return dom.from_sympy(e)

        nq = len(self.idx.query_pairs)
        weighted: list[tuple[Any, dict]] = [(self.part1, {k: conv(v) for k, v in part1.items()}),
                    (self.part2, {k: conv(v) for k, v in part2.items()})]
        blocks = []
        for q in range(nq):
            acc: Any = None
            for tabs, wts in weighted:
                for k, w in wts.items():
                    if w:
                        term = tabs[k][q] * w
                        acc = term if acc is None else acc + term
            blocks.append(acc)
        beta = None
        for k, w in wb.items():
            w = conv(w)
            if w:
                term = self.beta_tab[k] * w
                beta = term if beta is None else beta + term
        ey2 = sum((conv(w) * self.ey2_tab[k] for k, w in wy.items()), dom.zero)
        return blocks, beta, ey2

    def numeric(self, p=None, n=None, values: dict | None = None):
        """Exact H, beta, E[y^2] at numeric parameters.

        Args:
            p, n: values for the symbols p and n (exact rationals / ints / strings).
            values: further substitutions {symbol: value} (e.g. correlation moments).

        Returns:
            ``(H, beta, E_y2)``: H a dm x dm DomainMatrix, beta a dm x 1 DomainMatrix,
            E_y2 a domain element, all over :attr:`domain` (QQ for numeric kernels).
        """
        vals: dict = dict(values or {})
        if p is not None:
            if not isinstance(self.law.p, sp.Symbol):
                raise MarkovICLError(f"p is already fixed to {self.law.p} by the chain law")
            vals[self.law.p] = parse_value(p, "p")
        vals["n"] = parse_n(n) if n is not None else vals.get("n", N_SYMBOL)
        blocks, beta, ey2 = self._combine_numeric(vals)
        H = DomainMatrix(self._assemble(blocks), (self.idx.dm, self.idx.dm), self.domain)
        bvec = DomainMatrix([[x] for row in beta.to_list() for x in row], (self.idx.dm, 1), self.domain)
        return H, bvec, ey2

    def components(self, n: sp.Expr = N_SYMBOL, include_H: bool = True):
        """H, beta and E[y^2] as sums ``sum_k w_k * M_k`` with SymPy monomial weights.

        Returns:
            ``(H_terms, beta_terms, ey2_terms)``, each a dict mapping a SymPy monomial in
            the free parameters (p, 1/n, correlation moments, ...) to an exact matrix over
            :attr:`domain` (for E[y^2], a domain element). Grouped by monomial so that the
            number of terms is small (8 for i.i.d. states: p^k and p^k / n, k <= 3).
        """
        part1, part2, wb, wy = self.weights(n)
        nq = len(self.idx.query_pairs)
        groups: dict = {}
        for tabs, wts in ((self.part1, part1), (self.part2, part2)) if include_H else ():
            for k, w in wts.items():
                for mono, coeff in sp.expand(w).as_coefficients_dict().items():
                    dc = self.domain.from_sympy(coeff)
                    cur = groups.setdefault(mono, [None] * nq)
                    for q in range(nq):
                        term = tabs[k][q] * dc
                        cur[q] = term if cur[q] is None else cur[q] + term
        H_terms = {
            mono: DomainMatrix(self._assemble(bl), (self.idx.dm,) * 2, self.domain)
            for mono, bl in groups.items()
        }
        beta_terms: dict = {}
        for k, w in wb.items():
            for mono, coeff in sp.expand(w).as_coefficients_dict().items():
                flat = [x for row in self.beta_tab[k].to_list() for x in row]
                term = DomainMatrix([[x] for x in flat], (self.idx.dm, 1), self.domain) * self.domain.from_sympy(coeff)
                beta_terms[mono] = term if mono not in beta_terms else beta_terms[mono] + term
        ey2_terms: dict = {}
        for k, w in wy.items():
            for mono, coeff in sp.expand(w).as_coefficients_dict().items():
                ey2_terms[mono] = ey2_terms.get(mono, self.domain.zero) + self.domain.from_sympy(coeff) * self.ey2_tab[k]
        return H_terms, beta_terms, ey2_terms

    def symbolic(self, n: sp.Expr = N_SYMBOL, factor: bool = False, include_H: bool = True):
        """H, beta (SymPy matrices) and E[y^2] with every parameter left as given.

        Entries are built as ``sum_k w_k (M_k)_{rs}`` from :meth:`components`; with
        ``factor=True`` each entry is passed through ``sympy.factor`` (for display).
        """
        H_terms, beta_terms, ey2_terms = self.components(n, include_H=include_H)
        to = self.domain.to_sympy
        dm = self.idx.dm

        def build(terms, shape):
            flats = [(mono, mat.to_list_flat()) for mono, mat in terms.items()]
            entries = []
            for k in range(shape[0] * shape[1]):
                e = sp.Add(*[mono * to(flat[k]) for mono, flat in flats if flat[k]])
                entries.append(sp.factor(e) if factor else e)
            return sp.ImmutableMatrix(shape[0], shape[1], entries)

        H = build(H_terms, (dm, dm)) if include_H else None
        beta = build(beta_terms, (dm, 1))
        ey2 = sp.factor(sp.Add(*[mono * to(v) for mono, v in ey2_terms.items()]))
        return H, beta, ey2


def _exact_number(x) -> bool:
    from numbers import Rational

    return (isinstance(x, Rational) and not isinstance(x, bool)) or (isinstance(x, sp.Basic) and x.is_number
                                                                      and not x.has(sp.Float))


def f_tilde(X, H, beta, E_y2):
    """The enlarged-space loss ``f~(X) = E[y^2] - 2 beta^T X + X^T H X`` (theory §3).

    This is the population loss of every one-layer LSA whose reparameterisation is
    ``phi(b, A) = X``; it is written here once and used by every caller.

    Args:
        X: ``(..., dm)``: exact values (ints, fractions, SymPy numbers, also with square
            roots), a NumPy float array or a torch tensor (batched over leading axes).
        H: ``(dm, dm)``: a DomainMatrix or SymPy matrix for exact X, else an array / tensor.
        beta: ``(dm,)``, and ``E_y2`` a number, of the same kind.

    Returns:
        An exact SymPy number for exact X and exact H, beta; otherwise a float array or
        tensor of shape ``X.shape[:-1]``.

    Examples:
        >>> import sympy as sp
        >>> f_tilde([1, 0], sp.eye(2), [sp.Rational(1, 2), 0], 1)     # 1 - 2 * 1/2 + 1
        1
        >>> import numpy as np
        >>> f_tilde(np.array([[1.0, 0.0], [0.0, 0.0]]), np.eye(2), np.array([0.5, 0.0]), 1.0)
        array([1., 1.])
    """
    if isinstance(X, (list, tuple)):  # the public form: one clear line for a wrong length or a non-finite float
        if len(X) != len(beta):
            raise MarkovICLError(f"f_tilde: X has {len(X)} entries, beta {len(beta)}")
        bad = next((x for x in X if isinstance(x, float) and not np.isfinite(x)), None)
        if bad is not None:
            raise MarkovICLError(f"f_tilde: an entry of X is {bad}; every entry must be finite")
    if hasattr(H, "to_Matrix"):  # a DomainMatrix
        if isinstance(X, (list, tuple)) and all(_exact_number(x) for x in X) and H.domain.is_QQ \
                and all(sp.sympify(x).is_Rational for x in X):
            dm = len(X)
            Xd = DomainMatrix([[QQ.from_sympy(sp.Rational(x))] for x in X], (dm, 1), QQ)
            bd = DomainMatrix([[QQ.from_sympy(sp.Rational(b))] for b in beta], (dm, 1), QQ)
            val = (Xd.transpose() * (H * Xd)).to_list()[0][0] - 2 * (bd.transpose() * Xd).to_list()[0][0]
            return sp.Rational(E_y2) + QQ.to_sympy(val)
        H = H.to_Matrix()
    if isinstance(X, (list, tuple)) and all(isinstance(x, (int, sp.Basic)) or _exact_number(x) for x in X):
        Xm = sp.Matrix([sp.sympify(x) for x in X])
        bm = sp.Matrix([sp.sympify(b) for b in beta])
        val = sp.sympify(E_y2) - 2 * (bm.T * Xm)[0, 0] + (Xm.T * sp.Matrix(H) * Xm)[0, 0]
        return sp.expand(val)
    if type(X).__module__.startswith("torch"):
        import torch

        H = torch.as_tensor(H, dtype=X.dtype, device=X.device)
        beta = torch.as_tensor(beta, dtype=X.dtype, device=X.device)
    else:
        X = np.asarray(X, dtype=np.float64)
        H, beta = np.asarray(H, dtype=np.float64), np.asarray(beta, dtype=np.float64)
    return E_y2 - 2 * (X * beta).sum(-1) + (X * (X @ H)).sum(-1)
