"""Files: the disk cache of derived objects, atomic writes, the output folder, CSV and figures.

Every file markov-icl writes goes through this module.

* **Atomic writes.** :func:`atomic_write_bytes` writes a temporary file in the target's
  folder and renames it into place (:func:`os.replace`), so a file is written whole or not
  at all; it gets the usual mode of a new file (``0o666 & ~umask``).
* **The output folder.** :func:`check_out_dir` checks ``--out`` before any work starts and
  leaves nothing behind when it fails.
* **CSV and figures.** :func:`write_csv`, :func:`write_records`; :func:`pyplot` (the
  headless Agg backend), :func:`figure_bytes`, :func:`save_figure`.
* **The cache.** Derived objects (derivation documents, figures, compiled PDFs) are stored in
  ``$MARKOV_ICL_CACHE`` or ``~/.cache/markov-icl``, keyed by their inputs, the package version
  and a digest of the package's sources, so an edited checkout never reads stale results. An
  entry is data, never code: JSON (checked field by field when read back) or bytes that are
  copied into output files. Each is one file: a magic line, its format, the SHA-256 of the
  payload, the payload. An entry that cannot be used (corrupt, of the wrong type, not a
  regular file, too large) is recomputed with one :class:`CacheWarning`; a FIFO or a link at
  an entry's path is never opened. :func:`disabled` (the CLI's ``--no-cache``) bypasses it
  and then nothing is written under the cache folder. docs/commands.md states the threat
  model.

Examples:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> path = write_csv(folder / "t.csv", ["d", "f"], [[1, 0.5]])
    >>> path.read_text()
    'd,f\\n1,0.5\\n'
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io as _stdio
import json
import os
import stat
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from markov_icl._version import __version__
from markov_icl.errors import MarkovICLError, check_finite, shown

MAGIC = b"markov-icl-cache 2\n"

_state = {"enabled": True}


class CacheWarning(UserWarning):
    """A cache entry could not be used (corrupt, of the wrong type, not a regular file) or written."""


# ----------------------------------------------------------------------------- writing files


@cache
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode of a new file
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """UTF-8 text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def check_out_dir(out) -> Path:
    """``--out`` must be a folder or creatable as one. Checked before any work, so a bad ``--out``
    is one line, not a traceback after the run. Leaves nothing behind (a probe folder is removed).

    Raises:
        MarkovICLError: the path is a file, cannot be created, or is not writable.
    """
    if not isinstance(out, (str, os.PathLike)) or not str(out).strip():
        raise MarkovICLError("--out must name a folder (an empty name would write into the current folder; "
                             "give --out . for that)")
    shown_out = shown(str(out), plain=True)
    out = Path(out)
    try:
        if out.exists() and not out.is_dir():
            raise MarkovICLError(f"--out {shown_out} exists and is not a folder")
        missing = []
        anc = out.absolute()
        while not anc.exists():
            missing.append(anc)
            anc = anc.parent
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # e.g. a name longer than the file system allows, or no permission
        raise MarkovICLError(f"--out {shown_out}: cannot create the folder ({exc.strerror})") from None
    for folder in missing:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()
    if not os.access(out if out.exists() else anc, os.W_OK | os.X_OK):
        raise MarkovICLError(f"--out {shown_out}: the folder is not writable")
    return out


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    """Write ``header`` and ``rows`` as CSV to ``path`` atomically; returns the path.

    Raises:
        Diverged: a float cell is NaN or infinite (nothing is written).
    """
    rows = list(rows)
    check_finite(rows, Path(path).name)
    buf = _stdio.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    atomic_write_text(Path(path), buf.getvalue())
    return Path(path)


def write_records(path: Path, records: Sequence[dict], float_format: str = ".6g") -> Path:
    """Write a list of dicts (the first record's keys, in its order) as CSV atomically; floats as ``float_format``,
    None (or a missing key) as an empty cell.

    Raises:
        Diverged: a float is NaN or infinite (nothing is written).
    """
    header = list(records[0])
    check_finite(list(records), Path(path).name)
    rows = [["" if r.get(k) is None else format(r[k], float_format) if isinstance(r[k], float) else r[k]
             for k in header] for r in records]
    return write_csv(path, header, rows)


def pyplot():
    """``matplotlib.pyplot`` on the headless Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_bytes(fig, fmt: str = "png", dpi="figure", **savefig_kw) -> bytes:
    """The figure rendered as ``fmt`` bytes; the figure is closed."""
    buf = _stdio.BytesIO()
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


# ----------------------------------------------------------------------------- the cache


def cache_dir() -> Path:
    """The cache folder: ``$MARKOV_ICL_CACHE`` or ``~/.cache/markov-icl``."""
    env = os.environ.get("MARKOV_ICL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "markov-icl"


def package_version() -> str:
    """The markov-icl version (``markov_icl.__version__``)."""
    return __version__


def _source_folders() -> list[Path]:
    import markov_icl
    from markov_icl import derivations, experiments, numeric, oracles, symbolic

    return [Path(p) for mod in (markov_icl, symbolic, numeric, derivations, experiments, oracles) for p in mod.__path__]


@cache
def source_digest() -> str:
    """SHA-256 (16 hex digits) of the Python sources and templates of every part of the package."""
    h = hashlib.sha256()
    for root in _source_folders():
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".j2", ".tex") and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(root)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:16]


def make_key(kind: str, **inputs: Any) -> str:
    """A stable key from a kind and JSON-able inputs (plus version and source digest)."""
    blob = json.dumps({"kind": kind, "inputs": inputs, "version": package_version(),
                       "source": source_digest()}, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:32]}"


def is_enabled() -> bool:
    """Whether reads and writes go to disk (False under ``--no-cache``)."""
    return _state["enabled"]


@contextlib.contextmanager
def disabled(flag: bool = True) -> Iterator[None]:
    """Context in which the cache is bypassed (when ``flag`` is true)."""
    old = _state["enabled"]
    _state["enabled"] = old and not flag
    try:
        yield
    finally:
        _state["enabled"] = old


#: the two kinds of entry: JSON data, or bytes (figures, PDFs) copied into output files
FORMATS = {"json": ".json", "bytes": ".bin"}

#: an entry larger than this is skipped unread (bounded memory)
MAX_ENTRY_BYTES = 256 * 2**20


def _path(key: str, fmt: str) -> Path:
    return cache_dir() / f"{key}{FORMATS[fmt]}"


def _encode(value: Any, fmt: str) -> bytes:
    if fmt == "bytes":
        if not isinstance(value, (bytes, bytearray)):
            raise TypeError(f"a bytes entry holds bytes, not {type(value).__name__}")
        payload = bytes(value)
    else:
        payload = json.dumps(value, allow_nan=False, separators=(",", ":")).encode("utf-8")
    return MAGIC + fmt.encode() + b"\n" + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def _decode(data: bytes, fmt: str) -> Any:
    if not data.startswith(MAGIC):
        raise ValueError("not a markov-icl cache entry")
    kind, _, rest = data[len(MAGIC):].partition(b"\n")
    if kind != fmt.encode():
        raise ValueError(f"a {kind[:20].decode(errors='replace')!r} entry where {fmt} was expected")
    digest, _, payload = rest.partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        raise ValueError("checksum mismatch")
    return payload if fmt == "bytes" else json.loads(payload.decode("utf-8"))


def _read_regular_file(path: Path) -> bytes | None:
    """The bytes of ``path`` if it is a regular file of bounded size; None (with one warning for anything
    but a missing file) otherwise. A FIFO, device, folder or symbolic link is never opened."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_ENTRY_BYTES:
        why = "is not a regular file" if not stat.S_ISREG(st.st_mode) else f"is larger than {MAX_ENTRY_BYTES} bytes"
        warnings.warn(f"cache entry {path} {why}; skipped (recomputing)", CacheWarning, stacklevel=4)
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # replaced between lstat and open
            return None
        return fh.read(MAX_ENTRY_BYTES + 1)


def load(key: str, fmt: str = "json", decode: Callable[[Any], Any] | None = None) -> tuple[bool, Any]:
    """``(hit, value)`` for a key. The entry is JSON data (``fmt="json"``, passed through ``decode``, which
    raises TypeError or ValueError on data of the wrong shape) or bytes (``fmt="bytes"``); nothing read
    from the cache can run code. A corrupt entry, or one of the wrong type, gives one :class:`CacheWarning`,
    is removed and is a miss."""
    if not is_enabled():
        return False, None
    path = _path(key, fmt)
    data = _read_regular_file(path)
    if data is None:
        return False, None
    try:
        raw = _decode(data, fmt)
    except (ValueError, RecursionError) as exc:  # json errors and UnicodeDecodeError are ValueErrors
        return _discard(path, f"is corrupt ({exc})")
    try:
        return True, raw if decode is None else decode(raw)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        return _discard(path, f"holds a value of the wrong type ({exc})")


def _discard(path: Path, why: str) -> tuple[bool, None]:
    warnings.warn(f"cache entry {path} {why}; recomputing", CacheWarning, stacklevel=4)
    with contextlib.suppress(OSError):
        path.unlink()
    return False, None


def store(key: str, value: Any, fmt: str = "json") -> None:
    """Store JSON data or bytes under a key (atomic; a folder that cannot be written gives one warning)."""
    if not is_enabled():
        return
    data = _encode(value, fmt)
    try:
        atomic_write_bytes(_path(key, fmt), data)
    except OSError as exc:
        warnings.warn(f"cannot write cache entry {_path(key, fmt)} ({exc})", CacheWarning, stacklevel=3)


def cached(kind: str, compute: Callable[[], Any], *, fmt: str = "json", encode: Callable[[Any], Any] | None = None,
           decode: Callable[[Any], Any] | None = None, **inputs: Any) -> Any:
    """The cached value for ``(kind, inputs)``, computing and storing it on a miss.

    ``encode(value)`` turns the value into JSON data (or bytes, ``fmt="bytes"``) and ``decode`` turns it
    back, checking its shape; both default to the identity.
    """
    key = make_key(kind, **inputs)
    hit, value = load(key, fmt, decode)
    if hit:
        return value
    value = compute()
    store(key, value if encode is None else encode(value), fmt)
    return value


__all__ = ["cache_dir", "cached", "load", "store", "make_key", "disabled", "is_enabled", "CacheWarning",
           "atomic_write_bytes", "atomic_write_text", "package_version", "source_digest", "check_out_dir",
           "write_csv", "write_records", "pyplot", "figure_bytes", "save_figure", "FORMATS",
           "MAX_ENTRY_BYTES"]
