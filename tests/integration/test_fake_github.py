"""The fake must answer like GitHub, or the other tests prove nothing."""

import jsonschema
import requests

from collector.testing.fake_github import FakePull
from tests.github_schemas import AUTH, rest_schema
from tests.helpers import NOW, merged_pull, open_pull

SCHEMA = rest_schema("pull-request-simple")


def get(fake, path, **params):
    return requests.get(fake.base_url + path, params=params, headers=AUTH, timeout=5)


def test_items_validate_against_githubs_pull_request_simple_schema(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1))
    fake_github.add_pull("acme/api", merged_pull(2, user=None))
    fake_github.add_pull("acme/api", merged_pull(3, user="dependabot[bot]", user_type="Bot"))
    fake_github.add_pull("acme/api", open_pull(4, created=NOW, draft=True))
    items = get(fake_github, "/repos/acme/api/pulls", state="all").json()
    assert len(items) == 4
    for item in items:
        jsonschema.validate(item, SCHEMA)
    by_number = {i["number"]: i for i in items}
    assert by_number[2]["user"] is None
    assert by_number[3]["user"]["type"] == "Bot"
    assert by_number[4]["merged_at"] is None and by_number[4]["draft"] is True


def test_default_state_is_open_and_direction_defaults_depend_on_sort(fake_github):
    fake_github.add_repo("acme/api")
    for n in (1, 2, 3):
        fake_github.add_pull("acme/api", merged_pull(n))
    fake_github.add_pull("acme/api", open_pull(9, created=NOW))
    assert [i["number"] for i in get(fake_github, "/repos/acme/api/pulls").json()] == [9]
    updated_asc = [
        i["updated_at"] for i in get(fake_github, "/repos/acme/api/pulls", state="closed", sort="updated").json()
    ]
    assert updated_asc == sorted(updated_asc)
    created_desc = [i["created_at"] for i in get(fake_github, "/repos/acme/api/pulls", state="all").json()]
    assert created_desc == sorted(created_desc, reverse=True)


def test_paging_links_keep_the_query_and_per_page_is_capped_at_100(fake_github):
    fake_github.add_repo("acme/api")
    for n in range(1, 251):
        fake_github.add_pull("acme/api", merged_pull(n))
    first = get(fake_github, "/repos/acme/api/pulls", state="closed", per_page=500)
    assert len(first.json()) == 100
    links = requests.utils.parse_header_links(first.headers["Link"])
    nxt = next(link["url"] for link in links if link["rel"] == "next")
    assert "state=closed" in nxt and "page=2" in nxt and "/repositories/" in nxt
    last = next(link["url"] for link in links if link["rel"] == "last")
    assert len(requests.get(last, headers=AUTH, timeout=5).json()) == 50


def test_base_filters_by_base_branch(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1))
    fake_github.add_pull("acme/api", merged_pull(2, base_ref="release/1.x"))
    numbers = [i["number"] for i in get(fake_github, "/repos/acme/api/pulls", state="all", base="release/1.x").json()]
    assert numbers == [2]


def test_etag_304_is_not_counted_and_changes_with_content(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.add_pull("acme/api", merged_pull(1))
    first = get(fake_github, "/repos/acme/api/pulls", state="all")
    remaining = int(first.headers["X-RateLimit-Remaining"])
    again = requests.get(first.url, headers={**AUTH, "If-None-Match": first.headers["ETag"]}, timeout=5)
    assert again.status_code == 304
    assert int(again.headers["X-RateLimit-Remaining"]) == remaining
    fake_github.update_pull("acme/api", 1, updated_at=NOW, title="renamed")
    changed = requests.get(first.url, headers={**AUTH, "If-None-Match": first.headers["ETag"]}, timeout=5)
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]


def test_bad_token_gets_401_and_unknown_repo_404(fake_github):
    bad = requests.get(fake_github.base_url + "/repos/acme/x/pulls", headers={"Authorization": "token nope"}, timeout=5)
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"
    assert get(fake_github, "/repos/acme/x/pulls").status_code == 404


def test_rate_limit_endpoint_is_free_and_exhaustion_answers_403(fake_github):
    fake_github.add_repo("acme/api")
    fake_github.rate_remaining = 1
    assert get(fake_github, "/rate_limit").json()["resources"]["core"]["remaining"] == 1
    assert get(fake_github, "/repos/acme/api/pulls").status_code == 200
    exhausted = get(fake_github, "/repos/acme/api/pulls")
    assert exhausted.status_code == 403 and exhausted.headers["X-RateLimit-Remaining"] == "0"
    assert exhausted.json()["message"].startswith("API rate limit exceeded")


def test_fake_pull_records_render_with_repository_default_branch(fake_github):
    fake_github.add_repo("acme/api", default_branch="trunk")
    fake_github.add_pull("acme/api", FakePull(1, "t", "alice", NOW, NOW, state="open"))
    (item,) = get(fake_github, "/repos/acme/api/pulls").json()
    assert item["base"]["ref"] == "trunk" and item["base"]["repo"]["default_branch"] == "trunk"
