"""A deterministic synthetic GitHub organisation: repositories, pull requests and a teams file.

Realistic in the ways that matter to attribution: people move between teams and split their time,
some authors are in no team, bots and deleted accounts open PRs, some PRs target release branches,
some are still open (a few as drafts) and some were closed without merging.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from collector.testing.fake_github import FakeGitHub, FakePull

if TYPE_CHECKING:
    from collections.abc import Sequence

DEMO_TEAMS = ("platform", "payments", "mobile", "data")
DEMO_PEOPLE = (
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
    "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil",
)  # fmt: skip
BOTS = ("dependabot[bot]", "renovate[bot]")


@dataclass(frozen=True)
class SampleOrg:
    repositories: tuple[str, ...]
    pulls: dict[str, list[FakePull]]
    teams_document: dict[str, Any]

    @property
    def total_pulls(self) -> int:
        return sum(len(p) for p in self.pulls.values())

    def serve(self, fake: FakeGitHub) -> None:
        for repo in self.repositories:
            fake.add_repo(repo, default_branch="main")
            for pull in self.pulls[repo]:
                fake.add_pull(repo, pull)


def generate_org(
    *,
    seed: int,
    now: datetime,
    repo_sizes: Sequence[int],
    people: Sequence[str] = DEMO_PEOPLE,
    teams: Sequence[str] = DEMO_TEAMS,
    days: int = 180,
    org: str = "acme",
    unmapped_people: int = 2,
) -> SampleOrg:
    rng = random.Random(seed)
    start = now - timedelta(days=days)
    teams_document = _teams_document(rng, people, teams, start, now)
    authors = [*people, *[f"contractor-{i}" for i in range(unmapped_people)]]
    repos = tuple(f"{org}/service-{i:02d}" for i in range(len(repo_sizes)))
    pulls = {
        repo: [_pull(rng, number, authors, start, now) for number in range(1, size + 1)]
        for repo, size in zip(repos, repo_sizes, strict=True)
    }
    return SampleOrg(repos, pulls, teams_document)


def heavy_tail_sizes(rng_seed: int, repos: int, total: int, largest: int) -> list[int]:
    """Repository sizes with a Zipf-like tail: one large repository, many small ones."""
    weights = [1.0 / (rank**1.1) for rank in range(1, repos + 1)]
    rest = total - largest
    tail = weights[1:]
    sizes = [largest] + [max(5, round(rest * w / sum(tail))) for w in tail]
    random.Random(rng_seed).shuffle(sizes)
    return sizes


def _pull(rng: random.Random, number: int, authors: Sequence[str], start: datetime, now: datetime) -> FakePull:
    span = (now - start).total_seconds()
    created = start + timedelta(seconds=rng.uniform(0, span * 0.97))
    lead = timedelta(hours=min(rng.lognormvariate(math.log(20), 1.1), 24 * 30))
    roll = rng.random()
    user: str | None
    user_type = "User"
    if roll < 0.06:
        user, user_type = rng.choice(BOTS), "Bot"
    elif roll < 0.07:
        user = None if rng.random() < 0.5 else "ghost"  # deleted accounts
    else:
        user = rng.choice(authors)
        if rng.random() < 0.1:
            user = user.upper()  # GitHub logins are case-insensitive; the teams file may differ
    base = "release/1.x" if rng.random() < 0.04 else None
    outcome = rng.random()
    if outcome < 0.05 or created + lead >= now:
        draft = rng.random() < 0.3
        updated = min(created + timedelta(hours=rng.uniform(0, 48)), now)
        return FakePull(number, f"Change {number}", user, created, updated, state="open", draft=draft,
                        base_ref=base, user_type=user_type)  # fmt: skip
    closed = created + lead
    merged = None if outcome < 0.13 else closed
    updated = min(closed + timedelta(minutes=rng.uniform(0, 90)), now)
    return FakePull(number, f"Change {number}", user, created, updated, state="closed", merged_at=merged,
                    closed_at=closed, base_ref=base, user_type=user_type)  # fmt: skip


def _teams_document(
    rng: random.Random, people: Sequence[str], teams: Sequence[str], start: datetime, now: datetime
) -> dict[str, Any]:
    members: dict[str, list[dict[str, Any]]] = {team: [] for team in teams}
    for person in people:
        home = rng.choice(teams)
        joined = start - timedelta(days=rng.randint(30, 400))
        kind = rng.random()
        if kind < 0.2:  # moved team part-way through the period
            moved = start + (now - start) * rng.uniform(0.3, 0.7)
            moved = moved.replace(hour=0, minute=0, second=0, microsecond=0)
            other = rng.choice([t for t in teams if t != home])
            members[home].append(_member(person, 1, joined, moved))
            members[other].append(_member(person, 1, moved, None))
        elif kind < 0.35:  # splits their time between two teams
            other = rng.choice([t for t in teams if t != home])
            members[home].append(_member(person, 0.5, joined, None))
            members[other].append(_member(person, 0.5, joined, None))
        elif kind < 0.45:  # joined during the period: earlier PRs belong to no team
            late = (start + (now - start) * rng.uniform(0.2, 0.5)).replace(hour=0, minute=0, second=0, microsecond=0)
            members[home].append(_member(person, 1, late, None))
        else:
            members[home].append(_member(person, 1, joined, None))
    return {"teams": [{"name": team, "description": f"The {team} team", "members": members[team]} for team in teams]}


def _member(login: str, weight: float, joined: datetime, left: datetime | None) -> dict[str, Any]:
    return {
        "github_username": login,
        "allocation_weight": weight,
        "joined_at": joined.date().isoformat(),
        "left_at": None if left is None else left.date().isoformat(),
    }
