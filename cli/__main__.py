"""`python -m cli ...` runs `partnerflow ...`."""

from cli.app import app

app()
