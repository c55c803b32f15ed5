"""What the API answers, as pydantic models: they validate every answer and make the OpenAPI document's schemas.

``extra="forbid"`` puts ``additionalProperties: false`` in the document, so a test that checks real answers
against it also catches a field the document does not describe.
"""

from __future__ import annotations

from datetime import date  # noqa: TC003 - pydantic reads the annotations at runtime

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


class Problem(_Strict):
    """RFC 9457 problem details: every error, with one sentence that says what to fix."""

    type: str = Field(description="Always about:blank: the status says what kind of problem it is.")
    title: str = Field(description="The HTTP status's phrase.")
    status: int
    detail: str = Field(description="What went wrong, and what to do about it.")
