#!/bin/sh
# The long profile of the property-based tests (tests/test_properties.py): 3000 random examples per property
# instead of the 40 derandomized ones of `make test`. It covers the parsers and the option checks of objective,
# realize, verify, optimum, evaluate (with a saved model), dynamics and the experiments, the arrays a model file
# may hold (check_array), and sweep files (checked against each kind's command; every accepted cell parses).
# A run takes about 3.5 minutes on a 2-core machine (200 s measured, the machine shared) (it found two faults the small profile missed).
#   sh benchmarks/fuzz.sh            (extra pytest options may follow, e.g. -x)
MARKOV_ICL_HYPOTHESIS=fuzz exec "${PYTHON:-.venv/bin/python}" -m pytest -q -p no:cacheprovider tests/test_properties.py "$@"
