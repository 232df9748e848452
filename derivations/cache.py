"""A disk cache of derived objects (derivation documents, exact solutions, figures, PDFs).

Entries are keyed by the inputs that determine them and by the package version (from
``importlib.metadata``, falling back to ``pyproject.toml``) together with a digest of the
engine's source files, so that an edited checkout never reads stale results. Each entry
is one file: a magic line, the SHA-256 of the payload, then the pickled payload. Writes
are atomic (temporary file in the same folder + :func:`os.replace`). A file that cannot
be read back (truncated, overwritten, wrong digest) is recomputed with one warning.

Location: ``$MARKOV_ICL_CACHE`` or ``~/.cache/markov-icl``. :func:`disabled` (the CLI's
``--no-cache``) bypasses reads and writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import tempfile
import warnings
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from symbolic.errors import MarkovICLError

MAGIC = b"markov-icl-cache 1\n"

_state = {"enabled": True}


class CacheWarning(UserWarning):
    """A cache file could not be read and was recomputed."""


def cache_dir() -> Path:
    """The cache folder: ``$MARKOV_ICL_CACHE`` or ``~/.cache/markov-icl``."""
    env = os.environ.get("MARKOV_ICL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "markov-icl"


@cache
def package_version() -> str:
    """The markov-icl version (installed metadata, else ``pyproject.toml``)."""
    try:
        from importlib.metadata import version

        return version("markov-icl")
    except Exception:  # not installed: read pyproject
        root = Path(__file__).resolve().parents[1]
        for line in (root / "pyproject.toml").read_text().splitlines():
            if line.strip().startswith("version"):
                return line.split("=", 1)[1].strip().strip('"')
        return "unknown"


@cache
def source_digest() -> str:
    """SHA-256 (16 hex digits) of the Python sources and templates of symbolic/, numeric/, derivations/."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for pkg in ("symbolic", "numeric", "derivations"):
        for path in sorted((root / pkg).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".j2", ".tex"):
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


def check_out_dir(out) -> Path:
    """``--out`` must be a folder or creatable as one. Checked before any work, so a bad ``--out``
    is one line, not a traceback after the run. Leaves nothing behind (a probe folder is removed)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MarkovICLError(f"--out {out} exists and is not a folder")
    missing = []
    anc = out.absolute()
    while not anc.exists():
        missing.append(anc)
        anc = anc.parent
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MarkovICLError(f"--out {out}: cannot create the folder ({exc.strerror})") from None
    for folder in missing:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()
    if not os.access(out if out.exists() else anc, os.W_OK | os.X_OK):
        raise MarkovICLError(f"--out {out}: the folder is not writable")
    return out


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


def _path(key: str) -> Path:
    return cache_dir() / f"{key}.pkl"


def _encode(value: Any) -> bytes:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def _decode(data: bytes) -> Any:
    if not data.startswith(MAGIC):
        raise ValueError("bad header")
    rest = data[len(MAGIC):]
    digest, _, payload = rest.partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        raise ValueError("checksum mismatch")
    return pickle.loads(payload)


def load(key: str) -> tuple[bool, Any]:
    """``(hit, value)`` for a key; a corrupt file gives one :class:`CacheWarning` and a miss."""
    if not is_enabled():
        return False, None
    path = _path(key)
    try:
        data = path.read_bytes()
    except OSError:
        return False, None
    try:
        return True, _decode(data)
    except Exception as exc:  # corrupt: recompute
        warnings.warn(f"cache file {path} is corrupt ({exc}); recomputing", CacheWarning, stacklevel=3)
        with contextlib.suppress(OSError):
            path.unlink()
        return False, None


def store(key: str, value: Any) -> None:
    """Store a value under a key (atomic; silently skipped when the folder is not writable)."""
    if not is_enabled():
        return
    try:
        atomic_write_bytes(_path(key), _encode(value))
    except OSError as exc:
        warnings.warn(f"cannot write cache file {_path(key)} ({exc})", CacheWarning, stacklevel=3)


def cached(kind: str, compute: Callable[[], Any], **inputs: Any) -> Any:
    """The cached value for ``(kind, inputs)``, computing and storing it on a miss."""
    key = make_key(kind, **inputs)
    hit, value = load(key)
    if hit:
        return value
    value = compute()
    store(key, value)
    return value


__all__ = ["cache_dir", "cached", "load", "store", "make_key", "disabled", "is_enabled", "CacheWarning",
           "atomic_write_bytes", "atomic_write_text", "package_version", "source_digest"]
