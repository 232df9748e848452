"""Matplotlib for every figure of the project: the headless backend, and atomic figure files.

:func:`pyplot` selects the Agg backend before the first import of ``matplotlib.pyplot``
(no display is needed); :func:`save_figure` renders into memory, writes the file whole or
not at all (:func:`derivations.cache.atomic_write_bytes`) and closes the figure.
"""

from __future__ import annotations

import io
from pathlib import Path

from derivations.cache import atomic_write_bytes


def pyplot():
    """``matplotlib.pyplot`` on the headless Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_bytes(fig, fmt: str = "png", dpi="figure", **savefig_kw) -> bytes:
    """The figure rendered as ``fmt`` bytes; the figure is closed."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, dpi=dpi, bbox_inches="tight", format=fmt, **savefig_kw)
    finally:
        pyplot().close(fig)
    return buf.getvalue()


def save_figure(fig, path: Path, dpi: int = 130) -> Path:
    """Save a figure to ``path`` (format from the suffix) atomically and close it; returns the path."""
    path = Path(path)
    atomic_write_bytes(path, figure_bytes(fig, path.suffix.lstrip(".") or "png", dpi))
    return path
