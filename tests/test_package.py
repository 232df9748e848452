"""The package as users install it: one namespace, a wheel that works on its own, a documented public API.

Oracles: the wheel's own file list, a fresh interpreter's ``sys.modules``, the source files'
import statements (read with ``ast``), and the acceptance command run against the installed wheel.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import markov_icl

ROOT = Path(__file__).resolve().parents[1]
GENERIC = {"symbolic", "numeric", "derivations", "experiments", "oracles"}
INTERNAL = "SP" + "EC"  # the name of the team's internal contract, spelled so that a search for it finds nothing here
SOURCE_DIRS = ["markov_icl", "symbolic", "numeric", "derivations", "experiments", "tests/oracles"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, text=True)
    (path,) = out.glob("markov_icl-*.whl")
    return path


def test_wheel_has_one_top_level_name(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"markov_icl"}
    for needed in ("markov_icl/__init__.py", "markov_icl/symbolic/solve.py", "markov_icl/oracles/binary.py",
                   "markov_icl/derivations/templates/document.tex.j2", "markov_icl/experiments/fig5.py",
                   "markov_icl/cli/__init__.py", "markov_icl/py.typed", "markov_icl/examples/atlas.toml",
                   "markov_icl/examples/optimum_table.toml", "markov_icl/examples/tour.ipynb",
                   "markov_icl/docs/theory.md", "markov_icl/docs/commands.md"):
        assert needed in names, needed
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    meta = next(zipfile.ZipFile(wheel).read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    for field in ("License-Expression: MIT", "Author: The markov-icl developers", "Requires-Python: >=3.11",
                  "Classifier: Typing :: Typed", "Keywords: in-context learning"):
        assert field in meta, field
    top_level = [n for n in names if n.endswith(".dist-info/top_level.txt")]
    for entry in top_level:
        assert zipfile.ZipFile(wheel).read(entry).decode().split() == ["markov_icl"]


def test_the_installed_wheel_answers_the_acceptance_command(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True)
    code = ("import markov_icl as mi; from fractions import Fraction as F; s = mi.solve(d=1, p=F(1, 2), n=5); "
            "print(s.f_tilde_star, s.X_star); print(mi.__file__)")
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          check=True)
    first, where = proc.stdout.strip().splitlines()
    assert first == "35/96 (1/6, 1/2, 1/2)"
    assert Path(where).resolve().is_relative_to(target.resolve())


def test_the_installed_wheel_runs_the_documented_commands_from_another_folder(wheel, tmp_path):
    """``--version``, an objective, a derivation document with its figure, an example sweep and the shipped docs,
    with only the wheel's files (run from an empty folder; the dependencies are this environment's). ``derive all``
    and the notebook from a fresh virtual environment are the release check (the cache keys of an installed copy
    differ from the source tree's, so ``all`` would rebuild every document here: a minute of CI)."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True)
    env = {**os.environ, "PYTHONPATH": str(target), "OMP_NUM_THREADS": "1"}
    work = tmp_path / "work"
    work.mkdir()

    def run(*argv):
        proc = subprocess.run([sys.executable, "-m", "markov_icl", *argv], cwd=work, env=env, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, (argv, proc.stderr[-2000:])
        return proc.stdout

    from markov_icl import __version__

    assert run("--version").strip() == f"markov-icl {__version__}"
    assert '"f_tilde_star": "35/96"' in run("objective", "--d", "1", "--p", "1/2", "--n", "5", "--json")
    run("derive", "realizability", "--out", "docs-out")
    assert (work / "docs-out" / "realizability.tex").is_file() and list((work / "docs-out" / "figures").glob("*.p*"))
    out = run("sweep", "--example", "optimum_table", "--out", "table", "--workers", "2")
    assert "9 cells: 9 done" in out
    rows = (work / "table" / "results.csv").read_text()
    assert rows.count(",ok,") == 9 and "13/36" in rows  # gd at n = 10: f_gd* = 13/36 (eta* = 5/3)
    theory = Path(run("docs", "theory").strip())
    assert theory.is_relative_to(target.resolve()) and theory.read_text().startswith("# markov-icl: theory reference")


def _all_modules() -> list[str]:
    names = []
    for mod in pkgutil.walk_packages(markov_icl.__path__, "markov_icl."):
        if not mod.name.endswith("__main__"):
            names.append(mod.name)
    for sub in ("symbolic", "numeric", "derivations", "experiments", "oracles", "cli"):
        pkg = importlib.import_module(f"markov_icl.{sub}")
        names += [m.name for m in pkgutil.walk_packages(pkg.__path__, f"markov_icl.{sub}.")]
    return sorted(set(names))


def test_importing_everything_creates_no_generic_top_level_module(tmp_path):
    code = ("import importlib, sys\n"
            f"for name in {_all_modules()!r}:\n    importlib.import_module(name)\n"
            f"print(sorted(k for k in sys.modules if k.split('.')[0] in {sorted(GENERIC)!r}))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
    assert len(_all_modules()) > 40


def _imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            out.append("." * node.level + (node.module or ""))
    return out


def test_sources_import_only_the_installed_namespace():
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            for name in _imports(path):
                assert name.split(".")[0] not in GENERIC, f"{path}: import {name}"


def test_oracles_import_nothing_from_the_engine():
    for path in (ROOT / "tests/oracles").glob("*.py"):
        for name in _imports(path):
            assert not name.startswith("markov_icl"), f"{path}: import {name}"
            assert not name.startswith(".") or name.lstrip(".") in ("binary", "multistate"), f"{path}: {name}"


def test_public_api_is_complete_and_documented_with_examples():
    assert markov_icl.__version__ == "0.2.0"
    for name in markov_icl.__all__:
        obj = getattr(markov_icl, name)
        if name in ("__version__",):
            continue
        doc = inspect.getdoc(obj) or ""
        assert doc, name
        if name != "MarkovICLError":
            assert ">>>" in doc, f"{name} has no example in its docstring"
    for needed in ("solve", "functions", "f_tilde", "phi", "realize", "best_one_layer", "sample_prompts",
                   "DenseLSA", "SparseLSA", "StructuredLSA", "train", "derive", "ChainLaw", "InitLaw", "KernelLaw"):
        assert needed in markov_icl.__all__, needed


def test_nothing_cites_the_internal_contract():
    """The project cites its own theory reference (docs/theory.md) and the paper, never an internal file."""
    files = [p for folder in SOURCE_DIRS + ["tests", "benchmarks", "docs"] for p in (ROOT / folder).rglob("*")
             if p.suffix in (".py", ".j2", ".md", ".tex") and p.is_file()]
    files.append(ROOT / "README.md")
    offenders = [str(p) for p in files if INTERNAL in p.read_text()]
    assert not offenders
