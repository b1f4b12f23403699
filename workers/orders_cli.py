"""Placeholder: `partnerflow orders` commands, filled in by the orders work of issue 4."""

from __future__ import annotations

import typer

orders_app = typer.Typer(help="Orders sent in for metrics.", no_args_is_help=True)
