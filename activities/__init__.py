"""What touches the world: SQL, notifications, offer access. Every activity is idempotent."""
