"""The example notebook (examples/tour.ipynb, installed as markov_icl.examples) runs top to bottom in a Jupyter
kernel and shows what it says.

Oracles: theory §5's closed form of X* and f~* at d = 1 (markov_icl.oracles), the published one-gradient-step
optimum (eta* = 5/3), the notebook's own printed checks (a trained model against the exact optimum, PyTorch
against the exact rational), the escape time of docs/python.md (17.48), and the absence of any error output or
warning on stderr (tqdm's "IProgress not found" among them).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import sympy as sp

from markov_icl.examples import NOTEBOOK, path
from markov_icl.oracles import closed_form_d1

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = nbformat.read(path(NOTEBOOK), as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    env_path = os.environ.get("PATH", "")
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env_path}"  # the kernel is this interpreter
    try:
        nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}}).execute()
    finally:
        os.environ["PATH"] = env_path
    return [c for c in nb.cells if c.cell_type == "code"]


def _outputs(cell, mime=None, stream=None) -> str:
    out = []
    for o in cell.outputs:
        if stream is not None and o.output_type == "stream" and o.name == stream:
            out.append(o.text)
        if mime is not None and mime in o.get("data", {}):
            out.append(o.data[mime])
    return "\n".join(out)


def test_the_notebook_runs_without_errors_or_warnings(executed):
    for cell in executed:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.source
        assert _outputs(cell, stream="stderr") == "", (cell.source, _outputs(cell, stream="stderr"))


def test_the_notebook_shows_the_exact_optimum_and_its_checks(executed):
    solve, realize, gd, torch_cell, verify, verify_check, dynamics = executed
    _, _, _, X, f = closed_form_d1(sp.Rational(1, 2), 10)
    latex = _outputs(solve, "text/latex")
    assert sp.latex(sp.Rational(f)) in latex and r",\ ".join(sp.latex(sp.Rational(x)) for x in X) in latex
    assert _outputs(realize, "text/markdown").startswith("**realisable**")  # n = 10 >= n0(1/2): realisable
    assert r"\frac{5}{3}" in _outputs(gd, "text/markdown")
    assert "agrees: True" in _outputs(torch_cell, stream="stdout")
    assert "application/vnd.jupyter.widget-view+json" in {k for o in verify.outputs for k in o.get("data", {})}
    assert "**verify**" in _outputs(verify, "text/markdown")
    assert _outputs(verify_check, stream="stdout").count("True") == 2
    text = _outputs(dynamics, stream="stdout")
    assert "predicted escape time 17.48" in text and "PopulationLoss(param='sparse'" in text
