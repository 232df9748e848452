"""Print ``name==X`` for every dependency of pyproject.toml with a lower bound ``>=X``: the lowest versions CI tests.

The runtime dependencies, the extras the test suite exercises (``baselines``, ``cluster``, ``notebook``) and the test
runner (pytest, from ``dev``); PyTorch is left out (.ci/lowest installs the CPU build CI has, 2.13.0). One home for
the bounds: pyproject.toml itself.

    python .ci/lowest_requirements.py > lowest.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("baselines", "cluster", "notebook")
FROM_DEV = ("pytest",)
SKIP = {"torch"}


def lowest() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project["optional-dependencies"][extra]
    reqs += [r for r in project["optional-dependencies"]["dev"] if re.split(r"[<>=\[ ;]", r)[0] in FROM_DEV]
    out: dict[str, str] = {}
    for req in reqs:
        if ";" in req and "python_version" in req:
            continue
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", req)
        if m is None:
            raise SystemExit(f"cannot read the requirement {req!r}")
        name, spec = m.group(1).lower(), m.group(3)
        low = re.search(r">=\s*([0-9][0-9A-Za-z.]*)", spec)
        if name in SKIP:
            continue
        if low is None:
            raise SystemExit(f"{req!r} has no lower bound: give it one (>=X), which CI then tests")
        out[name] = f"{name}{m.group(2) or ''}=={low.group(1)}"
    return sorted(out.values())


if __name__ == "__main__":
    sys.stdout.write("\n".join(lowest()) + "\n")
