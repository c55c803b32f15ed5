"""Listing through PyGithub's requester against the fake: paging, conversion, retries, errors."""

import gzip
import json
import re
import time
from datetime import timedelta

import pytest

from collector.deadline import Deadline
from collector.errors import GitHubAuthError, GitHubUnavailableError
from collector.fetch import read_page
from collector.github_api import (
    MAX_BODY_BYTES,
    BudgetSpent,
    DeadlineReached,
    GitHubClientFactory,
    GitHubRequestError,
    GitHubTimeoutError,
    RetryPolicy,
)
from collector.testing.fake_github import SECONDARY_LIMIT_MESSAGE, Fault
from tests.helpers import FAST_RETRY, NOW, merged_pull, open_pull

EPOCH = NOW - timedelta(days=3650)


def factory(fake, *, sleeps=None, policy=FAST_RETRY, deadline=None, token="test-token"):
    return GitHubClientFactory(
        token=token,
        base_url=fake.base_url,
        policy=policy,
        deadline=deadline,
        sleep=(sleeps.append if sleeps is not None else lambda _s: None),
    )


def read_listing(gh, repo="acme/api", cutoff=EPOCH, etag=None):
    """Pages as a sweep reads them: until the last page, or one holding a PR older than the cutoff."""
    pages, number = [], 1
    while True:
        page = read_page(gh.client(), repo, number, etag=etag if number == 1 else None)
        pages.append(page)
        if page.not_modified or not page.has_next or (page.oldest_update and page.oldest_update < cutoff):
            return pages
        number += 1


def listing_of(fake, repo="acme/api", cutoff=EPOCH, etag=None, **kw):
    gh = factory(fake, **kw)
    pages = read_listing(gh, repo, cutoff, etag)
    return pages, [list(p.prs) for p in pages if p.prs], gh


def test_pages_are_read_newest_updated_first_with_100_per_request(fake_github):
    fake_github.add_repo("acme/api")
    for n in range(1, 251):
        fake_github.add_pull("acme/api", merged_pull(n, updated=NOW - timedelta(minutes=n)))
    listing, pages, gh = listing_of(fake_github)
    assert [len(p) for p in pages] == [100, 100, 50]
    assert [pr.number for pr in pages[0][:3]] == [1, 2, 3]
    assert gh.stats.requests == 3 and not listing[-1].has_next
    assert listing[0].last_page == 3
    queries = [r.query for r in fake_github.pull_requests_log()]
    assert queries[0] == {"state": "all", "sort": "updated", "direction": "desc", "per_page": "100", "page": "1"}


def test_listing_stops_at_the_cutoff(fake_github):
    fake_github.add_repo("acme/api")
    for n in range(1, 251):
        fake_github.add_pull("acme/api", merged_pull(n, updated=NOW - timedelta(hours=n)))
    listing, _, gh = listing_of(fake_github, cutoff=NOW - timedelta(hours=120, minutes=30))
    assert gh.stats.requests == 2  # the second page holds the first PR older than the cutoff
    assert [p.oldest_update for p in listing] == [NOW - timedelta(hours=100), NOW - timedelta(hours=200)]


def test_conversion_flags_bots_deleted_authors_and_base_branches(fake_github):
    fake_github.add_repo("acme/api", default_branch="trunk")
    fake_github.add_pull("acme/api", merged_pull(1, user="dependabot[bot]", user_type="Bot"))
    fake_github.add_pull("acme/api", merged_pull(2, user="renovate[bot]"))
    fake_github.add_pull("acme/api", merged_pull(3, user=None))
    fake_github.add_pull("acme/api", merged_pull(4, user="ghost"))
    fake_github.add_pull("acme/api", merged_pull(5, base_ref="release/1.x"))
    fake_github.add_pull("acme/api", open_pull(6, created=NOW, draft=True))
    _, pages, _ = listing_of(fake_github)
    prs = {pr.number: pr for page in pages for pr in page}
    assert prs[1].is_bot and prs[2].is_bot and not prs[5].is_bot
    assert prs[3].author is None and prs[4].author is None
    assert (prs[5].base_ref, prs[5].default_branch) == ("release/1.x", "trunk")
    assert prs[6].merged_at is None and prs[6].draft and prs[6].state == "open"
    assert prs[1].merged_at is not None and prs[1].merged_at.tzinfo is not None


def test_a_stored_etag_makes_an_unchanged_repository_cost_one_uncounted_request(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1))
    first, _, _ = listing_of(fake_github)
    fake_github.clear_log()
    second, pages, gh = listing_of(fake_github, etag=first[0].etag)
    assert second[0].not_modified and pages == []
    assert gh.stats.requests == 1 and gh.stats.not_modified == 1 and fake_github.counted_requests == 0


def test_server_errors_are_retried_with_backoff(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1))
    fake_github.inject("/pulls$", Fault(502), Fault(503))
    sleeps = []
    _, pages, gh = listing_of(fake_github, sleeps=sleeps)
    assert len(pages) == 1 and gh.stats.retries == 2
    assert sleeps == [0.01, 0.02]


def test_secondary_rate_limit_waits_for_retry_after(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1))
    fake_github.inject("/pulls$", Fault(403, SECONDARY_LIMIT_MESSAGE, (("Retry-After", "7"),)))
    sleeps = []
    _, pages, _ = listing_of(fake_github, sleeps=sleeps)
    assert len(pages) == 1 and sleeps == [7.0]


def test_secondary_rate_limit_without_retry_after_waits_the_default(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1))
    fake_github.inject("/pulls$", Fault(429, "Too many requests"))
    sleeps = []
    listing_of(fake_github, sleeps=sleeps)
    assert sleeps == [FAST_RETRY.secondary_default_wait]


def test_connection_resets_are_retried(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1))
    fake_github.inject("/pulls$", Fault(reset=True))
    _, pages, gh = listing_of(fake_github)
    assert len(pages) == 1 and gh.stats.retries == 1


def test_persistent_server_errors_give_up_after_bounded_attempts(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.inject("/pulls$", *[Fault(500)] * 10)
    with pytest.raises(GitHubRequestError, match="GitHub answered 500"):
        listing_of(fake_github)
    assert len(fake_github.pull_requests_log()) == FAST_RETRY.attempts


def test_waits_longer_than_the_time_left_are_not_taken(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.inject("/pulls$", Fault(403, SECONDARY_LIMIT_MESSAGE, (("Retry-After", "120"),)))
    sleeps = []
    with pytest.raises(GitHubRequestError, match="secondary rate limit"):
        listing_of(fake_github, sleeps=sleeps, deadline=Deadline(60))
    assert sleeps == []


def test_a_spent_primary_limit_stops_with_its_reset_time_without_waiting(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.rate_remaining = 0
    sleeps = []
    with pytest.raises(BudgetSpent, match="rate limit is spent until") as info:
        listing_of(fake_github, sleeps=sleeps)
    assert sleeps == [] and info.value.reset.timestamp() == fake_github.rate_reset


def test_a_retry_after_past_the_cap_stops_instead_of_waiting(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.inject("/pulls", Fault(403, SECONDARY_LIMIT_MESSAGE, (("Retry-After", "86400"),)))
    sleeps = []
    with pytest.raises(BudgetSpent, match="86400 s"):
        listing_of(fake_github, sleeps=sleeps)  # no deadline: the CLI's case
    assert sleeps == []


def test_the_reserve_of_the_hourly_budget_is_left_for_other_tools(fake_github):
    fake_github.add_repo("acme/api")
    for n in range(1, 301):
        fake_github.add_pull("acme/api", merged_pull(n))
    fake_github.rate_limit, fake_github.rate_remaining = 100, 12
    gh = GitHubClientFactory(token="test-token", base_url=fake_github.base_url, rate_limit_reserve=0.10)
    with pytest.raises(BudgetSpent):
        read_listing(gh)
    assert fake_github.rate_remaining == 10 and gh.stats.requests == 2


def test_a_page_github_times_out_on_is_read_in_smaller_parts(fake_github):
    fake_github.add_repo("acme/api")
    for n in range(1, 251):
        fake_github.add_pull("acme/api", merged_pull(n, updated=NOW - timedelta(minutes=n)))
    fake_github.inject(query_of(100, 2), *[Fault(504, "We couldn't respond in time")] * 5)
    fake_github.inject(query_of(50, 4), *[Fault(502)] * 5)
    gh = factory(fake_github)
    page = read_page(gh.client(), "acme/api", 2)
    assert [pr.number for pr in page.prs] == list(range(101, 201))
    assert page.has_next and page.last_page == 3
    sizes = [(r.query["per_page"], r.query["page"], r.status) for r in fake_github.pull_requests_log()]
    assert sizes == [
        *[("100", "2", 504)] * 5, ("50", "3", 200), *[("50", "4", 502)] * 5,
        ("25", "5", 200), ("25", "6", 200), ("25", "7", 200), ("25", "8", 200),
    ]  # fmt: skip


def query_of(per_page, page):
    """A fault pattern for one page size and number, whatever the order of the query's parameters."""
    return rf"/pulls\?(?=.*[?&]per_page={per_page}(&|$))(?=.*[?&]page={page}(&|$))"


def test_a_page_that_times_out_at_every_size_fails_its_repository(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.inject("/pulls", *[Fault(504)] * 100)
    with pytest.raises(GitHubRequestError, match="timed out on page 1 even 25") as info:
        read_page(factory(fake_github).client(), "acme/api", 1)
    assert not isinstance(info.value, GitHubTimeoutError)


def test_bad_token_is_an_auth_error_naming_the_token_without_retrying(fake_github):
    fake_github.add_repo("acme/api")
    with pytest.raises(GitHubAuthError, match="GITHUB_TOKEN") as info:
        listing_of(fake_github, token="ghp_wrong_secret")
    assert "ghp_wrong_secret" not in str(info.value)
    assert len(fake_github.requests) == 1


def test_missing_repository_is_a_clear_404(fake_github):
    with pytest.raises(GitHubRequestError, match="404 Not Found"):
        listing_of(fake_github, repo="acme/nope")


def test_unreachable_github_is_reported_after_bounded_retries():
    gh = GitHubClientFactory(token="ghp_unreachable", base_url="http://127.0.0.1:9", policy=FAST_RETRY,
                             sleep=lambda _s: None)  # fmt: skip
    with pytest.raises(GitHubUnavailableError) as info:
        read_page(gh.client(), "acme/api", 1)
    # The operating system's reason, without urllib3's wrapping and its stray quotes and brackets.
    assert re.fullmatch(
        r"cannot reach GitHub at http://127\.0\.0\.1:9: \[Errno \d+\] Connection refused .*", str(info.value)
    )
    assert gh.stats.retries == FAST_RETRY.attempts - 1


def test_enterprise_server_prefix_is_followed_through_paging(fake_github):
    from collector.testing.fake_github import FakeGitHub

    with FakeGitHub(prefix="/api/v3") as ghes:
        ghes.add_repo("acme/api")
        for n in range(1, 151):
            ghes.add_pull("acme/api", merged_pull(n))
        _, pages, _ = listing_of(ghes)
        assert sum(len(p) for p in pages) == 150
        assert all(r.path.startswith("/repos/") or r.path.startswith("/repositories/") for r in ghes.requests)


# ---------------------------------------------------------------- a total time per request (issue 9)


def timed_get(gh, path="/repos/acme/api/pulls"):
    started = time.monotonic()
    try:
        return gh.client().get(path), time.monotonic() - started
    except Exception as exc:
        exc.elapsed = time.monotonic() - started
        raise


def test_an_answer_that_drips_is_cut_off_at_the_total_time_and_retried(fake_github):
    """A byte every 0.2 s never trips a per-read timeout: only a limit on the whole request ends it."""
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1))
    fake_github.inject("/pulls$", Fault(200, drip=True, drip_every=0.2, drip_for=10))
    gh = GitHubClientFactory(token="test-token", base_url=fake_github.base_url, policy=FAST_RETRY, timeout=1.0)
    response, elapsed = timed_get(gh)
    assert response.status == 200 and gh.stats.retries == 1
    assert 1.0 <= elapsed < 3.0
    assert fake_github.dripped >= 3  # bytes kept coming while the client waited


def test_an_answer_that_never_ends_fails_like_a_timeout_after_bounded_attempts(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.inject("/pulls$", *[Fault(200, drip=True, drip_for=10)] * 2)
    policy = RetryPolicy(attempts=2, backoff=0.01, deadline_margin=0.0)
    gh = GitHubClientFactory(token="test-token", base_url=fake_github.base_url, policy=policy, timeout=0.5)
    with pytest.raises(GitHubTimeoutError, match=r"took longer than 0\.5 s in all \(gave up after retries\)") as info:
        timed_get(gh)
    assert info.value.elapsed < 2.5 and "\n" not in str(info.value)


def test_headers_then_silence_end_at_the_total_time_too(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.inject("/pulls$", Fault(200, drip=True, drip_every=3600, drip_for=10))
    policy = RetryPolicy(attempts=1, deadline_margin=0.0)
    gh = GitHubClientFactory(token="test-token", base_url=fake_github.base_url, policy=policy, timeout=0.5)
    with pytest.raises(GitHubTimeoutError) as info:
        timed_get(gh)
    assert info.value.elapsed < 2.0


def test_a_request_never_runs_past_the_runs_deadline(fake_github):
    """The run's end comes before the request's own limit: the run stops cleanly (partial), nothing fails."""
    fake_github.add_repo("acme/api")
    fake_github.inject("/pulls$", Fault(200, drip=True, drip_for=10))
    gh = GitHubClientFactory(token="test-token", base_url=fake_github.base_url, policy=FAST_RETRY,
                             deadline=Deadline(1.0), timeout=30.0)  # fmt: skip
    with pytest.raises(DeadlineReached, match="the run's time is up") as info:
        timed_get(gh)
    assert info.value.elapsed < 2.5
    with pytest.raises(DeadlineReached):  # and once the time is up, nothing more is sent
        gh.client().get("/repos/acme/api/pulls")
    assert len(fake_github.requests) == 1


# ---------------------------------------------------------------- 202 and redirects (issue 9)


def test_a_202_is_asked_again_within_the_retry_policy(fake_github):
    """PyGithub's requester slept 2 s and asked again without bound."""
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1))
    fake_github.inject("/pulls$", Fault(202, "Accepted"), Fault(202, "Accepted"))
    sleeps = []
    _, pages, gh = listing_of(fake_github, sleeps=sleeps)
    assert len(pages) == 1 and gh.stats.retries == 2 and sleeps == [0.01, 0.02]


def test_a_202_that_never_ends_gives_up_after_the_policys_attempts(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.inject("/pulls$", *[Fault(202, "Accepted")] * 20)
    with pytest.raises(GitHubRequestError, match="202 Accepted"):
        factory(fake_github).client().get("/repos/acme/api/pulls")
    assert len(fake_github.requests) == FAST_RETRY.attempts


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_to_another_host_is_not_followed_and_the_token_stays(fake_github, status):
    from collector.testing.fake_github import FakeGitHub

    with FakeGitHub(tokens=()) as elsewhere:
        location = f"{elsewhere.base_url}/repos/acme/api/pulls?page=1"
        fake_github.inject("/pulls", Fault(status, "Moved", (("Location", location),)))
        with pytest.raises(GitHubRequestError, match=r"redirected to another host \(http://127\.0\.0\.1:\d+\)") as info:
            factory(fake_github).client().get("/repos/acme/api/pulls")
        assert elsewhere.requests == []
    assert "test-token" not in str(info.value)


def test_a_renamed_repository_is_followed_on_the_same_host(fake_github):
    repo = fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1))
    moved = f"{fake_github.base_url}/repositories/{repo.id}/pulls?state=all&per_page=100&page=1"
    fake_github.inject("/repos/acme/old-name/pulls", Fault(301, "Moved Permanently", (("Location", moved),)))
    page = read_page(factory(fake_github).client(), "acme/old-name", 1)
    assert [pr.number for pr in page.prs] == [1]
    assert [r.path for r in fake_github.requests] == ["/repos/acme/old-name/pulls", f"/repositories/{repo.id}/pulls"]


def test_endless_redirects_stop(fake_github):
    fake_github.add_repo("acme/api")
    loop = f"{fake_github.base_url}/repos/acme/api/pulls"
    fake_github.inject("/pulls", *[Fault(302, "Found", (("Location", loop),))] * 10)
    with pytest.raises(GitHubRequestError, match="redirected more than 3 times"):
        factory(fake_github).client().get("/repos/acme/api/pulls")
    assert len(fake_github.requests) == 4


# ---------------------------------------------------------------- bodies


def test_a_gzip_answer_is_unpacked(fake_github):
    fake_github.add_repo("acme/api")
    body = json.dumps([{"number": 1}]).encode()
    fake_github.inject("/pulls$", Fault(200, body=gzip.compress(body), headers=(("Content-Encoding", "gzip"),)))
    assert factory(fake_github).client().get("/repos/acme/api/pulls").body == body.decode()


def test_a_gzip_bomb_is_refused_without_unpacking_it_all(fake_github):
    fake_github.add_repo("acme/api")
    bomb = gzip.compress(b"\0" * (MAX_BODY_BYTES + 1024))
    fake_github.inject("/pulls$", Fault(200, body=bomb, headers=(("Content-Encoding", "gzip"),)))
    with pytest.raises(GitHubRequestError, match="larger than 64 MiB unpacked"):
        factory(fake_github).client().get("/repos/acme/api/pulls")


def test_an_encoding_not_asked_for_is_refused(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.inject("/pulls$", Fault(200, body=b"\x1b[31m", headers=(("Content-Encoding", "br\x1b[2J"),)))
    with pytest.raises(GitHubRequestError, match=r"encoding not asked for \(br \[2j\)$"):
        factory(fake_github).client().get("/repos/acme/api/pulls")
