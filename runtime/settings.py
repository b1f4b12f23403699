"""Configuration from the environment, the same for every process."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.contract import TASK_QUEUE
from runtime.logs import LogFormat

DEFAULT_STATE_DIR = Path(".partnerflow")
"""Where the local stack keeps its databases and logs."""
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_STATE_DIR}/partnerflow.db"

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

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_in_any_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("metrics_address", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value
