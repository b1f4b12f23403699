"""The activity that computes a partner's metrics for its workflow."""

from __future__ import annotations

from temporalio import activity

from models.contract import ActivityName
from models.database import Database
from models.metrics import PartnerMetrics
from models.records import MetricsRequest
from store.metrics import partner_metrics


class MetricsActivities:
    """Reads partner performance from the program database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @activity.defn(name=ActivityName.COMPUTE_PARTNER_METRICS)
    def compute_partner_metrics(self, request: MetricsRequest) -> PartnerMetrics:
        metrics = partner_metrics(self._db, request)
        activity.logger.info(
            "metrics of %s: %d orders, acceptance %s, completion %s",
            request.reseller_team_id,
            metrics.total_orders,
            metrics.acceptance_rate,
            metrics.completion_rate,
        )
        return metrics
