"""The documentation, installed with the package as ``markov_icl.docs`` (``markov-icl docs`` prints where).

The Markdown files here are the project's reference (the theory, cited as "theory §N", the
commands, the Python API, the experiments, the benchmarks) and the sources of the API reference
site (``make docs``). :func:`path` gives a file's installed location.

Examples:
    >>> sorted(PAGES)[:3]
    ['benchmarks', 'commands', 'experiments']
    >>> path("theory").name
    'theory.md'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: page name -> what it holds (``markov-icl docs NAME`` prints its path)
PAGES = {
    "theory": "the theory reference: setting, notation, every formula and how it is computed (cited as theory §N)",
    "commands": "each command, its options and real output",
    "python": "the library from Python",
    "experiments": "the paper's Figs. 2-7 as measured here",
    "benchmarks": "timings, with their conditions and the commands that reproduce them",
}


def path(name: str) -> Path:
    """The installed Markdown file of page ``name`` (:data:`PAGES`)."""
    return Path(str(resources.files(__name__).joinpath(f"{name}.md")))


__all__ = ["PAGES", "path"]
