"""``markov-icl ngd``: the JSON a user reads (verification, identity, the exact table) and one-line errors.

Oracles: the Bayes accuracy of ``markov-icl bayes`` (at d = 1 one NGD step is the Bayes decision), the weights'
block structure written out by hand, and the exit statuses of the command line.
"""

import json

import pytest

from markov_icl.cli import main


def test_ngd_json_verifies_and_tabulates(capsys):
    assert main(["ngd", "--d", "1", "--n", "4", "--layers", "2", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["identity"]["holds"] and res["verification"]["holds_1e-10"]
    assert res["construction"]["W_KQ"][0][4] == "-1" and res["construction"]["W_OV"][4][0] == "1/2"
    t = res["table"]
    assert t["method"] == "exact weights" and [r["layer"] for r in t["depths"]] == [0, 1, 2]
    assert main(["bayes", "--d", "1", "--p", "1/2", "--n", "4", "--json"]) == 0
    bayes = json.loads(capsys.readouterr().out)
    assert t["depths"][1]["accuracy_exact"] == bayes["bayes_accuracy"] == t["reference"]["bayes_accuracy_exact"]


def test_ngd_text_and_monte_carlo(capsys):
    assert main(["ngd", "--d", "2", "--n", "3", "--layers", "1", "--samples", "200", "--no-logistic"]) == 0
    out = capsys.readouterr().out
    assert "monte carlo" in out and "symbolic identity" in out and "+-" in out


@pytest.mark.parametrize("argv,msg", [(["--eta", "-1"], "eta must be > 0"), (["--layers", "0"], "--layers"),
                                      (["--p", "2"], "p must"), (["--eta", "x"], "not an exact rational")])
def test_ngd_bad_input_is_one_line_exit_2(argv, msg, capsys):
    base = ["ngd", "--d", "1", "--n", "3", "--layers", "1"]
    args = base + argv if "--layers" not in argv else ["ngd", "--d", "1", "--n", "3", *argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and msg in err
