"""README.md and docs/*.md: every Python block runs, and every console example prints what it shows.

* A ```python block with ``>>>`` prompts is a doctest (its output must match); a block
  without prompts must run without error. The blocks of one file share their names, in
  order, like a notebook.
* A ```console block holds ``$ markov-icl ...`` commands, each followed by its output; the
  test runs each command and compares what it prints (stdout, then stderr) with the text,
  line by line (a line ``...`` stands for any number of lines). Slow commands are shown
  in ```text blocks, which are not run.
"""

from __future__ import annotations

import doctest
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(path: Path, lang: str) -> list[tuple[int, str]]:
    text = path.read_text()
    return [(text[: m.start()].count("\n") + 1, m.group(2)) for m in FENCE.finditer(text) if m.group(1) == lang]


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.mark.parametrize("path", DOCS, ids=_ids(DOCS))
def test_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    found = blocks(path, "python")
    globs: dict = {"__name__": f"doc:{path.name}"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for line, body in found:
        if ">>>" in body:
            test = parser.get_doctest(body, globs, f"{path.name}:{line}", str(path), line)
            result = runner.run(test, clear_globs=False)
            globs.update(test.globs)  # DocTest works on a copy: carry the names to the next block
            assert result.failed == 0, f"{path.name}, block at line {line}: {result.failed} example(s) failed"
        else:
            exec(compile(body, f"{path.name}:{line}", "exec"), globs)  # noqa: S102 - the documentation's own code


def _matches(expected: list[str], got: list[str]) -> bool:
    """Line-by-line equality, where an expected line "..." matches any run of lines."""
    if not expected:
        return not got
    if expected[0].strip() == "...":
        return any(_matches(expected[1:], got[k:]) for k in range(len(got) + 1))
    return bool(got) and expected[0].rstrip() == got[0].rstrip() and _matches(expected[1:], got[1:])


def console_examples() -> list:
    cases = []
    for path in DOCS:
        for line, body in blocks(path, "console"):
            lines = body.splitlines()
            starts = [k for k, text in enumerate(lines) if text.startswith("$ ")]
            for k, start in enumerate(starts):
                end = starts[k + 1] if k + 1 < len(starts) else len(lines)
                cases.append(pytest.param(lines[start][2:], lines[start + 1:end],
                                          id=f"{path.name}:{line + start + 1}"))
    return cases


@pytest.mark.parametrize("command,expected", console_examples())
def test_console_examples_print_what_they_show(command, expected, tmp_path):
    argv = shlex.split(command, comments=True)
    assert argv[0] == "markov-icl", command
    proc = subprocess.run([sys.executable, "-m", "markov_icl", *argv[1:]], capture_output=True, text=True,
                          cwd=tmp_path)
    got = (proc.stdout + proc.stderr).splitlines()
    assert _matches(expected, got), "\n".join(["expected:", *expected, "got:", *got])


def test_every_doc_has_runnable_content():
    assert sum(len(blocks(p, "python")) for p in DOCS) >= 5
    assert len(console_examples()) >= 5
