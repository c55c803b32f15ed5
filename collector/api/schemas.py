"""What the API answers, as pydantic models: they validate every answer and make the OpenAPI document's schemas.

``extra="forbid"`` puts ``additionalProperties: false`` in the document, so a test that checks real answers
against it also catches a field the document does not describe.
"""

from __future__ import annotations

from datetime import date  # noqa: TC003 - pydantic reads the annotations at runtime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Team(_Strict):
    id: int = Field(description="The team's id (view_teams.team_id); the metrics paths accept it or the name.")
    name: str = Field(description="The team's name, as in the teams file.")
    description: str | None = Field(description="As given in the teams file; null when none was.")
    current_members: int = Field(description="People with a membership active now (UTC).")
    current_allocation: float = Field(description="Sum of those memberships' weights: people-equivalents.")


class Teams(_Strict):
    teams: list[Team] = Field(description="Every team in the teams file, by name.")


class TeamRef(_Strict):
    id: int
    name: str


class Week(_Strict):
    week: date = Field(description="Monday (UTC) of the ISO week.")
    prs_merged: int = Field(description="PRs credited to the team that week; 0 when none merged.")
    weighted_prs_merged: float = Field(description="Sum of the authors' allocation weights; 0 when none merged.")
    avg_cycle_time_hours: float | None = Field(
        description="Mean PR lead time (opened -> merged) in hours; null when none merged."
    )
    in_progress: bool = Field(description="The week containing now (UTC): not over, its counts will still grow.")


class Velocity(_Strict):
    team: TeamRef
    from_: date = Field(alias="from", description="First day asked for (default: Monday 11 weeks ago).")
    to: date = Field(description="Last day asked for (default: today, UTC).")
    weeks: list[Week] = Field(
        description="Every week that overlaps [from, to], from the week of the team's first attributed merge on "
        "(view_team_velocity_calendar): 0 where nothing merged."
    )


class Month(_Strict):
    month: date = Field(description="First day (UTC) of the month.")
    prs_merged: int = Field(description="PRs credited to the team that month.")
    median_lead_time_hours: float = Field(description="Median PR lead time (opened -> merged), hours.")
    p95_lead_time_hours: float = Field(description="p95 PR lead time, hours (interpolated between PRs).")
    low_sample: bool = Field(description="Fewer PRs than analytics_settings.low_sample_min_prs (5): grey it out.")
    in_progress: bool = Field(description="The month containing now (UTC): not over, its figures will still move.")


class LeadTime(_Strict):
    team: TeamRef
    from_: date = Field(alias="from", description="First day asked for (default: the 1st, 11 months ago).")
    to: date = Field(description="Last day asked for (default: today, UTC).")
    months: list[Month] = Field(
        description="Months that overlap [from, to] in which the team merged at least one PR (view_pr_lead_time)."
    )


# What every key of a month has, in this order: value, unit, band, low_sample, n; then what its view adds.
KeyBand = Annotated[
    str | None,
    Field(description="The value's band by the report of report_year (dora_band()), as that report names it: "
          "elite, high, medium or low in 2021-2024's; null when value is."),
]  # fmt: skip
LowSample = Annotated[
    bool | None,
    Field(description="n below analytics_settings.low_sample_min_prs (5): grey it out. Null when the month has "
          "nothing to count for the key."),
]  # fmt: skip


class DeploymentFrequency(_Strict):
    value: float | None = Field(
        description="Weighted deployments / (days in the month / 7) (view_dora_deployment_frequency); null when "
        "no deployment is credited to the team that month: no data is not a zero."
    )
    unit: Literal["deployments per week"]
    band: KeyBand
    low_sample: LowSample
    n: int = Field(description="Counted deployments credited to the team, each once whatever the share.")
    days: int = Field(description="Distinct days (UTC) with one of them.")


class ChangeLeadTime(_Strict):
    value: float | None = Field(
        description="Median hours from a PR's first commit to the deployment that shipped it, over the PRs "
        "credited to the team and shipped that month (view_dora_change_lead_time); null when none was."
    )
    unit: Literal["hours"]
    band: KeyBand
    low_sample: LowSample
    n: int = Field(description="Credited PRs with a lead time for changes.")
    p95: float | None = Field(description="p95 hours, interpolated between PRs; null when value is.")


class ChangeFailureRate(_Strict):
    value: float | None = Field(
        description="Share-weighted fraction, in [0, 1], of the month's deployments that failed (an incident or a "
        "revert names them; view_dora_change_failure_rate); null when no deployment is credited to the team."
    )
    unit: Literal["fraction"]
    band: KeyBand
    low_sample: LowSample
    n: int = Field(description="Counted deployments credited to the team.")
    failed: int = Field(description="How many of them failed, unweighted.")


class TimeToRestore(_Strict):
    value: float | None = Field(
        description="Median hours from opening to closing over the restored incidents credited to the team that "
        "opened that month (view_dora_time_to_restore); null when none is restored."
    )
    unit: Literal["hours"]
    band: KeyBand
    low_sample: LowSample
    n: int = Field(description="Restored (closed) incidents: the n of value and p95.")
    p95: float | None = Field(description="p95 hours, interpolated; null when value is.")
    open_incidents: int = Field(description="Incidents opened that month and still open: counted apart, never guessed.")


class DoraMonth(_Strict):
    month: date = Field(description="First day (UTC) of the month.")
    in_progress: bool = Field(description="The month containing now (UTC): not over, its figures will still move.")
    deployment_frequency: DeploymentFrequency
    change_lead_time: ChangeLeadTime
    change_failure_rate: ChangeFailureRate
    time_to_restore: TimeToRestore


class Dora(_Strict):
    team: TeamRef
    from_: date = Field(alias="from", description="First day asked for (default: the 1st, 11 months ago).")
    to: date = Field(description="Last day asked for (default: today, UTC).")
    report_year: int | None = Field(
        description="The State of DevOps report whose bands are given (view_dora_benchmarks): ?report_year=, or the "
        "newest; null only when view_dora_benchmarks is empty."
    )
    months: list[DoraMonth] = Field(
        description="Every month that overlaps [from, to], with or without data: a key with nothing to count that "
        "month has n 0 and null value, band and low_sample."
    )


class Problem(_Strict):
    """RFC 9457 problem details: every error, with one sentence that says what to fix."""

    type: str = Field(description="Always about:blank: the status says what kind of problem it is.")
    title: str = Field(description="The HTTP status's phrase.")
    status: int
    detail: str = Field(description="What went wrong, and what to do about it.")
