"""Engine-independent oracles, shared by the derivation documents' checks and the tests.

Nothing here imports the engine (a test reads these files and checks it): brute-force
enumeration of tiny prompts, a plain NumPy sampler, and the paper's definitions written out
by hand. Installed as ``markov_icl.oracles``; the files live in ``tests/oracles/``.

Examples:
    >>> from markov_icl.oracles import phi_by_definition
    >>> phi_by_definition([1, 2], [[3], [5]])
    [3, 11, 10]
"""

from .binary import (
    closed_form_d1,
    enumerate_objective,
    feature_index,
    features,
    mean_se,
    min_over_A,
    monte_carlo_objective,
    objective_at_n,
    phi_by_definition,
    s1_matrix,
    sample_chains,
)
from .multistate import dirichlet_row_moment, enumerate_multistate, multistate_at_n

__all__ = ["closed_form_d1", "enumerate_objective", "feature_index", "features", "mean_se", "min_over_A",
           "monte_carlo_objective", "objective_at_n", "phi_by_definition", "s1_matrix", "sample_chains",
           "dirichlet_row_moment", "enumerate_multistate", "multistate_at_n"]
