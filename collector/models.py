"""Frozen records passed between stages. Never a PyGithub object: those fetch lazily."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import date, datetime
    from decimal import Decimal


@dataclass(frozen=True, slots=True)
class PullRequest:
    """The list-endpoint facts of one pull request (``pull-request-simple``)."""

    repository: str
    number: int
    title: str
    author: str | None  # None when the account was deleted (null user or GitHub's "ghost")
    is_bot: bool
    state: str  # "open" | "closed", as GitHub reports it
    draft: bool
    base_ref: str
    default_branch: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    merged_at: datetime | None
    reverts_number: int | None = None  # a revert PR's "Reverts owner/repo#N" naming this repository

    @property
    def is_merged(self) -> bool:
        return self.merged_at is not None


@dataclass(frozen=True, slots=True)
class Membership:
    """One time-bounded, weighted membership of a user in a team, as stored."""

    id: int
    team_id: int
    github_username: str
    allocation_weight: Decimal
    joined_at: datetime
    left_at: datetime | None

    def active_at(self, instant: datetime) -> bool:
        return self.joined_at <= instant and (self.left_at is None or instant < self.left_at)


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One PR credited to one team: a row of ``pr_metrics``."""

    team_id: int
    membership_id: int
    repository: str
    pr_number: int
    author: str
    title: str
    created_at: datetime
    merged_at: datetime
    closed_at: datetime | None
    cycle_time_hours: float
    state: str
    created_date: date
    allocation_weight: Decimal


@dataclass(frozen=True, slots=True)
class Refusal:
    """A listed item kept out of the tables, with why. ``item`` identifies it: its number, else a hash."""

    repository: str
    item: str
    number: int | None
    reason: str
    excerpt: str


@dataclass(frozen=True, slots=True)
class MemberSpec:
    """One membership as the teams file states it."""

    github_username: str
    allocation_weight: Decimal
    joined_at: datetime
    left_at: datetime | None


@dataclass(frozen=True, slots=True)
class TeamSpec:
    name: str
    description: str | None
    members: tuple[MemberSpec, ...]


@dataclass(frozen=True, slots=True)
class OwnerSpec:
    """One team's share of a repository, as the teams file states it: from ``owned_from`` (inclusive)
    until ``owned_until`` (exclusive, None: still)."""

    team: str
    share: Decimal
    owned_from: datetime
    owned_until: datetime | None


@dataclass(frozen=True, slots=True)
class RepositorySpec:
    """One entry of the teams file's ``repositories``: who owns it, how it deploys, what marks an incident."""

    name: str  # owner/name, in lower case
    owners: tuple[OwnerSpec, ...]
    deploy_source: str  # "deployments" | "workflow" | "releases" | "merges"
    environment_pattern: str | None  # source "deployments": a case-insensitive regular expression
    workflow: str | None  # source "workflow": the workflow's file name or id
    incident_label: str


@dataclass(frozen=True, slots=True)
class Organisation:
    """The teams file as a whole: its teams and the repositories they own."""

    teams: tuple[TeamSpec, ...]
    repositories: tuple[RepositorySpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Deployment:
    """One deployment as GitHub reports it: a Deployment, a successful workflow run or a published release."""

    repository: str  # owner/name, in lower case
    source: str  # "deployments" | "workflow" | "releases"
    id: str  # GitHub's id for it (databaseId, run id, release id)
    sha: str | None
    environment: str | None
    created_at: datetime
    deployed_at: datetime | None  # its first success; None: not (yet) successful
    failed_at: datetime | None  # a failed attempt: failure/error and never a success
    status: str  # "success" | "failed" | "pending"
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Incident:
    """An issue carrying the repository's incident label."""

    repository: str  # owner/name, in lower case
    number: int
    title: str
    state: str  # "open" | "closed"
    created_at: datetime
    closed_at: datetime | None
    updated_at: datetime
    root_cause_sha: str | None  # from a body line "root cause: <sha>" (7 to 40 hex digits, lower case)
    root_cause_pr: int | None  # from a body line "root cause: #<PR number>"
