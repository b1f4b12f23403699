"""Configuration from the environment, the same for every process."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.contract import MAX_CACHED_WORKFLOWS, TASK_QUEUE
from models.outbound_address import OutboundPolicy
from runtime.logs import LogFormat

DEFAULT_STATE_DIR = Path(".partnerflow")
"""Where the local stack keeps its databases and logs."""
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_STATE_DIR}/partnerflow.db"

MAX_BODY_BYTES = 8 * 1024 * 1024
"""The largest request body the API reads: over twice a 5,000-item order batch whose every
field is as long as it may be (3.5 MB, pretty-printed)."""

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL, validation_alias="PARTNERFLOW_DATABASE_URL"
    )
    temporal_address: str = Field(default="localhost:7233", validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", validation_alias="TEMPORAL_NAMESPACE")
    task_queue: str = Field(default=TASK_QUEUE, validation_alias="PARTNERFLOW_TASK_QUEUE")
    metrics_address: str | None = Field(
        default=None, validation_alias="PARTNERFLOW_METRICS_ADDRESS"
    )
    """host:port of the worker's (and API's) Prometheus endpoint; unset, none is served."""
    log_format: LogFormat = Field(default=LogFormat.TEXT, validation_alias="PARTNERFLOW_LOG_FORMAT")
    log_level: LogLevel = Field(default="INFO", validation_alias="PARTNERFLOW_LOG_LEVEL")
    webhook_allow_http: bool = Field(
        default=False, validation_alias="PARTNERFLOW_WEBHOOK_ALLOW_HTTP"
    )
    """Whether webhook URLs may be plain http://; https:// only by default."""
    webhook_allowed_hosts: str = Field(
        default="", validation_alias="PARTNERFLOW_WEBHOOK_ALLOWED_HOSTS"
    )
    """Host names, IPs and CIDR networks, comma-separated, that webhooks may reach although
    they are private or local (development, tests); none by default."""
    smtp_allowed_hosts: str = Field(default="", validation_alias="PARTNERFLOW_SMTP_ALLOWED_HOSTS")
    """The same for the providers' mail servers (smtpHost); none by default."""
    max_body_bytes: int = Field(
        default=MAX_BODY_BYTES, gt=0, validation_alias="PARTNERFLOW_MAX_BODY_BYTES"
    )
    marketplace_key: str | None = Field(
        default=None, validation_alias="PARTNERFLOW_MARKETPLACE_KEY"
    )
    """The key the marketplace's own sync sends (`x-marketplace-key`) to register resellers;
    unset, that endpoint answers 503. Never a provider's key: resellers are every provider's."""

    max_cached_workflows: int = Field(
        default=MAX_CACHED_WORKFLOWS, ge=0, validation_alias="PARTNERFLOW_MAX_CACHED_WORKFLOWS"
    )
    """How many workflows the worker keeps in memory (about 0.12–0.14 MiB each); a workflow not
    kept replays its history on its next task. 0 keeps none."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_in_any_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("webhook_allowed_hosts", "smtp_allowed_hosts")
    @classmethod
    def _hosts_readable(cls, value: str) -> str:
        OutboundPolicy.of(False, value.split(","))
        return value

    @field_validator("metrics_address", "marketplace_key", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def webhook_policy(self) -> OutboundPolicy:
        """Where webhooks may go, as the operator configured it."""
        return OutboundPolicy.of(self.webhook_allow_http, self.webhook_allowed_hosts.split(","))

    def smtp_policy(self) -> OutboundPolicy:
        """Which mail servers the worker may connect to, as the operator configured it."""
        return OutboundPolicy.of(False, self.smtp_allowed_hosts.split(","))
