"""The patch table is the whole truth: every `workflow.patched` call names a patch in it, every
patch in it is used, and the README shows each with its stage."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import workflows.patches as patches
from workflows.patches import PATCHES, Patch, Stage, runs_from_before

REPO = Path(__file__).resolve().parents[2]
CALL = re.compile(r"workflow\.(?:patched|deprecate_patch)\(\s*(\w+)\s*\)")


def _called() -> set[str]:
    """The patch IDs the workflow code asks about, through the constants of workflows.patches."""
    names = {
        name
        for path in (REPO / "workflows").rglob("*.py")
        if path.name != "patches.py"
        for name in CALL.findall(path.read_text())
    }
    return {getattr(patches, name) for name in names}


def test_every_patch_called_is_in_the_table_and_every_one_in_it_is_called():
    assert _called() == {patch.id for patch in PATCHES}


def test_patch_ids_are_unique():
    assert len({patch.id for patch in PATCHES}) == len(PATCHES)


def test_the_readme_shows_each_patch_with_what_it_changed_and_its_stage():
    readme = (REPO / "README.md").read_text()
    for patch in PATCHES:
        row = f"| `{patch.id}` | {', '.join(patch.workflow_types)} | {patch.change} | "
        assert f"{row}{patch.stage.value} |" in readme, f"README lacks the row of {patch.id}"


def test_the_query_for_runs_from_before_a_patch_names_its_workflows_and_the_release():
    patch = Patch("a-change", ("PartnerLifecycleWorkflow", "ExclusiveAgreementWorkflow"), "x")
    released = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
    assert runs_from_before(patch, released) == (
        'WorkflowType IN ("PartnerLifecycleWorkflow", "ExclusiveAgreementWorkflow") '
        'AND ExecutionStatus = "Running" AND StartTime < "2026-11-22T10:30:00Z"'
    )
    assert patch.stage is Stage.PATCHED
