"""Signed deliveries to collections, end to end without AWS: ``receive`` into the local queue, ``drain``, then
``collect_requested`` against the fake GitHub and a real PostgreSQL. Nothing waits on a clock: the queue is
drained explicitly, and each collection's time is given."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from collector import store
from collector.deadline import Deadline
from collector.github_api import GitHubClientFactory
from collector.testing.fake_github import Fault
from collector.webhook_runs import collect_requested
from collector.webhooks import LocalQueue, receive
from tests.helpers import FAST_RETRY, add, merged_pull, rows, settings_for
from tests.integration.test_four_keys_views import configure

SECRET = "webhook-secret-for-the-integration-tests"
REPOSITORIES = ["acme/api", "acme/web"]
EVENTS = ["pull_request", "workflow_run", "deployment_status", "release", "issues"]


@pytest.fixture
def org(engine, fake_github, team):
    """Two repositories collected by a schedule ten minutes ago; then a PR merges in acme/api."""
    now = datetime.now(UTC)
    for repo in REPOSITORIES:
        add(fake_github, repo, *[merged_pull(n, merged=now - timedelta(days=2, minutes=n)) for n in range(1, 6)])
    schedule = collect(engine, fake_github, now=now - timedelta(minutes=10), trigger="schedule")
    assert [r.status for r in schedule.results] == ["success"]
    fake_github.add_pull("acme/api", merged_pull(42, merged=now - timedelta(minutes=2), title="Fix the outage"))
    fake_github.clear_log()
    return now


def collect(engine, fake, requests=None, *, now=None, trigger="webhook", deadline=None):
    """What the queue's consumer does; with ``trigger="schedule"``, a plain run of every repository."""
    settings = settings_for(fake, engine, REPOSITORIES)

    def make_github():
        return GitHubClientFactory(token="test-token", base_url=fake.base_url, policy=FAST_RETRY, deadline=deadline)

    clock = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
    if trigger == "schedule":
        from collector.pipeline import run
        from collector.webhook_runs import Collected

        return Collected(results=[run(settings, github=make_github(), engine=engine, now=clock(), trigger="schedule")])
    return collect_requested(settings, requests or [], make_github=make_github, engine=engine, clock=clock,
                             deadline=deadline)  # fmt: skip


def deliver(queue, delivery, now=None):
    headers, body = delivery
    return receive(headers, body, secret=SECRET, repositories=REPOSITORIES, queue=queue, now=now or datetime.now(UTC))


def pr_42(engine):
    credited = "SELECT t.name, m.title FROM pr_metrics m JOIN teams t ON t.id = m.team_id WHERE m.pr_number = 42"
    return rows(engine, credited)


def webhook_runs(engine):
    return rows(engine, "SELECT status, repositories_total FROM collector_runs WHERE trigger = 'webhook'")


def burst(fake, now, count=50):
    """A merge's worth of deliveries and then some: every subscribed event, over and over, for acme/api."""
    deliveries = []
    for n in range(count):
        event = EVENTS[n % len(EVENTS)]
        number = 42 if event == "pull_request" else None
        deliveries.append(fake.webhook(event, "acme/api", secret=SECRET, number=number, at=now - timedelta(seconds=n)))
    return deliveries


def test_a_burst_of_50_signed_deliveries_is_one_collection_and_the_numbers_change(engine, fake_github, org):
    queue = LocalQueue()
    before = rows(engine, "SELECT count(*) FROM pr_metrics WHERE repository = 'acme/api'")
    answers = [deliver(queue, delivery) for delivery in burst(fake_github, org)]
    assert {a.status for a in answers} == {202} and len(queue) == 50

    collected = collect(engine, fake_github, queue.drain())

    assert webhook_runs(engine) == [("success", 1)]
    assert [r.status for r in collected.results] == ["success"] and collected.retry == []
    assert pr_42(engine) == [("platform", "Fix the outage")]
    assert rows(engine, "SELECT count(*) FROM pr_metrics WHERE repository = 'acme/api'") == [(before[0][0] + 1,)]
    # Only the repository the deliveries named was read, and incrementally: its first page.
    assert {r.path for r in fake_github.pull_requests_log()} == {"/repos/acme/api/pulls"}
    assert len(fake_github.pull_requests_log()) == 1


def test_replayed_and_duplicate_deliveries_change_nothing(engine, fake_github, org):
    queue = LocalQueue()
    deliveries = burst(fake_github, org, count=5)
    for delivery in deliveries:
        deliver(queue, delivery)
    collect(engine, fake_github, queue.drain())
    fake_github.clear_log()
    # GitHub's redelivery (the same id and body), and a replay under a made-up id: GitHub signs no id.
    for headers, body in deliveries:
        deliver(queue, (headers, body), now=datetime.now(UTC) + timedelta(hours=1))
        deliver(queue, ({**headers, "X-GitHub-Delivery": "0" * 8}, body), now=datetime.now(UTC) + timedelta(hours=1))
    assert len(queue) == 10  # nothing tells a replay from a delivery before the stored data are consulted

    collected = collect(engine, fake_github, queue.drain())

    assert collected.skipped == ["acme/api"] and collected.results == [] and collected.retry == []
    assert webhook_runs(engine) == [("success", 1)]
    assert fake_github.requests == []


def test_a_badly_signed_delivery_and_one_for_an_unknown_repository_collect_nothing(engine, fake_github, org):
    queue = LocalQueue()
    fake_github.add_repo("acme/secret")
    forged_headers, body = fake_github.webhook("pull_request", "acme/api", secret="not-the-secret", number=42)
    answers = [
        deliver(queue, (forged_headers, body)),
        deliver(queue, ({k: v for k, v in forged_headers.items() if k != "X-Hub-Signature-256"}, body)),
        deliver(queue, fake_github.webhook("release", "acme/secret", secret=SECRET)),
    ]
    assert [a.status for a in answers] == [401, 401, 200]
    assert len(queue) == 0
    assert collect(engine, fake_github, queue.drain()).results == []
    assert webhook_runs(engine) == [] and pr_42(engine) == [] and fake_github.requests == []


def test_a_stale_delivery_collects_nothing(engine, fake_github, org):
    queue = LocalQueue()
    old = fake_github.webhook("workflow_run", "acme/api", secret=SECRET, at=org - timedelta(days=2))
    assert deliver(queue, old).message.startswith("ignored: stale") and len(queue) == 0


def test_a_ping_is_answered_and_schedules_nothing(engine, fake_github, org):
    queue = LocalQueue()
    answer = deliver(queue, fake_github.webhook("ping", "acme/api", secret=SECRET))
    assert (answer.status, answer.message, len(queue)) == (200, "pong", 0)


def test_deliveries_for_two_repositories_are_two_collections(engine, fake_github, org):
    for repository in REPOSITORIES:
        configure(engine, repository, source="releases")
    queue = LocalQueue()
    for repo in ("acme/web", "ACME/Api", "acme/web"):
        deliver(queue, fake_github.webhook("release", repo, secret=SECRET))
    collect(engine, fake_github, queue.drain())
    assert sorted(rows(engine, "SELECT status, repositories_total FROM collector_runs WHERE trigger = 'webhook'")) == [
        ("success", 1), ("success", 1),
    ]  # fmt: skip
    assert pr_42(engine) == [("platform", "Fix the outage")]


def test_a_repository_another_run_holds_is_busy_then_collected(engine, fake_github, org):
    queue = LocalQueue()
    deliver(queue, fake_github.webhook("pull_request", "acme/api", secret=SECRET, number=42))
    requests = queue.drain()
    with store.run_lock(engine, ["acme/api"]):  # the schedule is collecting it
        busy = collect(engine, fake_github, requests)
    assert (busy.busy, busy.retry, busy.results, webhook_runs(engine)) == (["acme/api"], [], [], [])
    assert collect(engine, fake_github, requests).busy == []  # asked again later
    assert pr_42(engine) == [("platform", "Fix the outage")]


def test_a_run_that_reached_past_the_event_while_the_request_waited_covers_it(engine, fake_github, org):
    queue = LocalQueue()
    deliver(queue, fake_github.webhook("pull_request", "acme/api", secret=SECRET, number=42))
    collect(engine, fake_github, now=datetime.now(UTC) + timedelta(seconds=1), trigger="schedule")
    fake_github.clear_log()
    collected = collect(engine, fake_github, queue.drain())
    assert collected.skipped == ["acme/api"] and fake_github.requests == [] and webhook_runs(engine) == []


def test_a_failed_collection_is_retried_and_a_partial_one_is_not(engine, fake_github, org):
    configure(engine, "acme/api", source="releases")
    queue = LocalQueue()
    deliver(queue, fake_github.webhook("release", "acme/api", secret=SECRET))
    requests = queue.drain()
    fake_github.inject(r"/repos/acme/api/pulls$", *[Fault(status=404, message="Not Found")] * 3)
    failed = collect(engine, fake_github, requests)
    assert failed.retry == ["acme/api"] and webhook_runs(engine) == [("failed", 1)]
    # A run out of time leaves its repository's sweep stored for the next run, whichever starts it.
    too_late = collect(engine, fake_github, requests, deadline=Deadline(0))
    assert too_late.retry == ["acme/api"] and webhook_runs(engine) == [("failed", 1)]


def test_a_repository_never_collected_is_collected_from_the_start(engine, fake_github, team):
    now = datetime.now(UTC)
    add(fake_github, "acme/web", *[merged_pull(n, merged=now - timedelta(days=n)) for n in range(1, 4)])
    queue = LocalQueue()
    assert deliver(queue, fake_github.webhook("pull_request", "acme/web", secret=SECRET, number=1)).status == 202
    collect(engine, fake_github, queue.drain())
    assert rows(engine, "SELECT count(*) FROM pull_requests WHERE repository = 'acme/web'") == [(3,)]


def test_a_request_for_a_repository_no_longer_configured_is_dropped(engine, fake_github, org):
    queue = LocalQueue()
    deliver(queue, fake_github.webhook("pull_request", "acme/api", secret=SECRET, number=42))
    settings = settings_for(fake_github, engine, ["acme/web"])
    collected = collect_requested(settings, queue.drain(), make_github=lambda: None, engine=engine,
                                  clock=lambda: datetime.now(UTC))  # fmt: skip
    assert (collected.results, collected.skipped, collected.retry) == ([], [], [])


# ---------------------------------------------------------------- the four keys' events


@pytest.mark.parametrize(
    ("event", "fields", "scheduled"),
    [("deployment_status", {}, True), ("deployment_status", {"state": "in_progress"}, False),
     ("workflow_run", {}, True), ("workflow_run", {"conclusion": "failure"}, False),
     ("workflow_run", {"head_branch": "feature/x"}, False),
     ("issues", {}, True), ("issues", {"labels": []}, False)],
    ids=["deployed", "deploying", "run on main", "run failed", "run on a branch", "labelled issue", "no label"],
)  # fmt: skip
def test_githubs_payloads_that_can_change_nothing_collected_are_answered_200(engine, fake_github, org, event, fields,
                                                                            scheduled):  # fmt: skip
    queue = LocalQueue()
    answer = deliver(queue, fake_github.webhook(event, "acme/api", secret=SECRET, fields=fields))
    assert (answer.status, len(queue)) == ((202, 1) if scheduled else (200, 0)), answer.message


def test_a_four_keys_event_asks_for_a_run_only_where_the_run_reads_what_it_changed(engine, fake_github, org):
    def deployed():
        queue = LocalQueue()
        assert deliver(queue, fake_github.webhook("deployment_status", "acme/api", secret=SECRET)).status == 202
        return collect(engine, fake_github, queue.drain())

    # Not in the teams file's repositories: a run would read its PRs only, which a deployment does not change.
    unconfigured = deployed()
    assert (unconfigured.unread, unconfigured.results, fake_github.requests) == (["acme/api"], [], [])
    configure(engine, "acme/api", source="workflow")  # deploys by a workflow: a run reads no GitHub Deployment
    assert (deployed().unread, webhook_runs(engine)) == (["acme/api"], [])
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE repositories SET deploy_source = 'deployments', environment_pattern = '^prod', workflow = NULL"
            )
        )
    collected = deployed()
    assert (collected.unread, webhook_runs(engine)) == ([], [("success", 1)])
    assert pr_42(engine) == [("platform", "Fix the outage")]  # the run is the whole run: PRs too


def test_a_closed_pr_beside_unread_events_is_collected(engine, fake_github, org):
    queue = LocalQueue()
    for event in ("release", "issues", "workflow_run"):
        deliver(queue, fake_github.webhook(event, "acme/api", secret=SECRET))
    deliver(queue, fake_github.webhook("pull_request", "acme/api", secret=SECRET, number=42))
    collected = collect(engine, fake_github, queue.drain())
    assert (collected.unread, webhook_runs(engine)) == ([], [("success", 1)])
