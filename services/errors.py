"""Failures a provider can act on; the API turns each into a 4xx with its message."""

from __future__ import annotations


class InputError(ValueError):
    """The request names something that does not fit (422)."""


class NotFoundError(LookupError):
    """The provider has no such thing (404); another provider's things are not found either."""


class ConflictError(Exception):
    """The request clashes with what is already there (409)."""
