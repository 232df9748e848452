"""Pieces shared by the derivation documents: LaTeX of engine objects, the moment identities
of SPEC §4, and two oracles that share no code with :mod:`symbolic`:

* :func:`enumerate_objective` sums over every binary prompt of a tiny size (exact
  probabilities as polynomials in the kernel entries, integrated with ``sympy.integrate``);
* :func:`sample_prompts` draws prompts with NumPy for Monte Carlo checks.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import sympy as sp

from derivations.document import Check
from symbolic.laws import A_SYMBOL, C_SYMBOL, N_SYMBOL, P_SYMBOL, KernelLaw, parse_value
from symbolic.moments import conditional_moment, kernel_power, poly_to_sympy
from symbolic.objective import Index, parse_n

p, n = P_SYMBOL, N_SYMBOL
a, c = A_SYMBOL, C_SYMBOL


def point(pv, nv, default_p: str = "1/2", default_n: int = 10) -> tuple[sp.Rational, sp.Integer]:
    """Validated exact (p, n) for evaluations (defaults when None); bad input raises MarkovICLError."""
    from symbolic.laws import InitLaw

    pr = InitLaw.iid(default_p if pv is None else pv).p
    nr = parse_n(default_n if nv is None else nv)
    return pr, nr


def L(x) -> str:
    """``sympy.latex`` of an expression, a matrix or a list (as a column)."""
    if isinstance(x, (list, tuple)):
        x = sp.Matrix(x)
    return sp.latex(x)


def rational_matrix(M) -> sp.Matrix:
    """A DomainMatrix (or SymPy matrix) as a SymPy matrix of exact numbers / expressions."""
    if hasattr(M, "to_Matrix"):
        return sp.Matrix(M.to_Matrix())
    return sp.Matrix(M)


def feature_label(j: int, u: int, v: int) -> str:
    """LaTeX of the feature ``x_{q,j} G_{uv}`` of coordinate (j, u, v) (SPEC §3)."""
    return f"x_{{q,{j}}} G_{{{u}{v}}}"


def index_block_table(idx: Index) -> list[list[str]]:
    """Rows r, [j,u,v], feature of the SPEC §3 order."""
    rows = [["$r$", "$[j,u,v]$", "feature $\\phi_r$"]]
    for r, (j, u, v) in enumerate(idx.index, start=1):
        rows.append([f"${r}$", f"$[{j},{u},{v}]$", f"${feature_label(j, u, v)}$"])
    return rows


#: the identities of SPEC §4 that the engine uses (stated, not derived)
MOMENT_IDENTITIES = [
    r"\mathbb{E}\Big[\prod_{i=1}^k s_{t_i} \,\Big|\, K, s_1\Big] = P(s_{t_1}=1\mid s_1)\prod_{i=1}^{k-1}"
    r"\big(K^{t_{i+1}-t_i}\big)_{11} = \alpha_T(a,c) + s_1\,\delta_T(a,c),\qquad t_1<\dots<t_k",
    r"\mathbb{E}[G_{uv}G_{u'v'}\mid K] = \tfrac1n\,\mathbb{E}[z_uz_vz_{u'}z_{v'}\mid K] + "
    r"\big(1-\tfrac1n\big)\,\mathbb{E}[z_uz_v\mid K]\,\mathbb{E}[z_{u'}z_{v'}\mid K]",
    r"H_{(j,uv),(j',u'v')} = \mathbb{E}_K\Big[\mathbb{E}[x_{q,j}x_{q,j'}\mid K]\;"
    r"\mathbb{E}[G_{uv}G_{u'v'}\mid K]\Big],\qquad \beta_{(j,uv)} = \mathbb{E}_K\Big[\mathbb{E}[y_q x_{q,j}\mid K]\,"
    r"\mathbb{E}[G_{uv}\mid K]\Big]",
]


def kernel_powers_math(k_max: int) -> list[str]:
    """``K^k`` for k = 1..k_max as computed by :func:`symbolic.moments.kernel_power`."""
    out = []
    for k in range(1, k_max + 1):
        P = kernel_power(k)
        M = sp.Matrix(2, 2, [sp.factor(poly_to_sympy(P[i][j])) for i in range(2) for j in range(2)])
        out.append(f"K^{{{k}}} = {sp.latex(M)}")
    return out


def conditional_moments_table(sets: list[tuple[int, ...]]) -> list[list[str]]:
    """``alpha_T``, ``delta_T`` of :func:`symbolic.moments.conditional_moment` for position sets T."""
    rows = [["$T$", r"$\alpha_T(a,c)$", r"$\delta_T(a,c)$"]]
    for T in sets:
        al, de = conditional_moment(frozenset(T))
        rows.append([f"$\\{{{','.join(map(str, T))}\\}}$", f"${sp.latex(sp.factor(poly_to_sympy(al)))}$",
                     f"${sp.latex(sp.factor(poly_to_sympy(de)))}$"])
    return rows


def prior_moments_table(law: KernelLaw, top: int = 2) -> list[list[str]]:
    """``E[a^i c^j]`` of a kernel law for i, j <= top (from :meth:`KernelLaw.moment`)."""
    rows = [["$i\\backslash j$"] + [f"${j}$" for j in range(top + 1)]]
    for i in range(top + 1):
        rows.append([f"${i}$"] + [f"${sp.latex(law.moment(i, j))}$" for j in range(top + 1)])
    return rows


# ---------------------------------------------------------------------------------------
# oracle 1: enumeration of every tiny prompt (independent of symbolic.moments/objective)


def _path_prob(bits, K):
    out = sp.Integer(1)
    for s, t in zip(bits, bits[1:]):
        out *= K[s][t]
    return out


def enumerate_objective(d: int, n_ctx: int, pv, init=("iid",), product_form: bool = False):
    """Exact H, beta, E[y^2] by summing over all ``2^((n+1)(d+1))`` binary prompts.

    The kernel is integrated against the uniform prior with ``sympy.integrate``.

    Args:
        d, n_ctx: chain input length and number of context chains (tiny).
        pv: the exact initial probability p.
        init: ``("iid",)`` or ``("qc", pi0, pi1)`` (s_q ~ Bern(p), s_i | s_q ~ Bern(pi_{s_q})).
        product_form: if True, compute the paper's product form ``E[x_qi x_qj] E[G G]`` of H.
    """
    pv = parse_value(pv, "p")
    K = [[1 - a, a], [c, 1 - c]]
    idx = Index(d).index
    dm, Lc = len(idx), d + 1

    def integ(e):  # uniform prior: integrate each monomial a^i c^j over [0, 1]^2
        poly = e if isinstance(e, sp.Poly) else sp.Poly(e, a, c, domain="QQ")
        return sum((coef / ((i + 1) * (j + 1)) for (i, j), coef in poly.terms()), sp.Integer(0))

    def start_weight(chains):
        q = chains[-1]
        if init[0] == "iid":
            w = sp.Integer(1)
            for ch in chains:
                w *= pv if ch[0] else 1 - pv
            return w
        _, pi0, pi1 = init
        pi = sp.sympify(pi1 if q[0] else pi0)
        w = pv if q[0] else 1 - pv
        for ch in chains[:-1]:
            w *= pi if ch[0] else 1 - pi
        return w

    zero = sp.Poly(0, a, c, domain="QQ")
    Hc = [[zero] * dm for _ in range(dm)]
    bc = [zero] * dm
    ey2 = zero
    qx = [[zero] * d for _ in range(d)]  # E[x_qi x_qj | K] (product form)
    gg = [[zero] * dm for _ in range(dm)]  # E[G G | K] keyed by feature
    for bits in product((0, 1), repeat=(n_ctx + 1) * Lc):
        chains = [bits[k * Lc:(k + 1) * Lc] for k in range(n_ctx + 1)]
        ctx, q = chains[:n_ctx], chains[n_ctx]
        w = start_weight(chains)
        for ch in chains:
            w *= _path_prob(ch, K)
        w = sp.Poly(sp.expand(w), a, c, domain="QQ")
        if w.is_zero:
            continue
        G = [[sp.Rational(sum(ch[u] * ch[v] for ch in ctx), n_ctx) for v in range(Lc)] for u in range(Lc)]
        phi = [q[j - 1] * G[u - 1][v - 1] for (j, u, v) in idx]
        g = [G[u - 1][v - 1] for (_, u, v) in idx]
        y = q[Lc - 1]
        for r in range(dm):
            if y and phi[r]:
                bc[r] += w * (y * phi[r])
            for s in range(dm):
                if phi[r] and phi[s]:
                    Hc[r][s] += w * (phi[r] * phi[s])
                if product_form and g[r] and g[s]:
                    gg[r][s] += w * (g[r] * g[s])
        if product_form:
            for i in range(d):
                for j in range(d):
                    if q[i] and q[j]:
                        qx[i][j] += w
        if y:
            ey2 += w
    if product_form:
        # E[x_qi x_qj] E[G G]: integrate the two factors separately over the kernel
        Hm = sp.zeros(dm, dm)
        for r, (j, _, _) in enumerate(idx):
            for s, (k, _, _) in enumerate(idx):
                Hm[r, s] = integ(qx[j - 1][k - 1]) * integ(gg[r][s])
    else:
        Hm = sp.Matrix(dm, dm, lambda r, s: integ(Hc[r][s]))
    return Hm, sp.Matrix([integ(b) for b in bc]), integ(ey2)


# ---------------------------------------------------------------------------------------
# oracle 2: Monte Carlo sampling of prompts (NumPy; uniform kernel prior)


def sample_prompts(pv: float, n_ctx: int, d: int, B: int, seed: int = 0, init=("iid",)):
    """Sample B prompts: ``(ctx, q)`` with shapes (B, n, d+1) and (B, d+1), states in {0, 1}.

    Kernel a, c ~ U(0, 1) independent per prompt, shared by its n + 1 chains (SPEC §1).
    ``init=("qc", pi0, pi1)`` draws Example C.5-style starts.
    """
    rng = np.random.default_rng(seed)
    av, cv = rng.random(B), rng.random(B)
    s = np.zeros((B, n_ctx + 1, d + 1))
    if init[0] == "iid":
        s[:, :, 0] = rng.random((B, n_ctx + 1)) < pv
    else:
        _, pi0, pi1 = init
        sq = rng.random(B) < pv
        s[:, n_ctx, 0] = sq
        pi = np.where(sq, float(pi1), float(pi0))
        s[:, :n_ctx, 0] = rng.random((B, n_ctx)) < pi[:, None]
    for t in range(1, d + 1):
        prev = s[:, :, t - 1]
        p1 = np.where(prev == 1, 1 - cv[:, None], av[:, None])
        s[:, :, t] = rng.random((B, n_ctx + 1)) < p1
    return s[:, :n_ctx], s[:, n_ctx]


def features(ctx: np.ndarray, q: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(G, phi, y)``: ``G = (1/n) sum z z^T``, ``phi = x_q kron g`` in SPEC §3 order, label y."""
    G = np.einsum("biu,biv->buv", ctx, ctx) / ctx.shape[1]
    idx = Index(d).index
    phi = np.stack([q[:, j - 1] * G[:, u - 1, v - 1] for (j, u, v) in idx], axis=1)
    return G, phi, q[:, d]


def mc_mean_se(values: np.ndarray) -> tuple[float, float]:
    """Sample mean and its standard error."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))


__all__ = ["point", "L", "rational_matrix", "feature_label", "index_block_table", "MOMENT_IDENTITIES",
           "kernel_powers_math", "conditional_moments_table", "prior_moments_table", "enumerate_objective",
           "sample_prompts", "features", "mc_mean_se", "check", "equation", "p", "n", "a", "c"]


def check(name: str, passed, detail: str = "") -> Check:
    """A :class:`~derivations.document.Check` with ``passed`` coerced to a Python bool."""
    return Check(name, bool(passed), detail)


def _poly_lines(expr: sp.Expr, per_line: int) -> str:
    """An expanded polynomial as an ``aligned`` body, ``per_line`` terms per line."""
    terms = sp.Add.make_args(sp.expand(expr))
    terms = sorted(terms, key=lambda t: sp.default_sort_key(t), reverse=True)
    lines, cur = [], []
    for t in terms:
        cur.append(t)
        if len(cur) == per_line:
            lines.append(cur)
            cur = []
    if cur:
        lines.append(cur)
    out = []
    for k, chunk in enumerate(lines):
        s = sp.latex(sp.Add(*chunk, evaluate=False), order="none")
        if k and not s.startswith("-"):
            s = "+ " + s
        out.append("&" + s)
    return r"\begin{aligned}" + r" \\ ".join(out) + r"\end{aligned}"


def equation(lhs: str, expr: sp.Expr, limit: int = 260, per_line: int = 6, line_limit: int = 150) -> list[str]:
    """Display lines for ``lhs = expr``: one line when short, else numerator and denominator
    written out as polynomials over several lines (still ``sympy.latex`` of each term)."""
    text = sp.latex(expr)
    if len(text) <= limit:
        return [f"{lhs} = {text}"]
    num, den = sp.fraction(sp.factor(expr))
    sign = ""
    if sp.expand(num).could_extract_minus_sign():
        num, sign = -num, "-"
    nm, dn = r"\mathrm{num}", r"\mathrm{den}"

    def body(e):
        text = sp.latex(e)
        return text if len(text) <= line_limit or not isinstance(sp.expand(e), sp.Add) else _poly_lines(e, per_line)

    if den == 1:
        return [f"{lhs} = {sign}{nm}", f"{nm} = {body(num)}"]
    return [f"{lhs} = {sign}\\frac{{{nm}}}{{{dn}}}", f"{nm} = {body(num)}", f"{dn} = {body(den)}"]
