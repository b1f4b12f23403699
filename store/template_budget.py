"""What one rendering of a provider's template may spend, and how large what it builds may be.

A number a template builds has at most MAX_BITS bits, a text, list or mapping at most
MAX_VALUE_SIZE characters (a list as it would print: a list of lists counts every item of
each); an operation whose result would be larger is refused before it is computed, so that
no one step of a rendering costs more than milliseconds. A rendering then builds at most
MAX_BUILT characters in all, runs its loops at most MAX_LOOP_ITERATIONS times and takes at
most MAX_RENDER_SECONDS of its thread's processor time; a save's check of every variant, or
a preview, at most MAX_CHECK_SECONDS.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Mapping, MappingView
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any, cast

from jinja2.exceptions import SecurityError

from models.templates import MAX_BODY_CHARS

MAX_BITS = 4096
"""The most bits of a number a template builds: 1,234 digits printed (Python prints at most
4,300), microseconds for any operation on two of them."""
MAX_VALUE_SIZE = MAX_BODY_CHARS
"""The most characters of a text a template builds, or of a list or mapping as size_of
counts them."""
MAX_BUILT = 2_000_000
"""The most characters one rendering builds in all: at most some 30 MB."""
MAX_LOOP_ITERATIONS = 10_000
"""The most loop iterations one rendering of a provider's template may take."""
MAX_RENDER_SECONDS = 0.5
"""The processor time one rendering may take."""
MAX_CHECK_SECONDS = 1.0
"""The processor time a save's check of every variant of a kind, or a preview, may take."""
MAX_SEARCH_WORK = 10_000_000
"""The most characters of a text times those of the argument of a search that takes that
long (`rfind`, `rsplit`, `rpartition`, `strip` with characters): some 10 ms."""
CLOCK_EVERY = 64
"""The steps (or characters built) between two looks at the clock."""

TOO_MANY_BITS = f"a number in this template would have more than {MAX_BITS} bits"
_SLOW_SEARCHES = frozenset({"rfind", "rsplit", "rpartition", "strip", "lstrip", "rstrip"})
_COLLECTIONS = (list, tuple, dict, set, frozenset, range)
_VIEWS = (Mapping, MappingView)
_PLAIN = (str, int, float, list, tuple, dict, type(None))
_OTHER = 8
"""What a value that is no text, number or collection counts: about its printed length."""


class OverBudget(SecurityError):
    """A template that would spend more than it may: the message says what."""


@dataclass(frozen=True)
class _Deadline:
    seconds: float
    at: float

    def check(self) -> None:
        if time.thread_time() > self.at:
            raise OverBudget(f"takes more than {self.seconds:g} s of processor time to render")


class RenderBudget:
    """What one rendering may still spend: loop iterations, characters built, time."""

    def __init__(self, deadline: _Deadline) -> None:
        self._loops = MAX_LOOP_ITERATIONS
        self._built = MAX_BUILT
        self._deadline = deadline
        self._work = 0

    def loop(self) -> None:
        self._loops -= 1
        if self._loops < 0:
            raise OverBudget(f"loops run more than {MAX_LOOP_ITERATIONS} times in one message")
        self.tick()

    def build(self, size: int) -> None:
        self._built -= size
        if self._built < 0:
            raise OverBudget(f"builds more than {MAX_BUILT:,} characters in all")
        self.tick(size)

    def tick(self, work: int = 1) -> None:
        self._work += work
        if self._work >= CLOCK_EVERY:
            self._work = 0
            self._deadline.check()


_DEADLINE: ContextVar[_Deadline | None] = ContextVar("template_deadline", default=None)
_BUDGET: ContextVar[RenderBudget | None] = ContextVar("template_budget", default=None)


@contextmanager
def time_budget(seconds: float = MAX_RENDER_SECONDS) -> Iterator[None]:
    """The renderings inside share one deadline: `seconds` of this thread's processor time from
    now, or the deadline of the time budget this one is inside."""
    if _DEADLINE.get() is not None:
        yield
        return
    token = _DEADLINE.set(_Deadline(seconds, time.thread_time() + seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


@contextmanager
def rendering() -> Iterator[RenderBudget]:
    """A new rendering's budget, spent by the sandbox's hooks until the rendering ends."""
    with time_budget():
        deadline = _DEADLINE.get()
        assert deadline is not None
        budget = RenderBudget(deadline)
        token = _BUDGET.set(budget)
        try:
            yield budget
        finally:
            _BUDGET.reset(token)


def current_budget() -> RenderBudget | None:
    return _BUDGET.get()


def tick() -> None:
    """One step of a rendering: a look at the clock now and then."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


def check_size(size: int, what: str) -> None:
    if size > MAX_VALUE_SIZE:
        raise OverBudget(f"{what} would be longer than {MAX_VALUE_SIZE} characters")


def size_of(value: Any, limit: int = MAX_VALUE_SIZE) -> int:
    """About the characters `value` prints as, counted deeply: a text's, a number's digits, a
    collection's one for each item and the item's own; the count stops past `limit`."""
    size = 0
    pending = [value]
    while pending and size <= limit:
        item = pending.pop()
        if isinstance(item, str):
            size += len(item)
        elif isinstance(item, int):
            size += 1 + item.bit_length() // 3
        elif isinstance(item, float) or item is None:
            size += _OTHER
        elif isinstance(item, _COLLECTIONS) or isinstance(item, _VIEWS):
            items = (
                chain.from_iterable(item.items())
                if isinstance(item, Mapping)
                else cast(Iterable[Any], item)
            )
            taken = list(islice(items, limit - size + 1))
            size += 1 + len(taken)
            pending.extend(taken)
        else:
            size += _OTHER
    return size


def built(value: Any) -> Any:
    """`value`, just made by a template (an iterator as a list), counted against the
    rendering's budget; OverBudget if it is larger than a template may build."""
    if not isinstance(value, _PLAIN) and isinstance(value, Iterator):
        value = _listed(value)
    if isinstance(value, int) and value.bit_length() > MAX_BITS:
        raise OverBudget(TOO_MANY_BITS)
    size = size_of(value)
    check_size(size, "a value in this template")
    budget = _BUDGET.get()
    if budget is not None:
        budget.build(size)
    return value


def _listed(items: Iterator[Any]) -> list[Any]:
    listed: list[Any] = []
    size = 1
    for item in items:
        size += 1 + size_of(item, MAX_VALUE_SIZE - size)
        check_size(size, "a list in this template")
        listed.append(item)
    return listed


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `left operator right` before it is computed if its result would be too large."""
    if operator == "**":
        _check_power(left, right)
    elif operator == "*":
        _check_product(left, right)
    elif operator == "+":
        check_size(size_of(left) + size_of(right), "the sum")


def _check_power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)) or abs(base) < 2:
        return  # a float's power is one; a negative exponent's, a float
    if exponent > MAX_BITS or exponent * math.log2(abs(base)) > MAX_BITS:
        raise OverBudget(TOO_MANY_BITS)


def _check_product(left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() - 1 > MAX_BITS:
            raise OverBudget(TOO_MANY_BITS)
        return
    for count, repeated in ((left, right), (right, left)):
        if isinstance(count, int) and isinstance(repeated, str | list | tuple):
            check_size(size_of(repeated) * count, "the repetition")


def check_search(method: Any, args: tuple[Any, ...]) -> None:
    """Refuse a search whose time is the product of the text's length and its argument's."""
    name = getattr(method, "__name__", None)
    text = getattr(method, "__self__", None)
    if name in _SLOW_SEARCHES and isinstance(text, str) and args:
        check_search_work(name or "", text, args[0])


def check_search_work(name: str, text: str, argument: Any) -> None:
    if isinstance(argument, str) and len(text) * len(argument) > MAX_SEARCH_WORK:
        raise OverBudget(
            f"{name}() of a text of {len(text)} characters with an argument of "
            f"{len(argument)} would take too long: the two lengths multiplied are at most "
            f"{MAX_SEARCH_WORK:,}"
        )
