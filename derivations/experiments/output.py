"""Atomic outputs of the experiments: a CSV and a figure are written whole or not at all.

Both render into memory first and then go through :func:`derivations.cache.atomic_write_bytes`
(temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from derivations.cache import atomic_write_bytes, atomic_write_text


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    """Write ``header`` and ``rows`` as CSV to ``path`` atomically; returns the path."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    atomic_write_text(Path(path), buf.getvalue())
    return Path(path)


def save_figure(fig, path: Path, dpi: int = 130) -> Path:
    """Save a matplotlib figure to ``path`` (format from the suffix) atomically; returns the path."""
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    atomic_write_bytes(path, buf.getvalue())
    return path


def write_records(path: Path, records: Sequence[dict], float_format: str = ".6g") -> Path:
    """Write a list of dicts (same keys, in the first record's order) as CSV atomically; floats as ``float_format``."""
    header = list(records[0])
    rows = [[format(r[k], float_format) if isinstance(r[k], float) else r[k] for k in header] for r in records]
    return write_csv(path, header, rows)
