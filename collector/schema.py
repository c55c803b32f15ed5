"""SQLAlchemy Core tables: the single description used by store.py and by alembic's env.py.

Migrations spell their DDL out explicitly (a migration must not change when this file does);
a test checks that the migrated database matches these tables exactly.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID

metadata = MetaData()

TZ = DateTime(timezone=True)
WEIGHT = Numeric(5, 4)

teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("description", Text),
    Column("created_at", TZ, nullable=False, server_default=func.now()),
    Column("updated_at", TZ, nullable=False, server_default=func.now()),
)

team_memberships = Table(
    "team_memberships",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
    Column("github_username", Text, nullable=False),
    Column("allocation_weight", WEIGHT, nullable=False),
    Column("joined_at", TZ, nullable=False),
    Column("left_at", TZ),
    Column("created_at", TZ, nullable=False, server_default=func.now()),
    UniqueConstraint("team_id", "github_username", "joined_at"),
    UniqueConstraint("id", "team_id", name="uq_team_memberships_id_team"),  # what pr_metrics references
    CheckConstraint("allocation_weight > 0 AND allocation_weight <= 1", name="ck_membership_weight"),
    CheckConstraint("left_at IS NULL OR left_at > joined_at", name="ck_membership_interval"),
    Index("ix_team_memberships_login", text("lower(github_username)")),
)

pull_requests = Table(
    "pull_requests",
    metadata,
    Column("repository", Text, nullable=False),
    Column("number", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("author", Text),
    Column("is_bot", Boolean, nullable=False),
    Column("state", Text, nullable=False),
    Column("draft", Boolean, nullable=False),
    Column("base_ref", Text, nullable=False),
    Column("default_branch", Text, nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False),
    Column("closed_at", TZ),
    Column("merged_at", TZ),
    Column("collected_at", TZ, nullable=False, server_default=func.now()),
    # The authored time of the PR's first commit (GraphQL, once merged); read_at null: not asked yet.
    Column("first_commit_at", TZ),
    Column("first_commit_read_at", TZ),
    # A revert PR's "Reverts owner/repo#N" (same repository): N.
    Column("reverts_number", Integer),
    PrimaryKeyConstraint("repository", "number"),
    CheckConstraint("state IN ('open', 'closed')", name="ck_pull_requests_state"),
    Index("ix_pull_requests_author", text("lower(author)")),
    Index(
        "ix_pull_requests_first_commit_unread",
        "merged_at",
        postgresql_where=text("merged_at IS NOT NULL AND first_commit_read_at IS NULL"),
    ),
    # The four keys' views (migration 0011): what a deployment shipped (merges into the default branch by
    # repository, in lower case like repositories.name, and time), an incident's root-cause PR, and reverts.
    Index(
        "ix_pull_requests_repository_merged",
        text("lower(repository)"),
        "merged_at",
        postgresql_where=text("merged_at IS NOT NULL AND base_ref = default_branch"),
    ),
    Index("ix_pull_requests_repository_number", text("lower(repository)"), "number"),
    Index(
        "ix_pull_requests_reverts", "repository", "reverts_number", postgresql_where=text("reverts_number IS NOT NULL")
    ),
)

pr_metrics = Table(
    "pr_metrics",
    metadata,
    Column("id", BigInteger, primary_key=True),
    # Together they name one membership of that team (a composite foreign key, migration 0007).
    Column("team_id", Integer, nullable=False),
    Column("membership_id", Integer, nullable=False),
    Column("repository", Text, nullable=False),
    Column("pr_number", Integer, nullable=False),
    Column("author", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("merged_at", TZ, nullable=False),
    Column("closed_at", TZ),
    Column("cycle_time_hours", Double, nullable=False),
    Column("state", Text, nullable=False),
    Column("created_date", Date, nullable=False),
    Column("allocation_weight", WEIGHT, nullable=False),
    ForeignKeyConstraint(
        ["membership_id", "team_id"],
        ["team_memberships.id", "team_memberships.team_id"],
        ondelete="CASCADE",
        name="fk_pr_metrics_membership",
    ),
    UniqueConstraint("team_id", "repository", "pr_number"),
    Index("ix_pr_metrics_pr", "repository", "pr_number"),
    Index("ix_pr_metrics_team_merged", "team_id", "merged_at"),
    # The views' grouping expressions (migration 0003): range scans and index-only aggregates.
    Index(
        "ix_pr_metrics_team_week",
        "team_id",
        text("(date_trunc('week', merged_at AT TIME ZONE 'UTC')::date)"),
        postgresql_include=["merged_at", "allocation_weight", "cycle_time_hours"],
    ),
    Index(
        "ix_pr_metrics_month_team",
        text("(date_trunc('month', merged_at AT TIME ZONE 'UTC')::date)"),
        "team_id",
        postgresql_include=["merged_at", "cycle_time_hours"],
    ),
)

collector_state = Table(
    "collector_state",
    metadata,
    Column("repository", Text, primary_key=True),
    # Every PR updated in [covered_since, watermark) is stored; both null until the first sweep completes.
    Column("watermark", TZ),
    Column("etag", Text),
    Column("last_run_id", UUID(as_uuid=True)),
    Column("updated_at", TZ, nullable=False, server_default=func.now()),
    Column("covered_since", TZ),
    Column("wanted_since", TZ),
    # The sweep in progress (collector/cursor.py), committed with every batch it writes.
    Column("sweep_kind", Text),
    Column("sweep_upper", TZ),
    Column("sweep_lower", TZ),
    Column("sweep_next_page", Integer),
    Column("sweep_pages_read", Integer),
    CheckConstraint("sweep_kind IN ('top', 'history')", name="ck_collector_state_sweep_kind"),
    CheckConstraint(
        "(sweep_kind IS NULL) = (sweep_upper IS NULL) AND (sweep_kind IS NULL) = (sweep_lower IS NULL) "
        "AND (sweep_kind IS NULL) = (sweep_pages_read IS NULL)",
        name="ck_collector_state_sweep_whole",
    ),
)

collector_locks = Table(
    "collector_locks",
    metadata,
    Column("name", Text, primary_key=True),
    comment="Rows the collector locks ('global', 'repository:<owner/name>'): only its own role can lock them.",
)

quarantined_prs = Table(
    "quarantined_prs",
    metadata,
    Column("repository", Text, nullable=False),
    # The PR's number when it could be read, else a hash of the item: what identifies it across runs.
    Column("item", Text, nullable=False),
    Column("number", Integer),
    Column("reason", Text, nullable=False),
    Column("excerpt", Text, nullable=False),
    Column("first_seen", TZ, nullable=False),
    Column("last_seen", TZ, nullable=False),
    Column("first_run_id", UUID(as_uuid=True), nullable=False),
    Column("last_run_id", UUID(as_uuid=True), nullable=False),
    Column("times_seen", Integer, nullable=False, server_default="1"),
    PrimaryKeyConstraint("repository", "item"),
    comment="Listed pull requests kept out of pull_requests because GitHub sent a value we refuse; retried later.",
)

analytics_settings = Table(
    "analytics_settings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("low_sample_min_prs", Integer, nullable=False),
    CheckConstraint("id = 1", name="ck_analytics_settings_single_row"),
    CheckConstraint("low_sample_min_prs >= 1", name="ck_analytics_settings_low_sample"),
    comment="One row of knobs for the views. low_sample_min_prs: months with fewer PRs are flagged low_sample.",
)

collector_runs = Table(
    "collector_runs",
    metadata,
    Column("run_id", UUID(as_uuid=True), primary_key=True),
    Column("started_at", TZ, nullable=False),
    Column("finished_at", TZ),
    Column("status", Text, nullable=False),
    Column("trigger", Text, nullable=False),
    Column("repositories_total", Integer, nullable=False, server_default="0"),
    Column("repositories_done", Integer, nullable=False, server_default="0"),
    Column("repositories_failed", Integer, nullable=False, server_default="0"),
    Column("failed_repositories", ARRAY(Text), nullable=False, server_default="{}"),
    Column("prs_seen", Integer, nullable=False, server_default="0"),
    Column("rows_written", Integer, nullable=False, server_default="0"),
    Column("github_requests", Integer, nullable=False, server_default="0"),
    Column("github_requests_not_modified", Integer, nullable=False, server_default="0"),
    Column("rate_limit_remaining", Integer),
    Column("error", Text),
    Column("prs_quarantined", Integer, nullable=False, server_default="0"),
    # When GitHub's rate-limit window resets, recorded when the budget ended the run.
    Column("rate_limit_reset", TZ),
    # The backend holding the run's locks: while it lives, a 'running' row is a live run.
    Column("lock_pid", Integer),
    Column("lock_backend_start", TZ),
    # GraphQL queries sent and the points GitHub charged for them (its GraphQL budget is apart from REST's).
    Column("github_graphql_requests", Integer, nullable=False, server_default="0"),
    Column("github_graphql_points", Integer, nullable=False, server_default="0"),
    CheckConstraint("status IN ('running', 'success', 'partial', 'failed')", name="ck_collector_runs_status"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False),
    # Public: the part of a key (dora_<key_id>_<secret>) that finds its row.
    Column("key_id", Text, nullable=False, unique=True),
    Column("secret_hash", LargeBinary, nullable=False),  # SHA-256 of the secret
    Column("created_at", TZ, nullable=False, server_default=func.now()),
    Column("last_used_at", TZ),
    Column("revoked_at", TZ),
    CheckConstraint("octet_length(secret_hash) = 32", name="ck_api_keys_sha256"),
    Index("uq_api_keys_live_name", "name", unique=True, postgresql_where=text("revoked_at IS NULL")),
    comment="API keys: a name, a public key id and the SHA-256 of the secret (never the secret itself).",
)

DEPLOY_SOURCES = ("deployments", "workflow", "releases", "merges")
SIGNALS = ("deployments", "workflow", "releases", "incidents", "first_commits")

repositories = Table(
    "repositories",
    metadata,
    Column("name", Text, primary_key=True),
    Column("deploy_source", Text, nullable=False, server_default="deployments"),
    Column("environment_pattern", Text),
    Column("workflow", Text),
    Column("incident_label", Text, nullable=False, server_default="incident"),
    Column("updated_at", TZ, nullable=False, server_default=func.now()),
    CheckConstraint(
        "deploy_source IN ('deployments', 'workflow', 'releases', 'merges')", name="ck_repositories_source"
    ),
    CheckConstraint(
        "(deploy_source = 'deployments') = (environment_pattern IS NOT NULL) "
        "AND (deploy_source = 'workflow') = (workflow IS NOT NULL)",
        name="ck_repositories_source_settings",
    ),
    CheckConstraint("name = lower(name)", name="ck_repositories_name_lower"),
    comment="The teams file's repositories: how each deploys and which label marks its incidents. "
    "name is owner/name in lower case.",
)

repository_owners = Table(
    "repository_owners",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("repository", Text, ForeignKey("repositories.name", ondelete="CASCADE"), nullable=False),
    Column("team_id", Integer, ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
    Column("share", WEIGHT, nullable=False),
    Column("owned_from", TZ, nullable=False),
    Column("owned_until", TZ),
    UniqueConstraint("repository", "team_id", "owned_from"),
    CheckConstraint("share > 0 AND share <= 1", name="ck_repository_owners_share"),
    CheckConstraint("owned_until IS NULL OR owned_until > owned_from", name="ck_repository_owners_interval"),
    comment="Which teams own a repository, with what share, from owned_from (inclusive) until owned_until "
    "(exclusive, null: still). Deployments and incidents are credited to the owners active at their time.",
)

deployments = Table(
    "deployments",
    metadata,
    Column("repository", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("id", Text, nullable=False),
    Column("sha", Text),
    Column("environment", Text),
    Column("created_at", TZ, nullable=False),
    Column("deployed_at", TZ),
    Column("failed_at", TZ),
    Column("status", Text, nullable=False),
    Column("updated_at", TZ, nullable=False),
    Column("collected_at", TZ, nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("repository", "source", "id"),
    CheckConstraint("source IN ('deployments', 'workflow', 'releases')", name="ck_deployments_source"),
    CheckConstraint("status IN ('success', 'failed', 'pending')", name="ck_deployments_status"),
    CheckConstraint("(status = 'success') = (deployed_at IS NOT NULL)", name="ck_deployments_success"),
    CheckConstraint("(status = 'failed') = (failed_at IS NOT NULL)", name="ck_deployments_failed"),
    Index(
        "ix_deployments_repository_deployed", "repository", "deployed_at", postgresql_where=text("status = 'success'")
    ),
    comment="Deployments as GitHub reports them (a GitHub Deployment, a successful workflow run or a "
    "published release), repository = owner/name in lower case. status: success (deployed_at = its first "
    "success), failed (a failed attempt, never successful), pending (neither yet).",
)

incidents = Table(
    "incidents",
    metadata,
    Column("repository", Text, nullable=False),
    Column("number", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("closed_at", TZ),
    Column("updated_at", TZ, nullable=False),
    Column("root_cause_sha", Text),
    Column("root_cause_pr", Integer),
    Column("collected_at", TZ, nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("repository", "number"),
    CheckConstraint("state IN ('open', 'closed')", name="ck_incidents_state"),
    CheckConstraint("(state = 'closed') = (closed_at IS NOT NULL)", name="ck_incidents_closed"),
    CheckConstraint("root_cause_sha ~ '^[0-9a-f]{7,40}$'", name="ck_incidents_root_cause_sha"),
    CheckConstraint("root_cause_sha IS NULL OR root_cause_pr IS NULL", name="ck_incidents_one_root_cause"),
    comment="Issues carrying the repository's incident label, repository = owner/name in lower case. "
    "root_cause_*: from a line 'root cause: <sha>' or 'root cause: #<PR>' in the issue's body.",
)

signal_state = Table(
    "signal_state",
    metadata,
    Column("repository", Text, nullable=False),
    Column("signal", Text, nullable=False),
    Column("watermark", TZ),
    Column("etag", Text),
    Column("fingerprint", Text),
    Column("updated_at", TZ, nullable=False, server_default=func.now()),
    # Every fact of the source from covered_since up to the watermark is stored (migration 0012).
    Column("covered_since", TZ),
    PrimaryKeyConstraint("repository", "signal"),
    CheckConstraint(
        "signal IN ('deployments', 'workflow', 'releases', 'incidents', 'first_commits')", name="ck_signal_state_signal"
    ),
    comment="Per repository and source of the four keys: what is collected up to (watermark), the first "
    "page's ETag, and the last GraphQL probe's answer (fingerprint): the same answer means nothing new.",
)

dora_benchmarks = Table(
    "dora_benchmarks",
    metadata,
    Column("report_year", Integer, nullable=False),
    Column("metric", Text, nullable=False),
    Column("band", Text, nullable=False),
    Column("rank", Integer, nullable=False),  # 1: the report's best band for the key
    Column("threshold", Numeric),  # null: the report's lowest band, which takes the rest
    Column("unit", Text, nullable=False),
    Column("wording", Text, nullable=False),
    Column("source", Text, nullable=False),
    PrimaryKeyConstraint("report_year", "metric", "band"),
    UniqueConstraint("report_year", "metric", "rank"),
    CheckConstraint(
        "metric IN ('deployment_frequency', 'change_lead_time', 'change_failure_rate', 'time_to_restore')",
        name="ck_dora_benchmarks_metric",
    ),
    CheckConstraint(
        "unit = CASE metric WHEN 'deployment_frequency' THEN 'deployments per week' "
        "WHEN 'change_failure_rate' THEN 'fraction' ELSE 'hours' END",
        name="ck_dora_benchmarks_unit",
    ),
    CheckConstraint("rank >= 1", name="ck_dora_benchmarks_rank"),
    CheckConstraint(
        "threshold >= 0 AND (metric <> 'change_failure_rate' OR threshold <= 1)", name="ck_dora_benchmarks_threshold"
    ),
    Index(
        "uq_dora_benchmarks_lowest", "report_year", "metric", unique=True, postgresql_where=text("threshold IS NULL")
    ),
    comment="The performance bands of the State of DevOps reports: per report year, key and band, the report's "
    "wording, our numeric reading of its threshold (null: the lowest band) and the report cited.",
)
