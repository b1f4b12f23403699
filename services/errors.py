"""Failures a provider can act on; the API turns each into a 4xx with its message."""

from __future__ import annotations


class InputError(ValueError):
    """The request names something that does not fit (422)."""


class NotFoundError(LookupError):
    """The provider has no such thing (404); another provider's things are not found either."""


class ConflictError(Exception):
    """The request clashes with what is already there (409)."""


class RateLimitedError(Exception):
    """Too many requests of one kind for now (429); `retry_after` says in how many seconds
    the next one is taken."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
