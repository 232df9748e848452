"""Build DIR/markov_icl: the installed layout of the package as symbolic links into the source folders.

pyproject.toml maps source folders into the one namespace (``symbolic/`` is ``markov_icl.symbolic``, ...,
``[tool.setuptools.package-dir]``). Tools that read source files rather than import them (mypy, mkdocstrings'
griffe) need that layout on disk; this script makes it from the same table, without copying anything:

    python .ci/package_tree.py build/tree      # then: mypy with MYPYPATH=build/tree, mkdocstrings paths: [build/tree]
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(out: Path) -> Path:
    table = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    top = out / "markov_icl"
    if out.exists():
        shutil.rmtree(out)
    top.mkdir(parents=True)
    for entry in sorted((ROOT / table["markov_icl"]).iterdir()):  # the top package's own files and folders
        if entry.name != "__pycache__":
            (top / entry.name).symlink_to(entry)
    for name, folder in sorted(table.items()):
        if name == "markov_icl":
            continue
        link = out.joinpath(*name.split("."))
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(ROOT / folder)
    return top


if __name__ == "__main__":
    print(build(Path(sys.argv[1] if len(sys.argv) > 1 else "build/tree").resolve()))
