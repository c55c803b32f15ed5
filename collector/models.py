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
