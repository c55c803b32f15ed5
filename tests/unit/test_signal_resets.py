"""Which collected signals a change of the teams file's repositories resets: one pure rule, table-tested."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from collector.models import OwnerSpec, RepositorySpec
from collector.sync import signals_to_reset

BEFORE = RepositorySpec(
    name="acme/api",
    owners=(OwnerSpec("platform", Decimal(1), datetime(1970, 1, 1, tzinfo=UTC), None),),
    deploy_source="deployments",
    environment_pattern="^(prod|production)$",
    workflow=None,
    incident_label="incident",
)
WORKFLOW = replace(BEFORE, deploy_source="workflow", environment_pattern=None, workflow="deploy.yml")


@pytest.mark.parametrize(
    ("before", "after", "reset"),
    [
        (BEFORE, BEFORE, ()),
        (BEFORE, replace(BEFORE, owners=()), ()),  # owners: the views credit them as they read
        (BEFORE, replace(BEFORE, environment_pattern="^live$"), ("deployments",)),
        (BEFORE, replace(BEFORE, environment_pattern="^(PROD|production)$"), ("deployments",)),  # regex text
        (WORKFLOW, replace(WORKFLOW, workflow="161335"), ("workflow",)),  # same file? unknowable: read again
        (BEFORE, WORKFLOW, ("deployments", "workflow")),
        (WORKFLOW, replace(BEFORE, deploy_source="releases", environment_pattern=None), ("workflow", "releases")),
        (BEFORE, replace(BEFORE, deploy_source="merges", environment_pattern=None), ("deployments",)),  # no facts
        (replace(BEFORE, deploy_source="merges", environment_pattern=None), BEFORE, ("deployments",)),
        (BEFORE, replace(BEFORE, incident_label="Incident"), ()),  # GitHub's labels ignore case
        (BEFORE, replace(BEFORE, incident_label="outage"), ("incidents",)),
        (BEFORE, replace(WORKFLOW, incident_label="outage"), ("deployments", "workflow", "incidents")),
    ],
)
def test_a_changed_rule_resets_the_signals_it_collected_and_nothing_else(before, after, reset):
    assert signals_to_reset([before], [after]) == tuple(("acme/api", signal) for signal in reset)


def test_a_repository_new_to_the_file_or_left_out_of_it_resets_nothing():
    """Their facts, if any, stay: the file's change does not say under which rule they were read."""
    assert signals_to_reset([], [BEFORE]) == ()
    assert signals_to_reset([BEFORE], []) == ()


def test_only_the_changed_repository_is_reset():
    web = replace(BEFORE, name="acme/web")
    assert signals_to_reset([BEFORE, web], [web, replace(BEFORE, incident_label="outage")]) == (
        ("acme/api", "incidents"),
    )
