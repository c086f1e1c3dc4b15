"""Analyses of a client's support for continuous improvement (issue 14): facts, failure signals, figures,
reports. Definitions: docs/metrics.md."""
