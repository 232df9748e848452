"""Progress of long work (markov_icl.progress): a start line with the estimate; when the output is not a terminal,
a progress line at least every interval (30 s, here shortened); a bar in a notebook without tqdm's warnings.

Oracles: the lines written to a plain text stream (what a log file receives) and their timestamps, the stderr of
a real command run with its output piped, and Python's warning machinery.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import warnings

import pytest

from markov_icl import progress
from markov_icl.progress import Progress


class Clocked(io.StringIO):
    """A text stream that records when each line arrives."""

    def __init__(self):
        super().__init__()
        self.times: list[float] = []

    def write(self, text):
        self.times += [time.perf_counter()] * text.count("\n")
        return super().write(text)


def test_a_log_gets_a_start_line_then_a_line_at_least_every_interval_even_during_one_long_step():
    log = Clocked()
    t0 = time.perf_counter()
    with Progress("work", total=4, unit="step", estimate=40, what="4 steps", stream=log, every=0.1) as bar:
        bar.update()
        time.sleep(0.55)  # one long step: the timer still reports
        bar.update(3)
    lines = log.getvalue().splitlines()
    assert lines[0] == "work: 4 steps; estimated 40 s"
    beats = [line for line in lines[1:-1] if re.fullmatch(r"work: 1/4 steps \(25%\), \d+ s elapsed, about \d+ s left", line)]
    assert len(beats) >= 3
    gaps = [b - a for a, b in zip([t0, *log.times], log.times)]
    assert max(gaps) < 0.1 + 0.25  # never silent for much longer than the interval (thread wake-up slack)
    assert re.fullmatch(r"work: done, 4 steps in \d+ s", lines[-1])


def test_short_work_is_not_announced_and_off_means_silent():
    log = io.StringIO()
    with Progress("quick", total=2, estimate=1.0, stream=log, every=5) as bar:
        bar.update(2)
    assert log.getvalue() == ""
    with Progress("off", total=2, estimate=100, stream=log, enabled=False) as bar:
        bar.update(2)
    assert log.getvalue() == ""


def test_a_notebook_without_ipywidgets_gets_a_text_bar_and_no_warning(monkeypatch):
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import fails: not installed
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tqdm's "IProgress not found" would fail here
        with Progress("nb", total=3, estimate=1.0) as bar:
            assert bar.mode == "notebook"
            for _ in range(3):
                bar.update()
    assert "nb:" in out.getvalue() and "/3 [" in out.getvalue()  # tqdm's text bar, on stderr


def test_the_interval_can_be_shortened_for_logs_but_not_lengthened(monkeypatch):
    monkeypatch.setenv("MARKOV_ICL_PROGRESS_SECONDS", "2")
    assert progress.interval() == 2.0
    monkeypatch.setenv("MARKOV_ICL_PROGRESS_SECONDS", "600")
    assert progress.interval() == progress.EVERY == 30.0
    monkeypatch.setenv("MARKOV_ICL_PROGRESS_SECONDS", "soon")
    assert progress.interval() == 30.0


@pytest.mark.parametrize("argv,start", [
    (["experiment", "fig4", "--steps", "800", "--no-f-star", "--no-plot"], r"fig4: 2 one-layer LSAs .* of 800 steps"),
    (["verify", "--d", "1", "--p", "1/2", "--n", "10", "--steps", "800", "--mc-samples", "2000"],
     r"train: 800 steps x 1024 prompts; estimated \d+ s"),
])
def test_a_long_command_writing_to_a_pipe_prints_a_start_line_and_progress_lines(argv, start, tmp_path):
    env = {**os.environ, "MARKOV_ICL_PROGRESS_SECONDS": "0.2", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "markov_icl", *argv, "--out" if argv[0] == "experiment" else "--json",
                           *([str(tmp_path)] if argv[0] == "experiment" else [])], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert re.search(start, lines[0]), lines[:3]
    assert any(re.search(r": \d+/\d+ steps \(\d+%\), \d+ s elapsed", line) for line in lines), lines
    assert re.search(r": done, \d+ steps in \d+ s$", lines[-1]), lines[-3:]


def test_every_figure_estimates_its_run():
    import importlib

    from markov_icl.experiments import EXPERIMENTS

    for name, module in EXPERIMENTS.items():
        mod = importlib.import_module(module)
        if name == "fig2":  # one training run: train's own estimate (train_seconds)
            continue
        t = mod.estimate_seconds(mod.CONFIG())
        assert 1 < t < 600, (name, t)  # laptop defaults: seconds to minutes
        assert mod.estimate_seconds(mod.CONFIG.paper()) >= t  # the paper's sizes are at least the defaults


def test_a_delayed_start_line_is_not_printed_for_work_that_stops_at_once():
    log = io.StringIO()
    with pytest.raises(ValueError), Progress("work", estimate=60, stream=log, every=5, delay=0.5):
        raise ValueError("a bad option")  # found before the delay: no start line, one error
    assert log.getvalue() == ""
    with Progress("work", estimate=60, what="long work", stream=log, every=5, delay=0.1):
        time.sleep(0.3)
    assert log.getvalue().splitlines()[0] == "work: long work; estimated 60 s"


def test_ngd_and_softmax_announce_the_sizes_that_run_long():
    """The commands' own estimates against run times measured on the 2-core machine (`markov-icl ngd ... --json`
    and `markov-icl softmax ...`, 2026-12-03): work measured at 10 s or more gets a start line (estimate >= 10 s),
    work measured at about 4 s does not, and no estimate is off by more than a factor of 3."""
    from markov_icl.cli import ngd, softmax
    from markov_icl.symbolic.softmax import type_vector_count

    measured = {(1, 10, 0): 4.0, (2, 8, 0): 10.2, (3, 4, 0): 16.9, (2, 10, 0): 11.8, (1, 10, 1000): 16.7}  # s
    for (d, n, steps), seconds in measured.items():
        est = ngd.estimate_seconds(d, n, True, type_vector_count(d, n), 20_000, True, steps)
        assert (est >= progress.ANNOUNCE_SECONDS) == (seconds >= 10), (d, n, steps, est)
        assert seconds / 3 < est < 3 * seconds, (d, n, steps, est)
    assert 40 / 3 < ngd.estimate_seconds(2, 30, False, 0, 20_000, True, 0) < 3 * 40   # Monte Carlo: 41 s
    assert 40 / 3 < softmax.estimate_seconds(type_vector_count(2, 12), 12) < 3 * 40       # softmax --d 2 --n 12: 40 s
