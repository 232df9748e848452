"""Pieces shared by the derivation documents: LaTeX of engine objects and the moment
identities of theory §4. (The documents' independent oracles live in :mod:`markov_icl.oracles`.)"""

from __future__ import annotations

import sympy as sp

from markov_icl.derivations.document import Check
from markov_icl.symbolic.laws import A_SYMBOL, C_SYMBOL, N_SYMBOL, P_SYMBOL, KernelLaw, parse_probability
from markov_icl.symbolic.moments import conditional_moment, kernel_power, poly_to_sympy
from markov_icl.symbolic.objective import Index, parse_n

p, n = P_SYMBOL, N_SYMBOL
a, c = A_SYMBOL, C_SYMBOL


def point(pv, nv, default_p: str = "1/2", default_n: int = 10) -> tuple[sp.Rational, sp.Integer]:
    """Validated exact (p, n) for evaluations (defaults when None); bad input raises MarkovICLError."""
    pr = parse_probability(default_p if pv is None else pv)
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
    """LaTeX of the feature ``x_{q,j} G_{uv}`` of coordinate (j, u, v) (theory §3)."""
    return f"x_{{q,{j}}} G_{{{u}{v}}}"


def index_block_table(idx: Index) -> list[list[str]]:
    """Rows r, [j,u,v], feature of the theory §3 order."""
    rows = [["$r$", "$[j,u,v]$", "feature $\\phi_r$"]]
    for r, (j, u, v) in enumerate(idx.index, start=1):
        rows.append([f"${r}$", f"$[{j},{u},{v}]$", f"${feature_label(j, u, v)}$"])
    return rows


#: the identities of theory §4 that the engine uses (stated, not derived)
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
    """``K^k`` for k = 1..k_max as computed by :func:`markov_icl.symbolic.moments.kernel_power`."""
    out = []
    for k in range(1, k_max + 1):
        P = kernel_power(k)
        M = sp.Matrix(2, 2, [sp.factor(poly_to_sympy(P[i][j])) for i in range(2) for j in range(2)])
        out.append(f"K^{{{k}}} = {sp.latex(M)}")
    return out


def conditional_moments_table(sets: list[tuple[int, ...]]) -> list[list[str]]:
    """``alpha_T``, ``delta_T`` of :func:`markov_icl.symbolic.moments.conditional_moment` for position sets T."""
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


__all__ = ["point", "L", "rational_matrix", "feature_label", "index_block_table", "MOMENT_IDENTITIES",
           "kernel_powers_math", "conditional_moments_table", "prior_moments_table", "check", "equation",
           "p", "n", "a", "c"]


def check(name: str, passed, detail: str = "") -> Check:
    """A :class:`~markov_icl.derivations.document.Check` with ``passed`` coerced to a Python bool."""
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
