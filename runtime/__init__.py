"""What every partnerflow process shares: settings from the environment, its logs, the
Temporal SDK runtime with its metrics, and stopping cleanly on a signal."""
