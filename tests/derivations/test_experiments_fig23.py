"""`markov-icl experiment fig3` / `fig2` at tiny sizes: outputs, reproducibility, bad input."""

from __future__ import annotations

import csv

import pytest
import torch

from derivations.cli import main
from derivations.experiments.fig3 import reference_accuracies
from numeric.montecarlo import accuracy
from numeric.multistate import sample_multistate

FIG3_TINY = ["--states", "2", "3", "--layers", "1", "2", "--seeds", "2", "--steps", "5", "--batch", "16",
             "--eval", "64", "--d", "2", "--n", "3"]
FIG2_TINY = ["--layers", "3", "--n", "6", "--d", "2", "--steps", "4", "--batch", "8", "--eval", "16"]


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_fig3_tiny_writes_csv_and_png(tmp_path, capsys):
    assert main(["experiment", "fig3", "--out", str(tmp_path), *FIG3_TINY]) == 0
    rows = _rows(tmp_path / "fig3.csv")
    summary = _rows(tmp_path / "fig3_summary.csv")
    assert len(rows) == 2 * 2 * 2 and len(summary) == 2 * 2
    assert {(r["states"], r["layers"]) for r in summary} == {("2", "1"), ("2", "2"), ("3", "1"), ("3", "2")}
    for r in rows:
        assert 0.0 <= float(r["accuracy"]) <= 1.0
        assert 0.0 <= float(r["bayes_known_K"]) <= 1.0
    paper = {(r["states"], r["layers"]): r["paper"] for r in summary}
    assert paper[("3", "1")] == "0.55" and paper[("2", "1")] == ""
    png = (tmp_path / "fig3.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
    assert "fig3:" in capsys.readouterr().out


def test_fig3_is_reproducible(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    small = ["--states", "3", "--layers", "1", "--seeds", "1", "--steps", "3", "--batch", "8", "--eval", "32",
             "--d", "2", "--n", "3", "--no-plot"]
    assert main(["experiment", "fig3", "--out", str(a), *small]) == 0
    assert main(["experiment", "fig3", "--out", str(b), *small]) == 0
    ra, rb = _rows(a / "fig3.csv"), _rows(b / "fig3.csv")
    for r in ra + rb:
        r.pop("seconds")
    assert ra == rb
    assert not (a / "fig3.png").exists()


def test_fig3_accuracy_rule_and_references():
    """Rounding to the nearest state, clipped to 0..S-1 (SPEC §9); the known-K Bayes rule
    is at least as accurate as the context-count rule on average."""
    y = torch.tensor([0.0, 1.0, 2.0, 2.0])
    assert accuracy(torch.tensor([0.4, 1.6, 2.4, 7.0]), y, 3) == 0.75  # 1.6 -> 2 != 1; 7 -> clipped to 2
    assert accuracy(torch.tensor([-3.0, 0.6, 1.51, 2.49]), y, 3) == 1.0
    pb = sample_multistate(3, 3, 5, 4000, alpha=0.1, seed=3)
    ref = reference_accuracies(pb, 3)
    assert ref["bayes_known_K"] >= ref["counts"] - 0.02
    assert ref["counts"] > 0.6  # far above chance (1/3) with near-deterministic kernels


@pytest.mark.parametrize("bad,needle", [
    (["--seeds", "0"], "--seeds"),
    (["--states", "1"], "--states"),
    (["--layers", "0"], "--layers"),
    (["--alpha", "-1"], "--alpha"),
    (["--lr", "0"], "--lr"),
])
def test_fig3_bad_input_one_line_exit_2(tmp_path, capsys, bad, needle):
    assert main(["experiment", "fig3", "--out", str(tmp_path), *FIG3_TINY, *bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("markov-icl: error:") and needle in err[0]
    assert not (tmp_path / "fig3.csv").exists()


def test_fig2_tiny_writes_csv_and_png(tmp_path, capsys):
    assert main(["experiment", "fig2", "--out", str(tmp_path), *FIG2_TINY]) == 0
    rows = _rows(tmp_path / "fig2.csv")
    assert [int(r["layer"]) for r in rows] == [0, 1, 2, 3]
    for name in ("L_sq", "T_1", "T_2", "C", "V_1", "V_2", "R1_l", "R2_l", "prediction_mse"):
        assert name in rows[0]
    # Theorem 4.1 checked numerically inside the run (autograd vs the recursion)
    errs = [float(r["max_identity_error"]) for r in rows[:-1]]
    assert max(errs) < 1e-10
    # layer 0: w = 0, so L_sq / n is the mean of y_k^2 over context labels, a value in [0, 1]
    assert 0.0 <= float(rows[0]["L_sq"]) <= 1.0
    assert (tmp_path / "fig2.png").read_bytes()[:4] == b"\x89PNG"
    out = capsys.readouterr().out
    assert "Theorem 4.1 step identity" in out


def test_fig2_is_reproducible(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for o in (a, b):
        assert main(["experiment", "fig2", "--out", str(o), *FIG2_TINY, "--no-plot"]) == 0
    assert (a / "fig2.csv").read_text() == (b / "fig2.csv").read_text()


@pytest.mark.parametrize("bad,needle", [
    (["--layers", "0"], "--layers"),
    (["--n", "0"], "--n"),
    (["--p", "2"], "p"),
])
def test_fig2_bad_input_one_line_exit_2(tmp_path, capsys, bad, needle):
    assert main(["experiment", "fig2", "--out", str(tmp_path), *FIG2_TINY, *bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("markov-icl: error:") and needle in err[0]
    assert not (tmp_path / "fig2.csv").exists()
