"""The one error type of markov-icl.

Every user mistake (a malformed rational, a probability outside (0, 1), an unknown
kernel spec, ...) raises :class:`MarkovICLError` with a message that says what was
wrong and what is allowed. The CLI prints it on one line and exits with status 2.
"""


class MarkovICLError(ValueError):
    """Bad input to the engine: the message says what was wrong and what is allowed."""
