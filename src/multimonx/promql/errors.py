"""Errors of query evaluation; the HTTP layer maps them to Prometheus's ``errorType``."""

from __future__ import annotations


class EvalError(Exception):
    """A query that cannot be evaluated (bad regex, bad label name, conflicting series...)."""


class QueryTimeout(EvalError):  # noqa: N818 - name fixed by the engine contract
    """The query ran longer than the configured timeout."""


class TooManySamples(EvalError):  # noqa: N818 - name fixed by the engine contract
    """The query would load more samples than the configured maximum."""
