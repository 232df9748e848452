"""Atomic outputs of the experiments: a CSV is written whole or not at all (figures:
:func:`derivations.plotting.save_figure`).

The CSV renders into memory first and then goes through :func:`derivations.cache.atomic_write_text`
(temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from derivations.cache import atomic_write_text


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    """Write ``header`` and ``rows`` as CSV to ``path`` atomically; returns the path."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    atomic_write_text(Path(path), buf.getvalue())
    return Path(path)


def write_records(path: Path, records: Sequence[dict], float_format: str = ".6g") -> Path:
    """Write a list of dicts (same keys, in the first record's order) as CSV atomically; floats as ``float_format``."""
    header = list(records[0])
    rows = [[format(r[k], float_format) if isinstance(r[k], float) else r[k] for k in header] for r in records]
    return write_csv(path, header, rows)
