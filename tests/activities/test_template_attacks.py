"""A provider's template costs at most a small, fixed budget to save, preview or send: each
attack below is refused with a reason in plain words (or renders harmlessly) and none hangs;
nothing of a template is computed when it is compiled."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from models.notifications import NotificationKind
from models.templates import TemplatePart
from store.message_samples import sample_variables
from store.messages import TemplateOverride, render_variables
from store.template_budget import MAX_BITS, time_budget
from store.template_engine import ENVIRONMENT, MessageSandbox, TemplateProblem, hardened

HANG = 10.0
"""Seconds after which a rendering is taken for hung: a guard, not a timing."""
WELCOME = NotificationKind.WELCOME
CHAINED_POWERS = "{{ (((10**64)**64)**64)**64 > 1 }}"
LEGAL_BUT_SLOW = (
    "{% for i in range(90) %}{% for j in range(100) %}"
    "{% if (i * j) % 7 == 3 and partner.upper() %}{% endif %}"
    "{% endfor %}{% endfor %}done"
)
T = TypeVar("T")


def finishing(work: Callable[[], T]) -> T:
    """`work()`, run in a thread of its own that must end within HANG seconds."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG)
    assert not thread.is_alive(), f"still running after {HANG} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


def render_body(body: str, seconds: float | None = None) -> str:
    """The welcome's body from `body`, as a save's check renders it; within a time budget of
    `seconds` where given."""
    override = TemplateOverride(body=body)

    def render() -> str:
        return render_variables(WELCOME, sample_variables(WELCOME), override, strict=True)[1]

    def budgeted() -> str:
        assert seconds is not None
        with time_budget(seconds):
            return render()

    return finishing(render if seconds is None else budgeted)


def nested(opening: str, closing: str, depth: int, inner: str = "1") -> str:
    return opening * depth + inner + closing * depth


def exponential_blocks(levels: int) -> str:
    """Each block renders the next twice: legal step by step, 2**levels steps in all.

    The last block is empty, so the output never grows and only the processor-time budget can
    stop it (a growing output would meet the length limit first on a fast machine)."""
    blocks = [
        f"{{% block b{i} %}}{{{{ self.b{i + 1}() }}}}{{{{ self.b{i + 1}() }}}}{{% endblock %}}"
        for i in range(levels)
    ]
    return "".join(blocks) + f"{{% block b{levels} %}}{{% endblock %}}"


BITS = f"a number in this template would have more than {MAX_BITS} bits"
LONGER = "would be longer than 64000 characters"
TOO_DEEP = "nests its expressions or blocks too deeply"

REFUSED = {
    "chained-powers": (CHAINED_POWERS, f"body line 1: {BITS}"),
    "one-more-power": ("{{ ((((10**64)**64)**64)**64)**8 > 1 }}", BITS),
    "a-power": ("{{ 2 ** 5000 }}", BITS),
    "a-product": ("{% set x = 10 ** 1000 %}{{ x * x * x * x * x }}", BITS),
    "doubling": ("{% set x = 2 ** 4095 %}{{ x + x }}", BITS),
    "doubling-by-minus": ("{% set x = 2 ** 4095 %}{{ x - -x }}", BITS),
    "a-long-literal": ("{{ 1" + "1" * 5000 + " }}", BITS),
    "a-hex-literal": ("\n{{ 0x" + "f" * 2000 + " }}", f"body line 2: {BITS}"),
    "a-hex-text": ("{{ ('f' * 60000)|int(base=16) }}", BITS),
    "text-repetition": ("{{ 'a' * 10**9 }}", f"the repetition {LONGER}"),
    "list-repetition": ("{{ [1] * 10**8 }}", f"the repetition {LONGER}"),
    "lists-of-lists": (
        "{% set a = [1] * 20000 %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}"
        "{{ [b, b, b, b, b, b, b, b, b, b]|length }}",
        f"a value in this template {LONGER}",
    ),
    "concatenation": ("{% set s = 'x' * 40000 %}{{ s ~ s }}", f"the text {LONGER}"),
    "concatenations": ("{% set s = 'x' * 9000 %}{{ s ~ s ~ s ~ s ~ s ~ s ~ s ~ s }}", LONGER),
    "a-sum-of-texts": ("{% set s = 'x' * 40000 %}{{ s + s }}", f"the sum {LONGER}"),
    "concatenation-in-a-loop": (
        "{% set s = 'x' * 60000 %}{% for i in range(1000) %}{% set t = s ~ '' %}{% endfor %}",
        "builds more than 2,000,000 characters in all",
    ),
    "copies": (
        "{% set a = 'x' * 60000 %}" + "".join(f"{{% set a{i} = a[1:] %}}" for i in range(40)),
        "builds more than 2,000,000 characters in all",
    ),
    "nested-ranges": (
        "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
        "loops run more than 10000 times in one message",
    ),
    "a-long-range": ("{{ range(10**9)|length }}", "range() gives at most 1000 numbers"),
    "deep-parentheses": ("{{ " + nested("(", ")", 500) + " }}", TOO_DEEP),
    "deep-lists": ("{{ " + nested("[", "]", 500) + " }}", TOO_DEEP),
    "nested-loops": (nested("{% for i in [1] %}", "{% endfor %}", 30, "x"), TOO_DEEP),
    "nested-ifs": (nested("{% if 1 %}", "{% endif %}", 300, "x"), TOO_DEEP),
    "a-format-width": ("{{ '{:>999999999}'.format(1) }}", "str.format is not available"),
    "a-percent-width": ("{{ '%999999999d' % 1 }}", "%-formatting of text is not available"),
    "center": ("{{ 'a'|center(10**9) }}", "No filter named 'center'"),
    "indent": ("{{ 'a'|indent(10**9) }}", "No filter named 'indent'"),
    "wordwrap": ("{{ 'a'|wordwrap(10**9) }}", "No filter named 'wordwrap'"),
    "replace-growth": (
        "{{ ('a' * 1000)|replace('a', 'a' * 1000) }}",
        f"the replaced text {LONGER}",
    ),
    "a-join-of-a-range": ("{{ range(1000)|join('x' * 1000) }}", f"the joined text {LONGER}"),
    "mapped-replacements": (
        "{{ ('x ' * 10000).split()|map('replace', 'x', 'y' * 60000)|join }}",
        f"a list in this template {LONGER}",
    ),
    "round-to-many-digits": ("{{ 5|round(-100000000) }}", "round keeps or drops at most 100"),
    "round-up-to-many-digits": ("{{ 5.0|round(100000000, 'ceil') }}", "at most 100 digits"),
    "a-sum-of-lists": ("{{ [[1] * 10, [2] * 10]|sum(start=[]) }}", "sum adds numbers only"),
    "strip": (
        "{% set s = '\U0001f600' * 60000 %}{{ s.strip('b' * 59999 ~ '\U0001f600') }}",
        "strip() of a text of 60000 characters with an argument of 60000 would take too long",
    ),
    "trim": (
        "{% set s = '\U0001f600' * 60000 %}{{ s|trim('b' * 59999 ~ '\U0001f600') }}",
        "trim() of a text of 60000 characters",
    ),
    "rfind": (
        "{% set s = 'a' * 60000 %}{{ s.rfind('a' ~ 'b' ~ 'a' * 20000) }}",
        "rfind() of a text of 60000 characters",
    ),
    "int-to-bytes": ("{{ (1).to_bytes(10**9, 'big') }}", "attribute 'to_bytes' of 'int'"),
    "strftime": ("{{ grace_deadline.strftime('%c' * 20000) }}", LONGER),
    "exponential-blocks": (
        exponential_blocks(40),
        "takes more than 0.5 s of processor time to render",
    ),
    "a-recursive-block": ("{% block a %}{{ self.a() }}{% endblock %}", "recurses too deeply"),
}

ESCAPES = {
    "subclasses": (
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "access to attribute '__class__' of 'str' object is unsafe",
    ),
    "cycler-globals": ("{{ cycler.__init__.__globals__ }}", "is unsafe"),
    "template-context": (
        "{{ self._TemplateReference__context }}",
        "access to attribute '_TemplateReference__context'",
    ),
    "lipsum-globals": ("{{ lipsum.__globals__ }}", "'lipsum' is undefined"),
    "joiner": ("{{ joiner() }}", "'joiner' is undefined"),
    "namespace": ("{% set ns = namespace(a=1) %}{{ ns }}", "'namespace' is undefined"),
    "config": ("{{ config.items() }}", "'config' is undefined"),
    "request": ("{{ request.environ }}", "'request' is undefined"),
    "range-self": ("{{ range.__self__ }}", "no attribute '__self__'"),
    "format-attributes": ("{{ '{0.__class__}'.format(partner) }}", "str.format is not available"),
    "format-map": ("{{ '{0}'.format_map({}) }}", "str.format is not available"),
    "attr-filter": ("{{ ''|attr('__class__') }}", "No filter named 'attr'"),
    "dict-update": (
        "{% set d = {} %}{{ dict.update(d, a=1) }}",
        "access to attribute 'update' of 'type' object is unsafe",
    ),
    "dict-fromkeys": ("{{ dict.fromkeys(range(1000)) }}", "attribute 'fromkeys' of 'type'"),
    "list-append": ("{% set xs = [] %}{{ xs.append(1) }}", "attribute 'append' of 'list'"),
    "macro-globals": (
        "{% import 'macros.j2' as m %}{{ m.figures.__globals__ }}",
        "attribute '__globals__'",
    ),
}

HARMLESS = {
    "truncate": ("{{ 'a'|truncate(10**9) }}", "a"),
    "int-of-a-long-text": ("{{ ('9' * 5000)|int }}", "0"),
    "float-of-a-long-text": ("{{ ('9' * 60000)|float }}", "inf"),
    "a-power-within-bounds": ("{{ (2 ** 4000) % 1000 }}", str(2**4000 % 1000)),
    "a-negative-power": ("{{ 10 ** -5000 }}", "0.0"),
    "a-long-split": ("{{ ('a ' * 30000).split()|length }}", "30000"),
    "a-legal-but-slow-loop": (LEGAL_BUT_SLOW, "done"),
}


@pytest.mark.parametrize(("body", "says"), REFUSED.values(), ids=REFUSED.keys())
def test_a_template_over_its_budget_is_refused_in_plain_words(body: str, says: str) -> None:
    with pytest.raises(TemplateProblem, match="^body") as refused:
        render_body(body)
    assert says in str(refused.value)


@pytest.mark.parametrize(("body", "says"), ESCAPES.values(), ids=ESCAPES.keys())
def test_the_known_sandbox_escapes_are_refused(body: str, says: str) -> None:
    with pytest.raises(TemplateProblem, match="^body line 1: ") as refused:
        render_body(body)
    assert says in str(refused.value)


@pytest.mark.parametrize(("body", "renders"), HARMLESS.values(), ids=HARMLESS.keys())
def test_what_stays_within_the_budget_renders(body: str, renders: str) -> None:
    assert render_body(body) == renders


def test_every_arithmetic_operator_goes_through_the_sandbox() -> None:
    assert MessageSandbox.intercepted_binops == {"+", "-", "*", "/", "//", "%", "**"}


@pytest.mark.parametrize(
    ("source", "never"),
    [
        (CHAINED_POWERS, str(10**64)),
        ("{{ 'a'|replace('a', 'aaaa')|replace('a', 'aaaa')|replace('a', 'aaaa') }}", "a" * 64),
        ("{{ [1] * 99 }}", "1, 1, 1"),
        ("{{ 'x' ~ 'y' }}", "xy"),
        ("{% if [1, 2] == [1, 2] %}same{% endif %}", "True"),
    ],
    ids=["powers", "filters", "repetition", "concatenation", "comparison"],
)
def test_nothing_is_computed_when_a_template_is_compiled(source: str, never: str) -> None:
    """Jinja folds constant expressions when it compiles, outside any budget: not these."""
    code = finishing(lambda: ENVIRONMENT.compile(hardened(TemplatePart.BODY, source), raw=True))
    assert never not in code


def test_renderings_in_one_time_budget_share_its_deadline() -> None:
    assert render_body(LEGAL_BUT_SLOW) == "done", "within the 0.5 s of one rendering"
    with pytest.raises(TemplateProblem, match="takes more than 0.001 s of processor time"):
        render_body(LEGAL_BUT_SLOW, seconds=0.001)


def test_when_sending_an_attack_gives_way_to_the_shipped_template(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The worker renders a saved template with the same sandbox: one written into the
    database by hand costs the worker milliseconds, and the partner is told all the same."""
    variables = sample_variables(WELCOME)
    attack = TemplateOverride(body=REFUSED["one-more-power"][0], version=7)
    _, body = finishing(lambda: render_variables(WELCOME, variables, attack))
    assert body == render_variables(WELCOME, variables)[1]
    assert BITS in caplog.text and "(version 7)" in caplog.text
