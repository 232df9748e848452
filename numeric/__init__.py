"""Numeric layer of markov-icl: prompt sampling, LSA models, training, Monte Carlo.

Imports torch / numpy, and :mod:`symbolic` only through its lambdified exports and the
chain-law value objects.
"""
