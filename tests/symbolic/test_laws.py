"""Chain laws: exact inputs of every kind, floats refused with a hint, and spec() / parse() round trips.

Oracles: the values written out here (a Fraction is the rational it denotes), and equality of
the law objects themselves (dataclass equality of every parameter) after a round trip.
"""

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from markov_icl import ChainLaw, InitLaw, KernelLaw, MarkovICLError, solve
from markov_icl.symbolic.laws import parse_value

HALF = sp.Rational(1, 2)


@pytest.mark.parametrize("value", ["1/2", Fraction(1, 2), sp.Rational(1, 2), "0.5", " 1/2 "])
def test_exact_forms_of_one_half(value):
    assert parse_value(value, "p") == HALF


@pytest.mark.parametrize("value", [10, np.int64(10), np.int32(10), sp.Integer(10), "10", Fraction(10, 1)])
def test_exact_forms_of_ten(value):
    assert parse_value(value, "n") == 10
    assert solve(1, "1/2", value).X_star == (sp.Rational(4, 57), sp.Rational(52, 57), sp.Rational(8, 19))


def test_fraction_and_numpy_integers_reach_the_solver():
    s = solve(1, p=Fraction(1, 2), n=np.int64(5))
    assert s.f_tilde_star == sp.Rational(35, 96) and s.X_star == (sp.Rational(1, 6), HALF, HALF)


@pytest.mark.parametrize("value", [0.5, np.float64(0.5), sp.Float(0.5), True, np.bool_(True), None, [1], "1/x", ""])
def test_non_exact_values_are_refused_with_one_line(value):
    with pytest.raises(MarkovICLError) as exc:
        parse_value(value, "p")
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("p:")
    if isinstance(value, float):
        assert "floats are not exact; give a rational such as 1/2" in msg


def test_long_bad_values_are_quoted_short():
    with pytest.raises(MarkovICLError) as exc:
        parse_value("9" * 5000 + "x", "p")
    assert len(str(exc.value)) < 200


LAWS = [
    ChainLaw.default(),
    ChainLaw.default("1/3"),
    ChainLaw(InitLaw.correlated("1/2", "1/5", "1/5", "1/10"), KernelLaw.uniform()),
    ChainLaw(InitLaw.correlated("1/2", "1/5", "1/5", "1/10", p_c="2/5"), KernelLaw.uniform()),
    ChainLaw(InitLaw.example_c5("1/3"), KernelLaw.beta(2, 2, 1, 3)),
    ChainLaw(InitLaw.example_c5(), KernelLaw.uniform()),
    ChainLaw(InitLaw.query_conditional("1/2", "1/5", "3/4"), KernelLaw.fixed("1/4", "3/5")),
    ChainLaw.from_options("1/2", "dirichlet:1/2"),
]


@pytest.mark.parametrize("law", LAWS, ids=[law.spec() for law in LAWS])
def test_spec_round_trips(law):
    assert ChainLaw.parse(law.spec()) == law
    assert InitLaw.parse(law.init.spec(), law.p) == law.init
    assert KernelLaw.parse(law.kernel.spec()) == law.kernel


def test_correlated_laws_with_different_context_marginals_have_different_specs():
    a, b = LAWS[2], LAWS[3]
    assert a != b and a.spec() != b.spec()


rationals = st.fractions(min_value=Fraction(1, 50), max_value=Fraction(49, 50), max_denominator=50)


@settings(max_examples=60, deadline=None)
@given(p=rationals, pi0=rationals, pi1=rationals, a=rationals, c=rationals, kind=st.sampled_from(["qc", "fixed"]))
def test_spec_round_trips_for_random_laws(p, pi0, pi1, a, c, kind):
    init = InitLaw.query_conditional(p, pi0, pi1) if kind == "qc" else InitLaw.iid(p)
    law = ChainLaw(init, KernelLaw.fixed(a, c))
    assert ChainLaw.parse(law.spec()) == law


@pytest.mark.parametrize("text,needle", [
    ("p=1/2; kernel=gauss", "unknown kernel spec"),
    ("p=1/2; init=markov", "unknown init spec"),
    ("q=1/2", "bad chain-law spec"),
    ("p=1/2; p=1/3", "bad chain-law spec"),
    ("p=3/2", "open interval"),
])
def test_bad_specs(text, needle):
    with pytest.raises(MarkovICLError, match=needle):
        ChainLaw.parse(text)
