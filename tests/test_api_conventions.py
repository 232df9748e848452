"""One signature convention across the API: the point ``d, p, n`` first, keyword options after; results are
dataclasses with ``to_dict``; ``optimum --gaussian`` implies ``--d``; the docs and examples are found wherever
the package is installed; the API reference lists every public name.

Oracles: the published one-gradient-step optimum (eta* = 5/3, f_gd* = 13/36 at d = 1, p = 1/2, n = 10), the
Zhang-Frei-Bartlett closed form Gamma* = n / (n + 2) for x ~ N(0, 1) (docs/python.md), the command's own JSON
against the dataclass, and the files on disk.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from pathlib import Path

import pytest
import sympy as sp

import markov_icl as mi
from markov_icl.cli import main
from markov_icl.symbolic.gaussian import GaussianLaw

ROOT = Path(__file__).resolve().parents[1]


def test_optimum_takes_the_point_first_and_every_source_as_a_keyword():
    by_point = mi.optimum(1, "1/2", 10, param="gd")
    assert by_point.theta_star == (sp.Rational(5, 3),) and by_point.f_param_star == sp.Rational(13, 36)
    assert mi.optimum(param="gd", solution=mi.solve(1, "1/2", 10)).f_param_star == by_point.f_param_star
    assert mi.optimum(param=mi.preset("gd", 1), p="1/2", n=10).f_param_star == by_point.f_param_star  # d from param
    n = sp.Integer(5)
    assert mi.optimum(n=5, param="zfb", law=GaussianLaw((1,))).theta_star == (n / (n + 2),)  # d from the law


@pytest.mark.parametrize("call,match", [
    (lambda: mi.optimum("gd", mi.solve(1, "1/2", 10)), r"optimum\(param, source, n\) became optimum\(d, p, n, param=\.\.\.\)"),
    (lambda: mi.optimum(2, "1/2", 10, param=mi.preset("gd", 1)), "the parameterization has d = 1, but d = 2"),
    (lambda: mi.optimum(param="gd"), "optimum needs d"),
    (lambda: mi.optimum(param="gd", solution=mi.solve(1, "1/2", 10), n=5), "leave them out"),
    (lambda: mi.optimum(1, "1/2", n=5, param="gd", law=GaussianLaw((1,))), "with a law, leave it out"),
])
def test_optimum_refuses_the_old_form_and_conflicts_with_one_clear_error(call, match):
    with pytest.raises(mi.MarkovICLError, match=match):
        call()


def test_the_point_comes_first_in_every_call_that_takes_one():
    for fn in (mi.solve, mi.optimum, mi.verify, mi.realize_optimum, mi.functions):
        names = list(inspect.signature(fn).parameters)
        assert names[0] == "d", fn.__name__
        if "p" in names:
            assert names[:3] == ["d", "p", "n"], fn.__name__
    for fn in (mi.optimum, mi.verify, mi.derive):  # options after the point are keyword-only
        kinds = [p.kind for p in inspect.signature(fn).parameters.values()]
        assert inspect.Parameter.KEYWORD_ONLY in kinds, fn.__name__


def test_verify_and_derive_return_dataclasses_whose_to_dict_is_the_commands_json(tmp_path, capsys):
    res = mi.verify(1, "1/2", 10, steps=50, batch=64, mc_samples=200, progress=False, param="gd")
    assert dataclasses.is_dataclass(res) and res.model is not None
    assert main(["verify", "--d", "1", "--p", "1/2", "--n", "10", "--steps", "50", "--batch", "64", "--mc-samples",
                 "200", "--param", "gd", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    mine = res.to_dict()
    assert list(mine) == list(cli)  # the same keys in the same order
    for k in ("seconds",):
        mine.pop(k), cli.pop(k)
    mine["config"].pop("seed"), cli["config"].pop("seed")
    assert mine == cli  # same seed, same numbers (CPU, one thread)
    assert res.f_param_star == "13/36" and res.theta_star == ["5/3"]
    doc = mi.derive("lemma_3_1", tmp_path, pdf=False, log=lambda line: None)
    assert dataclasses.is_dataclass(doc) and doc.all_passed
    assert doc.to_dict()["documents"]["lemma_3_1"][0] == str(tmp_path / "lemma_3_1.tex")


def test_optimum_gaussian_implies_d(capsys):
    assert main(["optimum", "--param", "zfb", "--gaussian", "1,2", "--n", "5", "--json"]) == 0
    implied = json.loads(capsys.readouterr().out)
    assert main(["optimum", "--param", "zfb", "--gaussian", "1,2", "--d", "2", "--n", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == implied and implied["d"] == 2
    assert main(["optimum", "--param", "zfb", "--gaussian", "1,2", "--d", "3", "--n", "5"]) == 2
    assert "--gaussian gives 2 variances; --d 3 needs 3" in capsys.readouterr().err
    assert main(["optimum", "--param", "zfb", "--n", "5"]) == 2
    assert "optimum needs --d (or --gaussian" in capsys.readouterr().err


def test_the_docs_and_examples_are_found_through_the_package(capsys):
    from markov_icl.docs import PAGES
    from markov_icl.docs import path as doc_path
    from markov_icl.examples import SWEEPS
    from markov_icl.examples import path as example_path

    for name in PAGES:
        assert doc_path(name).read_bytes() == (ROOT / "docs" / f"{name}.md").read_bytes()
    for file in SWEEPS.values():
        assert example_path(file).read_bytes() == (ROOT / "examples" / file).read_bytes()
    assert main(["docs"]) == 0
    listed = capsys.readouterr().out
    assert all(str(doc_path(name)) in listed for name in PAGES)
    assert main(["docs", "nope"]) == 2
    assert main(["sweep", "x.toml", "--example", "atlas", "--out", "o"]) == 2
    assert "not both" in capsys.readouterr().err


def test_the_api_reference_links_every_public_name():
    page = (ROOT / "docs" / "reference" / "api.md").read_text()
    linked = set(re.findall(r"\]\[markov_icl\.[\w.]+\.(\w+)\]", page))
    assert set(mi.__all__) - {"__version__"} <= linked
