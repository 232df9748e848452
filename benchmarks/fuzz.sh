#!/bin/sh
# The long profile of the property-based tests (tests/test_properties.py): 3000 random examples per property
# instead of the 40 derandomized ones of `make test`; a run takes about 3 minutes on a 2-core machine (it found two faults the small profile missed).
#   sh benchmarks/fuzz.sh            (extra pytest options may follow, e.g. -x)
MARKOV_ICL_HYPOTHESIS=fuzz exec "${PYTHON:-.venv/bin/python}" -m pytest -q -p no:cacheprovider tests/test_properties.py "$@"
