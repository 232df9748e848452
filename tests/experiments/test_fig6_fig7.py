"""Figs. 6-7 at tiny sizes: the exact predictors against Monte Carlo, the rank correlation against SciPy,
the outputs, and the command line's errors.

Oracles: the sample mean squared error of the exact X* and f* predictors on fresh prompts must
match their exact population losses f~*, f* within 5 standard errors (Monte Carlo);
Spearman's rho against ``scipy.stats.spearmanr`` (an independent implementation).
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("sklearn")

from markov_icl.cli import main  # noqa: E402
from markov_icl.errors import MarkovICLError  # noqa: E402
from markov_icl.experiments import fig6, fig7  # noqa: E402
from markov_icl.numeric.montecarlo import mean_and_stderr  # noqa: E402
from markov_icl.numeric.multistate import sample_multistate  # noqa: E402
from markov_icl.numeric.prompts import enlarged_features  # noqa: E402


@pytest.mark.parametrize("S, d, n", [(2, 1, 5), (2, 2, 10), (3, 1, 8), (3, 2, 5)])
def test_exact_predictors_losses_by_monte_carlo(S, d, n):
    exact = fig6.exact_predictors(S, d, n, "1", f_star=True)
    pb = sample_multistate(S, d, n, 40_000, alpha=1.0, seed=11 + 7 * S + d)
    feats = enlarged_features(pb.Z0)
    for key in ("x_star", "f_star"):
        vec, loss = exact[key]
        mean, se = mean_and_stderr((feats @ vec - pb.y) ** 2)
        assert abs(mean - loss) < 5 * se, (key, mean, loss, se)
    assert exact["x_star"][1] <= exact["f_star"][1] + 1e-12  # f~* <= f*


def test_rank_correlation_against_scipy():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, size=(50, 9)).astype(float)  # many ties
    b = rng.random((50, 9)) + 0.3 * a
    rho, ok = fig7.rank_correlation(a, b)
    for i in range(50):
        if ok[i]:
            assert rho[i] == pytest.approx(spearmanr(a[i], b[i]).statistic, abs=1e-12)
        else:
            assert len(set(a[i])) == 1
    assert ok.sum() >= 45


def test_agreement_of_attention_that_is_the_similarity():
    rng = np.random.default_rng(1)
    sims = {"hamming": rng.random((20, 6)), "last_state": (rng.random((20, 6)) > 0.5).astype(float),
            "dot": rng.random((20, 6))}
    att = np.exp(3 * sims["hamming"])[None, :, None, :]  # one layer, one head, increasing in hamming
    att /= att.sum(-1, keepdims=True) * 1.25
    rows = fig7.agreement(att, sims, "trained")
    got = {r["similarity"]: r for r in rows}
    assert got["hamming"]["spearman_mean"] == pytest.approx(1.0)
    assert abs(got["dot"]["spearman_mean"]) < 0.5
    share = sims["last_state"].mean()
    assert got["hamming"]["share_matching"] == pytest.approx(share)
    mass = ((att[0, :, 0] * sims["last_state"]).sum(-1) / att[0, :, 0].sum(-1)).mean()
    assert got["hamming"]["attention_on_matching"] == pytest.approx(mass)


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_fig6_tiny_run_writes_everything(tmp_path):
    c = fig6.Fig6Config(states=(2, 3), ns=(3, 6), d=1, ds=(1, 2), n=6, seeds=2, steps=3, eval=8, width=8, layers=1,
                        heads=1)
    result = fig6.run(c, progress=False)
    written = fig6.write(result, c, tmp_path)
    assert [p.name for p in written] == ["fig6.csv", "fig6_summary.csv", "fig6.png"]
    rows = _rows(tmp_path / "fig6.csv")
    # |S| in {2, 3}; (d, n) points: (1, 3), (1, 6), (2, 6); 2 seeds; every method
    assert len(rows) == 2 * 3 * 2 * len(fig6.METHODS)
    for r in rows:
        assert 0 <= float(r["accuracy"]) <= 1 and float(r["mse"]) >= 0
    summ = _rows(tmp_path / "fig6_summary.csv")
    assert len(summ) == 2 * 3 * len(fig6.METHODS) and {r["seeds"] for r in summ} == {"2"}
    text = fig6.summary(result, c, 1.0)
    assert "GPT-2" in text and "known-K" in text and "Bayes-optimal predictor" in text
    assert (tmp_path / "fig6.png").stat().st_size > 10_000


def test_fig7_tiny_run_writes_everything(tmp_path):
    c = fig7.Fig7Config(d=2, n=5, steps=3, eval=20, width=8, layers=2, heads=2, examples=2)
    result = fig7.run(c, progress=False)
    written = fig7.write(result, c, tmp_path)
    assert [p.name for p in written] == ["fig7.csv", "fig7.png"]
    rows = _rows(tmp_path / "fig7.csv")
    assert len(rows) == 2 * 2 * 2 * len(fig7.SIMILARITIES)  # models x layers x heads x similarities
    for r in rows:
        if r["spearman_mean"]:
            assert -1 <= float(r["spearman_mean"]) <= 1
        assert int(r["prompts_used"]) <= 20
    assert "Spearman" in fig7.summary(result, c, 1.0)


@pytest.mark.parametrize("argv, message", [
    (["fig6", "--width", "10", "--heads", "3"], "--width must be a multiple of --heads"),
    (["fig6", "--device", "gpu"], "--device must be cpu, cuda, cuda:N or mps"),
    (["fig6", "--alpha", "0"], "alpha must be > 0"),
    (["fig6", "--ds", "1", "9"], "--ds must be at most 4"),
    (["fig7", "--n", "1"], "--n must be at least 2"),
    (["fig7", "--states", "1"], "number of states must be an integer >= 2"),
])
def test_bad_options_are_one_line(argv, message, tmp_path, capsys):
    assert main(["experiment", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_device_cuda_is_refused_without_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(MarkovICLError, match="CUDA device"):
        fig6.Fig6Config(device="cuda")


def test_paper_preset_and_explicit_options():
    assert fig6.Fig6Config.paper().layers == 12 and fig6.Fig6Config.paper(layers=3).layers == 3
    assert fig7.Fig7Config.paper().heads == 8


def test_fig6_gives_the_same_csvs_to_the_last_digit_on_every_run(tmp_path):
    """Two runs, the global NumPy and torch generators moved on in between (what an unseeded solver or dropout
    would draw from), write identical CSVs (timing columns apart): the scikit-learn solvers are seeded and fit on
    one thread, GPT-2 trains from its own seeds on one torch thread (the command's default --threads 1)."""
    c = fig6.Fig6Config(states=(2, 3), ns=(5, 10), d=1, ds=(1,), n=10, seeds=1, steps=20, eval=60, width=8,
                        layers=1, heads=1)
    torch.set_num_threads(1)
    tables = []
    for k in range(2):
        np.random.seed(k)
        torch.manual_seed(k)
        result = fig6.run(c, progress=False)
        fig6.write(result, c, tmp_path / f"run{k}", plot_figure=False)
        tables.append({name: _rows(tmp_path / f"run{k}" / name) for name in ("fig6.csv", "fig6_summary.csv")})
    for name in ("fig6.csv", "fig6_summary.csv"):
        a, b = ([{k: v for k, v in row.items() if not k.endswith("seconds")} for row in t[name]] for t in tables)
        assert a == b and len(a) > 10, name
    methods = {row["method"] for row in tables[0]["fig6.csv"]}
    assert {"linear_svm", "logistic", "knn3", "linear_regression", "known_kernel", "gpt2"} <= methods
