"""Pure attribution: a pull request and the membership index in, ``pr_metrics`` rows out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collector.models import MetricRow, PullRequest

if TYPE_CHECKING:
    from collector.membership import MembershipIndex

_SECONDS_PER_HOUR = 3600.0


def is_eligible(pr: PullRequest) -> bool:
    """Merged, by an existing human author, into the repository's default branch."""
    return pr.merged_at is not None and pr.author is not None and not pr.is_bot and pr.base_ref == pr.default_branch


def cycle_time_hours(pr: PullRequest) -> float:
    assert pr.merged_at is not None
    return (pr.merged_at - pr.created_at).total_seconds() / _SECONDS_PER_HOUR


def attribute(pr: PullRequest, index: MembershipIndex) -> list[MetricRow]:
    """One row per team in which the author had a membership active when the PR merged."""
    if not is_eligible(pr):
        return []
    assert pr.merged_at is not None and pr.author is not None
    hours = cycle_time_hours(pr)
    return [
        MetricRow(
            team_id=m.team_id,
            membership_id=m.id,
            repository=pr.repository,
            pr_number=pr.number,
            author=pr.author,
            title=pr.title,
            created_at=pr.created_at,
            merged_at=pr.merged_at,
            closed_at=pr.closed_at,
            cycle_time_hours=hours,
            state="merged",
            created_date=pr.created_at.date(),
            allocation_weight=m.allocation_weight,
        )
        for m in index.active_at(pr.author, pr.merged_at)
    ]
