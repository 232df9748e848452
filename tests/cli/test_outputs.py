"""Outputs of every command: a bad ``--out`` is one line and exit 2 before any work, nothing is left
behind; files are written with the usual permissions of a new file (not mkstemp's 0600)."""

from __future__ import annotations

import os
import stat

import pytest

from markov_icl.cli import main
from markov_icl.io import atomic_write_text


@pytest.mark.parametrize("argv", [
    ["experiment", "fig5", "--ds", "1", "--steps", "1", "--seeds", "1"],
    ["experiment", "fig2", "--steps", "1"],
    ["derive", "lemma_3_1", "--no-cache"],
])
def test_out_that_is_a_file_is_one_line_exit_2(tmp_path, capsys, argv):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (blocker, blocker / "sub"):
        assert main([*argv, "--out", str(out)]) == 2
        cap = capsys.readouterr()
        lines = cap.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("markov-icl: error: --out"), cap.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_bad_option_leaves_no_output_folder(tmp_path, capsys):
    out = tmp_path / "a" / "b"
    assert main(["experiment", "fig5", "--p", "2", "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("markov-icl: error:")
    assert not (tmp_path / "a").exists()


def test_written_files_have_the_umask_mode(tmp_path):
    from markov_icl import io as cache

    mask = os.umask(0o022)
    cache._umask.cache_clear()
    try:
        atomic_write_text(tmp_path / "y.txt", "hello")
    finally:
        os.umask(mask)
        cache._umask.cache_clear()
    assert stat.S_IMODE((tmp_path / "y.txt").stat().st_mode) == 0o644  # 0o666 & ~0o022, not mkstemp's 0o600
    assert (tmp_path / "y.txt").read_text() == "hello"
