"""Progress of long work: the one helper every long command and Python call reports through.

:class:`Progress` picks what suits where the output goes (stderr by default):

* a terminal: a tqdm bar;
* a Jupyter notebook: tqdm's notebook bar when ``ipywidgets`` is installed, a text bar
  otherwise (never tqdm's "IProgress not found" warning);
* anywhere else (a file, a pipe, a CI log): plain lines, a **start line** with the
  estimate, then a **progress line at least every 30 seconds** (from a background timer,
  so one long step does not silence it; ``MARKOV_ICL_PROGRESS_SECONDS`` changes the
  interval) and a last line with the time taken.

The start line (``fig6: 8 models of 500 steps, 6 evaluation points; estimated 5 min``) is
printed wherever the work is announced as long: when its estimate is at least
:data:`ANNOUNCE_SECONDS` (or the progress interval, when that is shorter) or unknown.
Estimates are the command's own: measured rates on a 2-core machine, scaled by the sizes
asked for.

Python calls that can take long take ``progress=``: True for this helper's report, False for
silence (:func:`enabled`).

Examples:
    >>> import io
    >>> log = io.StringIO()
    >>> with Progress("demo", total=3, unit="step", estimate=12, what="3 steps", stream=log) as bar:
    ...     for _ in range(3):
    ...         bar.update()
    >>> print(log.getvalue().splitlines()[0])
    demo: 3 steps; estimated 12 s
    >>> log.getvalue().splitlines()[-1].startswith("demo: done, 3 steps in ")
    True
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any, TypeVar

T = TypeVar("T")

#: the longest silence, in seconds, of a report that is not on a terminal
EVERY = 30.0

#: work estimated at least this long (seconds) gets a start line
ANNOUNCE_SECONDS = 10.0


def human(seconds: float) -> str:
    """A duration as people say it: ``45 s``, ``12 min``, ``2.5 h``, ``a day or more``.

    Examples:
        >>> human(4.2), human(600), human(9000), human(1e6)
        ('4 s', '10 min', '2.5 h', 'a day or more')
    """
    if seconds > 86400:
        return "a day or more"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def in_notebook() -> bool:
    """True inside a Jupyter (IPython kernel) session."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001 - any failure means: not a notebook
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def where(stream: IO[str] | None = None) -> str:
    """``"notebook"``, ``"terminal"`` or ``"log"``: how a report on ``stream`` (default stderr) is shown."""
    stream = sys.stderr if stream is None else stream
    if stream in (sys.stderr, sys.stdout) and in_notebook():
        return "notebook"
    try:
        return "terminal" if stream.isatty() else "log"
    except (AttributeError, ValueError):
        return "log"


def enabled(progress: Any) -> bool:
    """The ``progress=`` argument of a Python call as a switch (True, False, None for False)."""
    return bool(progress)


def interval() -> float:
    """Seconds between two progress lines (:data:`EVERY`, or ``MARKOV_ICL_PROGRESS_SECONDS``)."""
    try:
        value = float(os.environ.get("MARKOV_ICL_PROGRESS_SECONDS", EVERY))
    except ValueError:
        return EVERY
    return value if 0.01 <= value <= EVERY else EVERY


def _bar_class(mode: str):
    if mode == "notebook":
        try:
            import ipywidgets  # noqa: F401 - tqdm's notebook bar needs it
            from tqdm.notebook import tqdm as bar
            return bar
        except ImportError:
            pass
    from tqdm.std import tqdm as bar
    return bar


class Progress:
    """A report on long work (module docstring): a bar where one can be drawn, else timed lines.

    Args:
        desc: what is running, the first word of every line (``fig6``, ``train``).
        total: the number of units of work, or None when unknown (then lines give the time only).
        unit: the name of one unit (``step``, ``cell``, ``start``).
        estimate: the expected seconds, or None (unknown).
        announce: print the start line; by default when the estimate is None or at least
            :data:`ANNOUNCE_SECONDS` (or ``every``, when shorter).
        what: the work in words for the start line (default: ``TOTAL UNITs``).
        enabled: False: report nothing.
        stream: where to write (default stderr).
        every: seconds between lines when not on a terminal (default :func:`interval`).
        delay: print the start line only once the work has run this many seconds (work that stops earlier, e.g.
            on a bad option, prints nothing).
    """

    def __init__(self, desc: str, total: int | None = None, *, unit: str = "step", estimate: float | None = None,
                 what: str | None = None, enabled: bool = True, announce: bool | None = None,
                 stream: IO[str] | None = None, every: float | None = None, delay: float = 0.0):
        self.desc, self.total, self.unit, self.estimate = desc, total, unit, estimate
        self.stream = sys.stderr if stream is None else stream
        self.enabled = bool(enabled)
        self.mode = where(self.stream) if self.enabled else "off"
        self.every = interval() if every is None else every
        self.done = 0
        self.postfix = ""
        self.t0 = time.perf_counter()
        self._bar = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._begun = False
        if announce is None:  # long: at least ANNOUNCE_SECONDS, or long enough for a progress line
            announce = estimate is None or estimate >= min(ANNOUNCE_SECONDS, self.every)
        self.announced = bool(announce) and self.enabled
        self._start = self.start_line(what)
        self.delay = delay if self.announced else 0.0
        if self.announced and not self.delay:
            self._write(self._start)
        if self.mode in ("terminal", "notebook") and total is not None:
            self._bar = _bar_class(self.mode)(total=total, desc=desc, unit=unit, file=self.stream, leave=False,
                                              mininterval=0.5, dynamic_ncols=True)
        if self.mode == "log" or self.delay:
            self._thread = threading.Thread(target=self._beat, name=f"progress-{desc}", daemon=True)
            self._thread.start()

    # -- lines -------------------------------------------------------------------------
    def start_line(self, what: str | None = None) -> str:
        """``DESC: WHAT; estimated T`` (the estimate left out when unknown)."""
        if what is None:
            what = f"{self.total} {self.unit}s" if self.total is not None else "started"
        return f"{self.desc}: {what}" + (f"; estimated {human(self.estimate)}" if self.estimate is not None else "")

    def line(self) -> str:
        """``DESC: DONE/TOTAL UNITs (P%), T elapsed, about R left`` (what a progress line says now)."""
        elapsed = time.perf_counter() - self.t0
        if self.total:
            frac = min(self.done / self.total, 1.0)
            text = f"{self.desc}: {self.done}/{self.total} {self.unit}s ({100 * frac:.0f}%), {human(elapsed)} elapsed"
            if self.done:
                text += f", about {human(elapsed * (1 - frac) / frac)} left"
            elif self.estimate is not None:
                text += f", estimated {human(self.estimate)} in all"
        else:
            text = f"{self.desc}: {human(elapsed)} elapsed" + (
                f" of about {human(self.estimate)}" if self.estimate is not None else "")
        return text + (f", {self.postfix}" if self.postfix else "")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # the reader went away: the work goes on silently
            pass

    def _beat(self) -> None:
        if self.delay:
            if self._stop.wait(self.delay):
                return
            self._write(self._start)
            self._begun = True
        if self.mode != "log":
            return
        while not self._stop.wait(self.every):
            self._write(self.line())

    # -- updates -----------------------------------------------------------------------
    def update(self, k: int = 1) -> None:
        """``k`` more units done."""
        self.done += k
        if self._bar is not None:
            self._bar.update(k)

    def set_postfix(self, **values: Any) -> None:
        """Values shown after the count (``loss=0.35``)."""
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())
        if self._bar is not None:
            self._bar.set_postfix(values, refresh=False)

    def iterate(self, iterable: Iterable[T]) -> Iterator[T]:
        """The items of ``iterable``, one unit each."""
        for item in iterable:
            yield item
            self.update()

    def close(self, failed: bool = False) -> None:
        """Stop the report (a last line when not on a terminal and the work was announced or long; none when the
        work ``failed``: its error is the last line)."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        if self._bar is not None:
            self._bar.close()
        elapsed = time.perf_counter() - self.t0
        started = self.announced and (not self.delay or self._begun)
        if self.mode == "log" and not failed and (started or elapsed >= ANNOUNCE_SECONDS):
            count = f"{self.done} {self.unit}s in " if self.total is not None else ""
            self._write(f"{self.desc}: done, {count}{human(elapsed)}")

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        self.close(failed=exc_type is not None)


def iterate(iterable: Iterable[T], desc: str, total: int | None = None, **options: Any) -> Iterator[T]:
    """``iterable`` with a :class:`Progress` report around it (``progress(iterable, desc)``, the form
    :func:`~markov_icl.symbolic.varpro.minimize_over_b` takes).

    Examples:
        >>> list(iterate(range(3), "demo", enabled=False))
        [0, 1, 2]
    """
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with Progress(desc, total, **options) as bar:
        yield from bar.iterate(iterable)


def wrapper(progress: Any, unit: str = "start"):
    """A ``progress=`` argument as ``wrap(iterable, desc) -> iterable``, or None for no report: True gives
    :func:`iterate` counting ``unit`` (no start line: the caller announces long work), a callable is used as it is.

    Examples:
        >>> wrapper(False) is None, list(wrapper(True)(range(2), "demo"))
        (True, [0, 1])
    """
    if callable(progress):
        return progress
    if not progress:
        return None

    def wrap(iterable, desc):
        return iterate(iterable, desc, unit=unit, announce=False)

    return wrap


def wrapped(progress: Any, iterable: Iterable[T], desc: str, unit: str = "start") -> Iterable[T]:
    """``iterable`` under a ``progress=`` argument (:func:`wrapper`, counting ``unit``): unchanged for None or False.

    Examples:
        >>> list(wrapped(False, range(2), "demo")), list(wrapped(True, range(2), "demo"))
        ([0, 1], [0, 1])
    """
    wrap = wrapper(progress, unit)
    return iterable if wrap is None else wrap(iterable, desc)


__all__ = ["Progress", "iterate", "wrapper", "wrapped", "human", "in_notebook", "where", "enabled", "interval", "EVERY",
           "ANNOUNCE_SECONDS"]
