"""Exact mathematics of markov-icl (SymPy only, never torch).

Data flows one way: chain law (:mod:`symbolic.laws`) -> conditional moments and kernel
integration (:mod:`symbolic.moments`) -> the objective H, beta, X*, f~*
(:mod:`symbolic.objective`) -> certificates (:mod:`symbolic.certify`) -> exports
(:mod:`symbolic.export`).
"""

from symbolic.errors import MarkovICLError
from symbolic.laws import ChainLaw, InitLaw, KernelLaw, parse_value

__all__ = ["MarkovICLError", "ChainLaw", "InitLaw", "KernelLaw", "parse_value"]
