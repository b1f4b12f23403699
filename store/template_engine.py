"""The Jinja2 sandbox that every message template renders in, the shipped ones and providers'.

Providers' templates are untrusted. They render in an immutable SandboxedEnvironment
(no access to internals such as `''.__class__`, no mutation of lists) with
StrictUndefined (a misspelt variable is an error, not an empty string), and what
could exhaust memory or time is refused or bounded: `str.format` and `%`, a short
list of filters and string methods, no macros, call or block assignments of their
own, `range()` up to 1000, loops counted against a budget, repetition,
concatenation and replacement up to the size of a message, the source and the
rendered text limited in size. Plain-text mail: no autoescape.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, cast

from jinja2 import (
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateSyntaxError,
    nodes,
)
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS as _DEFAULT_FILTERS
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_context
from jinja2.visitor import NodeTransformer

from models.templates import MAX_BODY_CHARS, MAX_TEMPLATE_CHARS, TemplatePart

MAX_RANGE = 1000
"""The most numbers `range()` gives a template."""
MAX_LOOP_ITERATIONS = 10_000
"""The most loop iterations one rendering of a provider's template may take."""
BUDGET = "_loop_budget"
"""The variable that carries a rendering's LoopBudget."""
MACROS = "macros.j2"
"""The shipped macros, which a provider's template may import."""

_ALLOWED_FILTERS = {
    "abs",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "first",
    "float",
    "groupby",
    "int",
    "items",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "select",
    "selectattr",
    "sort",
    "string",
    "sum",
    "title",
    "trim",
    "truncate",
    "unique",
    "upper",
    "wordcount",
}


class TemplateProblem(ValueError):
    """A template that cannot be used: which part, which line, and what is wrong."""

    def __init__(self, part: TemplatePart, message: str, line: int | None = None) -> None:
        self.part = part
        self.line = line
        self.problem = message
        where = f"{part.value} line {line}" if line else part.value
        super().__init__(f"{where}: {message}")


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "n/a"


def _percent(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value * 100:.{_digits(digits)}f}%"


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f}"


def _number(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{_digits(digits)}f}"


def _digits(digits: int) -> int:
    return max(0, min(int(digits), 6))


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() gives at most {MAX_RANGE} numbers in a template")
    return numbers


def _sized(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple) else 0


def _check_size(size: int, what: str) -> None:
    if size > MAX_BODY_CHARS:
        raise SecurityError(f"{what} longer than {MAX_BODY_CHARS} characters")


class LoopBudget:
    """The loop iterations one rendering of a provider's template may still take."""

    def __init__(self, iterations: int = MAX_LOOP_ITERATIONS) -> None:
        self._left = iterations

    def _spend(self) -> None:
        self._left -= 1
        if self._left < 0:
            raise SecurityError(f"loops run more than {MAX_LOOP_ITERATIONS} times in one message")


@pass_context
def _loopable(context: Context, value: Any) -> Iterator[Any]:
    """What a provider's `for` loop iterates over, counted against the rendering's budget."""
    if isinstance(value, str):
        raise SecurityError("a loop over text is not available in templates")
    budget = context.resolve_or_missing(BUDGET)
    if not isinstance(budget, LoopBudget):
        raise SecurityError("loops are not available here")
    for item in value:
        budget._spend()
        yield item


def _concat(parts: list[Any]) -> str:
    """`a ~ b`, refusing a result past the size of a message."""
    texts = [str(part) for part in parts]
    _check_size(sum(len(text) for text in texts), "text")
    return "".join(texts)


def _join(value: Any, separator: str = "", attribute: str | None = None) -> str:
    items = list(value)
    _check_size(sum(len(str(x)) for x in items) + len(separator) * len(items), "joined text")
    return cast(str, _DEFAULT_FILTERS["join"](_EVAL_CONTEXT, items, separator, attribute))


def _replace(value: str, old: str, new: str, count: int | None = None) -> str:
    text = str(value)
    worst = (len(text) + 1) * len(new) if not old else len(text) // len(old) * len(new)
    _check_size(len(text) + worst, "replaced text")
    return text.replace(old, new, -1 if count is None else count)


class _Hardened(NodeTransformer):
    """A provider's template with its loops counted and its concatenations bounded."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        if node.recursive:
            raise TemplateSyntaxError("recursive loops are not available", node.lineno)
        node = cast(nodes.For, self.generic_visit(node))
        node.iter = nodes.Filter(node.iter, "_loopable", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        node = cast(nodes.Concat, self.generic_visit(node))
        items = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(items, "_concat", [], [], None, None, lineno=node.lineno)


class MessageSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with what could exhaust memory or time refused or bounded."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError("%-formatting of text is not available: use the filters")
        if operator == "**" and (not isinstance(right, int | float) or abs(right) > 64):
            raise SecurityError("powers above 64 are not available in templates")
        if operator == "*":
            counts = [x for x in (left, right) if isinstance(x, int)]
            if counts:
                _check_size(max(_sized(left), _sized(right)) * counts[0], "repetition")
        if operator == "+":
            _check_size(_sized(left) + _sized(right), "sum")
        return super().call_binop(context, operator, left, right)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if not super().is_safe_attribute(obj, attr, value):
            return False
        for kind, allowed in _SAFE_METHODS.items():
            if isinstance(obj, kind) and callable(value):
                return attr in allowed
        return True

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if super().wrap_str_format(value) is None:
            return None

        def refused(*args: Any, **kwargs: Any) -> str:
            raise SecurityError("str.format is not available in templates: use the filters")

        return refused


_SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset(
        {
            "capitalize",
            "casefold",
            "count",
            "endswith",
            "find",
            "isalpha",
            "isdigit",
            "lower",
            "lstrip",
            "partition",
            "removeprefix",
            "removesuffix",
            "rfind",
            "rpartition",
            "rsplit",
            "rstrip",
            "split",
            "splitlines",
            "startswith",
            "strip",
            "swapcase",
            "title",
            "upper",
        }
    ),
    list: frozenset({"count", "index"}),
    tuple: frozenset({"count", "index"}),
    dict: frozenset({"get", "items", "keys", "values"}),
}


def _environment() -> MessageSandbox:
    env = MessageSandbox(
        loader=PackageLoader("store", "templates"),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters = {name: f for name, f in env.filters.items() if name in _ALLOWED_FILTERS}
    filters: dict[str, Callable[..., Any]] = {
        "date": _date,
        "percent": _percent,
        "money": _money,
        "number": _number,
        "join": _join,
        "replace": _replace,
        "_loopable": _loopable,
        "_concat": _concat,
    }
    env.filters.update(filters)
    env.globals = {"range": _range, "dict": dict}
    return env


ENVIRONMENT = _environment()
_EVAL_CONTEXT = EvalContext(ENVIRONMENT)


def shipped(name: str) -> Template:
    """One of the program's own templates (store/templates/NAME)."""
    return ENVIRONMENT.get_template(name)


def _line_of(error: BaseException) -> int | None:
    """The line of a provider's template (compiled from a string) where rendering failed."""
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename == "<template>"
    ]
    return lines[-1] if lines else None


_REFUSED: dict[type[nodes.Node], str] = {
    nodes.Macro: "a template may not define macros of its own; import the shipped ones with "
    f"{{% import '{MACROS}' as m %}}",
    nodes.CallBlock: "call blocks are not available in templates",
    nodes.AssignBlock: "block assignments ({% set x %}...{% endset %}) are not available",
    nodes.FilterBlock: "filter blocks are not available; apply the filter to a value",
}


def _refuse_constructs(part: TemplatePart, tree: nodes.Template) -> None:
    for node in tree.find_all(tuple(_REFUSED)):
        raise TemplateProblem(part, _REFUSED[type(node)], node.lineno)


def compile_untrusted(part: TemplatePart, source: str) -> Template:
    """A provider's template, parsed and compiled in the sandbox, or a TemplateProblem."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateProblem(
            part, f"is {len(source)} characters long, at most {MAX_TEMPLATE_CHARS} are allowed"
        )
    if not source.strip():
        raise TemplateProblem(part, "is empty")
    try:
        tree = ENVIRONMENT.parse(source)
        _refuse_constructs(part, tree)
        hardened = cast(nodes.Template, _Hardened().visit(tree))
        return ENVIRONMENT.template_class.from_code(
            ENVIRONMENT, ENVIRONMENT.compile(hardened), ENVIRONMENT.make_globals(None), None
        )
    except TemplateSyntaxError as error:
        raise TemplateProblem(part, error.message or str(error), error.lineno) from None


def render_limited(
    part: TemplatePart, template: Template, variables: Mapping[str, Any], limit: int
) -> str:
    """Render, stopping as soon as the text passes `limit` characters."""
    chunks: list[str] = []
    size = 0
    try:
        for chunk in template.generate({**variables, BUDGET: LoopBudget()}):
            size += len(chunk)
            if size > limit:
                raise TemplateProblem(part, f"renders more than {limit} characters")
            chunks.append(chunk)
    except TemplateProblem:
        raise
    except SecurityError as error:
        raise TemplateProblem(part, f"not allowed: {error}", _line_of(error)) from None
    except TemplateError as error:
        raise TemplateProblem(part, error.message or str(error), _line_of(error)) from None
    except RecursionError as error:
        raise TemplateProblem(part, "recurses too deeply", _line_of(error)) from None
    except Exception as error:  # anything a template can raise: 1/0, int('x'), ...
        raise TemplateProblem(part, f"{type(error).__name__}: {error}", _line_of(error)) from None
    return "".join(chunks)
