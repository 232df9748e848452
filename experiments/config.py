"""Experiment configurations as data: frozen dataclasses with defaults, a ``paper`` preset and checks.

Each figure's options are the fields of one frozen dataclass (a subclass of :class:`Config`),
declared with :func:`option` (default, help text, the rule its value must obey). The
configuration checks itself when it is made, so ``Fig4Config(steps=0)`` raises
:class:`~markov_icl.errors.MarkovICLError` with one line, from Python as from the command
line; the command line builds its options from the fields (:func:`add_options`) and merges
them the way latexify-py merges its ``Config``: defaults, then the ``--paper`` preset, then
the options given explicitly.

Examples:
    >>> from markov_icl.experiments.fig5 import Fig5Config
    >>> Fig5Config().n, Fig5Config.paper().n, Fig5Config.paper(n=50).n
    (30, 100, 50)
    >>> Fig5Config(seeds=0)
    Traceback (most recent call last):
    ...
    markov_icl.errors.MarkovICLError: --seeds must be an integer >= 1, got 0
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

from markov_icl.errors import MarkovICLError, check_int, check_positive_float, float_option, int_option, shown
from markov_icl.limits import check_at_most, check_seed
from markov_icl.symbolic.laws import parse_probability

#: the rules a field may carry (``check=``) and what they allow
CHECKS = {
    "int>=1": "an integer >= 1",
    "int>=0": "an integer >= 0",
    "seed": "an integer in 0 .. 2^63 - 1",
    "float>0": "a finite number > 0",
    "p": "an exact rational in (0, 1)",
    "ints>=1": "integers >= 1",
    "ints>=2": "integers >= 2",
    "choice": "one of the choices",
    "bool": "true or false",
    "text": "text checked by the experiment",
}
# a rule followed by "?" also allows None (an option that is off unless given), e.g. "int>=1?"


def option(default: Any, help: str, check: str = "text", choices: tuple | None = None,
           at_most: int | float | None = None, why: str = "") -> Any:
    """A configuration field: its default, its help text, the rule of :data:`CHECKS` it obeys and, for
    numbers, the largest value allowed (``at_most``, with ``why`` it is there: :mod:`markov_icl.limits`)."""
    if check.rstrip("?") not in CHECKS:
        raise ValueError(f"unknown check {check!r}")
    return field(default=default, metadata={"help": help, "check": check, "choices": choices, "at_most": at_most,
                                            "why": why})


def flag(name: str) -> str:
    """The command-line spelling of a field (``eval_every`` -> ``--eval-every``)."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class Config:
    """Base class of the experiments' configurations (module docstring)."""

    #: the paper's settings (field name -> value); empty when the figure has no preset
    PAPER: ClassVar[dict] = {}
    #: what the preset is, when it is not the paper's own statement (shown by ``--help``)
    PAPER_NOTE: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in fields(self):
            self._check(f, getattr(self, f.name))

    @staticmethod
    def _check(f: dataclasses.Field, value: Any) -> None:
        rule, name = f.metadata.get("check", "text"), flag(f.name)
        if rule.endswith("?"):
            if value is None:
                return
            rule = rule[:-1]
        if rule == "int>=1":
            check_int(name, value, 1)
        elif rule == "int>=0":
            check_int(name, value, 0)
        elif rule == "seed":
            check_seed(name, check_int(name, value, 0))
        elif rule == "float>0":
            check_positive_float(name, value)
        elif rule == "p":
            parse_probability(value, name)
        elif rule in ("ints>=1", "ints>=2"):
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__") or not list(value):
                raise MarkovICLError(f"{name} must be a non-empty list of {CHECKS[rule]}, got {value!r}")
            for v in value:
                check_int(name, v, int(rule[-1]))
                if f.metadata.get("at_most") is not None:
                    check_at_most(name, v, f.metadata["at_most"], f.metadata["why"])
        elif rule == "choice" and value not in f.metadata["choices"]:
            raise MarkovICLError(f"{name} must be one of {', '.join(map(str, f.metadata['choices']))}, got {value!r}")
        elif rule == "bool" and not isinstance(value, bool):
            raise MarkovICLError(f"{name} must be true or false, got {value!r}")
        limit = f.metadata.get("at_most")
        if limit is not None and rule in ("int>=1", "int>=0", "float>0") and value > limit:
            raise MarkovICLError(f"{name} must be at most {limit:g} ({f.metadata['why']}), got {shown(value)}")

    @classmethod
    def paper(cls, **overrides):
        """The paper's settings (:attr:`PAPER`), with ``overrides`` winning."""
        return cls(**{**cls.PAPER, **overrides})

    def merge(self, **overrides):
        """A copy with ``overrides`` applied (checked again)."""
        return replace(self, **overrides)

    def as_dict(self) -> dict:
        """The fields and their values."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def comma_list(text, name: str, parse, what: str) -> list:
    """The values of a comma-separated option (``"1/4,1/2"``), each read by ``parse`` (which raises
    :class:`~markov_icl.errors.MarkovICLError` or ``ValueError`` for a bad item); ``what`` names the allowed values
    with an example, for the error. Repeated values are refused.

    Examples:
        >>> comma_list("1, 2", "--ks", int, "integers such as 1,2")
        [1, 2]
        >>> comma_list("1,1", "--ks", int, "integers such as 1,2")
        Traceback (most recent call last):
        ...
        markov_icl.errors.MarkovICLError: --ks lists a value twice: '1,1'
    """
    items = [t.strip() for t in str(text).split(",")]
    bad = MarkovICLError(f"{name} must be a comma-separated list of {what}, got {shown(text)}")
    if any(not t for t in items):
        raise bad
    try:
        values = [parse(t) for t in items]
    except MarkovICLError:  # the item's own message (MarkovICLError is a ValueError)
        raise
    except ValueError:
        raise bad from None
    if len(set(values)) != len(values):
        raise MarkovICLError(f"{name} lists a value twice: {shown(text)}")
    return values


def write_outputs(out, tables: dict, figure=None) -> list:
    """Write each CSV of ``tables`` (file name -> rows, floats at full precision) into ``out`` atomically, then
    ``figure = (file name, draw)`` with ``draw(path) -> path``; returns the paths written, in that order."""
    from pathlib import Path

    from markov_icl.io import write_records

    out = Path(out)
    written = [write_records(out / name, rows, float_format="") for name, rows in tables.items()]
    if figure is not None:
        name, draw = figure
        written.append(draw(out / name))
    return written


def add_options(ap: argparse.ArgumentParser, config_cls: type[Config]) -> None:
    """Command-line options from the fields of ``config_cls``; an option not given is absent from the
    parsed namespace (``argparse.SUPPRESS``), so that merging can tell it from a default."""
    for f in fields(config_cls):
        meta = f.metadata
        default = f.default
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        paper = config_cls.PAPER.get(f.name)
        text = f"{meta['help']} (default {shown}" + (f"; --paper {paper}" if paper is not None else "") + ")"
        kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS}
        rule = meta["check"].rstrip("?")
        if rule == "bool":
            if default:
                ap.add_argument("--no-" + f.name.replace("_", "-"), action="store_false", help=text, **kw)
            else:
                ap.add_argument(flag(f.name), action="store_true", help=text, **kw)
            continue
        if rule in ("ints>=1", "ints>=2"):
            kw.update(type=int_option, nargs="+")
        elif rule in ("int>=1", "int>=0", "seed"):
            kw["type"] = int_option
        elif rule == "float>0":
            kw["type"] = float_option
        if rule == "choice":
            kw["choices"] = meta["choices"]
        ap.add_argument(flag(f.name), help=text, **kw)


def from_namespace(config_cls: type[Config], args: argparse.Namespace, paper: bool = False) -> Config:
    """The configuration of parsed options: defaults, then the paper's preset (``paper``), then the options given."""
    given = {f.name: getattr(args, f.name) for f in fields(config_cls) if hasattr(args, f.name)}
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
    return config_cls.paper(**given) if paper else config_cls(**given)


__all__ = ["Config", "option", "flag", "add_options", "from_namespace", "write_outputs", "comma_list", "CHECKS"]
