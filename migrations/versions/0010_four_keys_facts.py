"""The four keys' facts: repositories with their owners and sources, deployments, incidents, first commits.

``repositories`` and ``repository_owners`` hold the teams file's ``repositories`` list (owners with
time-bounded shares, like memberships). ``deployments`` and ``incidents`` hold what GitHub says, per
repository, with no team in them: crediting teams happens in the views, so a change of owners recomputes
every key without a GitHub request. ``pull_requests`` gains the first commit's authored time (read by
GraphQL once a PR is merged) and the PR a revert PR reverts. ``signal_state`` is each source's watermark
and conditional-request state per repository.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
SOURCES = "('deployments', 'workflow', 'releases', 'merges')"
SIGNALS = "('deployments', 'workflow', 'releases', 'incidents', 'first_commits')"


def upgrade() -> None:
    op.create_table(
        "repositories",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("deploy_source", sa.Text, nullable=False, server_default="deployments"),
        sa.Column("environment_pattern", sa.Text),
        sa.Column("workflow", sa.Text),
        sa.Column("incident_label", sa.Text, nullable=False, server_default="incident"),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(f"deploy_source IN {SOURCES}", name="ck_repositories_source"),
        sa.CheckConstraint(
            "(deploy_source = 'deployments') = (environment_pattern IS NOT NULL) "
            "AND (deploy_source = 'workflow') = (workflow IS NOT NULL)",
            name="ck_repositories_source_settings",
        ),
        sa.CheckConstraint("name = lower(name)", name="ck_repositories_name_lower"),
        comment="The teams file's repositories: how each deploys and which label marks its incidents. "
        "name is owner/name in lower case.",
    )
    op.create_table(
        "repository_owners",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("repository", sa.Text, sa.ForeignKey("repositories.name", ondelete="CASCADE"), nullable=False),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
        sa.Column("share", sa.Numeric(5, 4), nullable=False),
        sa.Column("owned_from", TZ, nullable=False),
        sa.Column("owned_until", TZ),
        sa.UniqueConstraint("repository", "team_id", "owned_from"),
        sa.CheckConstraint("share > 0 AND share <= 1", name="ck_repository_owners_share"),
        sa.CheckConstraint("owned_until IS NULL OR owned_until > owned_from", name="ck_repository_owners_interval"),
        comment="Which teams own a repository, with what share, from owned_from (inclusive) until owned_until "
        "(exclusive, null: still). Deployments and incidents are credited to the owners active at their time.",
    )
    op.create_table(
        "deployments",
        sa.Column("repository", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("sha", sa.Text),
        sa.Column("environment", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("deployed_at", TZ),
        sa.Column("failed_at", TZ),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("collected_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("repository", "source", "id"),
        sa.CheckConstraint("source IN ('deployments', 'workflow', 'releases')", name="ck_deployments_source"),
        sa.CheckConstraint("status IN ('success', 'failed', 'pending')", name="ck_deployments_status"),
        sa.CheckConstraint("(status = 'success') = (deployed_at IS NOT NULL)", name="ck_deployments_success"),
        sa.CheckConstraint("(status = 'failed') = (failed_at IS NOT NULL)", name="ck_deployments_failed"),
        comment="Deployments as GitHub reports them (a GitHub Deployment, a successful workflow run or a "
        "published release), repository = owner/name in lower case. status: success (deployed_at = its first "
        "success), failed (a failed attempt, never successful), pending (neither yet).",
    )
    op.create_index(
        "ix_deployments_repository_deployed",
        "deployments",
        ["repository", "deployed_at"],
        postgresql_where=sa.text("status = 'success'"),
    )
    op.create_table(
        "incidents",
        sa.Column("repository", sa.Text, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("closed_at", TZ),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("root_cause_sha", sa.Text),
        sa.Column("root_cause_pr", sa.Integer),
        sa.Column("collected_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("repository", "number"),
        sa.CheckConstraint("state IN ('open', 'closed')", name="ck_incidents_state"),
        sa.CheckConstraint("(state = 'closed') = (closed_at IS NOT NULL)", name="ck_incidents_closed"),
        sa.CheckConstraint("root_cause_sha ~ '^[0-9a-f]{7,40}$'", name="ck_incidents_root_cause_sha"),
        sa.CheckConstraint("root_cause_sha IS NULL OR root_cause_pr IS NULL", name="ck_incidents_one_root_cause"),
        comment="Issues carrying the repository's incident label, repository = owner/name in lower case. "
        "root_cause_*: from a line 'root cause: <sha>' or 'root cause: #<PR>' in the issue's body.",
    )
    op.create_table(
        "signal_state",
        sa.Column("repository", sa.Text, nullable=False),
        sa.Column("signal", sa.Text, nullable=False),
        sa.Column("watermark", TZ),
        sa.Column("etag", sa.Text),
        sa.Column("fingerprint", sa.Text),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("repository", "signal"),
        sa.CheckConstraint(f"signal IN {SIGNALS}", name="ck_signal_state_signal"),
        comment="Per repository and source of the four keys: what is collected up to (watermark), the first "
        "page's ETag, and the last GraphQL probe's answer (fingerprint): the same answer means nothing new.",
    )
    op.add_column("pull_requests", sa.Column("first_commit_at", TZ))
    op.add_column("pull_requests", sa.Column("first_commit_read_at", TZ))
    op.add_column("pull_requests", sa.Column("reverts_number", sa.Integer))
    op.create_index(
        "ix_pull_requests_first_commit_unread",
        "pull_requests",
        ["merged_at"],
        postgresql_where=sa.text("merged_at IS NOT NULL AND first_commit_read_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_pull_requests_first_commit_unread", table_name="pull_requests")
    for column in ("reverts_number", "first_commit_read_at", "first_commit_at"):
        op.drop_column("pull_requests", column)
    for table in ("signal_state", "incidents", "deployments", "repository_owners", "repositories"):
        op.drop_table(table)
