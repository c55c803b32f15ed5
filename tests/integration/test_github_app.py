"""GitHub App authentication against the fake: installation tokens minted with the App's JWT, shared by every
worker thread, minted again before they expire; a wrong App or key is one clear line; the key never shows."""

import io
import itertools
import threading
import time
from datetime import timedelta

import pytest

from collector.errors import GitHubAuthError
from collector.github_api import TOKEN_REFRESH_MARGIN, GitHubApp, GitHubClientFactory, GitHubRequestError
from collector.logs import configure_logging
from collector.pipeline import run
from collector.testing.fake_github import FakeGitHub, Fault
from tests.app_keys import APP_ID, INSTALLATION_ID, app_key
from tests.helpers import FAST_RETRY, NOW, merged_pull, rows, settings_for

REPOS = ["acme/api", "acme/web", "acme/ios", "acme/data"]


@pytest.fixture
def fake():
    """Only installation tokens open the API: no personal token is accepted."""
    with FakeGitHub(tokens=()) as gh:
        gh.add_app(APP_ID, app_key().public_pem, INSTALLATION_ID)
        yield gh


def app(app_id=APP_ID, installation_id=INSTALLATION_ID, key=None):
    return GitHubApp(app_id, installation_id, key or app_key().private_pem)


def factory(fake, github_app=None, **kw):
    return GitHubClientFactory(app=github_app or app(), base_url=fake.base_url, policy=FAST_RETRY,
                               sleep=lambda _s: None, **kw)  # fmt: skip


def populate(fake, repos=REPOS, per_repo=250):
    for repo in repos:
        fake.add_repo(repo)
        for n in range(1, per_repo + 1):
            fake.add_pull(repo, merged_pull(n, updated=NOW - timedelta(days=5, minutes=n)))


def app_settings(fake, engine, repos):
    key = app_key().private_pem
    return settings_for(fake, engine, repos, github_token=None, github_app_id=APP_ID,
                        github_app_installation_id=INSTALLATION_ID, github_app_private_key=key)  # fmt: skip


def collect_with_app(engine, fake, github, repos=REPOS):
    return run(app_settings(fake, engine, repos), github=github, engine=engine, now=NOW)


# ---------------------------------------------------------------- collecting with an App


def test_a_run_collects_with_an_installation_token(engine, fake):
    populate(fake, per_repo=120)
    result = collect_with_app(engine, fake, factory(fake))
    assert result.status == "success" and result.prs_seen == 4 * 120
    assert rows(engine, "SELECT count(*) FROM pull_requests") == [(480,)]
    gets = [r for r in fake.requests if r.method == "GET"]
    assert gets and all(r.authorization == "installation" and r.status == 200 for r in gets)
    assert len(fake.minted) == 1  # four workers, one token


def test_tokens_are_minted_again_before_they_expire_once_per_refresh_not_per_thread(engine, fake):
    """Time runs 10 s per request served and a token lasts 150 s: it is renewed a minute before it expires,
    so every 9 requests, and a run of ~27 requests over four workers needs two refreshes or more. One worker
    renews, the others wait for it: each mint comes at the earliest a minute before the last token expires."""
    start = time.time()
    clock = lambda: start + 10 * len(fake.requests)  # noqa: E731
    fake.clock, fake.token_lifetime = clock, 150
    assert fake.token_lifetime / 2 > TOKEN_REFRESH_MARGIN  # so the margin is the whole minute
    populate(fake, per_repo=600)
    github = factory(fake, clock=clock)
    result = collect_with_app(engine, fake, github)
    assert result.status == "success" and result.prs_seen == 4 * 600
    assert not [r for r in fake.requests if r.status == 401]  # no request ever carried an expired token
    minted = fake.minted
    assert len(minted) >= 3
    for previous, following in itertools.pairwise(minted):
        assert following.at >= previous.expires_at - TOKEN_REFRESH_MARGIN, "minted while the last token had time"
    assert github.installation_tokens.issued == [m.token for m in minted]


def test_threads_arriving_together_share_one_mint(fake):
    """Eight workers ask for their first page at once, while the mint takes a round trip: one token."""
    populate(fake, repos=["acme/api"], per_repo=1)
    fake.latency = 0.05
    github = factory(fake)
    barrier = threading.Barrier(8)
    statuses = []

    def first_request():
        client = github.client()  # each thread its own client and session
        barrier.wait()
        statuses.append(client.get("/repos/acme/api/pulls").status)

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8
    assert len(fake.minted) == 1


def test_a_mint_github_fails_transiently_is_retried(fake):
    populate(fake, repos=["acme/api"], per_repo=1)
    fake.inject("/access_tokens$", Fault(502), Fault(503))
    response = factory(fake).client().get("/repos/acme/api/pulls")
    assert response.status == 200 and len(fake.minted) == 1


# ---------------------------------------------------------------- a wrong App, key or installation


@pytest.mark.parametrize(
    ("github_app", "message"),
    [
        (app(app_id="4243"), r"^GitHub rejected the GitHub App's JWT \(401 A JSON web token could not be decoded\): "
                             r"check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY$"),
        (app(key=app_key("other").private_pem), r"^GitHub rejected the GitHub App's JWT \(401 .*_PRIVATE_KEY$"),
        (app(installation_id=7002), r"^GitHub App 4242 has no installation 7002 \(404 Not Found\): "
                                    r"check GITHUB_APP_INSTALLATION_ID$"),
    ],
    ids=["wrong-app-id", "wrong-key", "wrong-installation"],
)  # fmt: skip
def test_a_wrong_app_key_or_installation_is_one_clear_line_without_retries(fake, github_app, message):
    populate(fake, repos=["acme/api"], per_repo=1)
    with pytest.raises(GitHubAuthError, match=message) as info:
        factory(fake, github_app).client().get("/repos/acme/api/pulls")
    assert "\n" not in str(info.value)
    assert len(fake.requests) == 1 and fake.requests[0].method == "POST"  # no retry, and no GET without a token


def test_an_unusable_token_answer_is_refused(fake):
    populate(fake, repos=["acme/api"], per_repo=1)
    fake.inject("/access_tokens$", Fault(201, body=b'{"token": "ghs_x\\r\\nX-Evil: 1", "expires_at": "soon"}'))
    with pytest.raises(GitHubAuthError, match="no usable token and expiry"):
        factory(fake).client().get("/repos/acme/api/pulls")


def test_a_token_answer_already_expired_by_our_clock_is_refused_not_minted_again_and_again(fake):
    populate(fake, repos=["acme/api"], per_repo=1)
    github = factory(fake, clock=lambda: time.time() + 7200)  # this machine's clock is two hours ahead
    with pytest.raises(GitHubAuthError, match="already expired by this machine's clock"):
        github.client().get("/repos/acme/api/pulls")
    assert len(fake.minted) == 1


def test_a_redirected_mint_is_not_followed(fake):
    with FakeGitHub(tokens=()) as elsewhere:
        location = f"{elsewhere.base_url}/app/installations/{INSTALLATION_ID}/access_tokens"
        fake.inject("/access_tokens$", Fault(307, headers=(("Location", location),)))
        with pytest.raises(GitHubAuthError, match=r"refused an installation token \(307"):
            factory(fake).client().get("/rate_limit")
        assert elsewhere.requests == []


def test_a_failed_run_names_the_app_in_one_line_and_never_shows_the_key_or_a_token(engine, fake):
    populate(fake, repos=["acme/api", "acme/web"], per_repo=3)
    result = collect_with_app(engine, fake, factory(fake, app(app_id="4243")), repos=["acme/api", "acme/web"])
    assert result.status == "failed"
    assert result.error.startswith("GitHub rejected the GitHub App's JWT") and "\n" not in result.error


def test_the_key_and_tokens_never_reach_logs_errors_or_reprs(engine, fake):
    populate(fake, repos=["acme/api", "acme/web"], per_repo=150)
    fake.inject("/pulls$", Fault(502, message="Server Error"), Fault(401, message="Bad credentials"))
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    github = factory(fake)
    result = collect_with_app(engine, fake, github, repos=["acme/api", "acme/web"])
    settings = app_settings(fake, engine, REPOS)
    shown = "\n".join([stream.getvalue(), result.error or "", repr(result), repr(settings), repr(github),
                       repr(github.installation_tokens), repr(app())])  # fmt: skip
    assert "installation token (401 Bad credentials)" in (result.error or "")  # the run did log and fail
    assert fake.minted
    for secret in [*app_key().body_lines, *(m.token for m in fake.minted)]:
        assert secret not in shown
    assert github.clean(f"echo {fake.minted[0].token}") == "echo ***"


def test_a_factory_takes_a_token_or_an_app(fake):
    with pytest.raises(ValueError, match="not both or neither"):
        GitHubClientFactory(token="t", app=app(), base_url=fake.base_url)
    with pytest.raises(ValueError, match="not both or neither"):
        GitHubClientFactory(base_url=fake.base_url)


def test_a_cross_host_link_is_refused_before_anything_is_sent(fake):
    with pytest.raises(GitHubRequestError, match="another host"):
        factory(fake).client().get("https://elsewhere.example/repos/acme/api/pulls")
    assert fake.requests == []
