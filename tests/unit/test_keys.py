"""The four keys' collection rules (collector/keys.py), one test per rule."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from collector import keys
from collector.keys import SignalState, SourceConfig

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
WANTED = datetime(2026, 3, 1, tzinfo=UTC)


def hours(n):
    return timedelta(hours=n)


# ------------------------------------------------------------------ revert PRs


def test_a_revert_names_the_pr_it_reverts_in_githubs_words():
    assert keys.parse_reverts("Reverts acme/api#42", "acme/api") == 42


def test_a_revert_of_another_repository_is_not_one_of_this_repository():
    assert keys.parse_reverts("Reverts acme/web#42", "acme/api") is None


def test_the_repository_is_compared_in_any_case():
    assert keys.parse_reverts("Reverts Acme/API#7", "acme/api") == 7
    assert keys.parse_reverts("reverts acme/api#7", "Acme/Api") == 7


def test_the_revert_line_may_follow_other_lines_and_the_first_of_this_repository_counts():
    body = "Production broke.\r\n\r\nReverts acme/web#1\nReverts acme/api#2\nReverts acme/api#3"
    assert keys.parse_reverts(body, "acme/api") == 2


def test_reverts_in_the_middle_of_a_sentence_is_not_githubs_line():
    assert keys.parse_reverts("This PR Reverts acme/api#42 partly", "acme/api") is None


@pytest.mark.parametrize("body", [None, "", "Reverts acme/api#0", "Reverts acme/api#99999999999", "Reverts acme/api#"])
def test_no_number_or_an_implausible_one_is_no_revert(body):
    assert keys.parse_reverts(body, "acme/api") is None


# ------------------------------------------------------------------ root causes


def test_a_root_cause_sha_is_read_in_lower_case():
    assert keys.parse_root_cause("Outage.\nRoot Cause: ABCDEF1234\n") == ("abcdef1234", None)


def test_a_root_cause_pr_number_is_read():
    assert keys.parse_root_cause("root cause: #123") == (None, 123)


def test_the_first_root_cause_line_with_a_value_wins():
    body = "root cause: unknown yet\nroot cause: #12\nroot cause: abcdef1"
    assert keys.parse_root_cause(body) == (None, 12)


@pytest.mark.parametrize(
    "body",
    [
        "root cause: abcdef",  # 6 hex digits: too short to name a commit
        "root cause: " + "a" * 41,  # longer than a sha
        "root cause: abcdefg1234",  # not hex
        "the root cause: abcdef1",  # not at the start of a line
        "root cause: #0",
        None,
    ],
)
def test_what_is_not_a_root_cause(body):
    assert keys.parse_root_cause(body) == (None, None)


def test_a_root_cause_may_be_followed_by_words():
    assert keys.parse_root_cause("  root cause:   0123abcd (the retry change)") == ("0123abcd", None)


# ------------------------------------------------------------------ environments


def test_the_default_pattern_matches_prod_and_production_in_any_case():
    pattern = "^(prod|production)$"
    assert [keys.environment_matches(pattern, e) for e in ("prod", "Production", "production-eu", "staging")] == [
        True,
        True,
        False,
        False,
    ]


def test_a_pattern_without_anchors_matches_anywhere():
    assert keys.environment_matches("prod", "eu-prod-1")


def test_a_deployment_without_environment_matches_nothing():
    assert not keys.environment_matches(".*", None)


def test_a_pattern_that_does_not_compile_raises_re_error():
    with pytest.raises(re.error):
        keys.environment_matches("(", "prod")


# ------------------------------------------------------------------ a deployment's statuses


def test_a_deployment_counts_at_its_first_success_whatever_the_order():
    statuses = [("INACTIVE", T0 + hours(9)), ("SUCCESS", T0 + hours(5)), ("SUCCESS", T0 + hours(2)), ("PENDING", T0)]
    assert keys.settle(statuses) == ("success", T0 + hours(2), None)


def test_a_success_after_a_failure_is_a_success():
    assert keys.settle([("FAILURE", T0), ("SUCCESS", T0 + hours(1))]) == ("success", T0 + hours(1), None)


def test_failure_or_error_and_never_a_success_is_a_failed_attempt_at_its_first_failure():
    assert keys.settle([("ERROR", T0 + hours(3)), ("FAILURE", T0 + hours(1))]) == ("failed", None, T0 + hours(1))


@pytest.mark.parametrize("states", [[], ["QUEUED"], ["IN_PROGRESS", "PENDING"], ["WAITING"], ["INACTIVE"]])
def test_anything_else_is_pending(states):
    assert keys.settle([(s, T0) for s in states]) == ("pending", None, None)


def test_states_are_read_in_any_case():
    assert keys.settle([("success", T0)])[0] == "success"


def test_the_fingerprint_changes_with_the_count_the_newest_its_time_and_its_state():
    base = keys.fingerprint(3, 9, T0, "PENDING")
    changed = [keys.fingerprint(4, 9, T0, "PENDING"), keys.fingerprint(3, 10, T0, "PENDING"),
               keys.fingerprint(3, 9, T0 + hours(1), "PENDING"), keys.fingerprint(3, 9, T0, "SUCCESS")]  # fmt: skip
    assert base not in changed and len(set(changed)) == 4
    assert keys.fingerprint(3, 9, T0, "PENDING") == base
    assert keys.fingerprint(0, None, None, None) == "0:::"


# ------------------------------------------------------------------ configuration and state


def config(source="deployments", **fields):
    values = {"environment_pattern": "^prod$" if source == "deployments" else None,
              "workflow": "deploy.yml" if source == "workflow" else None, "incident_label": "incident"}  # fmt: skip
    values.update(fields)
    return SourceConfig("acme/api", source, **values)


def test_each_source_reads_its_signal_and_incidents_merges_read_only_incidents():
    assert [config(s).signals for s in ("deployments", "workflow", "releases", "merges")] == [
        ("deployments", "incidents"),
        ("workflow", "incidents"),
        ("releases", "incidents"),
        ("incidents",),
    ]


def test_a_state_read_with_another_configuration_starts_anew():
    key = keys.config_key(config(), "deployments")
    stored = SignalState(T0, None, keys.with_answer(key, "3:9::"), WANTED)
    assert keys.for_config(stored, key) == (stored, False)
    other = keys.config_key(config(environment_pattern="^production$"), "deployments")
    assert keys.for_config(stored, other) == (SignalState(), True)
    assert keys.for_config(None, key) == (SignalState(), False)  # never read: nothing of it to replace


def test_the_configuration_key_names_the_setting_of_each_source():
    assert keys.config_key(config("workflow"), "workflow") != keys.config_key(
        config("workflow", workflow="x"), "workflow"
    )
    assert keys.config_key(config(), "incidents") != keys.config_key(config(incident_label="Outage"), "incidents")
    assert keys.config_key(config(), "incidents") == keys.config_key(config(incident_label="INCIDENT"), "incidents")
    assert "\n" not in keys.config_key(config(environment_pattern="a\nb"), "deployments")


def test_the_stored_answer_is_what_github_said_after_the_key():
    assert keys.stored_answer(SignalState(fingerprint=keys.with_answer("workflow x", "main"))) == "main"
    assert keys.stored_answer(SignalState()) is None


def test_a_source_never_read_or_asked_for_more_history_reads_it_all():
    assert keys.is_full(SignalState(), WANTED)
    assert keys.is_full(SignalState(T0, covered_since=WANTED), WANTED - timedelta(days=1))
    assert not keys.is_full(SignalState(T0, covered_since=WANTED), WANTED)


# ------------------------------------------------------------------ deployments' reading


def read_state(**fields):
    return SignalState(**{"watermark": T0, "fingerprint": "f", "covered_since": WANTED, **fields})


def test_deployments_are_read_when_the_probe_differs_or_one_is_pending():
    state = read_state()
    assert not keys.deployments_need_reading(state, WANTED, "f", None)
    assert keys.deployments_need_reading(state, WANTED, "g", None)
    assert keys.deployments_need_reading(state, WANTED, "f", T0 - hours(5))
    assert keys.deployments_need_reading(SignalState(), WANTED, "f", None)


def test_a_read_stops_past_the_watermark_less_its_overlap():
    assert keys.deployments_stop_at(read_state(), WANTED, None) == T0 - keys.DEPLOYMENT_OVERLAP


def test_a_read_goes_past_the_oldest_pending_deployment():
    pending = T0 - timedelta(days=1)
    assert keys.deployments_stop_at(read_state(), WANTED, pending) == pending


def test_a_read_never_goes_past_the_history_wanted():
    assert keys.deployments_stop_at(read_state(watermark=WANTED), WANTED, WANTED - timedelta(days=9)) == WANTED
    assert keys.deployments_stop_at(SignalState(), WANTED, None) == WANTED


def test_after_a_read_the_watermark_is_the_newest_creation_never_past_the_run():
    state = keys.deployments_read(read_state(), WANTED, "g", T0 + hours(3), NOW)
    assert state == SignalState(T0 + hours(3), None, "g", WANTED)
    assert keys.deployments_read(read_state(), WANTED, "g", NOW + hours(1), NOW).watermark == NOW
    assert keys.deployments_read(read_state(), WANTED, "g", T0 - hours(3), NOW).watermark == T0  # never back
    assert keys.deployments_read(SignalState(), WANTED, "g", None, NOW) == SignalState(None, None, "g", WANTED)


# ------------------------------------------------------------------ listings: workflow runs and releases


def test_a_listing_stops_at_the_watermark_less_the_overlap_or_the_history_less_it():
    overlap = keys.WORKFLOW_OVERLAP
    assert keys.listing_stop_at(read_state(), WANTED, overlap) == T0 - overlap
    assert keys.listing_stop_at(SignalState(), WANTED, overlap) == WANTED - overlap


def test_releases_read_a_month_below_the_watermark_their_time_is_their_commits():
    assert keys.listing_stop_at(read_state(), WANTED, keys.RELEASE_OVERLAP) == T0 - timedelta(days=30)


def test_the_etag_is_sent_unless_more_history_is_wanted():
    state = read_state(etag='W/"1"')
    assert keys.etag_to_send(state, WANTED) == 'W/"1"'
    assert keys.etag_to_send(state, WANTED - timedelta(days=1)) is None


def test_after_a_listing_its_watermark_is_when_it_was_read_and_its_etag_the_first_pages():
    state = keys.listing_read(read_state(etag="old"), WANTED - timedelta(days=1), "new", NOW)
    assert state == SignalState(NOW, "new", "f", WANTED - timedelta(days=1))


# ------------------------------------------------------------------ incidents


def test_incidents_since_is_the_stored_one_while_nothing_changes():
    assert keys.incidents_since(read_state(), WANTED) == T0
    assert keys.incidents_since(SignalState(), WANTED) == WANTED


def test_a_change_moves_since_up_to_the_read_less_the_overlap_and_forgets_the_etag():
    state = keys.incidents_read(read_state(etag="e1"), WANTED, since=T0, conditional=True, etag="e2", read_at=NOW)
    assert state == SignalState(NOW - keys.INCIDENT_OVERLAP, None, None, WANTED)


def test_an_unconditional_read_keeps_since_and_takes_the_etag():
    state = keys.incidents_read(read_state(), WANTED, since=T0, conditional=False, etag="e2", read_at=NOW)
    assert state == SignalState(T0, "e2", None, WANTED)


def test_since_never_moves_back():
    state = keys.incidents_read(read_state(), WANTED, since=NOW, conditional=True, etag=None, read_at=NOW)
    assert state.watermark == NOW


# ------------------------------------------------------------------ batching and cost


def test_batches_keep_the_order_and_the_last_one_is_short():
    assert [list(b) for b in keys.batched(list(range(5)), 2)] == [[0, 1], [2, 3], [4]]
    assert list(keys.batched([], 2)) == []


def test_githubs_cost_formula_is_connections_over_100_rounded_at_least_1():
    assert [keys.graphql_points(n) for n in (0, 1, 50, 100, 101, 149, 150, 250, 5101)] == [1, 1, 1, 1, 1, 1, 2, 3, 51]


def test_one_probe_one_deployments_page_and_one_first_commit_batch_cost_a_point_each():
    assert keys.graphql_points(keys.PROBE_BATCH) == 1  # deployments(first: 1) per repository
    assert keys.graphql_points(1 + keys.DEPLOYMENTS_PAGE) == 1  # the page, and statuses under each deployment
    assert keys.graphql_points(keys.FIRST_COMMIT_BATCH) == 1  # commits(first: 1) per PR
    assert keys.FIRST_COMMITS_PER_RUN // keys.FIRST_COMMIT_BATCH == 50


def test_a_quiet_runs_probes_cost_at_most_a_point_per_25_repositories_begun():
    # A query costs at least a point: below 25 repositories, the one probe is that point.
    for repositories in (1, 25, 50, 51, 1000):
        probes = -(-repositories // keys.PROBE_BATCH)
        assert probes * keys.graphql_points(keys.PROBE_BATCH) <= -(-repositories // 25)
