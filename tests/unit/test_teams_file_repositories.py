"""The teams file's repositories: every rejection rule (one line each), and what a valid entry means."""

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from collector import schema
from collector.errors import TeamsFileError
from collector.membership import SINCE_ALWAYS, load_organisation, parse_organisation, parse_teams
from collector.models import Organisation, OwnerSpec, RepositorySpec

TEAMS = [{"name": "platform", "members": []}, {"name": "Payments", "members": []}]


def doc(*repositories, teams=TEAMS, **top):
    return json.dumps({"teams": teams, "repositories": list(repositories), **top})


def repo(name="acme/api", **keys):
    return {"name": name, **keys}


def owner(team="platform", **keys):
    return {"team": team, **keys}


def parsed(*repositories, **top):
    return parse_organisation(doc(*repositories, **top)).repositories


def reject(text, message):
    """The whole message, exactly: one line that names where and what."""
    with pytest.raises(TeamsFileError) as info:
        parse_organisation(text)
    assert str(info.value) == message
    assert "\n" not in str(info.value)


AT = "teams file: repositories[0] (acme/api)"


# ---------------------------------------------------------------- what a valid entry means


def test_the_issues_example_parses_to_exact_shares_instants_and_settings():
    (spec,) = parsed(
        repo(
            "Acme/API",
            owners=[owner("platform", share=0.6, **{"from": "2025-01-01"}), owner("payments", share=0.4)],
            deployments={"source": "deployments", "environment": "^(prod|production)$"},
            incidents={"label": "incident"},
        )
    )
    assert spec == RepositorySpec(
        name="acme/api",
        owners=(
            OwnerSpec("platform", Decimal("0.6"), datetime(2025, 1, 1, tzinfo=UTC), None),
            OwnerSpec("Payments", Decimal("0.4"), SINCE_ALWAYS, None),
        ),
        deploy_source="deployments",
        environment_pattern="^(prod|production)$",
        workflow=None,
        incident_label="incident",
    )


def test_a_name_alone_takes_every_default():
    (spec,) = parsed(repo())
    assert (spec.owners, spec.deploy_source, spec.environment_pattern, spec.workflow, spec.incident_label) == (
        (),
        "deployments",
        "^(prod|production)$",
        None,
        "incident",
    )


def test_an_empty_owners_list_is_allowed_and_leaves_the_repository_unowned():
    assert parsed(repo(owners=[]))[0].owners == ()


def test_names_are_stored_in_lower_case():
    assert parsed(repo("Acme-Corp/My.Service_2"))[0].name == "acme-corp/my.service_2"


def test_an_owner_without_from_owns_since_always_and_share_defaults_to_one():
    (spec,) = parsed(repo(owners=[owner()]))
    assert spec.owners == (OwnerSpec("platform", Decimal(1), datetime(1970, 1, 1, tzinfo=UTC), None),)


def test_from_and_until_read_like_memberships_instants():
    (spec,) = parsed(repo(owners=[owner(**{"from": "2025-01-01T09:30:00+02:00", "until": "2025-06-01T12:00:00"})]))
    assert (spec.owners[0].owned_from, spec.owners[0].owned_until) == (
        datetime(2025, 1, 1, 7, 30, tzinfo=UTC),
        datetime(2025, 6, 1, 12, tzinfo=UTC),
    )


def test_an_owners_team_is_found_case_insensitively_and_stored_as_the_teams_list_spells_it():
    assert parsed(repo(owners=[owner(" PAYMENTS ")]))[0].owners[0].team == "Payments"


@pytest.mark.parametrize(
    ("deployments", "rule"),
    [
        ({"source": "workflow", "workflow": "deploy.yml"}, ("workflow", None, "deploy.yml")),
        ({"source": "workflow", "workflow": "Release Prod.yaml"}, ("workflow", None, "Release Prod.yaml")),
        ({"source": "workflow", "workflow": 161335}, ("workflow", None, "161335")),
        ({"source": "workflow", "workflow": "0161335"}, ("workflow", None, "161335")),
        ({"source": "releases"}, ("releases", None, None)),
        ({"source": "merges"}, ("merges", None, None)),
        ({"environment": "^prod-eu"}, ("deployments", "^prod-eu", None)),
        ({}, ("deployments", "^(prod|production)$", None)),
    ],
)
def test_each_source_keeps_only_its_own_setting(deployments, rule):
    (spec,) = parsed(repo(deployments=deployments))
    assert (spec.deploy_source, spec.environment_pattern, spec.workflow) == rule


def test_an_incident_label_is_stored_as_given():
    assert parsed(repo(incidents={"label": "Sev 1 🔥"}))[0].incident_label == "Sev 1 🔥"


def test_sources_are_the_ones_the_schema_allows():
    assert set(schema.DEPLOY_SOURCES) == {"deployments", "workflow", "releases", "merges"}
    for source in schema.DEPLOY_SOURCES:
        extra = {"workflow": "deploy.yml"} if source == "workflow" else {}
        assert parsed(repo(deployments={"source": source, **extra}))[0].deploy_source == source


def test_a_handover_at_one_instant_is_not_two_owners_at_once():
    handover = [owner("platform", share=1, until="2025-06-01"), owner("payments", share=1, **{"from": "2025-06-01"})]
    assert len(parsed(repo(owners=handover))[0].owners) == 2


def test_shares_are_summed_at_every_boundary_not_only_the_first():
    owners = [
        owner("platform", share=0.5),
        owner("payments", share=0.5, until="2025-01-01"),
        owner("payments", share=0.6, **{"from": "2026-01-01"}),
    ]
    with pytest.raises(TeamsFileError, match=r"sum to 1\.1 > 1 from 2026-01-01T00:00:00Z$"):
        parsed(repo(owners=owners))


def test_shares_summing_to_exactly_one_are_accepted():
    owners = [owner("platform", share=0.3333), owner("payments", share=0.6667)]
    assert sum(o.share for o in parsed(repo(owners=owners))[0].owners) == 1


def test_todays_files_without_repositories_read_as_before():
    text = json.dumps({"teams": TEAMS})
    assert parse_organisation(text) == Organisation(parse_teams(text), ())


def test_parse_teams_validates_the_repositories_too():
    with pytest.raises(TeamsFileError, match="appears twice"):
        parse_teams(doc(repo(), repo()))


def test_load_organisation_reads_a_file(tmp_path):
    path = tmp_path / "teams.json"
    path.write_text(doc(repo(owners=[owner()])))
    org = load_organisation(path)
    assert [t.name for t in org.teams] == ["platform", "Payments"] and org.repositories[0].name == "acme/api"


# ---------------------------------------------------------------- the top level


def test_an_unknown_top_level_key_is_refused_naming_the_allowed_ones():
    reject(doc(repositries=[]), "teams file: unknown top-level key 'repositries' (allowed: repositories, teams)")


def test_repositories_must_be_a_list():
    message = 'teams file: "repositories" must be a list of repositories'
    reject(json.dumps({"teams": TEAMS, "repositories": {}}), message)


# ---------------------------------------------------------------- one entry


def test_an_entry_must_be_an_object():
    reject(doc("acme/api"), "teams file: repositories[0]: expected an object")


def test_an_unknown_key_in_an_entry_is_refused():
    reject(
        doc(repo(owner=[])),
        "teams file: repositories[0]: unknown key 'owner' (allowed: deployments, incidents, name, owners)",
    )


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("acme", "'acme'"),
        ("acme/api/extra", "'acme/api/extra'"),
        ("https://github.com/acme/api", "'https://github.com/acme/api'"),
        ("acme/api\n", "'acme/api\\n'"),
        ("-acme/api", "'-acme/api'"),
        ("", "''"),
        (None, "nothing"),
        (42, "a number"),
        (["acme/api"], "a list"),
        ({"owner": "acme"}, "an object"),
    ],
)
def test_a_name_must_be_owner_slash_name(name, shown):
    reject(
        doc({"name": name}),
        f"teams file: repositories[0]: name must be owner/name as GitHub spells it (e.g. acme/api), got {shown}",
    )


def test_a_repository_named_twice_case_insensitively_is_refused():
    reject(doc(repo("acme/api"), repo("ACME/Api")), "teams file: repository 'acme/api' appears twice")


def test_owners_must_be_a_list():
    reject(doc(repo(owners={"team": "platform"})), f"{AT}: owners must be a list")


# ---------------------------------------------------------------- owners


def test_an_owner_must_be_an_object():
    reject(doc(repo(owners=["platform"])), f"{AT}.owners[0]: expected an object")


def test_an_unknown_key_in_an_owner_is_refused():
    reject(
        doc(repo(owners=[owner(since="2025-01-01")])),
        f"{AT}.owners[0]: unknown key 'since' (allowed: from, share, team, until)",
    )


@pytest.mark.parametrize(("team", "shown"), [("plattform", "'plattform'"), (None, "nothing"), (3.5, "a number")])
def test_an_owner_must_be_a_team_of_this_file(team, shown):
    reject(doc(repo(owners=[{"team": team}])), f"{AT}.owners[0]: team must name a team of this file, got {shown}")


def test_an_owner_naming_a_team_with_its_own_mistake_is_not_a_second_problem():
    teams = [{"name": "platform", "members": [], "colour": "blue"}]
    reject(
        doc(repo(owners=[owner()]), teams=teams),
        "teams file: teams[0]: unknown key 'colour' (allowed: description, members, name)",
    )


@pytest.mark.parametrize(
    ("share", "message"),
    [
        (0, "share must be in (0, 1], got 0"),
        (-0.5, "share must be in (0, 1], got -0.5"),
        (1.01, "share must be in (0, 1], got 1.01"),
        ("0.5", "share must be a number in (0, 1]"),
        (True, "share must be a number in (0, 1]"),
        (0.33333, "share 0.33333 has more than 4 decimals"),
    ],
)
def test_a_share_is_a_number_in_zero_one_with_four_decimals(share, message):
    reject(doc(repo(owners=[owner(share=share)])), f"{AT}.owners[0] (platform): {message}")


@pytest.mark.parametrize("key", ["from", "until"])
@pytest.mark.parametrize("bad", ["2025-13-01", "soon", "9999-12-31T23:00:00-05:00"])
def test_from_and_until_must_be_iso_8601(key, bad):
    reject(
        doc(repo(owners=[owner(**{key: bad})])),
        f"{AT}.owners[0] (platform): {key} {bad!r} is not an ISO-8601 date or datetime",
    )


def test_a_non_text_instant_is_refused():
    reject(
        doc(repo(owners=[owner(**{"from": 2025})])),
        f"{AT}.owners[0] (platform): from must be an ISO-8601 date or datetime string",
    )


@pytest.mark.parametrize("until", ["2025-03-01", "2025-02-01"])
def test_until_must_be_after_from(until):
    reject(
        doc(repo(owners=[owner(**{"from": "2025-03-01", "until": until})])),
        f"{AT}.owners[0] (platform): until {until} must be after from 2025-03-01",
    )


def test_until_without_from_must_be_after_1970():
    reject(
        doc(repo(owners=[owner(until="1969-12-31")])),
        f"{AT}.owners[0] (platform): until 1969-12-31 must be after from 1970-01-01 (no from: since always)",
    )


def test_shares_summing_past_one_at_some_instant_name_the_repository_instant_and_sum():
    owners = [owner("platform", share=0.6), owner("payments", share=0.5, **{"from": "2025-03-01"}, until="2025-04-01")]
    reject(
        doc(repo(owners=owners)),
        "teams file: repository 'acme/api': its owners' shares sum to 1.1 > 1 from 2025-03-01T00:00:00Z",
    )


def test_one_team_listed_twice_for_overlapping_times_is_refused():
    owners = [
        owner("platform", share=0.5, until="2025-06-01"),
        owner("Platform", share=0.5, **{"from": "2025-05-01"}),
    ]
    reject(
        doc(repo(owners=owners)),
        "teams file: repository 'acme/api' lists team 'platform' twice for overlapping times "
        "(from 1970-01-01 and from 2025-05-01)",
    )


def test_one_team_listed_twice_back_to_back_is_fine():
    owners = [owner(share=1, until="2025-06-01"), owner(share=0.5, **{"from": "2025-06-01"})]
    assert [o.share for o in parsed(repo(owners=owners))[0].owners] == [1, Decimal("0.5")]


# ---------------------------------------------------------------- deployments


def test_deployments_must_be_an_object():
    reject(
        doc(repo(deployments="releases")),
        f'{AT}.deployments: expected an object such as {{"source": "deployments"}}',
    )


@pytest.mark.parametrize(("source", "shown"), [("Releases", "'Releases'"), ("tags", "'tags'"), (None, "nothing")])
def test_an_unknown_source_is_refused(source, shown):
    reject(
        doc(repo(deployments={"source": source})),
        f"{AT}.deployments: source must be one of deployments, workflow, releases, merges, got {shown}",
    )


@pytest.mark.parametrize(
    ("deployments", "message"),
    [
        (
            {"source": "releases", "environment": "prod"},
            "(source 'releases'): unknown key 'environment' (allowed: source)",
        ),
        ({"source": "merges", "workflow": "x.yml"}, "(source 'merges'): unknown key 'workflow' (allowed: source)"),
        ({"workflow": "deploy.yml"}, "(source 'deployments'): unknown key 'workflow' (allowed: environment, source)"),
        (
            {"source": "workflow", "workflow": "d.yml", "environment": "prod"},
            "(source 'workflow'): unknown key 'environment' (allowed: source, workflow)",
        ),
        ({"source": "releases", "branch": "main"}, "(source 'releases'): unknown key 'branch' (allowed: source)"),
    ],
)
def test_a_key_the_chosen_source_does_not_read_is_refused(deployments, message):
    reject(doc(repo(deployments=deployments)), f"{AT}.deployments {message}")


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ("(prod", "environment '(prod' is not a regular expression (missing ), unterminated subpattern at position 0)"),
        ("prod|*", "environment 'prod|*' is not a regular expression (nothing to repeat at position 5)"),
        ("[[a]", "environment '[[a]' is not a regular expression (Possible nested set at position 1)"),
        ("", "environment must be a non-empty regular expression"),
        ("  ", "environment must be a non-empty regular expression"),
        (["prod"], "environment must be a non-empty regular expression"),
        ("p" * 201, "environment is longer than 200 characters"),
        ("pro\x00d", "environment contains a NUL or a lone surrogate (a cut emoji)"),
    ],
)
def test_an_environment_must_be_a_short_regular_expression_python_compiles(environment, message):
    reject(doc(repo(deployments={"environment": environment})), f"{AT}.deployments: {message}")


def test_an_environment_of_exactly_200_characters_is_accepted():
    assert parsed(repo(deployments={"environment": "p" * 200}))[0].environment_pattern == "p" * 200


def test_source_workflow_needs_its_workflow():
    reject(
        doc(repo(deployments={"source": "workflow"})),
        f"{AT}.deployments: source 'workflow' needs a workflow: its file name (e.g. deploy.yml) or id",
    )


@pytest.mark.parametrize(
    ("workflow", "message"),
    [
        (".github/workflows/deploy.yml", "workflow must be the file's name only (e.g. deploy.yml), got "
                                         "'.github/workflows/deploy.yml'"),
        ("deploy", "workflow must be a file name ending in .yml or .yaml, or an id, got 'deploy'"),
        ("deploy.YML", "workflow must be a file name ending in .yml or .yaml, or an id, got 'deploy.YML'"),
        (".yml", "workflow must be a file name ending in .yml or .yaml, or an id, got '.yml'"),
        ("de\nploy.yml", "workflow must be a file name ending in .yml or .yaml, or an id, got 'de\\nploy.yml'"),
        (True, "workflow must be a file name ending in .yml or .yaml, or an id, got true or false"),
        (0, f"workflow id must be from 1 to {2**63 - 1}, got 0"),
        (-4, f"workflow id must be from 1 to {2**63 - 1}, got -4"),
        (2**63, f"workflow id must be from 1 to {2**63 - 1}, got {2**63}"),
        ("9" * 5000, "workflow must be a file name ending in .yml or .yaml, or an id, got a 5000-character text"),
    ],
)  # fmt: skip
def test_a_workflow_is_a_file_name_or_a_numeric_id(workflow, message):
    reject(doc(repo(deployments={"source": "workflow", "workflow": workflow})), f"{AT}.deployments: {message}")


# ---------------------------------------------------------------- incidents


def test_incidents_must_be_an_object():
    reject(doc(repo(incidents="incident")), f'{AT}.incidents: expected an object such as {{"label": "incident"}}')


def test_an_unknown_key_in_incidents_is_refused():
    reject(doc(repo(incidents={"labels": ["sev1"]})), f"{AT}.incidents: unknown key 'labels' (allowed: label)")


@pytest.mark.parametrize("label", ["", "   ", 7, None, "sev\n1"])
def test_a_label_is_a_non_empty_name(label):
    reject(
        doc(repo(incidents={"label": label})),
        f"{AT}.incidents: label must be a label's name (not empty, no control characters)",
    )


def test_a_label_longer_than_githubs_fifty_characters_is_refused():
    assert parsed(repo(incidents={"label": "x" * 50}))[0].incident_label == "x" * 50
    reject(doc(repo(incidents={"label": "x" * 51})), f"{AT}.incidents: label is longer than GitHub's 50 characters")


def test_a_label_with_a_cut_emoji_is_refused():
    reject(
        doc(repo(incidents={"label": "sev \ud83d"})),
        f"{AT}.incidents: label must be a label's name (not empty, no control characters)",
    )


# ---------------------------------------------------------------- all at once


def test_every_mistake_in_teams_and_repositories_is_reported_at_once():
    text = json.dumps({
        "teams": [{"name": "platform", "members": [{"github_username": "a", "joined_at": "someday"}]}],
        "repositories": [
            repo(owners=[owner("nobody"), owner(share=2)], deployments={"source": "ftp"}, incidents={"label": ""}),
            repo("not a name"),
        ],
        "extra": 1,
    })  # fmt: skip
    with pytest.raises(TeamsFileError) as info:
        parse_organisation(text)
    problems = re.split(r"; \(\d+\) ", str(info.value).split(": (1) ", 1)[1])
    assert str(info.value).startswith("teams file: 7 problems: (1) unknown top-level key 'extra'")
    assert problems[1:] == [
        "teams[0] (platform).members[0] (a): joined_at 'someday' is not an ISO-8601 date or datetime",
        "repositories[0] (acme/api).owners[0]: team must name a team of this file, got 'nobody'",
        "repositories[0] (acme/api).owners[1] (platform): share must be in (0, 1], got 2",
        "repositories[0] (acme/api).deployments: source must be one of deployments, workflow, releases, merges, "
        "got 'ftp'",
        "repositories[0] (acme/api).incidents: label must be a label's name (not empty, no control characters)",
        "repositories[1]: name must be owner/name as GitHub spells it (e.g. acme/api), got 'not a name'",
    ]


def test_rules_across_repositories_are_reported_together():
    owners = [owner(share=0.7), owner("payments", share=0.7)]
    reject(
        doc(repo(), repo("ACME/API"), repo("acme/web", owners=owners)),
        "teams file: 2 problems: (1) repository 'acme/api' appears twice; (2) repository 'acme/web': "
        "its owners' shares sum to 1.4 > 1 from 1970-01-01T00:00:00Z",
    )


def test_the_example_file_is_valid_and_shows_every_source():
    example = load_organisation(Path(__file__).parents[2] / "examples" / "teams.json")
    assert {r.deploy_source for r in example.repositories} == set(schema.DEPLOY_SOURCES)


def test_a_label_with_a_comma_is_refused():
    reject(
        doc(repo(incidents={"label": "sev,1"})),
        f"{AT}.incidents: label cannot contain a comma (GitHub's labels filter splits on commas)",
    )
