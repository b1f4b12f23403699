"""The worker caches the workflow modules' bytecode, which the sandbox reloads for every run."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from workers.bytecode import cache_bytecode, workflow_sources
from workers.wiring import WORKFLOWS

REPO = Path(__file__).resolve().parents[2]


def test_the_workflow_package_sources_are_found() -> None:
    """Every module the sandbox imports afresh, the workflow packages' own modules included."""
    found = {path.relative_to(REPO).as_posix() for path in workflow_sources(WORKFLOWS)}
    assert {
        "workflows/common.py",
        "workflows/partner_lifecycle/workflow.py",
        "workflows/partner_lifecycle/rules.py",
        "workflows/exclusive_agreement/workflow.py",
        "workflows/exclusive_agreement/rules.py",
    } <= found


def test_missing_or_stale_bytecode_is_written_and_fresh_bytecode_left_alone(tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text("VALUE = 1\n")
    cached = Path(importlib.util.cache_from_source(str(source)))

    assert cache_bytecode([source]) == 1
    assert cached.exists()
    assert cache_bytecode([source]) == 0

    source.write_text("VALUE = 2\n")
    later = cached.stat().st_mtime + 5
    os.utime(source, (later, later))
    assert cache_bytecode([source]) == 1


def test_an_unwritable_cache_is_reported_not_raised(tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text("VALUE = 1\n")
    (tmp_path / "__pycache__").write_text("a file where the cache directory should be")
    assert cache_bytecode([source]) == 0
