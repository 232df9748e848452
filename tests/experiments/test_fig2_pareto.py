"""Fig. 2's Pareto view: per-prompt points, each layer's front, the reference front and the generational distance.

Oracles: a brute-force dominance check and the generational-distance formula written here in plain
Python, applied to the run's own per-prompt points and to the rows of the CSV files it writes; and the
paper's stated setting of Fig. 2 written out.
"""

from __future__ import annotations

import csv
import math

import pytest

from markov_icl.errors import MarkovICLError
from markov_icl.experiments.fig2 import Fig2Config, run, summary, write

TINY = {"layers": 2, "n": 4, "d": 2, "steps": 2, "batch": 4, "eval": 16}


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _non_dominated(points):
    return [p for p in points if not any(all(a <= b for a, b in zip(q, p)) and q != p for q in points)]


def _gd(A, R):
    return math.sqrt(sum(min(math.dist(a, r) for r in R) ** 2 for a in A)) / len(A)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    config = Fig2Config(**TINY)
    result = run(config, progress=False)
    out = tmp_path_factory.mktemp("fig2")
    paths = write(result, config, out)
    return config, result, out, paths


def test_write_produces_the_three_files(written):
    _, _, out, paths = written
    assert sorted(p.name for p in paths) == ["fig2.csv", "fig2.png", "fig2_pareto.csv"]
    assert sorted(p.name for p in out.iterdir()) == ["fig2.csv", "fig2.png", "fig2_pareto.csv"]  # no temp files
    assert (out / "fig2.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_csv_columns_and_gd_against_the_written_fronts(written):
    _, _, out, _ = written
    rows = _rows(out / "fig2.csv")
    assert [int(r["layer"]) for r in rows] == [0, 1, 2]
    for name in ("pareto_front_size", "on_reference_front", "generational_distance"):
        assert name in rows[0]
    front_rows = _rows(out / "fig2_pareto.csv")
    assert list(front_rows[0]) == ["layer", "L_sq", "C", "on_reference_front"]
    fronts = {l: [(float(r["L_sq"]), float(r["C"])) for r in front_rows if int(r["layer"]) == l] for l in range(3)}
    reference = [(float(r["L_sq"]), float(r["C"])) for r in front_rows if r["on_reference_front"] == "1"]
    assert reference and _non_dominated(reference) == reference  # F* is itself a front
    for r in rows:
        l, gd = int(r["layer"]), float(r["generational_distance"])
        assert len(fronts[l]) == int(r["pareto_front_size"]) >= 1
        assert _non_dominated(fronts[l]) == fronts[l]
        assert gd >= 0
        assert gd == pytest.approx(_gd(fronts[l], reference), rel=1e-5, abs=1e-12)  # the CSV's 6 digits
        # GD is 0 exactly for a layer whose whole front lies on the reference front
        assert (gd == 0) == (int(r["on_reference_front"]) == int(r["pareto_front_size"]))
    # every point of F* comes from the front of the one layer it belongs to
    assert sum(int(r["on_reference_front"]) for r in rows) == len(reference)
    assert any(int(r["on_reference_front"]) > 0 for r in rows)


def test_fronts_against_brute_force_on_the_runs_points(written):
    _, (rows, info), _, _ = written
    view = info["pareto"]
    assert view["objectives"] == ("L_sq", "C") and len(view["points"]) == 3
    union = [tuple(p) for P in view["points"] for p in P.tolist()]
    assert len(union) == 3 * TINY["eval"]
    assert sorted(map(tuple, view["reference"].tolist())) == sorted(_non_dominated(union))
    for l, (P, F) in enumerate(zip(view["points"], view["fronts"])):
        assert sorted(map(tuple, F.tolist())) == sorted(_non_dominated([tuple(p) for p in P.tolist()]))
        assert view["gd"][l] == pytest.approx(_gd(F.tolist(), view["reference"].tolist()), rel=1e-12, abs=1e-15)
        # the means in the CSV rows are the means of the per-prompt points
        assert rows[l]["L_sq"] == pytest.approx(P[:, 0].mean(), rel=1e-12)
        assert rows[l]["C"] == pytest.approx(P[:, 1].mean(), rel=1e-12, abs=1e-15)


def test_summary_reports_gd_per_layer(written):
    config, result, _, _ = written
    text = summary(result, config, 1.0)
    assert "GD_l = (1/|F_l|)" in text and f"|F*| = {len(result[1]['pareto']['reference'])} " in text
    table = text.splitlines()[-3:]
    for line, r in zip(table, result[0]):
        assert line.split()[-1] == f"{r['generational_distance']:.3g}"


def test_other_objectives_and_bad_names():
    rows, info = run(Fig2Config(**TINY, pareto=" T_1 , V_2 "), progress=False)
    assert info["pareto"]["objectives"] == ("T_1", "V_2")
    assert all(r["generational_distance"] >= 0 for r in rows)
    for bad in ("L_sq", "L_sq,L_sq", "L_sq,T_3", "L_sq,C,T_1", "l_sq,c", ""):
        with pytest.raises(MarkovICLError, match="--pareto must be two different objective names") as exc:
            Fig2Config(**TINY, pareto=bad)
        assert "\n" not in str(exc.value) and "T_1..T_2" in str(exc.value)


def test_paper_preset_is_the_papers_setting(tmp_path, capsys):
    """The paper's Fig. 2: a 10-layer structured LSA, 100 context chains of length 5 (d = 4), p = 0.5."""
    from markov_icl.cli import main

    c = Fig2Config.paper()
    assert (c.layers, c.n, c.d, c.p) == (10, 100, 4, "1/2")
    assert main(["experiment", "fig2", "--paper", "--steps", "2", "--eval", "8", "--no-plot",
                 "--out", str(tmp_path)]) == 0
    assert "fig2: 10-layer structured LSA, n = 100, d = 4, p = 1/2" in capsys.readouterr().out
    assert len(_rows(tmp_path / "fig2.csv")) == 11 and (tmp_path / "fig2_pareto.csv").exists()
