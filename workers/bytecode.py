"""Compiled bytecode for the workflow modules, which the sandbox imports again for every run.

Temporal's sandbox executes a workflow's module afresh for each workflow it
starts. Where bytecode is not written (PYTHONDONTWRITEBYTECODE, as in many
containers) that means compiling the source every time: a third of the cost of
starting a partner's workflow. The worker writes the cache once at start-up.
"""

from __future__ import annotations

import importlib.util
import logging
import py_compile
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)


def workflow_sources(workflow_classes: Iterable[type]) -> list[Path]:
    """The source files of the top-level packages that hold the given workflow classes, their
    subpackages included."""
    packages = {cls.__module__.partition(".")[0] for cls in workflow_classes}
    sources: set[Path] = set()
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            sources.update(Path(location).rglob("*.py"))
    return sorted(sources)


def cache_bytecode(sources: Iterable[Path]) -> int:
    """Write the bytecode cache of each source where missing or stale; returns the count."""
    written = 0
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        if cached.exists() and cached.stat().st_mtime >= source.stat().st_mtime:
            continue
        try:
            py_compile.compile(str(source), cfile=str(cached), doraise=True)
        except (OSError, py_compile.PyCompileError) as error:
            logger.warning("no bytecode cache for %s, each run compiles it: %s", source, error)
            continue
        written += 1
    return written
