"""Shared set-up of the test session.

* One cache folder for the whole session (``MARKOV_ICL_CACHE``), so every derivation
  document is built once per session, however many tests read it.
* The doctests of every module of the package, collected with pytest's own doctest support.
  The source folders are mapped into the installed namespace (pyproject's
  ``[tool.setuptools.package-dir]``: ``symbolic/`` is ``markov_icl.symbolic``, and so on), so
  each file is imported under its installed name, never as a second copy under a top-level
  name such as ``symbolic``.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from _pytest.doctest import DoctestModule

ROOT = Path(__file__).resolve().parent


def package_dirs() -> dict[Path, str]:
    """``{folder: package}`` from pyproject.toml's ``[tool.setuptools.package-dir]``."""
    text = (ROOT / "pyproject.toml").read_text()
    try:
        import tomllib

        table = tomllib.loads(text)["tool"]["setuptools"]["package-dir"]
    except ModuleNotFoundError:  # Python 3.10: read the simple "name" = "folder" lines
        section = text.split("[tool.setuptools.package-dir]", 1)[1].split("\n[", 1)[0]
        table = dict(re.findall(r'^"([^"]+)"\s*=\s*"([^"]+)"', section, re.M))
    return {(ROOT / folder).resolve(): name for name, folder in table.items()}


_DIRS = package_dirs()


def installed_name(path: Path) -> str | None:
    """The installed module name of a source file (``symbolic/laws.py`` -> ``markov_icl.symbolic.laws``)."""
    path = path.resolve()
    best = None
    for folder, package in _DIRS.items():
        if folder in path.parents and (best is None or len(folder.parts) > len(best[0].parts)):
            best = (folder, package)
    if best is None:
        return None
    rel = path.relative_to(best[0]).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([best[1], *parts])


class InstalledDoctestModule(DoctestModule):
    """pytest's doctest collector, importing the module by its installed name."""

    module_name: str = ""

    def _getobj(self):
        return importlib.import_module(self.module_name)


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix != ".py" or file_path.name.startswith("test_") or file_path.name in ("conftest.py",
                                                                                           "__main__.py"):
        return None
    name = installed_name(file_path)
    if name is None:
        return None
    module = InstalledDoctestModule.from_parent(parent, path=file_path)
    module.module_name = name
    return module


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MARKOV_ICL_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="session")
def document():
    """``document(name)``: the derivation document NAME at its default point, built once per session."""
    from markov_icl.derivations.report import build_derivation

    built: dict = {}

    def get(name: str):
        if name not in built:
            built[name] = build_derivation(name)
        return built[name]

    return get
