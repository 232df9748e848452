"""``markov-icl experiment emergence``: the calibration on an exact flow, the outputs, and one-line errors.

Oracles: the predicted escape time of the exact flow (theory §12, escape_prediction) for the dip of the effective
rank, and the written files.
"""

import csv

from markov_icl.cli import main
from markov_icl.experiments.emergence import EmergenceConfig, lsa_calibration


def test_effective_rank_dip_marks_the_escape_at_d2():
    _, s = lsa_calibration(2, "1/2", 10, seed=0, scale=1e-3, T=40.0, points=240)
    assert abs(s["t_escape_flow"] - s["t_escape_predicted"]) < 0.05 * s["t_escape_predicted"]
    assert abs(s["erank_A_t_min"] - s["t_escape_flow"]) < 0.1 * s["t_escape_flow"]
    assert s["erank_A_min"] < 1.2 < s["erank_A_start"]
    assert s["stability_A_t_max"] < 1.2 * s["t_escape_flow"]


def test_command_writes_the_calibration(tmp_path, capsys):
    out = tmp_path / "em"
    assert main(["experiment", "emergence", "--no-gpt2", "--lsa-ds", "1", "--lsa-seeds", "1", "--lsa-time", "60",
                 "--lsa-points", "80", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "d = 1: escape predicted" in text and "erank_S" in text
    rows = list(csv.DictReader(open(out / "emergence_lsa_summary.csv")))
    assert rows[0]["d"] == "1" and float(rows[0]["erank_S_min"]) < 1.01
    assert (out / "emergence.png").stat().st_size > 1000


def test_bad_options_are_one_line(capsys):
    assert main(["experiment", "emergence", "--lsa-scale", "0.5", "--no-gpt2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--lsa-scale" in err
    assert EmergenceConfig(gpt2=False).seeds == 5
