"""``python -m markov_icl``: the ``markov-icl`` command."""

from markov_icl.cli import main

raise SystemExit(main())
