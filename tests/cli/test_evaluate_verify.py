"""`markov-icl evaluate` on the model `markov-icl verify --save` trained: the same exact population loss."""

import json

import pytest

from markov_icl.cli import main


@pytest.mark.parametrize("extra", [["--model", "dense"], ["--model", "sparse"], ["--param", "zfb"]])
def test_evaluate_reads_back_what_verify_trained(tmp_path, capsys, extra):
    path = tmp_path / "trained.pt"
    args = ["--d", "2", "--p", "1/2", "--n", "10"]
    assert main(["verify", *args, "--steps", "200", "--batch", "256", "--mc-samples", "2000", *extra,
                 "--save", str(path), "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["saved"] == str(path) and path.exists() and not (tmp_path / "trained.pt.tmp").exists()
    param = ["--param", extra[1]] if extra[0] == "--param" else []
    assert main(["evaluate", str(path), *args, *param, "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert abs(ev["loss_float"] - trained["trained_loss_exact"]) <= 1e-12 * trained["trained_loss_exact"]
    assert ev["f_tilde_star"] == trained["f_tilde_star"]
    if param:
        assert ev["f_param_star"] == trained["f_param_star"]
        assert abs(ev["gap_param"] - trained["gap_param"]) < 1e-12
