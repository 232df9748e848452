"""Experiment configurations: the paper's presets (theory §9), merging, checks, and the CLI built from them.

Oracles: the paper's stated settings written out here, and argparse's own parse of the
options generated from the dataclass fields.
"""

import argparse
from dataclasses import fields

import pytest

from markov_icl.errors import MarkovICLError
from markov_icl.experiments import EXPERIMENTS
from markov_icl.experiments.config import add_options, flag, from_namespace
from markov_icl.experiments.fig2 import Fig2Config
from markov_icl.experiments.fig3 import Fig3Config
from markov_icl.experiments.fig4 import Fig4Config
from markov_icl.experiments.fig5 import Fig5Config


def test_fig5_paper_preset_is_the_papers_setting():
    """The paper's Fig. 5: d = 1..10, n = 100, B = 1000 prompts, Adam lr 0.01, 1000 steps, 5 seeds."""
    c = Fig5Config.paper()
    assert c.d_values == list(range(1, 11))
    assert (c.n, c.batch, c.steps, c.lr, c.seeds) == (100, 1000, 1000, 0.01, 5)
    small = Fig5Config()
    assert small.d_values == list(range(1, 11)) and small.n < 100 and small.steps < 1000


def test_explicit_options_win_over_the_preset():
    ap = argparse.ArgumentParser()
    add_options(ap, Fig5Config)
    args = ap.parse_args(["--n", "50", "--seeds", "2"])
    assert not hasattr(args, "steps")  # an option not given is absent, so the preset can fill it
    c = from_namespace(Fig5Config, args, paper=True)
    assert (c.n, c.seeds, c.steps, c.batch) == (50, 2, 1000, 1000)
    assert from_namespace(Fig5Config, args).steps == Fig5Config().steps


@pytest.mark.parametrize("cls,kw,needle", [
    (Fig5Config, {"seeds": 0}, "--seeds"),
    (Fig5Config, {"ds": "0-3"}, "--ds"),
    (Fig5Config, {"p": "2"}, "(0, 1)"),
    (Fig4Config, {"lr": float("inf")}, "--lr"),
    (Fig4Config, {"dataset_size": 0}, "--dataset-size"),
    (Fig4Config, {"schedule": "step"}, "--schedule"),
    (Fig3Config, {"states": (1,)}, "--states"),
    (Fig3Config, {"states": (99,)}, "at most"),
    (Fig3Config, {"layers": ()}, "--layers"),
    (Fig2Config, {"readout": "both"}, "--readout"),
    (Fig2Config, {"seed": -1}, "--seed"),
])
def test_bad_values_are_refused_when_the_config_is_made(cls, kw, needle):
    with pytest.raises(MarkovICLError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        cls(**kw)


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_field_is_a_command_line_option(name):
    import importlib

    mod = importlib.import_module(EXPERIMENTS[name])
    ap = argparse.ArgumentParser()
    add_options(ap, mod.CONFIG)
    flags = {s for a in ap._actions for s in a.option_strings}
    for f in fields(mod.CONFIG):
        assert flag(f.name) in flags or "--no-" + f.name.replace("_", "-") in flags, f.name
    # the defaults parse back to the default configuration
    assert from_namespace(mod.CONFIG, ap.parse_args([])) == mod.CONFIG()


def test_fig4_default_is_the_papers_setting():
    """The paper's Fig. 4: length-2 chains (d = 1), n = 30, p = 0.3, B = 100; --paper gives the same, and d = 3
    stays an explicit option."""
    import sympy as sp

    for c in (Fig4Config(), Fig4Config.paper()):
        assert (c.d, c.n, sp.Rational(c.p), c.batch) == (1, 30, sp.Rational(3, 10), 100)
    assert Fig4Config.paper(d=3).d == 3


def test_fig2_fig3_presets_are_the_papers_stated_settings():
    """Fig. 2: a 10-layer structured LSA, 100 context chains of length 5, p = 0.5. Fig. 3: |S| in {2, 3, 4},
    L in {1, 2, 3}, 10 context chains, query length 6, 5 seeds."""
    import sympy as sp

    c2 = Fig2Config.paper()
    assert (c2.layers, c2.n, c2.d + 1, sp.Rational(c2.p)) == (10, 100, 5, sp.Rational(1, 2))
    c3 = Fig3Config.paper()
    assert (c3.states, c3.layers, c3.n, c3.d + 1, c3.seeds) == ((2, 3, 4), (1, 2, 3), 10, 6, 5)


@pytest.mark.parametrize("name", [name for name in EXPERIMENTS if name.startswith("fig")])
def test_every_figure_has_a_paper_preset_that_explicit_options_beat(name):
    import importlib

    mod = importlib.import_module(EXPERIMENTS[name])
    assert mod.CONFIG.PAPER, f"{name} has no --paper preset"
    ap = argparse.ArgumentParser()
    add_options(ap, mod.CONFIG)
    # an explicit value that differs from the preset: an int + 1, a shorter tuple
    key, value = next((k, v) for k, v in mod.CONFIG.PAPER.items()
                      if (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, tuple) and len(v) > 1))
    other = value[:1] if isinstance(value, tuple) else value + 1
    argv = [flag(key), *map(str, other if isinstance(other, tuple) else [other])]
    merged = from_namespace(mod.CONFIG, ap.parse_args(argv), paper=True)
    assert getattr(merged, key) == other != value
    assert all(getattr(merged, k) == v for k, v in mod.CONFIG.PAPER.items() if k != key)
