"""Derivations of the paper's results, the CLI, and the importable formulas.

One module per result composes :mod:`symbolic` into a statement, steps, results and
checks; :mod:`derivations.cli` is the ``markov-icl`` command.
"""
