"""Paper-figure experiments (``markov-icl experiment NAME``); see :mod:`derivations.registry`."""
