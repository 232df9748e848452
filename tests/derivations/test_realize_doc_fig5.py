"""The realizability derivation document and ``markov-icl experiment fig5`` (issue 5)."""

from __future__ import annotations

import argparse
import csv

from derivations.cli import main
from derivations.document import Derivation
from derivations.realizability import build


def test_realizability_document_checks_pass(tmp_path):
    doc = build(p="1/2", n=5, figure_dir=tmp_path)
    assert isinstance(doc, Derivation) and doc.name == "realizability"
    assert doc.checks and doc.all_passed, [c.name for c in doc.checks if not c.passed]
    assert all(f.is_file() for f in doc.figures)
    text = doc.statement.text
    assert "polynomial" in text and "general class" in text  # the hardness caveat, stated plainly


def test_fig5_small_run_writes_csv_and_png(tmp_path, capsys):
    rc = main(["experiment", "fig5", "--out", str(tmp_path), "--ds", "1,2", "--n", "5", "--batch", "64",
               "--steps", "30", "--seeds", "1", "--eval-prompts", "500", "--f-star-max-d", "2",
               "--f-star-starts", "8"])
    assert rc == 0
    rows = list(csv.DictReader(open(tmp_path / "fig5.csv")))
    assert [int(r["d"]) for r in rows] == [1, 2]
    for r in rows:
        assert 0.0 <= float(r["acc_lsa"]) <= 1.0 and 0.0 <= float(r["acc_least_squares"]) <= 1.0
        # exact population losses: f~* <= f* <= trained loss
        assert float(r["f_tilde_star"]) <= float(r["f_star"]) + 1e-12 <= float(r["lsa_exact_loss"]) + 1e-12
    assert rows[0]["f_star_how"].startswith("exact") and "runs agree" in rows[1]["f_star_how"]
    assert (tmp_path / "fig5.png").stat().st_size > 1000
    assert "fig5:" in capsys.readouterr().out


def test_fig5_bad_input_exit_2(capsys):
    assert main(["experiment", "fig5", "--ds", "0-3"]) == 2
    assert main(["experiment", "fig5", "--p", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(e.startswith("markov-icl: error:") for e in err)


def test_fig5_paper_option_sets_the_papers_sizes():
    """SPEC §9: d = 1..10, n = 100, B = 1000 prompts, Adam lr 0.01, 1000 steps, 5 seeds."""
    from derivations.experiments.fig5 import _check, add_arguments

    ap = argparse.ArgumentParser()
    add_arguments(ap)
    args = ap.parse_args(["--paper"])
    assert _check(args) == list(range(1, 11))
    assert (args.n, args.batch, args.steps, args.lr, args.seeds) == (100, 1000, 1000, 0.01, 5)
    small = ap.parse_args([])
    assert _check(small) == list(range(1, 11)) and small.n < 100 and small.steps < 1000
