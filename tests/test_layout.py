"""The house's layout holds: rooms import only the rooms below them, the API and the CLI load
only what they use, and no product module grows past 500 lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli.groups import LAZY_GROUPS

REPO = Path(__file__).resolve().parent.parent
PRODUCT = (
    "cli", "devstack", "api", "workers", "web", "clients", "services", "workflows", "activities",
    "store", "migrations", "runtime", "models",
)  # fmt: skip
MAX_LINES = 500


def _loaded_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def _of(modules: set[str], *packages: str) -> set[str]:
    return {m for m in modules if m.split(".")[0] in packages}


def test_the_rooms_keep_the_import_contracts():
    """`lint-imports` (import-linter) checks the contracts in pyproject.toml."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_the_api_and_every_command_module_load_no_workflow_activity_or_worker():
    groups = sorted({group.module for group in LAZY_GROUPS.values()})
    loaded = _loaded_after(
        "import api.app, api.server, cli.app\n" + "\n".join(f"import {module}" for module in groups)
    )
    assert {"api.app", "cli.app", *groups} <= loaded
    assert _of(loaded, "workflows", "activities", "workers") == set()


def test_partnerflow_help_loads_neither_the_api_nor_temporal_nor_the_database():
    loaded = _loaded_after(
        "import sys\nfrom cli.app import app\nsys.argv = ['partnerflow', '--help']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    assert "typer" in loaded
    heavy = {"fastapi", "uvicorn", "alembic", "temporalio.client", "sqlalchemy.orm", "jinja2"}
    assert heavy & loaded == set()
    assert _of(loaded, "api", "clients", "devstack", "services", "store", "workers") == set()


@pytest.mark.parametrize("name", sorted(LAZY_GROUPS))
def test_a_lazy_group_is_listed_with_its_own_help(name):
    """`partnerflow --help` shows the groups without loading them: the help it shows is the
    group's own."""
    group = LAZY_GROUPS[name]
    assert group.load().info.help == group.help


def test_no_product_module_is_over_500_lines():
    """Migration scripts are exempt: each is a schema's history, written once and never edited."""
    long = {
        str(path.relative_to(REPO)): lines
        for package in PRODUCT
        for path in (REPO / package).rglob("*.py")
        if "versions" not in path.relative_to(REPO).parts[:2]
        and (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
