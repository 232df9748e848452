"""Examples shipped with markov-icl (``markov_icl.examples``): sweep files and a notebook.

* ``atlas.toml``: the realisability atlas, 324 ``realize`` cells over (d, p, n) (about 5 min on 2 cores);
* ``fig5_paper.toml``: Fig. 5 at the paper's sizes, one cell per d = 1..10 (about 6 min on 2 cores);
* ``optimum_table.toml``: the exact optima of the restricted one-layer parameterizations
  (``ahn``, ``zfb``, ``gd``) next to ``f~*`` and ``f*`` over n (9 cells, seconds);
* ``tour.ipynb``: a notebook: derive, import a formula into PyTorch, verify, dynamics.

``markov-icl sweep --example NAME --out DIR`` runs a sweep file by name, wherever the package
is installed; :func:`path` gives a file's location.

Examples:
    >>> sorted(SWEEPS)
    ['atlas', 'fig5_paper', 'optimum_table']
    >>> path("atlas.toml").name
    'atlas.toml'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: sweep name -> its file (``markov-icl sweep --example NAME``)
SWEEPS = {"atlas": "atlas.toml", "fig5_paper": "fig5_paper.toml", "optimum_table": "optimum_table.toml"}

#: the example notebook
NOTEBOOK = "tour.ipynb"


def path(name: str) -> Path:
    """The installed file ``name`` of this package (a sweep file or the notebook)."""
    return Path(str(resources.files(__name__).joinpath(name)))


__all__ = ["SWEEPS", "NOTEBOOK", "path"]
