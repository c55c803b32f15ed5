"""Initial schema: teams, memberships, pull requests, per-team metrics, state, run ledger, two views.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from collector.sqlfiles import read_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
WEIGHT = sa.Numeric(5, 4)


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("description", sa.Text),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "team_memberships",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
        sa.Column("github_username", sa.Text, nullable=False),
        sa.Column("allocation_weight", WEIGHT, nullable=False),
        sa.Column("joined_at", TZ, nullable=False),
        sa.Column("left_at", TZ),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("team_id", "github_username", "joined_at"),
        sa.CheckConstraint("allocation_weight > 0 AND allocation_weight <= 1", name="ck_membership_weight"),
        sa.CheckConstraint("left_at IS NULL OR left_at > joined_at", name="ck_membership_interval"),
    )
    op.create_index("ix_team_memberships_login", "team_memberships", [sa.text("lower(github_username)")])
    op.create_table(
        "pull_requests",
        sa.Column("repository", sa.Text, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("author", sa.Text),
        sa.Column("is_bot", sa.Boolean, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("draft", sa.Boolean, nullable=False),
        sa.Column("base_ref", sa.Text, nullable=False),
        sa.Column("default_branch", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("closed_at", TZ),
        sa.Column("merged_at", TZ),
        sa.Column("collected_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("repository", "number"),
        sa.CheckConstraint("state IN ('open', 'closed')", name="ck_pull_requests_state"),
    )
    op.create_index("ix_pull_requests_author", "pull_requests", [sa.text("lower(author)")])
    op.create_table(
        "pr_metrics",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "membership_id",
            sa.Integer,
            sa.ForeignKey("team_memberships.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("repository", sa.Text, nullable=False),
        sa.Column("pr_number", sa.Integer, nullable=False),
        sa.Column("author", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("merged_at", TZ, nullable=False),
        sa.Column("closed_at", TZ),
        sa.Column("cycle_time_hours", sa.Double, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("created_date", sa.Date, nullable=False),
        sa.Column("allocation_weight", WEIGHT, nullable=False),
        sa.UniqueConstraint("team_id", "repository", "pr_number"),
    )
    op.create_index("ix_pr_metrics_pr", "pr_metrics", ["repository", "pr_number"])
    op.create_index("ix_pr_metrics_team_merged", "pr_metrics", ["team_id", "merged_at"])
    op.create_table(
        "collector_state",
        sa.Column("repository", sa.Text, primary_key=True),
        sa.Column("watermark", TZ, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_run_id", postgresql.UUID(as_uuid=True)),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "collector_runs",
        sa.Column("run_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("repositories_total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("repositories_done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("repositories_failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed_repositories", postgresql.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("prs_seen", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_upserted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("github_requests", sa.Integer, nullable=False, server_default="0"),
        sa.Column("github_requests_not_modified", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rate_limit_remaining", sa.Integer),
        sa.Column("error", sa.Text),
        sa.CheckConstraint("status IN ('running', 'success', 'partial', 'failed')", name="ck_collector_runs_status"),
    )
    op.execute(read_sql("view_team_velocity.v001.sql"))
    op.execute(read_sql("view_dora_lead_time.v001.sql"))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS view_dora_lead_time")
    op.execute("DROP VIEW IF EXISTS view_team_velocity")
    for table in (
        "collector_runs",
        "collector_state",
        "pr_metrics",
        "pull_requests",
        "team_memberships",
        "teams",
    ):
        op.drop_table(table)
