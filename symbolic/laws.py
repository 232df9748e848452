"""Chain laws: the value objects that both the symbolic and the numeric side accept.

A prompt (theory §1) is made of ``n`` context chains and one query chain of length
``d + 1`` that share one random kernel ``K = [[1-a, a], [c, 1-c]]``. A :class:`ChainLaw`
fixes the law of the kernel (:class:`KernelLaw`) and the law of the ``n + 1`` initial
states (:class:`InitLaw`); :class:`DirichletKernel` is the law of S-state chains (the
paper's Lemma C.8). Every parameter is an exact SymPy number or a SymPy symbol; floats
are refused so that the symbolic side stays exact.

A law is spelled as text the way the command line takes it, and :meth:`ChainLaw.parse`
reads back what :meth:`ChainLaw.spec` writes.

("theory §N" refers to section N of the project's theory reference, docs/theory.md.)

Examples:
    >>> law = ChainLaw.from_options(p="1/2", kernel="beta:2,2,1,3", init="example_c5")
    >>> law.spec()
    'p=1/2; init=example_c5; kernel=beta:2,2,1,3'
    >>> ChainLaw.parse(law.spec()) == law
    True
    >>> ChainLaw.default().spec()
    'p=p; init=iid; kernel=uniform'
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import sympy as sp

from markov_icl.errors import MarkovICLError
from markov_icl.errors import shown as _shown
from markov_icl.limits import MAX_DIGITS

#: the symbols used when a parameter is left symbolic
P_SYMBOL = sp.Symbol("p", positive=True)
N_SYMBOL = sp.Symbol("n", positive=True, integer=True)
A_SYMBOL = sp.Symbol("a", nonnegative=True)
C_SYMBOL = sp.Symbol("c", nonnegative=True)
#: the symbol used when the Dirichlet concentration of S-state kernels is left symbolic
ALPHA_SYMBOL = sp.Symbol("alpha", positive=True)

#: largest number of chain states handled (the engine works beyond, but slowly)
MAX_STATES = 6


def parse_value(text, name: str) -> sp.Expr:
    """Parse an exact value: an ``int``, a NumPy integer, a :class:`fractions.Fraction`, a
    rational string such as ``"1/2"`` or ``"0.25"``, a SymPy number, or a SymPy expression
    with free symbols (kept as is).

    Args:
        text: the value; ``None`` is not accepted here (callers choose a symbol).
        name: the parameter's name, used in the error message.

    Returns:
        A SymPy ``Rational`` or a SymPy expression with free symbols.

    Raises:
        MarkovICLError: for a float (with a hint), an empty string or anything that is not
            an exact rational number.

    Examples:
        >>> from fractions import Fraction
        >>> import numpy as np
        >>> parse_value("1/2", "p"), parse_value(Fraction(1, 3), "p"), parse_value(np.int64(10), "n")
        (1/2, 1/3, 10)
        >>> parse_value(0.5, "p")
        Traceback (most recent call last):
        ...
        markov_icl.errors.MarkovICLError: p: floats are not exact; give a rational such as 1/2, got 0.5
    """
    if isinstance(text, bool) or type(text).__name__ == "bool_":
        raise MarkovICLError(f"{name}: expected an exact rational such as 1/2, got {_shown(text)}")
    if isinstance(text, sp.Basic):
        if text.has(sp.Float):
            raise MarkovICLError(f"{name}: floats are not exact; give a rational such as 1/2, got {_shown(text)}")
        if text.is_Rational:
            return _check_digits(text, name)
        free = text.free_symbols if isinstance(text, sp.Expr) else None
        if not free or text.has(sp.I, sp.oo, -sp.oo, sp.zoo, sp.nan) or not text.is_rational_function(*free) or \
                any(a.is_number and not a.is_Rational for a in text.atoms(sp.Number)):
            raise MarkovICLError(f"{name}: expected an exact rational (or a rational function of symbols), got "
                                 f"{_shown(text)}")
        return text
    if isinstance(text, numbers.Integral):
        return _check_digits(sp.Integer(int(text)), name)
    if isinstance(text, numbers.Rational):  # fractions.Fraction and friends
        return _check_digits(sp.Rational(int(text.numerator), int(text.denominator)), name)
    if isinstance(text, numbers.Real):
        raise MarkovICLError(f"{name}: floats are not exact; give a rational such as 1/2, got {_shown(text)}")
    if isinstance(text, str):
        s = text.strip()
        if len(s) > 2 * MAX_DIGITS + 3:
            raise MarkovICLError(f"{name}: at most {MAX_DIGITS} digits in the numerator and in the denominator, "
                                 f"got {_shown(text)} ({len(s)} characters)")
        try:
            if not s or any(ch not in "0123456789/.-+" for ch in s):
                raise ValueError
            value = sp.Rational(s)
        except (ValueError, TypeError, ZeroDivisionError):
            raise MarkovICLError(
                f"{name}: {_shown(text)} is not an exact rational; allowed forms are 3, 1/2, 0.25"
            ) from None
        return _check_digits(value, name)
    raise MarkovICLError(f"{name}: expected an exact rational such as 1/2, got {_shown(text)}")


def _check_digits(value: sp.Rational, name: str) -> sp.Rational:
    """At most :data:`~markov_icl.limits.MAX_DIGITS` digits in the numerator and the denominator."""
    for part in (value.p, value.q):
        bits = abs(int(part)).bit_length()
        digits = len(str(abs(int(part)))) if bits <= 4 * MAX_DIGITS else int(bits * 0.30103)  # no huge str()
        if digits > MAX_DIGITS:
            raise MarkovICLError(f"{name}: at most {MAX_DIGITS} digits in the numerator and in the denominator, "
                                 f"got a number with about {digits} digits")
    return value


def _pair_lower_bound(u: sp.Rational, n: int) -> sp.Rational:
    """The lower boundary at ``u`` of the hull of ``(k/n, k(k-1)/(n(n-1)))``, k = 0..n: the points lie on a
    convex curve, so the boundary is the chord between the two points around u."""
    k = min(int(sp.floor(u * n)), n - 1)
    t0, t1 = sp.Rational(k, n), sp.Rational(k + 1, n)
    s0, s1 = sp.Rational(k * (k - 1), n * (n - 1)), sp.Rational((k + 1) * k, n * (n - 1))
    return s0 + (u - t0) * (s1 - s0) / (t1 - t0)


def _split_spec(text, what: str, example: str) -> tuple[str, str, list[str]]:
    """``"kind:A,B"`` -> ``("kind", ":", ["A", "B"])`` (kind lower-cased)."""
    if not isinstance(text, str):
        raise MarkovICLError(f"{what} must be a string such as {example!r}, got {_shown(text)}")
    kind, sep, rest = text.partition(":")
    return kind.strip().lower(), sep, rest.split(",") if rest else []


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
    """Law of the kernel ``K = [[1-a, a], [c, 1-c]]`` (theory §1).

    kind is ``"uniform"`` (a, c ~ U(0,1) independent), ``"beta"`` (a ~ Beta(alpha_a,
    beta_a), c ~ Beta(alpha_c, beta_c) independent) or ``"fixed"`` (given a, c).

    Examples:
        >>> KernelLaw.uniform().moment(1, 2)             # E[a c^2] = 1/2 * 1/3
        1/6
        >>> KernelLaw.beta(2, 2, 1, 3).spec(), KernelLaw.fixed("1/3", "1/4").moment(1, 1)
        ('beta:2,2,1,3', 1/12)
    """

    kind: str = "uniform"
    params: tuple[sp.Expr, ...] = ()

    def __post_init__(self) -> None:  # direct construction: the kind and its number of parameters
        counts = {"uniform": 0, "beta": 4, "fixed": 2}
        if self.kind not in counts or not isinstance(self.params, tuple) or len(self.params) != counts[self.kind]:
            raise MarkovICLError(f"KernelLaw({_shown(self.kind)}, {_shown(self.params)}): kind uniform (no params), "
                                 "beta (4) or fixed (2); build it with KernelLaw.uniform(), .beta(...) or .fixed(...)")

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
        """``E[a^i c^j]`` under this law, exact (theory §4).

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
        """Parse ``uniform``, ``beta:AA,BA,AC,BC``, ``fixed:A,C`` or ``dirichlet:ALPHA``.

        ``dirichlet:ALPHA`` is the binary case of Dirichlet rows: ``a, c ~ Beta(alpha, alpha)``,
        i.e. ``beta:ALPHA,ALPHA,ALPHA,ALPHA``.

        Examples:
            >>> KernelLaw.parse("beta:2,2,1,3") == KernelLaw.beta(2, 2, 1, 3)
            True
            >>> KernelLaw.parse("dirichlet:1/2").spec()
            'beta:1/2,1/2,1/2,1/2'
        """
        kind, sep, args = _split_spec(text, "a kernel spec", "uniform")
        if kind == "uniform" and not sep:
            return KernelLaw.uniform()
        if kind == "beta" and len(args) == 4:
            return KernelLaw.beta(*args)
        if kind == "fixed" and len(args) == 2:
            return KernelLaw.fixed(*args)
        if kind == "dirichlet":
            alpha = parse_dirichlet(text)
            return KernelLaw.beta(alpha, alpha, alpha, alpha)
        raise MarkovICLError(
            f"unknown kernel spec {_shown(text)}; allowed: uniform | beta:AA,BA,AC,BC | fixed:A,C | dirichlet:ALPHA"
        )


@dataclass(frozen=True)
class InitLaw:
    """Law of the n + 1 initial states (theory §1).

    The objective depends on it only through the joint moments
    ``E[s_q^e0 s_i^e1 s_k^e2]`` of the query's and two distinct context chains' first
    states (e in {0, 1}). kind ``"iid"``: all Bernoulli(p). kind ``"correlated"``: the
    query is Bernoulli(p), the context chains are exchangeable with marginal ``p_c``
    (``p`` unless given) and ``m_cq = E[s_i s_q]``, ``m_cc = E[s_i s_j]``,
    ``m_ccq = E[s_i s_j s_q]``. kind ``"query_conditional"``: ``s_q ~ Bern(p)`` and,
    given ``s_q``, the context states are i.i.d. ``Bern(pi0)`` or ``Bern(pi1)``
    (Example C.5 is ``pi0 = p^2``, ``pi1 = (1-p)^2``); this law can also be sampled.

    Examples:
        >>> InitLaw.iid("1/2").joint_moment(1, 1, 1)     # E[s_q s_i s_k] = p^3
        1/8
        >>> InitLaw.example_c5().joint_moment(0, 1, 0)   # the context marginal p(1 - p), not p
        -p**2 + p
    """

    kind: str = "iid"
    p: sp.Expr = P_SYMBOL
    p_c: sp.Expr | None = None
    m_cq: sp.Expr | None = None
    m_cc: sp.Expr | None = None
    m_ccq: sp.Expr | None = None
    pi: tuple[sp.Expr, sp.Expr] | None = field(default=None)

    def __post_init__(self) -> None:  # direct construction: a known kind with the moments it needs
        need = {"iid": (), "correlated": ("m_cq", "m_cc", "m_ccq"), "query_conditional": ("pi",)}
        if self.kind not in need or any(getattr(self, k) is None for k in need[self.kind]):
            raise MarkovICLError(f"InitLaw({_shown(self.kind)}, ...): kind iid, correlated (with m_cq, m_cc, m_ccq) "
                                 "or query_conditional (with pi); build it with InitLaw.iid(p), .correlated(...), "
                                 ".query_conditional(...) or .example_c5()")

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

    def check_feasible(self, n) -> None:
        """Refuse a correlated law whose moments are those of no exchangeable law of one query and n
        context initial states (theory §1). The other kinds are laws by construction.

        Such a law is a mixture over (s_q, k), k the number of context ones; given ``s_q = x`` the
        pair ``(E[s_i | x], E[s_i s_j | x])`` must lie in the convex hull of the points
        ``(k/n, k(k-1)/(n(n-1)))``, k = 0..n (for symbolic n: in ``{(u, v): u^2 <= v <= u}``, the
        limit of every n). Decided exactly.

        Raises:
            MarkovICLError: naming the violated condition; also for numeric moments with a symbolic
                p, which they constrain (``m_cq <= p``, ...).
        """
        if self.kind != "correlated":
            return
        moments = (self.p_c, self.m_cq, self.m_cc, self.m_ccq)
        if any(sp.sympify(v).free_symbols - {self.p} for v in moments) or not _is_number(sp.sympify(n)) and \
                sp.sympify(n).free_symbols - {sp.Symbol("n", positive=True, integer=True)}:
            return  # symbolic moments: nothing to decide
        if not _is_number(self.p):
            if all(_is_number(sp.sympify(v)) for v in (self.m_cq, self.m_cc, self.m_ccq)):
                raise MarkovICLError("a correlated initial law with numeric moments needs a numeric p: the moments "
                                     "constrain it (m_cq <= p, ...); give --p")
            return
        p, pc, mcq, mcc, mccq = (sp.sympify(v) for v in (self.p, self.p_c, self.m_cq, self.m_cc, self.m_ccq))
        nv = sp.sympify(n)
        for x, mass, first, second in ((1, p, mcq, mccq), (0, 1 - p, pc - mcq, mcc - mccq)):
            u, v = first / mass, second / mass
            given = f"given s_q = {x}: E[s_i] = {u}, E[s_i s_j] = {v}"
            if not 0 <= u <= 1:
                raise MarkovICLError(f"the correlated initial law is impossible ({given}; need 0 <= E[s_i] <= 1)")
            if nv.is_number and nv < 2:
                continue  # one context chain: no pair moment
            lower = u**2 if not nv.is_number else _pair_lower_bound(u, int(nv))
            if not lower <= v <= u:
                at = f"at n = {nv}" if nv.is_number else "for every n"
                raise MarkovICLError(f"the correlated initial law is impossible {at}: no exchangeable law of the "
                                     f"initial states has these moments ({given}; need {lower} <= E[s_i s_j] <= {u})")

    @property
    def is_example_c5(self) -> bool:
        """Whether this is Example C.5's law, ``s_i | s_q ~ Bern((s_q - p)^2)``."""
        return (self.kind == "query_conditional" and sp.expand(self.pi[0] - self.p**2) == 0  # type: ignore[index]
                and sp.expand(self.pi[1] - (1 - self.p) ** 2) == 0)  # type: ignore[index]

    def spec(self) -> str:
        """The CLI spelling of this law; :meth:`parse` reads it back (with the same p).

        Examples:
            >>> InitLaw.correlated("1/2", "1/5", "1/5", "1/10", p_c="2/5").spec()
            'correlated:1/5,1/5,1/10,2/5'
            >>> InitLaw.example_c5("1/3").spec(), InitLaw.query_conditional("1/3", "1/9", "1/2").spec()
            ('example_c5', 'query_conditional:1/9,1/2')
        """
        if self.kind == "iid":
            return "iid"
        if self.kind == "correlated":
            tail = "" if sp.expand(self.p_c - self.p) == 0 else f",{self.p_c}"
            return f"correlated:{self.m_cq},{self.m_cc},{self.m_ccq}{tail}"
        if self.is_example_c5:
            return "example_c5"
        return f"query_conditional:{self.pi[0]},{self.pi[1]}"  # type: ignore[index]

    @staticmethod
    def parse(text: str, p=None) -> "InitLaw":
        """Parse ``iid``, ``correlated:MCQ,MCC,MCCQ[,PC]``, ``query_conditional:PI0,PI1`` or
        ``example_c5``, with the query marginal ``p`` (symbolic when None)."""
        kind, sep, args = _split_spec(text, "an init spec", "iid")
        if kind == "iid" and not sep:
            return InitLaw.iid(p)
        if kind == "correlated" and len(args) in (3, 4):
            return InitLaw.correlated(p, *args)
        if kind == "query_conditional" and len(args) == 2:
            return InitLaw.query_conditional(p, *args)
        if kind == "example_c5" and not sep:
            return InitLaw.example_c5(p)
        raise MarkovICLError(
            f"unknown init spec {_shown(text)}; allowed: iid | correlated:MCQ,MCC,MCCQ[,PC] | "
            "query_conditional:PI0,PI1 | example_c5"
        )


@dataclass(frozen=True)
class ChainLaw:
    """The law of a prompt's chains: initial law + kernel law (theory §1).

    Examples:
        >>> law = ChainLaw.default("1/3")
        >>> law.p, law.free_symbols
        (1/3, set())
        >>> ChainLaw.default().free_symbols
        {p}
    """

    init: InitLaw = field(default_factory=InitLaw.iid)
    kernel: KernelLaw = field(default_factory=KernelLaw.uniform)

    @staticmethod
    def default(p=None) -> "ChainLaw":
        """i.i.d. Bernoulli(p) initial states (p symbolic when omitted), uniform kernel."""
        return ChainLaw(InitLaw.iid(p), KernelLaw.uniform())

    @staticmethod
    def from_options(p=None, kernel: str = "uniform", init: str = "iid") -> "ChainLaw":
        """The law of the command line's ``--p``, ``--kernel`` and ``--init`` (p symbolic when None).

        Examples:
            >>> ChainLaw.from_options("1/2", "fixed:1/3,1/4").kernel.params
            (1/3, 1/4)
        """
        return ChainLaw(InitLaw.parse(init, p), KernelLaw.parse(kernel))

    def spec(self) -> str:
        """``p=P; init=INIT; kernel=KERNEL``, the text :meth:`parse` reads back."""
        return f"p={self.init.p}; init={self.init.spec()}; kernel={self.kernel.spec()}"

    @staticmethod
    def parse(text: str) -> "ChainLaw":
        """Read a law written by :meth:`spec`; missing parts take their defaults (p symbolic, iid, uniform).

        Examples:
            >>> ChainLaw.parse("p=1/3; kernel=fixed:1/5,2/3") == ChainLaw(InitLaw.iid("1/3"), KernelLaw.fixed("1/5", "2/3"))
            True
        """
        if not isinstance(text, str):
            raise MarkovICLError(f"a chain-law spec must be a string, got {_shown(text)}")
        parts: dict[str, str] = {}
        for piece in filter(None, (t.strip() for t in text.split(";"))):
            key, sep, value = piece.partition("=")
            key = key.strip().lower()
            if not sep or key not in ("p", "init", "kernel") or key in parts:
                raise MarkovICLError(f"bad chain-law spec {_shown(text)}; expected 'p=P; init=INIT; kernel=KERNEL'")
            parts[key] = value.strip()
        p = parts.get("p", "p")
        return ChainLaw.from_options(None if p == str(P_SYMBOL) else p, parts.get("kernel", "uniform"),
                                     parts.get("init", "iid"))

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
        fields: dict[str, Any] = {}
        for name in ("p_c", "m_cq", "m_cc", "m_ccq"):
            v = getattr(init, name)
            fields[name] = None if v is None else sp.sympify(v).subs(sub)
        pi = None if init.pi is None else tuple(sp.sympify(x).subs(sub) for x in init.pi)
        return ChainLaw(replace(init, p=vp, pi=pi, **fields), self.kernel)


# ----------------------------------------------------------------------------- S-state chains


def check_states(S) -> int:
    """Validate the number of chain states S (an integer, 2 <= S <= :data:`MAX_STATES`)."""
    if isinstance(S, bool) or not isinstance(S, numbers.Integral) or int(S) < 2:
        raise MarkovICLError(f"the number of states must be an integer >= 2, got {_shown(S)}")
    if int(S) > MAX_STATES:
        raise MarkovICLError(f"at most {MAX_STATES} states are supported, got {S}")
    return int(S)


def parse_alpha(value) -> sp.Expr:
    """The Dirichlet concentration: an exact rational > 0, or the symbol alpha when None or ``"alpha"``."""
    if value is None or (isinstance(value, str) and value.strip().lower() == "alpha"):
        return ALPHA_SYMBOL
    a = parse_value(value, "Dirichlet alpha")
    if a.is_number and not a > 0:
        raise MarkovICLError(f"Dirichlet alpha must be > 0, got {a}")
    return a


def parse_dirichlet(spec: str) -> sp.Expr:
    """Parse the kernel spec ``dirichlet:ALPHA`` (``ALPHA`` exact > 0, or ``alpha``).

    Examples:
        >>> parse_dirichlet("dirichlet:1/10"), parse_dirichlet("dirichlet:alpha")
        (1/10, alpha)
    """
    kind, sep, rest = str(spec).partition(":")
    if kind.strip().lower() != "dirichlet" or not sep or not rest.strip():
        raise MarkovICLError(f"expected a kernel spec dirichlet:ALPHA (ALPHA > 0, e.g. dirichlet:1), got {_shown(spec)}")
    return parse_alpha(rest.strip())


def is_dirichlet(kernel: str) -> bool:
    """Whether a kernel spec names Dirichlet rows (``dirichlet:...``)."""
    return isinstance(kernel, str) and kernel.strip().lower().partition(":")[0].strip() == "dirichlet"


@dataclass(frozen=True)
class DirichletKernel:
    """S-state chains (theory §8, the paper's Lemma C.8): rows of K i.i.d. ``Dirichlet(alpha 1)``,
    initial states i.i.d. uniform on ``{0, ..., S-1}``, states used as numbers.

    Examples:
        >>> DirichletKernel.parse("dirichlet:1", 3)
        DirichletKernel(S=3, alpha=1)
    """

    S: int
    alpha: sp.Expr = ALPHA_SYMBOL

    def __post_init__(self) -> None:
        check_states(self.S)
        if not isinstance(self.alpha, sp.Basic):
            object.__setattr__(self, "alpha", parse_value(self.alpha, "alpha"))
        a = self.alpha
        if a.free_symbols == set() and not (a.is_Rational and a > 0):
            raise MarkovICLError(f"the Dirichlet alpha must be an exact rational > 0 or a symbol, got {_shown(a)}")

    @staticmethod
    def parse(spec: str, S: int) -> "DirichletKernel":
        """The law of ``--states S --kernel dirichlet:ALPHA``."""
        return DirichletKernel(check_states(S), parse_dirichlet(spec))

    @cached_property
    def domain(self):
        """QQ at a rational alpha, else the fraction field QQ(alpha)."""
        syms = sorted(sp.sympify(self.alpha).free_symbols, key=str)
        return sp.QQ if not syms else sp.QQ.frac_field(*syms)

    def row_moment(self, exps: tuple[int, ...]):
        """``E[prod_j k_j^{m_j}]`` for one Dirichlet(alpha 1) row: ``prod (alpha)_{m_j} / (S alpha)_M``."""
        a = self.alpha
        num = sp.Integer(1)
        for m in exps:
            num *= sp.rf(a, m)
        val = num / sp.rf(self.S * a, sum(exps))
        return self.domain.from_sympy(sp.cancel(sp.expand_func(val)) if val.free_symbols else val)

    def spec(self) -> str:
        """The CLI spelling (``dirichlet:ALPHA``)."""
        return f"dirichlet:{self.alpha}"
