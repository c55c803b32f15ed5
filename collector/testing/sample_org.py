"""A deterministic synthetic GitHub organisation: repositories, pull requests, the four keys' signals and a
teams file.

Realistic in the ways that matter to attribution: people move between teams and split their time,
some authors are in no team, bots and deleted accounts open PRs, some PRs target release branches,
some are still open (a few as drafts) and some were closed without merging.

And in the ways that matter to the four keys: the teams file's ``repositories`` list owns every repository
(some shared 0.6 / 0.4, one handed over mid-period) and mixes the four deployment sources. Repositories
deploy a little after merges (a few times a day at most), with GitHub's status sequences: staging
deployments first (which must not count), failed attempts retried, ``inactive`` once superseded, one still
in progress at ``now``. Workflow runs fail now and then, releases go through drafts and pre-releases.
Incidents follow some deployments, naming their root cause or not, restored hours later, a few still
open, one reopened; ordinary issues carry other labels; some PRs are reverted days or weeks later. Every
PR's first commit comes hours to days before it was opened.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from collector.testing.fake_github import (
    FakeDeployment,
    FakeGitHub,
    FakeIssue,
    FakePull,
    FakeRelease,
    FakeStatus,
    FakeWorkflowRun,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

DEMO_TEAMS = ("platform", "payments", "mobile", "data")
DEMO_PEOPLE = (
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
    "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil",
)  # fmt: skip
BOTS = ("dependabot[bot]", "renovate[bot]")

PRODUCTION, STAGING = "production", "staging"
ENVIRONMENT_PATTERN = "^(prod|production)$"
DEPLOY_WORKFLOW, DEPLOY_WORKFLOW_ID = "deploy.yml", 4242
INCIDENT_LABEL = "incident"
DEPLOYS_PER_DAY = 3.0  # the busiest repositories deploy a few times a day; small ones after most merges
RELEASES_PER_DAY = 0.3  # a repository that deploys by release publishes one every few days
STAGING_RATE = 0.7  # production deployments that a staging deployment of the same commit precedes
FAILED_ATTEMPT_RATE = 0.06  # production deployments (and deploy workflow runs) that fail first, then are retried
INCIDENT_RATE = 0.06  # incidents per deployment
REVERT_RATE = 0.01  # merged PRs reverted later
ISSUES_PER_MERGE = 1 / 12  # ordinary issues (bugs, features), which are no incidents
_MIN_GAP = timedelta(minutes=20)  # between two deployments of one repository
_SYMPTOMS = (
    "checkout answers 500", "login takes over 5 s", "payment webhooks back up", "search returns nothing",
    "the app crashes at start", "reports are hours stale", "error rate up on /api/orders", "old assets served",
)  # fmt: skip
_CHORES = ("Bug: wrong total on invoices", "Add dark mode", "Flaky test in CI", "Document the API limits",
           "Bug: timezone off by one hour", "Upgrade the database driver")  # fmt: skip
_OTHER_LABELS: tuple[list[str], ...] = (["bug"], ["enhancement"], [], ["bug", "p2"], ["incident-review"])

# A change that reached a deployment: when it counted, the commit deployed, the PR whose merge made that commit.
Shipped = tuple[datetime, str, FakePull]


@dataclass(frozen=True)
class SampleOrg:
    repositories: tuple[str, ...]
    pulls: dict[str, list[FakePull]]
    teams_document: dict[str, Any]
    deployments: dict[str, list[FakeDeployment]] = field(default_factory=dict)
    workflow_runs: dict[str, list[FakeWorkflowRun]] = field(default_factory=dict)
    releases: dict[str, list[FakeRelease]] = field(default_factory=dict)
    issues: dict[str, list[FakeIssue]] = field(default_factory=dict)  # incidents and ordinary issues

    @property
    def total_pulls(self) -> int:
        return sum(len(p) for p in self.pulls.values())

    def running_deployments(self) -> list[tuple[str, FakeDeployment]]:
        """The deployments in progress at the sample's ``now``, with their repository."""
        return [(repo, d) for repo, ds in self.deployments.items() for d in ds
                if d.statuses and d.statuses[-1].state == "in_progress"]  # fmt: skip

    def serve(self, fake: FakeGitHub) -> None:
        for repo in self.repositories:
            fake.add_repo(repo, default_branch="main")
            for pull in self.pulls[repo]:
                fake.add_pull(repo, pull)
            for deployment in self.deployments.get(repo, ()):
                fake.add_deployment(repo, deployment)
            for run in self.workflow_runs.get(repo, ()):
                fake.add_workflow_run(repo, run)
            for release in self.releases.get(repo, ()):
                fake.add_release(repo, release)
            for issue in self.issues.get(repo, ()):
                fake.add_issue(repo, issue)


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
    # The four keys draw from a stream of their own: the PRs and the teams stay what earlier versions made.
    keys = random.Random(f"{seed}/four keys")
    sources = _sources(repos, pulls)
    teams_document["repositories"] = _repositories(keys, repos, sources, teams, start, now)
    sample = SampleOrg(repos, pulls, teams_document)
    # A few deployments without a final status: the busiest repository's production deployment and the next
    # one's staging deployment still running at ``now``, and a third's production one stuck queued for weeks.
    ranked = [r for r in sorted(repos, key=lambda r: (-len(pulls[r]), r)) if sources[r] == "deployments"]
    unfinished = dict(zip(ranked, (PRODUCTION, STAGING, "stuck"), strict=False))
    for index, repo in enumerate(repos):
        _add_signals(keys, sample, index, repo, sources[repo], people, start, now, unfinished=unfinished.get(repo))
    _keep_one_incident_open(sample, now)
    _reopen_one_incident(keys, sample, now)
    _label_a_revert_as_incident(sample)
    return sample


def heavy_tail_sizes(rng_seed: int, repos: int, total: int, largest: int) -> list[int]:
    """Repository sizes with a Zipf-like tail: one large repository, many small ones."""
    weights = [1.0 / (rank**1.1) for rank in range(1, repos + 1)]
    rest = total - largest
    tail = weights[1:]
    sizes = [largest] + [max(5, round(rest * w / sum(tail))) for w in tail]
    random.Random(rng_seed).shuffle(sizes)
    return sizes


def merge_sha(repo: str, number: int) -> str:
    """The commit PR ``number``'s merge made on the default branch: a fake sha, stable for the repository and PR."""
    return hashlib.sha1(f"{repo}#{number}".encode()).hexdigest()


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


# ---------------------------------------------------------------------------------------------- the four keys


def _sources(repos: Sequence[str], pulls: dict[str, list[FakePull]]) -> dict[str, str]:
    """How each repository deploys: the largest with GitHub Deployments, the next three by a workflow, by
    releases and on every merge, all others (most, in a large organisation) with GitHub Deployments."""
    ranked = sorted(repos, key=lambda r: (-len(pulls[r]), r))
    sources = dict.fromkeys(repos, "deployments")
    for repo, source in zip(ranked[1:], ("workflow", "releases", "merges"), strict=False):
        sources[repo] = source
    return sources


def _repositories(
    rng: random.Random, repos: Sequence[str], sources: dict[str, str], teams: Sequence[str], start: datetime,
    now: datetime,
) -> list[dict[str, Any]]:  # fmt: skip
    """The teams file's ``repositories``: every repository owned by a team, a team that owns none (fewer
    repositories than teams) takes a 0.4 share of one, about one in five is shared 0.6 / 0.4, and one is handed
    over to another team part-way through the period."""
    order = list(teams)
    rng.shuffle(order)
    primary = {repo: order[i % len(order)] for i, repo in enumerate(repos)}
    partner = dict(zip(repos, order[len(repos) :], strict=False))
    for repo in repos:
        if repo not in partner and len(teams) > 1 and rng.random() < 0.2:
            partner[repo] = rng.choice([t for t in teams if t != primary[repo]])
    # Handed over: preferably one whose team owns another (it keeps deployments after), not shared.
    primaries = Counter(primary.values())
    candidates = sorted(repos[1:], key=lambda r: (primaries[primary[r]] < 2, r in partner))
    handed = candidates[0] if candidates and len(teams) > 2 else None
    when = (start + (now - start) * rng.uniform(0.35, 0.65)).date().isoformat()
    entries = []
    for repo in repos:
        share = {"share": 0.6} if repo in partner else {}
        owners: list[dict[str, Any]] = [{"team": primary[repo], **share}]
        if repo == handed:
            successor = rng.choice([t for t in teams if t not in (primary[repo], partner.get(repo))])
            owners = [{**owners[0], "until": when}, {"team": successor, **share, "from": when}]
        if repo in partner:
            owners.append({"team": partner[repo], "share": 0.4})
        entries.append({"name": repo, "owners": owners, "deployments": _deployment_rule(sources[repo]),
                        "incidents": {"label": INCIDENT_LABEL}})  # fmt: skip
    return entries


def _deployment_rule(source: str) -> dict[str, str]:
    if source == "deployments":
        return {"source": source, "environment": ENVIRONMENT_PATTERN}
    if source == "workflow":
        return {"source": source, "workflow": DEPLOY_WORKFLOW}
    return {"source": source}


def _add_signals(
    rng: random.Random, sample: SampleOrg, index: int, repo: str, source: str, people: Sequence[str],
    start: datetime, now: datetime, *, unfinished: str | None,
) -> None:  # fmt: skip
    """A repository's first commits, reverts, deployments (by its source) and issues."""
    pulls = sample.pulls[repo]
    for pull in pulls:
        pull.first_commit_at = _first_commit(rng, pull)
    pulls.extend(_reverts(rng, repo, pulls, people, now))
    merges = sorted((p for p in pulls if p.merged_at is not None and p.base_ref is None),
                    key=lambda p: (p.merged_at or now, p.number))  # fmt: skip
    ids = itertools.count((index + 1) * 100_000)  # ids unique across the organisation (GraphQL's Int is 32-bit)
    shipped: list[Shipped]
    if source == "deployments":
        sample.deployments[repo], shipped = _deployments(rng, repo, merges, ids, start, now, unfinished=unfinished)
    elif source == "workflow":
        sample.workflow_runs[repo], shipped = _workflow_runs(rng, repo, merges, ids, start, now)
    elif source == "releases":
        sample.releases[repo], shipped = _releases(rng, repo, merges, ids, start, now)
    else:  # merges: every merge of a person into the default branch
        shipped = [(p.merged_at, merge_sha(repo, p.number), p) for p in merges if _person(p) and p.merged_at]
    first_number = max((p.number for p in pulls), default=0) + 1  # issues and PRs share one numbering
    sample.issues[repo] = _issues(rng, shipped, len(merges), first_number, people, start, now)


def _first_commit(rng: random.Random, pull: FakePull) -> datetime:
    """Hours to days before the PR was opened; a bot commits minutes before it opens its PR."""
    if pull.user_type == "Bot":
        return pull.created_at - timedelta(minutes=rng.uniform(1, 10))
    hours = min(max(rng.lognormvariate(math.log(6), 1.3), 0.2), 24 * 21)
    return pull.created_at - timedelta(hours=hours)


def _person(pull: FakePull) -> bool:
    return pull.user_type == "User" and pull.user not in (None, "ghost")


def _reverts(rng: random.Random, repo: str, pulls: Sequence[FakePull], people: Sequence[str],
             now: datetime) -> list[FakePull]:  # fmt: skip
    """Revert PRs as GitHub's revert button writes them, merged days or weeks after the PR they revert."""
    numbers = itertools.count(max((p.number for p in pulls), default=0) + 1)
    reverts = []
    for pull in list(pulls):
        if pull.merged_at is None or pull.base_ref is not None or not _person(pull) or rng.random() >= REVERT_RATE:
            continue
        created = pull.merged_at + timedelta(hours=min(max(rng.lognormvariate(math.log(96), 0.9), 6), 24 * 40))
        merged = created + timedelta(hours=rng.uniform(0.3, 5))
        if merged >= now:
            continue
        author = pull.user if rng.random() < 0.6 else rng.choice(people)
        reverts.append(FakePull(next(numbers), f'Revert "{pull.title}"', author, created,
                                merged + timedelta(minutes=rng.uniform(0, 30)), merged_at=merged, closed_at=merged,
                                body=f"Reverts {repo}#{pull.number}",
                                first_commit_at=created - timedelta(minutes=rng.uniform(2, 30))))  # fmt: skip
    return reverts


def _deploy_events(
    rng: random.Random, merges: Sequence[FakePull], start: datetime, now: datetime, per_day: float
) -> Iterator[tuple[datetime, FakePull]]:
    """When a repository deploys, and the merge whose commit it deploys: a little after some merges, at most
    about ``per_day`` a day, never two within minutes of each other."""
    days = max((now - start).total_seconds() / 86_400, 1.0)
    chance = min(1.0, per_day * days / max(len(merges), 1))
    last: datetime | None = None
    for pull in merges:
        if pull.merged_at is None or rng.random() >= chance:
            continue
        at = pull.merged_at + timedelta(minutes=min(rng.lognormvariate(math.log(20), 0.7), 240))
        if at >= now or (last is not None and at < last + _MIN_GAP):
            continue
        last = at
        yield at, pull


def _deployments(
    rng: random.Random, repo: str, merges: Sequence[FakePull], ids: Iterator[int], start: datetime, now: datetime,
    *, unfinished: str | None,
) -> tuple[list[FakeDeployment], list[Shipped]]:  # fmt: skip
    """GitHub Deployments: staging first for most, a failed production attempt now and then (retried as a new
    deployment), the statuses GitHub records up to ``now``, ``inactive`` once a newer one succeeds.
    ``unfinished``: one more deployment without a final status, to that environment at ``now`` or ``stuck``."""
    found: list[FakeDeployment] = []
    shipped: list[Shipped] = []
    for at, pull in _deploy_events(rng, merges, start, now, DEPLOYS_PER_DAY):
        sha = merge_sha(repo, pull.number)
        if rng.random() < STAGING_RATE:
            found.append(_deployment(rng, next(ids), sha, STAGING, at, now, "success"))
            at += timedelta(minutes=rng.uniform(10, 45))
        if rng.random() < FAILED_ATTEMPT_RATE:
            found.append(_deployment(rng, next(ids), sha, PRODUCTION, at, now, rng.choice(("failure", "error"))))
            at += timedelta(minutes=rng.uniform(15, 60))
        deployment = _deployment(rng, next(ids), sha, PRODUCTION, at, now, "success")
        found.append(deployment)
        succeeded = [s.created_at for s in deployment.statuses if s.state == "success"]
        if succeeded:
            shipped.append((succeeded[0], sha, pull))
    if unfinished is not None and merges:
        found.append(_unfinished(rng, repo, merges, next(ids), unfinished, start, now))
    found = [d for d in found if d.created_at < now]
    _supersede(found, now)
    return found, shipped


def _unfinished(rng: random.Random, repo: str, merges: Sequence[FakePull], deployment_id: int, kind: str,
                start: datetime, now: datetime) -> FakeDeployment:  # fmt: skip
    """A deployment running at ``now`` (queued, then in progress) to the ``kind`` environment, or one ``stuck``
    queued since the middle of the period (a tool that never reported how it ended)."""
    at = start + (now - start) / 2 if kind == "stuck" else now - timedelta(minutes=rng.uniform(3, 8))
    pull = max((p for p in merges if p.merged_at and p.merged_at < at), key=lambda p: p.merged_at or at,
               default=merges[0])  # fmt: skip
    environment = PRODUCTION if kind == "stuck" else kind
    statuses = [FakeStatus("queued", at)]
    if kind != "stuck":
        statuses.append(FakeStatus("in_progress", at + timedelta(minutes=1)))
    return FakeDeployment(deployment_id, merge_sha(repo, pull.number), environment, at, statuses)


def _deployment(rng: random.Random, deployment_id: int, sha: str, environment: str, at: datetime, now: datetime,
                outcome: str) -> FakeDeployment:  # fmt: skip
    """Queued, in progress, then ``outcome``: the statuses GitHub has recorded by ``now``."""
    started = at + timedelta(minutes=rng.uniform(0.2, 2))
    ended = started + timedelta(minutes=rng.uniform(2, 13))
    statuses = [FakeStatus(state, when) for state, when in (("queued", at), ("in_progress", started), (outcome, ended))
                if when <= now]  # fmt: skip
    return FakeDeployment(deployment_id, sha, environment, at, statuses)


def _supersede(deployments: Sequence[FakeDeployment], now: datetime) -> None:
    """GitHub marks an environment's previous successful deployment ``inactive`` when a newer one succeeds."""
    for environment in {d.environment for d in deployments}:
        succeeded = sorted(
            ((s.created_at, d) for d in deployments if d.environment == environment for s in d.statuses
             if s.state == "success"),
            key=lambda pair: pair[0],
        )  # fmt: skip
        for (_, older), (when, _) in itertools.pairwise(succeeded):
            if when <= now:
                older.statuses.append(FakeStatus("inactive", when))


def _workflow_runs(
    rng: random.Random, repo: str, merges: Sequence[FakePull], ids: Iterator[int], start: datetime, now: datetime
) -> tuple[list[FakeWorkflowRun], list[Shipped]]:
    """Runs of the deploy workflow on pushes to main (some fail and are pushed again), now and then a manual
    run from a release branch (not the default branch: no deployment), the newest maybe still running."""
    runs: list[FakeWorkflowRun] = []
    shipped: list[Shipped] = []
    for at, pull in _deploy_events(rng, merges, start, now, DEPLOYS_PER_DAY):
        sha = merge_sha(repo, pull.number)
        if rng.random() < FAILED_ATTEMPT_RATE:
            runs.append(_run(rng, next(ids), sha, "main", at, now, rng.choice(("failure", "cancelled", "timed_out"))))
            at += timedelta(minutes=rng.uniform(10, 40))
        if rng.random() < 0.03:
            runs.append(_run(rng, next(ids), sha, "release/1.x", at, now, "success", event="workflow_dispatch"))
        run = _run(rng, next(ids), sha, "main", at, now, "success")
        runs.append(run)
        if run.conclusion == "success":
            shipped.append((run.updated_at, sha, pull))
    runs = [r for r in runs if r.created_at < now]
    for number, run in enumerate(sorted(runs, key=lambda r: (r.created_at, r.id)), start=1):
        run.run_number = number
    return runs, shipped


def _run(rng: random.Random, run_id: int, sha: str, branch: str, at: datetime, now: datetime, conclusion: str,
         event: str = "push") -> FakeWorkflowRun:  # fmt: skip
    finished = at + timedelta(minutes=rng.uniform(3, 12))
    if finished > now:  # still running
        return FakeWorkflowRun(run_id, DEPLOY_WORKFLOW, DEPLOY_WORKFLOW_ID, sha, branch, at, at, event=event,
                               status="in_progress", conclusion=None, run_started_at=at)  # fmt: skip
    return FakeWorkflowRun(run_id, DEPLOY_WORKFLOW, DEPLOY_WORKFLOW_ID, sha, branch, at, finished, event=event,
                           conclusion=conclusion, run_started_at=at)  # fmt: skip


def _releases(
    rng: random.Random, repo: str, merges: Sequence[FakePull], ids: Iterator[int], start: datetime, now: datetime
) -> tuple[list[FakeRelease], list[Shipped]]:
    """A release every few days, dated (``created_at``) by its commit and published hours later; some after a
    pre-release; the newest may still be a draft, and a few drafts are abandoned."""
    releases: list[FakeRelease] = []
    shipped: list[Shipped] = []
    for version, (at, pull) in enumerate(_deploy_events(rng, merges, start, now, RELEASES_PER_DAY), start=1):
        sha = merge_sha(repo, pull.number)
        created = pull.merged_at or at
        target = sha if rng.random() < 0.5 else "main"
        tag = f"v1.{version}.0"
        if rng.random() < 0.25:
            candidate = created + timedelta(hours=rng.uniform(0.2, 1))
            releases.append(FakeRelease(next(ids), f"{tag}-rc.1", created, candidate if candidate <= now else None,
                                        draft=candidate > now, prerelease=True, target_commitish=target))  # fmt: skip
        published = at + timedelta(hours=min(rng.lognormvariate(math.log(3), 0.8), 72))
        if published > now or rng.random() < 0.03:  # being prepared, or abandoned
            releases.append(FakeRelease(next(ids), tag, created, None, draft=True, target_commitish=target))
            continue
        releases.append(FakeRelease(next(ids), tag, created, published, target_commitish=target, name=tag))
        shipped.append((published, sha, pull))
    return releases, shipped


def _issues(
    rng: random.Random, shipped: Sequence[Shipped], merges: int, first_number: int, people: Sequence[str],
    start: datetime, now: datetime,
) -> list[FakeIssue]:  # fmt: skip
    """Incidents after some deployments (at least two where there are deployments), and ordinary issues;
    numbered in the order they were opened."""
    chosen = [s for s in shipped if rng.random() < INCIDENT_RATE]
    if len(chosen) < 2 and len(shipped) >= 2:
        chosen = sorted(rng.sample(list(shipped), 2), key=lambda s: s[0])
    issues = [_incident(rng, deployed, people, now) for deployed in chosen]
    issues = [issue for issue in issues if issue.created_at < now]
    span = (now - start).total_seconds()
    for _ in range(max(1, round(merges * ISSUES_PER_MERGE))):
        opened = start + timedelta(seconds=rng.uniform(0, span))
        closed = opened + timedelta(days=rng.uniform(1, 30))
        done = closed <= now and rng.random() < 0.6
        issues.append(FakeIssue(0, rng.choice(_CHORES), opened, closed if done else opened,
                                state="closed" if done else "open", closed_at=closed if done else None,
                                labels=list(rng.choice(_OTHER_LABELS)), user=rng.choice(people)))  # fmt: skip
    issues.sort(key=lambda issue: issue.created_at)
    for number, issue in enumerate(issues, start=first_number):
        issue.number = number
    return issues


def _incident(rng: random.Random, deployed: Shipped, people: Sequence[str], now: datetime) -> FakeIssue:
    """An incident opened hours after a deployment, naming it (or the PR it shipped) as root cause or not;
    restored hours later, or still open."""
    at, sha, pull = deployed
    opened = at + timedelta(hours=min(rng.lognormvariate(math.log(2), 1.0), 48))
    restored = opened + timedelta(hours=min(rng.lognormvariate(math.log(4), 1.2), 24 * 14))
    lines = ["Customers were affected; timeline in the postmortem.", ""]
    roll = rng.random()
    if roll < 0.35:
        lines.append(f"root cause: {sha[: rng.choice((7, 8, 10, 12))]}")
    elif roll < 0.55:
        lines.append(f"Root cause: #{pull.number}")
    elif roll < 0.6:
        lines.append("root cause: unknown, still investigating")  # names nothing: the latest deployment is blamed
    labels = [INCIDENT_LABEL, *(["sev1"] if rng.random() < 0.3 else [])]
    title = f"Incident: {rng.choice(_SYMPTOMS)}"
    if restored > now:
        return FakeIssue(0, title, opened, opened, body="\n".join(lines), labels=labels, user=rng.choice(people))
    return FakeIssue(0, title, opened, restored, state="closed", closed_at=restored, body="\n".join(lines),
                     labels=labels, user=rng.choice(people))  # fmt: skip


def _keep_one_incident_open(sample: SampleOrg, now: datetime) -> None:
    """The newest incident is still open, if none that recent is."""
    incidents = [issue for repo in sample.repositories for issue in sample.issues.get(repo, ())
                 if INCIDENT_LABEL in issue.labels and not issue.is_pull_request]  # fmt: skip
    if incidents and not any(issue.state == "open" for issue in incidents):
        newest = max(incidents, key=lambda issue: issue.created_at)
        newest.state, newest.closed_at, newest.updated_at = "open", None, newest.created_at


def _reopen_one_incident(rng: random.Random, sample: SampleOrg, now: datetime) -> None:
    """An incident closed a week or more ago came back: reopened (open again, no closed_at), as GitHub shows it."""
    week_ago = now - timedelta(days=7)
    closed = [issue for repo in sample.repositories for issue in sample.issues.get(repo, ())
              if INCIDENT_LABEL in issue.labels and issue.closed_at and issue.closed_at < week_ago]  # fmt: skip
    if not closed:
        return
    issue = rng.choice(closed)
    reopened = issue.closed_at + timedelta(days=rng.uniform(1, 3)) if issue.closed_at else now
    issue.state, issue.closed_at, issue.updated_at = "open", None, reopened
    issue.body = f"{issue.body or ''}\n\nReopened: it came back."


def _label_a_revert_as_incident(sample: SampleOrg) -> None:
    """A revert PR labelled ``incident``: GitHub's issues listing shows it with the issues, and it is no incident."""
    for repo in sample.repositories:
        revert = next((p for p in sample.pulls[repo] if p.title.startswith('Revert "')), None)
        if revert is not None and revert.merged_at is not None:
            labelled = FakeIssue(revert.number, revert.title, revert.created_at, revert.updated_at, state="closed",
                                 closed_at=revert.merged_at, body=revert.body, labels=[INCIDENT_LABEL],
                                 user=revert.user, is_pull_request=True)  # fmt: skip
            sample.issues[repo].append(labelled)
            return
