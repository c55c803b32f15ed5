"""Receiving a delivery: signature, event, repository and age decide the answer; only a 202 queues a request."""

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from collector import webhooks
from collector.webhooks import (
    CLOCK_SKEW,
    MAX_BODY_BYTES,
    STALE_AFTER,
    CollectionRequest,
    LocalQueue,
    QueueError,
    decide,
    receive,
    signature,
    verify,
)

SECRET = "s3cret-for-the-tests-only"
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
CONFIGURED = ("acme/api", "Acme/Web")
DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def payload(event="pull_request", *, action=None, repository="acme/api", at=NOW - timedelta(minutes=1), **extra):
    objects = {"pull_request": "pull_request", "deployment_status": "deployment_status",
               "workflow_run": "workflow_run", "release": "release", "issues": "issue"}  # fmt: skip
    actions = {"pull_request": "closed", "deployment_status": "created", "workflow_run": "completed",
               "release": "published", "issues": "labeled"}  # fmt: skip
    document = {"action": action or actions.get(event), "repository": {"full_name": repository, "private": True}}
    if event in objects:
        document[objects[event]] = {"id": 1, "created_at": stamp(at - timedelta(days=3)), "updated_at": stamp(at)}
    return {**document, **extra}


def signed(document, *, event="pull_request", secret=SECRET, content_type="application/json", **headers):
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    sent = {"Content-Type": content_type, "X-GitHub-Event": event, "X-GitHub-Delivery": DELIVERY,
            "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}  # fmt: skip
    return {**sent, **headers}, body


def answer(headers, body, now=NOW):
    return decide(headers, body, secret=SECRET, repositories=CONFIGURED, now=now)


# ------------------------------------------------------------------ the signature


def test_githubs_documented_test_vector():
    # docs.github.com, "Validating webhook deliveries": this secret and payload give this signature.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature(b"Hello, World!", "It's a Secret to Everybody") == expected
    assert verify(b"Hello, World!", expected, "It's a Secret to Everybody")


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", "sha1=" + "0" * 40, "sha256=" + "0" * 64, "sha256=" + "g" * 64, "sha256=é" + "0" * 63,
     signature(b"Hello, World!", "another secret"), signature(b"Hello, World!", SECRET) + " "],
    ids=["missing", "empty", "no digest", "sha1", "zeros", "not hex", "not ascii", "other secret", "trailing space"],
)  # fmt: skip
def test_anything_but_the_bodys_hmac_under_our_secret_is_refused(header):
    assert not verify(b"Hello, World!", header, SECRET)


def test_the_digest_is_compared_whatever_the_case_of_its_hex():
    assert verify(b"x", signature(b"x", SECRET).upper().replace("SHA256=", "sha256="), SECRET)


def test_an_empty_secret_verifies_nothing():
    assert not verify(b"x", signature(b"x", ""), "")


# ------------------------------------------------------------------ the answers


def test_a_signed_closed_pull_request_of_a_configured_repository_schedules_its_collection():
    result = answer(*signed(payload()))
    assert (result.status, result.message) == (202, "collection of acme/api scheduled")
    assert result.request == CollectionRequest("acme/api", NOW - timedelta(minutes=1), "pull_request", DELIVERY)


@pytest.mark.parametrize(
    ("event", "action"),
    [("pull_request", "closed"), ("deployment_status", "created"), ("workflow_run", "completed"),
     ("release", "published"), ("release", "edited"), ("issues", "labeled"), ("issues", "closed")],
)  # fmt: skip
def test_each_subscribed_event_schedules_one(event, action):
    assert answer(*signed(payload(event, action=action), event=event)).status == 202


@pytest.mark.parametrize(
    ("event", "action"),
    [("pull_request", "opened"), ("pull_request", "synchronize"), ("workflow_run", "requested"),
     ("workflow_run", "in_progress"), ("push", None), ("check_run", "completed"), ("", None)],
)  # fmt: skip
def test_other_events_and_actions_are_answered_200_and_schedule_nothing(event, action):
    result = answer(*signed(payload(event, action=action), event=event))
    assert result.status == 200 and result.message.startswith("ignored: ") and result.request is None


# ------------------------------------------------------------------ what a payload shows changes nothing


def four_keys(event, fields, *, action=None, default_branch="main"):
    """A delivery of ``event`` whose object has ``fields`` too, in a repository whose default branch is given."""
    document = payload(event, action=action)
    key = {"issues": "issue"}.get(event, event)
    document[key].update(fields)
    document["repository"]["default_branch"] = default_branch
    return answer(*signed(document, event=event))


@pytest.mark.parametrize("state", ["success", "failure", "error", "SUCCESS"])
def test_a_deployment_status_that_settles_a_deployment_schedules_a_collection(state):
    assert four_keys("deployment_status", {"state": state}).status == 202


@pytest.mark.parametrize("state", ["queued", "pending", "in_progress", "inactive"])
def test_a_deployment_status_that_settles_nothing_is_ignored(state):
    result = four_keys("deployment_status", {"state": state})
    assert (result.status, result.request) == (200, None)
    assert result.message == f"ignored: a deployment status {state} counts nothing: only success, failure and error do"


def test_a_successful_workflow_run_on_the_default_branch_schedules_a_collection():
    assert four_keys("workflow_run", {"conclusion": "success", "head_branch": "main"}).status == 202
    trunk = four_keys("workflow_run", {"conclusion": "success", "head_branch": "trunk"}, default_branch="trunk")
    assert trunk.status == 202


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"conclusion": "failure", "head_branch": "main"}, "a workflow run that concluded failure is no deployment"),
     ({"conclusion": "cancelled", "head_branch": "main"}, "a workflow run that concluded cancelled is no deployment"),
     ({"conclusion": "success", "head_branch": "feature/x"},
      "a workflow run on feature/x, not the default branch, is no deployment"),
     ({"conclusion": "success", "head_branch": "Main"}, "a workflow run on Main, not the default branch, is no "
                                                        "deployment")],
    ids=["failure", "cancelled", "another branch", "branch names are case-sensitive"],
)  # fmt: skip
def test_a_workflow_run_that_deploys_nothing_is_ignored(fields, message):
    result = four_keys("workflow_run", fields)
    assert (result.status, result.message, result.request) == (200, f"ignored: {message}", None)


@pytest.mark.parametrize("action", ["opened", "edited", "closed", "reopened", "labeled"])
def test_an_issue_with_a_label_that_may_change_an_incident_schedules_a_collection(action):
    assert four_keys("issues", {"labels": [{"name": "bug"}]}, action=action).status == 202


@pytest.mark.parametrize("action", ["opened", "edited", "closed", "reopened", "labeled"])
def test_an_issue_without_a_label_is_ignored_whatever_the_incident_label(action):
    result = four_keys("issues", {"labels": []}, action=action)
    assert (result.status, result.request) == (200, None)
    assert result.message == "ignored: an issue without a label is no incident, whatever the incident label"


@pytest.mark.parametrize(
    "action", ["unlabeled", "deleted", "transferred", "assigned", "pinned", "milestoned", "locked", "typed"]
)
def test_an_issue_action_that_changes_nothing_an_incident_is_made_of_is_ignored(action):
    result = four_keys("issues", {"labels": [{"name": "incident"}]}, action=action)
    assert (result.status, result.message) == (200, f"ignored: issues {action} changes nothing collected")


@pytest.mark.parametrize(
    ("event", "fields"),
    [("deployment_status", {}), ("deployment_status", {"state": None}), ("workflow_run", {}),
     ("workflow_run", {"conclusion": "success"}), ("issues", {}), ("issues", {"labels": None}),
     ("release", {"draft": True, "prerelease": True})],
    ids=["no state", "null state", "no conclusion or branch", "no branch", "no labels", "null labels", "a draft"],
)  # fmt: skip
def test_a_payload_that_does_not_say_schedules_a_collection(event, fields):
    assert four_keys(event, fields).status == 202


def test_another_events_object_of_the_same_name_is_not_read():
    # Only the event's own object is read: a pull_request delivery carrying an unrelated "issue" key schedules.
    assert answer(*signed(payload(issue={"labels": []}, deployment_status={"state": "queued"}))).status == 202


def test_ping_is_answered_pong_once_signed():
    ping = {"zen": "Design for failure.", "hook_id": 1}
    assert answer(*signed(ping, event="ping")).message == "pong"
    assert answer(*signed(ping, event="ping", secret="not-our-secret-at-all")).status == 401


def test_a_repository_not_configured_is_ignored_with_200_so_githubs_log_shows_no_failure():
    result = answer(*signed(payload(repository="acme/secret-project")))
    assert (result.status, result.request) == (200, None)
    assert result.message == "ignored: acme/secret-project is not in REPOSITORIES"


def test_the_repository_is_named_as_repositories_spells_it():
    assert answer(*signed(payload(repository="ACME/API"))).request.repository == "acme/api"
    assert answer(*signed(payload(repository="acme/web"))).request.repository == "Acme/Web"


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"X-Hub-Signature-256": None}, 401), ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, 401)],
    ids=["unsigned", "badly signed"],
)
def test_unsigned_and_badly_signed_deliveries_are_refused_401(headers, status):
    sent, body = signed(payload())
    sent = {k: v for k, v in {**sent, **headers}.items() if v is not None}
    result = answer(sent, body)
    assert (result.status, result.request) == (status, None)


def test_a_body_changed_after_signing_is_refused():
    headers, body = signed(payload())
    assert answer(headers, body.replace(b"acme/api", b"acme/web")).status == 401


def test_nothing_is_parsed_before_the_signature_checks():
    # Unsigned junk that would fail the parser (or exhaust it) is refused for its signature alone.
    unsigned = {"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": "sha256=" + "0" * 64}
    for body in (b"not json", b"[" * 100_000, b'{"repository": {"full_name": 1}}'):
        started = time.monotonic()
        assert answer(unsigned, body).status == 401
        assert time.monotonic() - started < 1


def test_a_body_over_the_cap_is_refused_before_its_hmac_is_computed():
    headers, body = signed(b" " * (MAX_BODY_BYTES + 1))
    assert answer(headers, body).status == 413
    headers, body = signed(json.dumps(payload()).encode() + b" " * (MAX_BODY_BYTES - 1000))
    assert answer(headers, body).status == 202


def test_a_form_encoded_webhook_is_told_to_use_json():
    result = answer(*signed(b"payload=%7B%7D", content_type="application/x-www-form-urlencoded"))
    assert (result.status, result.message) == (415, "the webhook's content type must be application/json")
    assert answer(*signed(payload(), content_type="application/json; charset=utf-8")).status == 202


@pytest.mark.parametrize(
    "document",
    [b"[]", b"not json", b'"text"', json.dumps(payload(repository=None)).encode(),
     json.dumps({"action": "closed", "repository": {"full_name": "acme/api"}}).encode(),
     json.dumps(payload(pull_request={"updated_at": "2026-06-15T11:00:00"})).encode(),
     json.dumps(payload(pull_request={"updated_at": "yesterday"})).encode(),
     json.dumps(payload(pull_request={"updated_at": None, "closed_at": None})).encode(),
     b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"],
    ids=["array", "not json", "string", "no repository", "no object", "naive time", "not a time", "no time", "deep"],
)  # fmt: skip
def test_a_signed_payload_without_what_its_event_carries_is_refused_400(document):
    result = answer(*signed(document))
    assert (result.status, result.request) == (400, None)


def test_the_event_is_dated_by_its_objects_newest_timestamp():
    dated = {"created_at": "2026-06-10T00:00:00Z", "updated_at": "2026-06-15T11:00:00Z",
             "closed_at": "2026-06-15T11:30:00+00:00", "merged_at": "2030-01-01T00:00:00Z"}  # fmt: skip
    result = answer(*signed(payload(pull_request=dated)))
    # merged_at is not read: closed_at and updated_at say when the PR last changed.
    assert result.request.event_at == datetime(2026, 6, 15, 11, 30, tzinfo=UTC)


def test_a_delivery_older_than_a_day_is_stale_and_ignored():
    assert answer(*signed(payload(at=NOW - STALE_AFTER + timedelta(minutes=1)))).status == 202
    stale = answer(*signed(payload(at=NOW - STALE_AFTER - timedelta(minutes=1))))
    assert (stale.status, stale.request) == (200, None)
    assert stale.message == "ignored: stale, the pull_request is from 2026-06-14 11:59 UTC"
    offset = payload(pull_request={"updated_at": "2026-06-14T13:00:00+02:00"})
    assert answer(*signed(offset)).message == "ignored: stale, the pull_request is from 2026-06-14 11:00 UTC"


def test_a_clock_a_little_ahead_of_ours_counts_as_the_receipt():
    result = answer(*signed(payload(at=NOW + CLOCK_SKEW - timedelta(seconds=1))))
    assert result.request.event_at == NOW


def test_a_time_far_ahead_is_not_trusted_so_an_old_body_cannot_stay_fresh_for_ever():
    ahead = answer(*signed(payload(pull_request={"updated_at": stamp(NOW + timedelta(hours=3))})))
    assert (ahead.status, ahead.request) == (200, None)
    assert ahead.message == "ignored: the pull_request is dated more than 0:05:00 ahead of our clock"
    # The newest time we can trust dates the delivery; here it is three days old, so stale.
    assert answer(*signed(payload(at=NOW + timedelta(hours=3)))).message.startswith("ignored: stale")
    # A release whose commit date (created_at) is in the future is dated by its publication instead.
    release = {"created_at": "2099-01-01T00:00:00Z", "published_at": (NOW - timedelta(minutes=1)).isoformat()}
    dated = answer(*signed(payload(pull_request=release)))
    assert dated.request.event_at == NOW - timedelta(minutes=1)


def test_only_the_repository_the_action_and_the_objects_time_are_read():
    one = payload(sender={"login": "mallory"}, number=1, title="x", pull_request_url="http://evil")
    other = payload(sender={"login": "alice"}, installation={"id": 9}, organization={"login": "acme"})
    one["pull_request"].update(merged=True, user={"login": "mallory"}, additions=10**9, base={"ref": "main"})
    assert answer(*signed(one)).request == answer(*signed(other)).request


def test_headers_are_read_in_any_case():
    headers, body = signed(payload())
    lowered = {name.lower(): value for name, value in headers.items()}  # as API Gateway passes them
    assert answer(lowered, body).status == 202


def test_a_delivery_id_that_is_not_an_id_is_not_carried_on():
    headers, body = signed(payload(), **{"X-GitHub-Delivery": "x\n" * 50})
    assert answer(headers, body).request.delivery == "unknown"


def test_an_unprintable_event_name_is_not_echoed():
    result = answer(*signed(payload(), event="push\x1b[31m"))
    assert "\x1b" not in result.message and result.status == 200


# ------------------------------------------------------------------ receive: the answer, and the queue


def test_receive_queues_the_request_of_a_202_and_nothing_else():
    queue = LocalQueue()
    for headers, body in [signed(payload(repository="other/repo")), signed(payload(), secret="x" * 20),
                          signed(payload(action="opened")), signed(payload())]:  # fmt: skip
        receive(headers, body, secret=SECRET, repositories=CONFIGURED, queue=queue, now=NOW)
    assert [r.repository for r in queue.drain()] == ["acme/api"]
    assert queue.drain() == []


def test_a_request_that_cannot_be_queued_fails_the_delivery_503():
    class Down:
        def put(self, request):
            raise QueueError("ServiceUnavailable")

    result = receive(*signed(payload()), secret=SECRET, repositories=CONFIGURED, queue=Down(), now=NOW)
    assert result.status == 503 and "ServiceUnavailable" in result.message
    assert json.loads(result.body()) == {"message": result.message}


def test_a_queued_request_reads_back_as_written():
    request = CollectionRequest("acme/api", datetime(2026, 6, 15, 11, 59, 1, 5, tzinfo=UTC), "release", DELIVERY)
    assert webhooks.decode(webhooks.encode(request)) == request


@pytest.mark.parametrize(
    "text", ["", "[]", "{}", '{"repository": "acme/api"}', '{"repository": "acme/api", "event_at": "2026-06-15"}',
             '{"repository": "acme/api", "event_at": 5}'],
)  # fmt: skip
def test_a_message_that_is_not_a_request_is_refused(text):
    with pytest.raises(ValueError, match="not a collection request"):
        webhooks.decode(text)
