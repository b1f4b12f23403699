"""`/provider/templates`: the messages the program sends, and the provider's own templates.

Each kind of message has a subject and a body template (Jinja2, plain text). A
provider may override either; an override is rendered against representative data
for its kind when it is saved, and refused (422, with the line and the error) if it
does not render. Every save and reset is kept as a version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field

from api.deps import ProviderDep, ServicesDep, SessionDep
from api.partner_views import TEAM_ID
from api.views import ApiModel, ChangedBy
from models.notifications import NotificationKind, Recipient
from models.program import NOT_BLANK, Storable
from models.templates import CATALOGUE, FILTERS, MAX_TEMPLATE_CHARS, VARIABLES, TemplatePart
from models.wire import kept
from services import templates
from services.templates import Source, TemplateChange, TemplateRecord

router = APIRouter(prefix="/provider/templates", tags=["templates"])


class VariableView(ApiModel):
    name: str
    description: str


class TemplateSummary(ApiModel):
    kind: NotificationKind
    recipient: Recipient
    description: str
    subject_overridden: bool
    body_overridden: bool
    version: int | None = Field(description="The latest saved version (a reset included).")
    changed_by: str | None
    updated_at: datetime | None


class TemplateView(TemplateSummary):
    """The templates in force for one kind, the shipped ones, and what they can use."""

    subject: str = Field(description="The subject template in force.")
    body: str = Field(description="The body template in force.")
    default_subject: str
    default_body: str
    variables: list[VariableView]
    optional: list[str] = Field(
        description="Variables (or fields, `metrics.average_rating`) that some messages of "
        "this kind lack: none, or an empty list. A template must work without them."
    )
    filters: dict[str, str] = Field(description="Filters beyond Jinja2's usual ones.")


Draft = Annotated[
    str,
    Field(max_length=MAX_TEMPLATE_CHARS, json_schema_extra={"pattern": NOT_BLANK}),
    Storable,
]
"""A template to save: some text that is not all blank (one rendering to nothing is
refused as not rendering)."""


class TemplateBody(ApiModel):
    """New templates for the kind; a part left out is the shipped one."""

    model_config = ApiModel.model_config | ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["subject"]}, {"required": ["body"]}]}
    )

    subject: Draft | None = kept()
    body: Draft | None = kept()
    changed_by: ChangedBy = "api"

    def change(self) -> TemplateChange:
        return TemplateChange(subject=self.subject, body=self.body, changed_by=self.changed_by)


class PreviewBody(ApiModel):
    """Render a draft (its parts where given, else those in force) against sample data, or
    against a reseller's actual tier, metrics and criteria."""

    subject: Source = None
    body: Source = None
    reseller_team_id: Annotated[str, TEAM_ID] | None = None


class PreviewView(ApiModel):
    subject: str
    body: str


class TemplateVersionView(ApiModel):
    version: int
    subject: str | None
    body: str | None
    reset: bool = Field(description="This version put the shipped templates back.")
    changed_by: str
    created_at: datetime


def _summary(kind: NotificationKind, record: TemplateRecord | None) -> dict[str, object]:
    info = CATALOGUE[kind]
    return {
        "kind": kind,
        "recipient": info.recipient,
        "description": info.description,
        "subject_overridden": bool(record and record.subject is not None),
        "body_overridden": bool(record and record.body is not None),
        "version": record.version if record else None,
        "changed_by": record.changed_by if record else None,
        "updated_at": record.created_at if record else None,
    }


def _view(kind: NotificationKind, record: TemplateRecord | None) -> TemplateView:
    info = CATALOGUE[kind]
    subject, _ = templates.effective_source(record, kind, TemplatePart.SUBJECT)
    body, _ = templates.effective_source(record, kind, TemplatePart.BODY)
    return TemplateView.model_validate(
        {
            **_summary(kind, record),
            "subject": subject,
            "body": body,
            "default_subject": templates.effective_source(None, kind, TemplatePart.SUBJECT)[0],
            "default_body": templates.effective_source(None, kind, TemplatePart.BODY)[0],
            "variables": [
                VariableView(name=name, description=VARIABLES[name]) for name in info.variables
            ],
            "optional": list(info.optional),
            "filters": FILTERS,
        }
    )


@router.get("", summary="Every kind of message, and whether the provider has its own templates")
def list_templates(provider: ProviderDep, db: SessionDep) -> list[TemplateSummary]:
    saved = templates.current_templates(db, provider)
    return [TemplateSummary.model_validate(_summary(kind, saved.get(kind))) for kind in CATALOGUE]


@router.get("/{kind}", summary="One kind's templates: in force, shipped, and their variables")
def get_template(kind: NotificationKind, provider: ProviderDep, db: SessionDep) -> TemplateView:
    return _view(kind, templates.current_template(db, provider, kind))


@router.put("/{kind}", summary="Put the provider's own templates in force for one kind")
def put_template(
    kind: NotificationKind, body: TemplateBody, provider: ProviderDep, db: SessionDep
) -> TemplateView:
    """Each part is parsed and rendered in the sandbox against sample data of the kind, with
    every optional variable present and absent; one that fails is refused (422) with its
    line and the error. A saved change is a new version; the same templates again are none."""
    return _view(kind, templates.save_template(db, provider, kind, body.change()))


@router.delete("/{kind}", summary="Go back to the shipped templates for one kind")
def reset_template(
    kind: NotificationKind,
    provider: ProviderDep,
    db: SessionDep,
    changed_by: Annotated[
        str,
        Query(alias="changedBy", min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"),
    ] = "api",
) -> TemplateView:
    return _view(kind, templates.reset_template(db, provider, kind, changed_by))


@router.get("/{kind}/versions", summary="Every version the provider saved, newest first")
def list_versions(
    kind: NotificationKind, provider: ProviderDep, db: SessionDep
) -> list[TemplateVersionView]:
    return [
        TemplateVersionView(
            version=record.version,
            subject=record.subject,
            body=record.body,
            reset=not record.in_force,
            changed_by=record.changed_by,
            created_at=record.created_at,
        )
        for record in templates.template_history(db, provider, kind)
    ]


# A plain `def`, as saving is: FastAPI runs it in its threadpool, so that a rendering never
# holds the event loop (store/template_budget.py bounds what it costs).
@router.post("/{kind}/preview", summary="Render a kind's message without sending it")
def preview(
    kind: NotificationKind, body: PreviewBody, provider: ProviderDep, svc: ServicesDep
) -> PreviewView:
    rendered = templates.preview(
        svc.db,
        provider,
        kind,
        TemplateChange(subject=body.subject, body=body.body),
        body.reseller_team_id,
    )
    return PreviewView(subject=rendered.subject, body=rendered.body)
