"""The Jinja2 sandbox that every message template renders in, the shipped ones and providers'.

Providers' templates are untrusted. They render in an immutable SandboxedEnvironment
(no access to internals such as `''.__class__`, no mutation of lists) with
StrictUndefined (a misspelt variable is an error, not an empty string), and what
could exhaust memory or time is refused or bounded: no `str.format` or `%`, a short
list of filters and string methods, no macros, call or block assignments of their
own, `range()` up to 1000, the source and the rendered text limited in size. Every
operator, filter, call and loop goes through a hook that refuses a result too large
before it is computed and spends the rendering's budget (store/template_budget.py);
none is evaluated at compile time. Plain-text mail: no autoescape.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from jinja2 import (
    Environment,
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
from jinja2.utils import _PassArg, pass_context, pass_environment
from jinja2.visitor import NodeTransformer

from models.templates import MAX_TEMPLATE_CHARS, TemplatePart
from store.template_budget import (
    MAX_BITS,
    TOO_MANY_BITS,
    OverBudget,
    built,
    check_binop,
    check_search,
    check_search_work,
    check_size,
    current_budget,
    rendering,
    tick,
)

MAX_RANGE = 1000
"""The most numbers `range()` gives a template."""
MAX_ROUND_DIGITS = 100
"""The most digits `round` may keep or drop."""
MACROS = "macros.j2"
"""The shipped macros, which a provider's template may import."""
COMPILED = 64
"""The providers' templates kept compiled: a save's check renders one once for each
variant of its kind, the worker once for each message."""

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


# Every filter takes the context (these below, the others through _guarded): Jinja then never
# calls one when it folds constant expressions at compile time, outside any budget.


@pass_context
def _loopable(context: Context, value: Any) -> Iterator[Any]:
    """What a provider's `for` loop iterates over, counted against the rendering's budget."""
    if isinstance(value, str):
        raise SecurityError("a loop over text is not available in templates")
    budget = current_budget()
    if budget is None:
        raise SecurityError("loops are not available here")
    for item in value:
        budget.loop()
        yield item


@pass_context
def _counted(context: Context, value: Any) -> Any:
    """A literal list, tuple or mapping, a slice or a comparison: measured and counted."""
    tick()
    return built(value)


@pass_context
def _concat(context: Context, parts: list[Any]) -> str:
    """`a ~ b`, refusing a result past the size of a message."""
    texts = [str(part) for part in parts]
    check_size(sum(len(text) for text in texts), "the text")
    return cast(str, built("".join(texts)))


def _join(value: Any, separator: str = "", attribute: str | None = None) -> str:
    items = list(value)
    check_size(sum(len(str(x)) for x in items) + len(separator) * len(items), "the joined text")
    return cast(str, _DEFAULT_FILTERS["join"](_EVAL_CONTEXT, items, separator, attribute))


def _replace(value: str, old: str, new: str, count: int | None = None) -> str:
    text = str(value)
    worst = (len(text) + 1) * len(new) if not old else len(text) // len(old) * len(new)
    check_size(len(text) + worst, "the replaced text")
    return text.replace(old, new, -1 if count is None else count)


def _trim(value: Any, chars: str | None = None) -> str:
    text = str(value)
    check_search_work("trim", text, chars)
    return text.strip(chars)


@pass_environment
def _sum(
    environment: Environment, value: Any, attribute: str | int | None = None, start: Any = 0
) -> Any:
    if not isinstance(start, int | float):
        raise SecurityError("sum adds numbers only in templates")
    return _DEFAULT_FILTERS["sum"](environment, value, attribute, start)


def _round(value: float, precision: int = 0, method: str = "common") -> float:
    if not isinstance(precision, int) or abs(precision) > MAX_ROUND_DIGITS:
        raise OverBudget(f"round keeps or drops at most {MAX_ROUND_DIGITS} digits")
    return cast(float, _DEFAULT_FILTERS["round"](value, precision, method))


def _arguments(context: Context, pass_arg: _PassArg | None) -> tuple[Any, ...]:
    if pass_arg is _PassArg.context:
        return (context,)
    if pass_arg is _PassArg.eval_context:
        return (context.eval_ctx,)
    return (context.environment,) if pass_arg is _PassArg.environment else ()


def _guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter or test whose every call is counted and whose result is measured."""
    pass_arg = _PassArg.from_obj(function)

    @pass_context
    def guarded(context: Context, /, *args: Any, **kwargs: Any) -> Any:
        tick()
        return built(function(*_arguments(context, pass_arg), *args, **kwargs))

    return guarded


def _wrapped(node: nodes.Node, name: str) -> nodes.Filter:
    return nodes.Filter(cast(nodes.Expr, node), name, [], [], None, None, lineno=node.lineno)


class _Hardened(NodeTransformer):
    """A provider's template with its loops counted and what it builds measured: the literals,
    the slices, the comparisons and the concatenations that no hook of the sandbox sees."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        if node.recursive:
            raise TemplateSyntaxError("recursive loops are not available", node.lineno)
        node = cast(nodes.For, self.generic_visit(node))
        node.iter = _wrapped(node.iter, "_loopable")
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        node = cast(nodes.Concat, self.generic_visit(node))
        return _wrapped(nodes.List(node.nodes, lineno=node.lineno), "_concat")

    def _counted(self, node: nodes.Expr) -> nodes.Node:
        return _wrapped(self.generic_visit(node), "_counted")

    visit_List = visit_Dict = visit_Compare = _counted

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        return self._counted(node) if node.ctx == "load" else self.generic_visit(node)

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
        sliced = isinstance(node.arg, nodes.Slice) and node.ctx == "load"
        return self._counted(node) if sliced else self.generic_visit(node)


class MessageSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with what could exhaust memory or time refused or bounded."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError("%-formatting of text is not available: use the filters")
        tick()
        check_binop(operator, left, right)
        return built(super().call_binop(context, operator, left, right))

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        tick()
        check_search(obj, args)
        return built(super().call(context, obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        tick()
        return super().getitem(obj, argument)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, type) or not super().is_safe_attribute(obj, attr, value):
            return False  # a class's attributes are its methods unbound: dict.update(d, ...)
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
    int: frozenset({"bit_length"}),  # not to_bytes(10**9)
    float: frozenset({"is_integer"}),
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
    filters: dict[str, Callable[..., Any]] = {
        **{name: f for name, f in env.filters.items() if name in _ALLOWED_FILTERS},
        "date": _date,
        "percent": _percent,
        "money": _money,
        "number": _number,
        "join": _join,
        "replace": _replace,
        "trim": _trim,
        "sum": _sum,
        "round": _round,
    }
    env.filters = {name: _guarded(f) for name, f in filters.items()}
    env.filters.update({"_loopable": _loopable, "_counted": _counted, "_concat": _concat})
    tests = cast(dict[str, Callable[..., Any]], env.tests)
    env.tests = {name: _guarded(test) for name, test in tests.items()}
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
    for const in tree.find_all(nodes.Const):
        if isinstance(const.value, int) and const.value.bit_length() > MAX_BITS:
            raise TemplateProblem(part, TOO_MANY_BITS, const.lineno)


def _parse(part: TemplatePart, source: str) -> nodes.Template:
    try:
        return ENVIRONMENT.parse(source)
    except ValueError:  # the lexer's int() of a literal past Python's 4,300 digits
        raise TemplateProblem(part, TOO_MANY_BITS) from None


def hardened(part: TemplatePart, source: str) -> nodes.Template:
    """A provider's template parsed, its refused constructs refused, and hardened."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateProblem(
            part, f"is {len(source)} characters long, at most {MAX_TEMPLATE_CHARS} are allowed"
        )
    if not source.strip():
        raise TemplateProblem(part, "is empty")
    tree = _parse(part, source)
    _refuse_constructs(part, tree)
    return cast(nodes.Template, _Hardened().visit(tree))


@lru_cache(maxsize=COMPILED)
def compile_untrusted(part: TemplatePart, source: str) -> Template:
    """A provider's template, parsed and compiled in the sandbox, or a TemplateProblem."""
    try:
        code = ENVIRONMENT.compile(hardened(part, source))
        return ENVIRONMENT.template_class.from_code(
            ENVIRONMENT, code, ENVIRONMENT.make_globals(None), None
        )
    except TemplateSyntaxError as error:
        raise TemplateProblem(part, error.message or str(error), error.lineno) from None
    except (RecursionError, SyntaxError):  # the parser's depth, or Python's nested blocks
        raise TemplateProblem(part, "nests its expressions or blocks too deeply") from None


def render_limited(
    part: TemplatePart, template: Template, variables: Mapping[str, Any], limit: int
) -> str:
    """Render, stopping as soon as the text passes `limit` characters."""
    chunks: list[str] = []
    size = 0
    try:
        with rendering() as budget:
            for chunk in template.generate(variables):
                size += len(chunk)
                if size > limit:
                    raise TemplateProblem(part, f"renders more than {limit} characters")
                budget.tick()
                chunks.append(chunk)
    except TemplateProblem:
        raise
    except OverBudget as error:
        raise TemplateProblem(part, str(error), _line_of(error)) from None
    except SecurityError as error:
        raise TemplateProblem(part, f"not allowed: {error}", _line_of(error)) from None
    except TemplateError as error:
        raise TemplateProblem(part, error.message or str(error), _line_of(error)) from None
    except RecursionError as error:
        raise TemplateProblem(part, "recurses too deeply", _line_of(error)) from None
    except Exception as error:  # anything a template can raise: 1/0, int('x'), ...
        raise TemplateProblem(part, f"{type(error).__name__}: {error}", _line_of(error)) from None
    return "".join(chunks)
