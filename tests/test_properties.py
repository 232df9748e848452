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
    from markov_icl.experiments import EXPERIMENTS

    option = data.draw(st.sampled_from(_experiment_flags(name)))
    value = data.draw(NUMBERISH)
    mod = __import__(EXPERIMENTS[name], fromlist=["CONFIG"])
    config = _config_or_one_line(["experiment", name, f"{option}={value}"], mod.CONFIG)
    assert config is None or isinstance(config, mod.CONFIG)


def _config_or_one_line(argv: list[str], config_cls):
    """argparse, then the configuration: the configuration, or None after checking that the refusal was one
    line (exit 2 from argparse, a MarkovICLError from the configuration's checks)."""
    from markov_icl.cli import build_parser
    from markov_icl.experiments.config import from_namespace

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            args = build_parser(argv).parse_args(argv)
        except SystemExit as exc:
            assert exc.code == 2 and len(err.getvalue().strip().splitlines()) == 1
            return None
    try:
        return from_namespace(config_cls, args)
    except MarkovICLError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400
        return None


# ----------------------------------------------------------------------------- optimum, evaluate, dynamics


OPTIMUM_OPTIONS = ["--param", "--d", "--p", "--n", "--kernel", "--init", "--max-d", "--tau2", "--noise2"]


@given(st.sampled_from(OPTIMUM_OPTIONS), st.one_of(NUMBERISH, LAW_TEXTS, st.sampled_from(["ahn", "zfb", "gd", "sparse"])))
def test_optimum_options(option, value):
    if option in ("--d", "--max-d"):
        assume(not _cheap_int(value, 2))
    base = {"--param": "gd", "--d": "1", "--p": "1/2", "--n": "5"}
    base[option] = value
    argv = ["optimum", *(f"{k}={v}" for k, v in base.items()), "--no-f-star", "--json"]
    status, out, err = run_cli(argv)
    assert_clean(status, out, err)


EVALUATE_OPTIONS = ["--d", "--p", "--n", "--sign", "--param", "--kernel", "--init", "--max-d"]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    import numpy as np

    path = tmp_path_factory.mktemp("model") / "m.npz"
    np.savez(path, P=np.array([[0.0, 0.0], [0.0, 1.0]]), Q=np.array([[0.5, 0.0], [0.0, 0.0]]))
    return path


@given(option=st.sampled_from(EVALUATE_OPTIONS), value=st.one_of(NUMBERISH, LAW_TEXTS))
def test_evaluate_options(model_file, option, value):
    if option in ("--d", "--max-d"):
        assume(not _cheap_int(value, 2))
    base = {"--d": "1", "--p": "1/2", "--n": "5"}
    base[option] = value
    status, out, err = run_cli(["evaluate", str(model_file), *(f"{k}={v}" for k, v in base.items()), "--json"])
    assert_clean(status, out, err)


#: arrays of every dtype family, shape and value NumPy can save without pickling
ARRAYS = st.one_of(
    st.tuples(st.sampled_from(["f2", "f4", "f8", "i1", "i8", "u8", "c8", "c16", "?", "U3", "S2", "M8[D]", "m8[s]",
                               "f16" if hasattr(__import__("numpy"), "float128") else "f8"]),
              st.lists(st.integers(0, 4), min_size=0, max_size=3),
              st.floats(allow_nan=True, allow_infinity=True, width=64)),
)


@given(ARRAYS)
def test_check_array_accepts_exactly_the_documented_arrays(spec):
    """check_array returns a finite float64 array of the same shape with the same values, or refuses on one line;
    what it accepts is what the rule of numeric/evaluate.py says."""
    import numpy as np

    from markov_icl.numeric.evaluate import MAX_ARRAY_ENTRIES, check_array

    dtype, shape, fill = spec
    with np.errstate(all="ignore"):
        try:
            a = np.full(shape, fill).astype(dtype)
        except (ValueError, OverflowError, TypeError):
            return
    allowed = a.dtype.kind in "fiu" and (a.dtype.kind != "f" or a.dtype.itemsize in (2, 4, 8)) \
        and a.ndim in (1, 2) and min(a.shape, default=0) >= 1 and a.size <= MAX_ARRAY_ENTRIES \
        and (a.dtype.kind != "f" or bool(np.isfinite(a).all())) and (a.dtype.kind == "f" or int(np.abs(
            a.astype(object)).max()) <= 2**53)
    try:
        out = check_array("P", a)
    except MarkovICLError as exc:
        assert not allowed and "\n" not in str(exc) and len(str(exc)) < 300, (a.dtype, a.shape, str(exc))
        return
    assert allowed and out.dtype == np.float64 and out.shape == a.shape
    assert (out == a.astype(np.float64)).all() and np.isfinite(out).all()


def _dynamics_flags() -> list[str]:
    from dataclasses import fields

    from markov_icl.experiments.config import flag
    from markov_icl.experiments.dynamics import DynamicsConfig

    return [flag(f.name) for f in fields(DynamicsConfig) if f.metadata.get("check") != "bool"]


@given(data=st.data())
def test_dynamics_option_checks(data):
    """dynamics' options (argparse, then the configuration, which also bounds --lr by --time): a configuration
    or one error line. Nothing is integrated here (tests/cli/test_dynamics.py runs the command)."""
    from markov_icl.experiments.dynamics import DynamicsConfig

    extra = data.draw(st.lists(st.tuples(st.sampled_from(_dynamics_flags()), NUMBERISH), min_size=1, max_size=3))
    config = _config_or_one_line(["dynamics", *(f"{k}={v}" for k, v in extra)], DynamicsConfig)
    if config is not None:
        assert isinstance(config, DynamicsConfig) and (config.time is None or config.lr <= config.time)


# ----------------------------------------------------------------------------- sweep files

SWEEP_KEYS = ["d", "p", "n", "kernel", "full", "max-d", "max_d", "states", "he", "json", "out", "save", "param", "x",
              "product-form", "seed", "starts"]
SWEEP_SCALARS = st.one_of(st.integers(-3, 8), st.sampled_from(["1/2", "1/3", "x", "--help", "", "uniform", "a\nb"]),
                          st.booleans(), st.floats(allow_nan=True, allow_infinity=True))
SWEEP_VALUES = st.one_of(SWEEP_SCALARS, st.lists(SWEEP_SCALARS, max_size=4),
                         st.fixed_dictionaries({"range": st.lists(st.integers(-5, 10**13), min_size=1, max_size=3)}))


def _toml_value(v) -> str:
    import json as _json

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if v != v else ("inf" if v > 0 else "-inf") if abs(v) == float("inf") else repr(v)
    if isinstance(v, str):
        return _json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(map(_toml_value, v)) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return str(v)


@given(st.sampled_from(["objective", "realize", "optimum", "verify", "dynamics", "train"]),
       st.dictionaries(st.sampled_from(SWEEP_KEYS), SWEEP_VALUES, min_size=0, max_size=3),
       st.dictionaries(st.sampled_from(SWEEP_KEYS), SWEEP_VALUES, max_size=3))
def test_sweep_files_are_refused_up_front_or_every_cell_parses(kind, grid, options):
    """A sweep file is a Spec whose every cell's command line the command's own parser accepts, or one error line
    before any cell runs (nothing is run here)."""
    from markov_icl.experiments import sweep

    text = f'kind = "{kind}"\n[grid]\n' + "".join(f"{k} = {_toml_value(v)}\n" for k, v in grid.items()) + \
        "[options]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in options.items())
    try:
        spec = sweep.parse_spec(text)
        sweep.check_spec(spec)
    except MarkovICLError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 500, str(exc)
        return
    parser, _ = sweep._command_parser(spec)
    for c in sweep.cells(spec)[:50]:
        args = sweep.argv(spec, c.options, sweep.Path("cells") / c.id)
        assert sweep._parse_quietly(parser, args) is None, args
        saved = [a for a in args if a.startswith("--save=")]
        assert all(a.startswith(f"--save=cells/{c.id}/") for a in saved)  # a file option stays in the cell's folder
