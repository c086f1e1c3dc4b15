"""Figures and analyses of a client's support: facts, failure signals, metrics (issue 14)."""
