"""Chain laws: the value objects that both the symbolic and the numeric side accept.

A prompt (SPEC §1) is made of ``n`` context chains and one query chain of length
``d + 1`` that share one random kernel ``K = [[1-a, a], [c, 1-c]]``. A :class:`ChainLaw`
fixes the law of the kernel (:class:`KernelLaw`) and the law of the ``n + 1`` initial
states (:class:`InitLaw`). Every parameter is an exact SymPy number or a SymPy symbol;
floats are refused so that the symbolic side stays exact.

Examples:
    >>> law = ChainLaw.default()                    # p symbolic, uniform kernel, i.i.d.
    >>> law = ChainLaw(InitLaw.iid("1/2"), KernelLaw.beta(2, 2, 1, 3))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import sympy as sp

from symbolic.errors import MarkovICLError

#: the symbols used when a parameter is left symbolic
P_SYMBOL = sp.Symbol("p", positive=True)
N_SYMBOL = sp.Symbol("n", positive=True, integer=True)
A_SYMBOL = sp.Symbol("a", nonnegative=True)
C_SYMBOL = sp.Symbol("c", nonnegative=True)


def parse_value(text: str | int | sp.Expr | None, name: str) -> sp.Expr:
    """Parse an exact value: an int, a rational string such as ``"1/2"`` or ``"0.25"``,
    a SymPy number, or a SymPy symbol (kept as is).

    Args:
        text: the value; ``None`` is not accepted here (callers choose a symbol).
        name: the parameter's name, used in the error message.

    Returns:
        A SymPy ``Rational`` or a SymPy expression with free symbols.

    Raises:
        MarkovICLError: for a float, an empty string or anything that is not an exact
            rational number.
    """
    if isinstance(text, bool):
        raise MarkovICLError(f"{name}: expected an exact rational such as 1/2, got {text!r}")
    if isinstance(text, sp.Basic):
        if text.is_Float:
            raise MarkovICLError(f"{name}: floats are not exact; give a rational such as 1/2, got {text}")
        return text
    if isinstance(text, int):
        return sp.Integer(text)
    if isinstance(text, float):
        raise MarkovICLError(f"{name}: floats are not exact; give a rational such as 1/2, got {text!r}")
    if isinstance(text, str):
        s = text.strip()
        try:
            if not s or any(ch not in "0123456789/.-+" for ch in s):
                raise ValueError
            value = sp.Rational(s)
        except (ValueError, TypeError, ZeroDivisionError):
            raise MarkovICLError(
                f"{name}: {text!r} is not an exact rational; allowed forms are 3, 1/2, 0.25"
            ) from None
        return value
    raise MarkovICLError(f"{name}: expected an exact rational such as 1/2, got {text!r}")


def _is_number(x: sp.Expr) -> bool:
    return bool(getattr(x, "is_Rational", False))


def _check_open_unit(x: sp.Expr, name: str) -> None:
    if _is_number(x) and not (0 < x < 1):
        raise MarkovICLError(f"{name} must lie in the open interval (0, 1), got {x}")


def parse_probability(value, name: str = "p") -> sp.Rational:
    """An exact rational in the open interval (0, 1) (symbols are refused); else :class:`MarkovICLError`."""
    x = parse_value(value, name)
    if not _is_number(x):
        raise MarkovICLError(f"{name} must be an exact rational in (0, 1), got {value}")
    _check_open_unit(x, name)
    return x


def _check_closed_unit(x: sp.Expr, name: str) -> None:
    if _is_number(x) and not (0 <= x <= 1):
        raise MarkovICLError(f"{name} must lie in [0, 1], got {x}")


@dataclass(frozen=True)
class KernelLaw:
    """Law of the kernel ``K = [[1-a, a], [c, 1-c]]`` (SPEC §1).

    kind is ``"uniform"`` (a, c ~ U(0,1) independent), ``"beta"`` (a ~ Beta(alpha_a,
    beta_a), c ~ Beta(alpha_c, beta_c) independent) or ``"fixed"`` (given a, c).
    """

    kind: str = "uniform"
    params: tuple[sp.Expr, ...] = ()

    @staticmethod
    def uniform() -> "KernelLaw":
        """a, c ~ U(0, 1) independent: the paper's default prior."""
        return KernelLaw("uniform", ())

    @staticmethod
    def beta(alpha_a, beta_a, alpha_c, beta_c) -> "KernelLaw":
        """a ~ Beta(alpha_a, beta_a), c ~ Beta(alpha_c, beta_c), independent."""
        names = ("alpha_a", "beta_a", "alpha_c", "beta_c")
        vals = tuple(parse_value(v, nm) for v, nm in zip((alpha_a, beta_a, alpha_c, beta_c), names))
        for v, nm in zip(vals, names):
            if _is_number(v) and not v > 0:
                raise MarkovICLError(f"Beta parameter {nm} must be > 0, got {v}")
        return KernelLaw("beta", vals)

    @staticmethod
    def fixed(a, c) -> "KernelLaw":
        """A given kernel: a = P(0->1), c = P(1->0), numbers in [0, 1] or symbols."""
        va, vc = parse_value(a, "a"), parse_value(c, "c")
        _check_closed_unit(va, "fixed kernel value a")
        _check_closed_unit(vc, "fixed kernel value c")
        return KernelLaw("fixed", (va, vc))

    @property
    def free_symbols(self) -> set[sp.Symbol]:
        out: set[sp.Symbol] = set()
        for v in self.params:
            out |= v.free_symbols
        return out

    def moment(self, i: int, j: int) -> sp.Expr:
        """``E[a^i c^j]`` under this law, exact (SPEC §4).

        uniform: ``1/((i+1)(j+1))``; beta: ratio of rising factorials
        ``(alpha)_i / (alpha+beta)_i``; fixed: ``a^i c^j``.
        """
        if self.kind == "uniform":
            return sp.Rational(1, (i + 1) * (j + 1))
        if self.kind == "beta":
            aa, ba, ac, bc = self.params
            return sp.rf(aa, i) / sp.rf(aa + ba, i) * sp.rf(ac, j) / sp.rf(ac + bc, j)
        a, c = self.params
        return a**i * c**j

    def spec(self) -> str:
        """The CLI spelling of this law (``uniform``, ``beta:...``, ``fixed:...``)."""
        if self.kind == "uniform":
            return "uniform"
        return f"{self.kind}:" + ",".join(str(v) for v in self.params)

    @staticmethod
    def parse(text: str) -> "KernelLaw":
        """Parse ``uniform``, ``beta:AA,BA,AC,BC`` or ``fixed:A,C``."""
        kind, _, rest = text.partition(":")
        kind = kind.strip().lower()
        args = [t for t in rest.split(",")] if rest else []
        if kind == "uniform" and not rest:
            return KernelLaw.uniform()
        if kind == "beta" and len(args) == 4:
            return KernelLaw.beta(*args)
        if kind == "fixed" and len(args) == 2:
            return KernelLaw.fixed(*args)
        raise MarkovICLError(
            f"unknown kernel spec {text!r}; allowed: uniform | beta:AA,BA,AC,BC | fixed:A,C"
        )


@dataclass(frozen=True)
class InitLaw:
    """Law of the n + 1 initial states (SPEC §1).

    The objective depends on it only through the joint moments
    ``E[s_q^e0 s_i^e1 s_k^e2]`` of the query's and two distinct context chains' first
    states (e in {0, 1}). kind ``"iid"``: all Bernoulli(p). kind ``"correlated"``: the
    query is Bernoulli(p), the context chains are exchangeable with marginal ``p_c``
    (``p`` unless given) and ``m_cq = E[s_i s_q]``, ``m_cc = E[s_i s_j]``,
    ``m_ccq = E[s_i s_j s_q]``. kind ``"query_conditional"``: ``s_q ~ Bern(p)`` and,
    given ``s_q``, the context states are i.i.d. ``Bern(pi0)`` or ``Bern(pi1)``
    (Example C.5 is ``pi0 = p^2``, ``pi1 = (1-p)^2``); this law can also be sampled.
    """

    kind: str = "iid"
    p: sp.Expr = P_SYMBOL
    p_c: sp.Expr | None = None
    m_cq: sp.Expr | None = None
    m_cc: sp.Expr | None = None
    m_ccq: sp.Expr | None = None
    pi: tuple[sp.Expr, sp.Expr] | None = field(default=None)

    @staticmethod
    def iid(p=None) -> "InitLaw":
        """All n + 1 initial states i.i.d. Bernoulli(p); p symbolic when omitted."""
        vp = P_SYMBOL if p is None else parse_value(p, "p")
        _check_open_unit(vp, "p")
        return InitLaw("iid", vp)

    @staticmethod
    def correlated(p, m_cq, m_cc, m_ccq, p_c=None) -> "InitLaw":
        """Exchangeable-correlated initial states given by their moments (Theorem 3.4)."""
        vp = P_SYMBOL if p is None else parse_value(p, "p")
        _check_open_unit(vp, "p")
        vpc = vp if p_c is None else parse_value(p_c, "p_c")
        _check_closed_unit(vpc, "p_c")
        vals = [parse_value(v, nm) for v, nm in ((m_cq, "m_cq"), (m_cc, "m_cc"), (m_ccq, "m_ccq"))]
        for v, nm in zip(vals, ("m_cq", "m_cc", "m_ccq")):
            _check_closed_unit(v, nm)
        mcq, mcc, mccq = vals
        checks = [(mcq, vp, "m_cq <= p"), (mcq, vpc, "m_cq <= p_c"), (mcc, vpc, "m_cc <= p_c"),
                  (mccq, mcq, "m_ccq <= m_cq"), (mccq, mcc, "m_ccq <= m_cc")]
        for lo, hi, what in checks:
            if _is_number(lo) and _is_number(hi) and lo > hi:
                raise MarkovICLError(f"initial-state moments are not a law: need {what}, got {lo} > {hi}")
        return InitLaw("correlated", vp, vpc, mcq, mcc, mccq)

    @staticmethod
    def query_conditional(p, pi0, pi1) -> "InitLaw":
        """``s_q ~ Bern(p)``; given ``s_q = x`` the context states are i.i.d. ``Bern(pi_x)``."""
        vp = P_SYMBOL if p is None else parse_value(p, "p")
        _check_open_unit(vp, "p")
        v0, v1 = parse_value(pi0, "pi0"), parse_value(pi1, "pi1")
        _check_closed_unit(v0, "pi0")
        _check_closed_unit(v1, "pi1")
        return InitLaw("query_conditional", vp, pi=(v0, v1))

    @staticmethod
    def example_c5(p=None) -> "InitLaw":
        """Example C.5: ``s_q ~ Bern(p)``, ``s_i | s_q ~ Bern((s_q - p)^2)``."""
        vp = P_SYMBOL if p is None else parse_value(p, "p")
        return InitLaw.query_conditional(vp, vp**2, (1 - vp) ** 2)

    def joint_moment(self, e_q: int, e_i: int, e_k: int = 0) -> sp.Expr:
        """``E[s_q^e_q s_i^e_i s_k^e_k]`` for the query q and distinct context chains i, k."""
        if e_k and not e_i:
            e_i, e_k = e_k, e_i
        p = self.p
        if self.kind == "iid":
            return p ** (e_q + e_i + e_k)
        if self.kind == "query_conditional":
            pi0, pi1 = self.pi  # type: ignore[misc]
            nc = e_i + e_k
            return sp.expand((1 - p) * (pi0**nc if not e_q else 0) + p * pi1**nc)
        table = {
            (0, 0, 0): sp.Integer(1), (1, 0, 0): p, (0, 1, 0): self.p_c,
            (1, 1, 0): self.m_cq, (0, 1, 1): self.m_cc, (1, 1, 1): self.m_ccq,
        }
        return table[(e_q, e_i, e_k)]

    @property
    def free_symbols(self) -> set[sp.Symbol]:
        out: set[sp.Symbol] = set()
        for e in [(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)]:
            out |= sp.sympify(self.joint_moment(*e)).free_symbols
        return out

    def spec(self) -> str:
        """The CLI spelling of this law."""
        if self.kind == "iid":
            return "iid"
        if self.kind == "correlated":
            return f"correlated:{self.m_cq},{self.m_cc},{self.m_ccq}"
        return f"query_conditional:{self.pi[0]},{self.pi[1]}"  # type: ignore[index]

    @staticmethod
    def parse(text: str, p=None) -> "InitLaw":
        """Parse ``iid`` or ``correlated:MCQ,MCC,MCCQ`` (with the query marginal p)."""
        kind, _, rest = text.partition(":")
        kind = kind.strip().lower()
        args = rest.split(",") if rest else []
        if kind == "iid" and not rest:
            return InitLaw.iid(p)
        if kind == "correlated" and len(args) in (3, 4):
            return InitLaw.correlated(p, *args)
        if kind == "example_c5" and not rest:
            return InitLaw.example_c5(p)
        raise MarkovICLError(
            f"unknown init spec {text!r}; allowed: iid | correlated:MCQ,MCC,MCCQ[,PC] | example_c5"
        )


@dataclass(frozen=True)
class ChainLaw:
    """The law of a prompt's chains: initial law + kernel law (SPEC §1)."""

    init: InitLaw = field(default_factory=InitLaw.iid)
    kernel: KernelLaw = field(default_factory=KernelLaw.uniform)

    @staticmethod
    def default(p=None) -> "ChainLaw":
        """i.i.d. Bernoulli(p) initial states (p symbolic when omitted), uniform kernel."""
        return ChainLaw(InitLaw.iid(p), KernelLaw.uniform())

    @property
    def p(self) -> sp.Expr:
        return self.init.p

    @property
    def free_symbols(self) -> set[sp.Symbol]:
        return self.init.free_symbols | self.kernel.free_symbols

    def with_p(self, p) -> "ChainLaw":
        """The same law with the query marginal p replaced (an exact value or symbol)."""
        vp = parse_value(p, "p")
        sub = {self.init.p: vp} if isinstance(self.init.p, sp.Symbol) else {}
        init = self.init
        fields = {}
        for name in ("p_c", "m_cq", "m_cc", "m_ccq"):
            v = getattr(init, name)
            fields[name] = None if v is None else sp.sympify(v).subs(sub)
        pi = None if init.pi is None else tuple(sp.sympify(x).subs(sub) for x in init.pi)
        return ChainLaw(replace(init, p=vp, pi=pi, **fields), self.kernel)

    def substitute(self, values: dict) -> "ChainLaw":
        """The law with symbols replaced by values (used to evaluate symbolic laws)."""

        def s(x):
            return None if x is None else sp.sympify(x).subs(values)

        init = self.init
        new_init = replace(init, p=s(init.p), p_c=s(init.p_c), m_cq=s(init.m_cq), m_cc=s(init.m_cc),
                           m_ccq=s(init.m_ccq), pi=None if init.pi is None else tuple(s(x) for x in init.pi))
        new_kernel = replace(self.kernel, params=tuple(s(v) for v in self.kernel.params))
        return ChainLaw(new_init, new_kernel)

    def describe(self) -> str:
        return f"init={self.init.spec()} (p={self.init.p}), kernel={self.kernel.spec()}"


def symbols_in(values: Iterable[sp.Expr]) -> set[sp.Symbol]:
    out: set[sp.Symbol] = set()
    for v in values:
        out |= sp.sympify(v).free_symbols
    return out
