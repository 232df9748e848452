"""Size limits: every size a command takes is checked against them before any work starts.

A limit is either hard (the work could not finish on any machine, or the numbers are beyond
what the exact arithmetic handles) or a documented default that an explicit option raises
(``--max-d``). Memory is bounded through the largest arrays a command allocates: a batch of
prompts holds ``batch (n+1) (d+1)`` float64 entries, and the sampler and the forward pass
keep a handful of arrays of that size alive at once, so :data:`MAX_PROMPT_ENTRIES` keeps a
command under about 1 GiB. The README's "Reliability" section lists the limits.

Examples:
    >>> check_prompt_entries("--batch", 1024, n=10, d=1)
    >>> check_prompt_entries("--batch", 10**7, n=10, d=1)
    Traceback (most recent call last):
    ...
    markov_icl.errors.MarkovICLError: --batch: a batch of prompts would hold batch (n+1) (d+1) = 2.2e+08 entries; \
at most 1e+07 (about 1 GiB in use); lower --batch, --n or --d
"""

from __future__ import annotations

from markov_icl.errors import MarkovICLError
from markov_icl.progress import human

#: entries of one batch of prompts, ``batch (n+1) (d+1)`` (float64: 80 MB; training holds ~7 such arrays at
#: once, so a command stays under ~900 MB: measured peak 870 MB at 1e7 entries, 1.4 GB at 2e7)
MAX_PROMPT_ENTRIES = 10**7

#: entries of all Monte Carlo prompts of one command, ``samples (n+1) (d+1)`` (drawn in chunks: a time
#: limit, about 30 s on a 2-core machine)
MAX_MC_ENTRIES = 2 * 10**9

#: digits of the numerator and of the denominator of an exact input (p, n, kernel parameters, moments)
MAX_DIGITS = 50

#: seeds are stored in 64 bits
MAX_SEED = 2**63 - 1

#: layers of a trained multilayer model
MAX_LAYERS = 64

#: chain input length of a trained multilayer model (with MAX_LAYERS: at most ~5e5 parameters)
MAX_MODEL_D = 64

#: start directions of the multistart search for f*
MAX_STARTS = 4096

#: training steps of one command
MAX_STEPS = 10**6

#: Monte Carlo or held-out prompts of one command (drawn in chunks, so memory stays bounded)
MAX_SAMPLES = 10**8

#: the Dirichlet concentration of sampled S-state kernels (outside it the sampler's float64 arithmetic breaks down)
ALPHA_RANGE = (1e-3, 1e4)

#: default largest d of each command's exact path (raise with --max-d); "objective-symbolic": p or n left symbolic
DEFAULT_MAX_D = {"objective": 14, "objective-symbolic": 6, "realize": 6, "verify": 10, "fig4": 6, "fig5": 10}

#: the largest value ``--max-d`` accepts: beyond it H alone has over 2e7 exact entries (hours, many GiB)
HARD_MAX_D = 20

#: measured whole-command seconds of ``markov-icl objective --d D --p 1/2 --n 10 --json`` (numeric;
#: ``python benchmarks/objective_phases.py``: at d = 14 peak memory 1.2 GiB) and of
#: ``markov-icl objective --d D --json`` (symbolic p and n: H, beta, E[y^2] only beyond d = 3), 2-core machine
#: (docs/benchmarks.md)
OBJECTIVE_SECONDS = {5: 0.52, 6: 0.62, 7: 1.06, 8: 1.73, 9: 2.18, 10: 5.31, 11: 8.93, 12: 19.2, 13: 40.0, 14: 85.8}
SYMBOLIC_SECONDS = {5: 3.1, 6: 9.5, 7: 27.2}
#: measured mean seconds of one ``realize`` cell of ``examples/atlas.toml`` (2 workers, 2-core machine, shared):
#: the growth law ``markov-icl sweep`` schedules by (biggest first)
REALIZE_SECONDS = {1: 0.28, 2: 0.83, 3: 1.63, 4: 5.38}
#: measured seconds of the exact solve alone at d = 1..4 (n = 20), below :data:`OBJECTIVE_SECONDS`
SOLVE_SECONDS_SMALL_D = {1: 0.01, 2: 0.012, 3: 0.015, 4: 0.02}


#: default largest d of ``objective --states S`` (S > 2): the S-state objective grows far faster in d
MULTISTATE_MAX_D = {3: 4, 4: 2, 5: 2, 6: 1}

#: measured whole-command seconds of ``markov-icl objective --states S --d D --kernel dirichlet:1 --n 5``
#: (2-core machine, shared; ``None``: over 40 s, stopped; S = 6, d = 3 passed 2.7 GiB)
MULTISTATE_SECONDS = {(3, 3): 1.6, (3, 4): 17.0, (4, 2): 0.9, (4, 3): 38.0, (5, 2): 5.5, (5, 3): None, (6, 2): 29.0,
                      (6, 3): None}


def _check_max_d(max_d) -> None:
    if max_d is not None and not 1 <= max_d <= HARD_MAX_D:
        raise MarkovICLError(f"--max-d must be an integer in 1 .. {HARD_MAX_D} (beyond it H alone has over 2e7 exact "
                             f"entries), got {max_d}")


def check_multistate_d(states: int, d: int, max_d: int | None = None) -> int:
    """``d`` within the S-state objective's limit (:data:`MULTISTATE_MAX_D`, or ``max_d`` when given).

    Raises:
        MarkovICLError: naming the limit, the measured cost just above it and the option that raises it.
    """
    _check_max_d(max_d)
    limit = MULTISTATE_MAX_D.get(states, 1) if max_d is None else max_d
    if d > limit:
        t = MULTISTATE_SECONDS.get((states, limit + 1), "unknown")
        took = "" if t == "unknown" else (f" (d = {limit + 1} takes " + ("over 40 s" if t is None else f"{t:.0f} s")
                                          + " on a 2-core machine)")
        hint = "" if max_d is not None else f"; --max-d {d} allows it" if d <= HARD_MAX_D else \
            f"; --max-d raises it up to {HARD_MAX_D}"
        raise MarkovICLError(f"--d {d} is above objective's limit {limit} for {states} states{took}{hint}")
    return d


def estimated_seconds(d: int, table: dict | None = None) -> float:
    """Roughly how long ``objective`` takes at d (``table``: :data:`OBJECTIVE_SECONDS` by default), the
    measured times extrapolated by their last growth factor."""
    table = OBJECTIVE_SECONDS if table is None else table
    if d in table:
        return table[d]
    if d < min(table):
        return 0.5
    top = max(table)
    growth = table[top] / table[top - 1]
    return table[top] * growth ** min(d - top, 60)  # capped: beyond it "a day or more" anyway


def check_d(command: str, d: int, max_d: int | None = None, seconds=None) -> int:
    """``d`` within the command's limit (:data:`DEFAULT_MAX_D`, or ``max_d`` when given).

    ``seconds(d)`` (default: :func:`estimated_seconds` for ``objective``, nothing for the others)
    estimates the time at d for the message.

    Raises:
        MarkovICLError: d above the limit, naming the limit, the option that raises it and
            the estimated time.
    """
    _check_max_d(max_d)
    limit = DEFAULT_MAX_D[command] if max_d is None else max_d
    if seconds is None and command in ("objective", "verify"):
        seconds = estimated_seconds
    if seconds is None and command == "objective-symbolic":
        def seconds(x):
            return estimated_seconds(x, SYMBOLIC_SECONDS)
    if d > limit:
        t = seconds(d) if seconds else 0
        took = f" (at d = {d} it takes about {human(t)} on a 2-core machine)" if t >= 10 else ""
        hint = "" if max_d is not None else f"; --max-d {d} allows it" if d <= HARD_MAX_D else \
            f"; --max-d raises it up to {HARD_MAX_D}"
        which = "objective's limit" if command == "objective-symbolic" else f"{command}'s limit"
        what = " for symbolic p or n" if command == "objective-symbolic" else ""
        raise MarkovICLError(f"--d {d} is above {which} {limit}{what}{took}{hint}")
    return d


def announce(command: str, d: int, seconds=estimated_seconds, what: str = "the exact solve"):
    """The report of a command's exact work at d (:class:`~markov_icl.progress.Progress`, a context manager): a
    start line on stderr when it is estimated at 10 s or more (from the measured growth), once the work has run a
    second (a bad option found earlier prints only its error), then, when stderr is not a terminal, a line at least
    every 30 s until the block ends."""
    from markov_icl.progress import Progress

    t = seconds(d)
    return Progress(command, estimate=t, enabled=t >= 10, what=f"{what} at d = {d} (2-core machine)", delay=1.0)


#: ``optimum`` of a linear parameterization (ahn, zfb, gd) with p or n symbolic: the default largest d by the
#: number of symbolic variables (raise with --max-d up to :data:`OPTIMUM_SYMBOLIC_HARD_D`, the largest d where the
#: symbolic f~* is derived), and the measured whole-command seconds of ``markov-icl optimum --param ahn --d D
#: [--p 1/2 | --n 10] --json`` (the slowest preset; 2-core machine, shared; an exact fraction-field solve)
OPTIMUM_SYMBOLIC_MAX_D = {2: 2, 1: 3}
OPTIMUM_SYMBOLIC_HARD_D = {2: 3, 1: 4}
OPTIMUM_SYMBOLIC_SECONDS = {(2, 2): 2.6, (2, 3): 45.0, (1, 3): 4.4, (1, 4): 22.0}


def check_optimum_symbolic_d(d: int, symbolic: int, max_d: int | None = None) -> int:
    """``d`` of ``optimum`` with ``symbolic`` (1 or 2) of p, n left symbolic, within
    :data:`OPTIMUM_SYMBOLIC_MAX_D` (or ``max_d``, at most :data:`OPTIMUM_SYMBOLIC_HARD_D`); a note on stderr
    when the measured time is 10 s or more.

    Raises:
        MarkovICLError: naming the limit, the measured time above it and the option that raises it.

    Examples:
        >>> check_optimum_symbolic_d(2, 2)
        2
        >>> check_optimum_symbolic_d(3, 2)
        Traceback (most recent call last):
        ...
        markov_icl.errors.MarkovICLError: --d 3 is above optimum's limit 2 with p and n symbolic (at d = 3 it takes \
about 45 s on a 2-core machine); --max-d 3 allows it, or give --p and --n
    """
    _check_max_d(max_d)
    which = "p and n symbolic" if symbolic == 2 else "p or n symbolic"
    hard = OPTIMUM_SYMBOLIC_HARD_D[symbolic]
    limit = min(OPTIMUM_SYMBOLIC_MAX_D[symbolic] if max_d is None else max_d, hard)
    t = OPTIMUM_SYMBOLIC_SECONDS.get((symbolic, d))
    if d > limit:
        took = f" (at d = {d} it takes about {human(t)} on a 2-core machine)" if t else ""
        hint = f"; --max-d {d} allows it, or give" if d <= hard and max_d is None else \
            f"; symbolic optima are derived up to d = {hard}: give"
        hint += " --p and --n" if symbolic == 2 else " both --p and --n"
        raise MarkovICLError(f"--d {d} is above optimum's limit {limit} with {which}{took}{hint}")
    if t and t >= 10:
        import sys

        sys.stderr.write(f"optimum: the symbolic least squares at d = {d} with {which}; estimated {human(t)} "
                         "(2-core machine)\n")
    return d


def check_prompt_entries(what: str, batch: int, n: int, d: int, per_entry: int = 1) -> None:
    """``batch (n+1) (d+1) * per_entry`` within :data:`MAX_PROMPT_ENTRIES`; ``per_entry`` counts the arrays of
    that size a computation keeps beyond the plain batch (a multilayer model's activations, S-state rows).

    Raises:
        MarkovICLError: naming the option, the size and the limit.
    """
    entries = batch * (n + 1) * (d + 1) * per_entry
    if entries > MAX_PROMPT_ENTRIES:
        size = "batch (n+1) (d+1)" + (f" x {per_entry}" if per_entry > 1 else "")
        raise MarkovICLError(f"{what}: a batch of prompts would hold {size} = {entries:.3g} entries; at most "
                             f"{MAX_PROMPT_ENTRIES:.0e} (about 1 GiB in use); lower {what}, --n or --d")


def check_mc_entries(what: str, samples: int, n: int, d: int) -> None:
    """``samples (n+1) (d+1)`` within :data:`MAX_MC_ENTRIES` (the Monte Carlo work of one command).

    Raises:
        MarkovICLError: naming the largest ``samples`` allowed at this (n, d).
    """
    per = (n + 1) * (d + 1)
    if samples * per > MAX_MC_ENTRIES:
        raise MarkovICLError(f"{what}: {samples} prompts of (n+1) (d+1) = {per} entries are {samples * per:.3g} "
                             f"entries to sample; at most {MAX_MC_ENTRIES:.0e} (about 30 s): at n = {n}, d = {d} "
                             f"use {what} {max(MAX_MC_ENTRIES // per, 1)} or fewer")


def prompts_per_chunk(n: int, d: int, per_entry: int = 1, cap: int = 20_000) -> int:
    """How many prompts a Monte Carlo or evaluation chunk may hold under :data:`MAX_PROMPT_ENTRIES`.

    Raises:
        MarkovICLError: when not even one prompt fits.
    """
    per_prompt = (n + 1) * (d + 1) * per_entry
    fits = MAX_PROMPT_ENTRIES // per_prompt
    if fits < 1:
        raise MarkovICLError(f"one prompt would hold (n+1) (d+1) = {per_prompt:.2g} entries; at most "
                             f"{MAX_PROMPT_ENTRIES:.0e}; lower --n or --d")
    return int(min(cap, fits))


def check_seed(name: str, seed: int) -> int:
    """A seed in ``0 .. 2^63 - 1``."""
    if seed > MAX_SEED:
        raise MarkovICLError(f"{name} must be < 2**63, got {seed}")
    return seed


def check_at_most(name: str, value: int, limit: int, why: str) -> int:
    """``value <= limit``; else one line naming the limit and why it is there."""
    if value > limit:
        raise MarkovICLError(f"{name} must be at most {limit} ({why}), got {value}")
    return value


__all__ = ["MAX_PROMPT_ENTRIES", "MAX_DIGITS", "MAX_SEED", "MAX_LAYERS", "MAX_MODEL_D", "MAX_STARTS", "MAX_STEPS",
           "MAX_SAMPLES", "MAX_MC_ENTRIES", "ALPHA_RANGE", "check_mc_entries", "DEFAULT_MAX_D", "REALIZE_SECONDS",
           "SOLVE_SECONDS_SMALL_D",
           "MULTISTATE_MAX_D", "check_d", "check_multistate_d", "announce", "check_prompt_entries",
           "prompts_per_chunk", "check_seed", "check_at_most", "estimated_seconds", "check_optimum_symbolic_d",
           "OPTIMUM_SYMBOLIC_MAX_D", "OPTIMUM_SYMBOLIC_HARD_D", "OPTIMUM_SYMBOLIC_SECONDS"]
