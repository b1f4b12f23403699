"""Configuration from the environment, the same for every process."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.contract import TASK_QUEUE
from models.database import DEFAULT_DATABASE_URL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL, validation_alias="PARTNERFLOW_DATABASE_URL"
    )
    temporal_address: str = Field(default="localhost:7233", validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", validation_alias="TEMPORAL_NAMESPACE")
    task_queue: str = Field(default=TASK_QUEUE, validation_alias="PARTNERFLOW_TASK_QUEUE")
