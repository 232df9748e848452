"""Property-based tests (hypothesis) of the parsers and of every command's option checks: arbitrary strings
and integers never give a traceback, a hang or a NaN; each refusal is one line (exit 2 on the command line).

The default profile is small and derandomized (a few seconds in ``make test``); a longer run:
``MARKOV_ICL_HYPOTHESIS=fuzz python -m pytest tests/test_properties.py`` (benchmarks/fuzz.sh).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from markov_icl import MarkovICLError
from markov_icl.cli import main
from markov_icl.errors import float_option, int_option
from markov_icl.symbolic.laws import ChainLaw, parse_probability, parse_value

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("fuzz", max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("MARKOV_ICL_HYPOTHESIS", "ci"))

#: text that looks like the options' values: numbers, fractions, specs, and arbitrary unicode
NUMBERISH = st.one_of(
    st.integers(min_value=-10**60, max_value=10**60).map(str),
    st.tuples(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "nan", "inf", "-0", "1e308", "1/0", "0/0", "--", "1_000", "٣", "½", "0x10", "1e-400",
                     "9" * 200, "1/" + "9" * 120, "alpha", "p", "None"]),
    st.text(max_size=40),
)
LAW_KINDS = ["uniform", "beta", "fixed", "dirichlet", "iid", "correlated", "query_conditional", "example_c5", "x"]
LAW_TEXTS = st.one_of(
    st.tuples(st.sampled_from(LAW_KINDS), st.lists(NUMBERISH, max_size=5)).map(
        lambda t: t[0] + (":" + ",".join(t[1]) if t[1] else "")),
    st.text(max_size=40),
)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` in-process: (status, stdout, stderr). Any exception is a failure of the property."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def assert_clean(status: int, out: str, err: str) -> None:
    """Exit 0 with a result free of NaN, or one ``markov-icl: error:`` line and exit 2 (1: diverged)."""
    assert "Traceback" not in err
    if status == 0:
        assert "nan" not in out.lower().replace("nan", "nan ").split() and "NaN" not in out and "Infinity" not in out
    else:
        assert status in (1, 2), (status, err)
        lines = [ln for ln in err.splitlines() if not ln.startswith("markov-icl: note:")]
        assert len(lines) == 1 and (lines[0].startswith("markov-icl: error: ")), err
        assert len(lines[0]) < 500, lines[0]


# ----------------------------------------------------------------------------- parsers


@given(NUMBERISH)
def test_parse_value_is_a_rational_or_one_clear_error(text):
    try:
        v = parse_value(text, "x")
    except MarkovICLError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 300
        return
    assert isinstance(v, sp.Rational)
    assert len(str(abs(v.p))) <= 50 and len(str(v.q)) <= 50


@given(NUMBERISH)
def test_parse_probability_is_in_the_open_unit_interval(text):
    try:
        v = parse_probability(text)
    except MarkovICLError:
        return
    assert 0 < v < 1


@given(st.one_of(NUMBERISH, st.none()), LAW_TEXTS, LAW_TEXTS)
def test_chain_laws_parse_or_refuse(p, kernel, init):
    try:
        law = ChainLaw.from_options(p, kernel, init)
    except MarkovICLError as exc:
        assert "\n" not in str(exc)
        return
    assert ChainLaw.parse(law.spec()) == law  # what parses prints back to itself


@given(st.text(max_size=60))
def test_option_types(text):
    for parse in (int_option, float_option):
        try:
            v = parse(text)
        except argparse.ArgumentTypeError as exc:
            assert len(str(exc)) < 200
            continue
        assert isinstance(v, (int, float)) and (parse is int_option or math.isfinite(v))


# ----------------------------------------------------------------------------- commands


def _cheap_int(text: str, top: int) -> bool:
    """True when ``text`` is an integer option that would start real work larger than ``top``."""
    try:
        return int(text.strip()) > top
    except ValueError:
        return False


OBJECTIVE_OPTIONS = ["--d", "--p", "--n", "--kernel", "--init", "--states", "--max-d"]


@given(st.sampled_from(OBJECTIVE_OPTIONS), st.one_of(NUMBERISH, LAW_TEXTS))
def test_objective_options(option, value):
    if option in ("--d", "--max-d"):
        assume(not _cheap_int(value, 2))  # d >= 3 takes seconds: the limits are tested in tests/cli/test_limits.py
    base = {"--d": "1", "--p": "1/2", "--n": "5"}
    base[option] = value
    argv = ["objective", *(f"{k}={v}" for k, v in base.items()), "--json"]
    assert_clean(*run_cli(argv))


REALIZE_OPTIONS = ["--d", "--p", "--n", "--starts", "--seed", "--max-d"]


@given(st.sampled_from(REALIZE_OPTIONS), NUMBERISH)
@example("--max-d", "--")  # found by the long profile: argparse dropped the value and no check ran
def test_realize_options(option, value):
    if option == "--d":
        assume(not _cheap_int(value, 1))
    if option == "--starts":
        assume(not _cheap_int(value, 64))
    base = {"--d": "1", "--p": "1/2", "--n": "5"}
    base[option] = value
    assert_clean(*run_cli(["realize", *(f"{k}={v}" for k, v in base.items()), "--json"]))


VERIFY_OPTIONS = ["--d", "--p", "--n", "--steps", "--seed", "--batch", "--lr", "--optimizer", "--model", "--init-scale",
                  "--mc-samples", "--kernel", "--init", "--threads", "--max-d"]


@given(st.sampled_from(VERIFY_OPTIONS), st.one_of(NUMBERISH, LAW_TEXTS))
@example("--optimizer", "uniform:0.0," + "9" * 200 + "," + "9" * 200)  # found by the long profile: quoted whole
@example("--max-d", "x" * 600)
def test_verify_options(option, value):
    if option in ("--d", "--max-d"):
        assume(not _cheap_int(value, 1))
    if option in ("--steps", "--batch", "--mc-samples"):
        assume(not _cheap_int(value, 64))
    if option == "--n":
        assume(not _cheap_int(value, 10**5))
    base = {"--d": "1", "--p": "1/2", "--n": "5", "--steps": "2", "--batch": "4", "--mc-samples": "4"}
    base[option] = value
    argv = ["verify", *(f"{k}={v}" for k, v in base.items()), "--json"]
    status, out, err = run_cli(argv)
    assert_clean(status, out, err)
    if status == 0:
        import json

        json.loads(out)  # strict JSON (NaN would not parse with the default decoder's constants off)


def _experiment_flags(name: str) -> list[str]:
    from dataclasses import fields

    from markov_icl.experiments import EXPERIMENTS
    from markov_icl.experiments.config import flag

    mod = __import__(EXPERIMENTS[name], fromlist=["CONFIG"])
    return [flag(f.name) for f in fields(mod.CONFIG) if f.metadata.get("check") != "bool"]


@pytest.mark.parametrize("name", ["fig2", "fig3", "fig4", "fig5"])
@given(data=st.data())
def test_experiment_option_checks(name, data):
    """The experiments' option checks (argparse, then the configuration): a configuration or one error line.
    Nothing is trained here; the figures' runs are tested in tests/experiments."""
    from markov_icl.cli import build_parser
    from markov_icl.experiments import EXPERIMENTS
    from markov_icl.experiments.config import from_namespace

    option = data.draw(st.sampled_from(_experiment_flags(name)))
    value = data.draw(NUMBERISH)
    argv = ["experiment", name, f"{option}={value}"]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            args = build_parser(argv).parse_args(argv)
        except SystemExit as exc:
            assert exc.code == 2 and len(err.getvalue().strip().splitlines()) == 1
            return
    mod = __import__(EXPERIMENTS[name], fromlist=["CONFIG"])
    try:
        config = from_namespace(mod.CONFIG, args)
    except MarkovICLError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400
        return
    assert isinstance(config, mod.CONFIG)
