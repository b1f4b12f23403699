"""`partnerflow templates ...`: the messages a provider's partners receive, and its own
templates for them, straight in the program database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from cli.support import console, fail, program_database, valid, when
from models.database import Database
from models.notifications import NotificationKind
from models.templates import CATALOGUE, FILTERS, MAX_TEMPLATE_CHARS, VARIABLES, TemplatePart
from runtime.settings import Settings
from services import templates
from services.errors import ConflictError, InputError, NotFoundError
from services.templates import TemplateChange, TemplateRecord
from store.database import display_url, open_database

templates_app = typer.Typer(
    help="The messages partners receive, and the provider's own templates for them.",
    no_args_is_help=True,
)

Provider = Annotated[str, typer.Argument(help="The provider, e.g. acme.")]
Kind = Annotated[NotificationKind, typer.Argument(help="The kind of message, e.g. welcome.")]
By = Annotated[str, typer.Option("--by", help="Who changes it: kept in the versions.")]
T = TypeVar("T")


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise fail(f"cannot read {path}: {error}") from None
    if len(text) > MAX_TEMPLATE_CHARS:
        raise fail(f"{path} is {len(text)} characters long, at most {MAX_TEMPLATE_CHARS}")
    return text


@contextmanager
def _database() -> Iterator[Database]:
    url = Settings().database_url
    try:
        db = open_database(url)
    except SQLAlchemyError as error:
        raise fail(f"the program database at {display_url(url)} failed: {error}") from None
    try:
        yield db
    finally:
        db.engine.dispose()


def _refused(call: Callable[[], T]) -> T:
    try:
        return call()
    except (InputError, NotFoundError, ConflictError) as error:
        raise fail(str(error)) from None
    except SQLAlchemyError as error:
        raise fail(f"the program database failed: {error}") from None


def _in_force(record: TemplateRecord | None) -> str:
    if record is None or not record.in_force:
        return "shipped"
    parts = [part for part in ("subject", "body") if getattr(record, part) is not None]
    return f"own {' and '.join(parts)} (v{record.version}, {when(record.created_at)})"


@templates_app.command("list")
def list_templates(provider_id: Provider) -> None:
    """Every kind of message: who receives it, when, and whose templates are in force."""
    with program_database() as session:
        saved = templates.current_templates(session, provider_id)
    table = Table(title=f"message templates of {provider_id}", title_justify="left")
    for column in ("kind", "to", "in force", "sent when"):
        table.add_column(column)
    for kind, info in CATALOGUE.items():
        table.add_row(
            kind.value, info.recipient.value, _in_force(saved.get(kind)), info.description
        )
    console.print(table)


@templates_app.command("show")
def show(
    provider_id: Provider,
    kind: Kind,
    shipped: Annotated[
        bool, typer.Option("--shipped", help="The shipped templates, not those in force.")
    ] = False,
    part: Annotated[
        TemplatePart | None,
        typer.Option(help="Print only this part, as it is: a starting point for `set`."),
    ] = None,
) -> None:
    """The templates in force for a kind, and the variables and filters they can use."""
    with program_database() as session:
        record = None if shipped else templates.current_template(session, provider_id, kind)
    if part is not None:
        print(templates.effective_source(record, kind, part)[0], end="")
        return
    info = CATALOGUE[kind]
    console.print(f"[bold]{kind.value}[/] to the {info.recipient.value}: {info.description}")
    console.print(f"in force: {_in_force(record)}")
    for each in TemplatePart:
        source, own = templates.effective_source(record, kind, each)
        console.rule(f"{each.value} ({'own' if own else 'shipped'})")
        console.print(escape(source), highlight=False, end="")
    console.rule("variables")
    for name in info.variables:
        console.print(f"[bold]{name}[/]: {escape(VARIABLES[name])}", highlight=False)
    if info.optional:
        console.print(f"sometimes absent: {', '.join(info.optional)}", highlight=False)
    console.print(
        "filters: " + "; ".join(f"{name}: {text}" for name, text in FILTERS.items()),
        highlight=False,
    )


@templates_app.command("set")
def set_template(
    provider_id: Provider,
    kind: Kind,
    body_file: Annotated[
        Path | None, typer.Argument(help="The body template; left out: the shipped body.")
    ] = None,
    subject: Annotated[
        str | None, typer.Option(help="The subject template; left out: the shipped subject.")
    ] = None,
    by: By = "cli",
) -> None:
    """Put the provider's own templates in force for a kind, once they render against sample
    data of the kind (every optional variable present and absent)."""
    body = _read(body_file)
    change = valid(lambda: TemplateChange(subject=subject, body=body, changed_by=by))
    with program_database() as session:
        record = templates.save_template(session, provider_id, kind, change)
    console.print(f"{kind.value}: {_in_force(record)}")


@templates_app.command("reset")
def reset(provider_id: Provider, kind: Kind, by: By = "cli") -> None:
    """Go back to the shipped templates for a kind; the saved versions are kept."""
    with program_database() as session:
        record = templates.reset_template(session, provider_id, kind, by)
    console.print(f"{kind.value}: {_in_force(record)}")


@templates_app.command("preview")
def preview(
    provider_id: Provider,
    kind: Kind,
    body_file: Annotated[
        Path | None, typer.Argument(help="A draft body; left out: the body in force.")
    ] = None,
    subject: Annotated[
        str | None, typer.Option(help="A draft subject; left out: the subject in force.")
    ] = None,
    partner: Annotated[
        str | None,
        typer.Option(help="Render with this reseller's actual data instead of sample data."),
    ] = None,
) -> None:
    """Render a kind's message without sending it."""
    body = _read(body_file)
    draft = valid(lambda: TemplateChange(subject=subject, body=body))
    with _database() as db:
        rendered = _refused(lambda: templates.preview(db, provider_id, kind, draft, partner))
    console.print(f"[bold]Subject:[/] {escape(rendered.subject)}", highlight=False)
    console.print(escape(rendered.body), highlight=False, end="")
