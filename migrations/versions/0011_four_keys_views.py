"""The four keys for analysts: the bands table, the key and audit views, dora_band() and dora_summary().

``dora_benchmarks`` holds the published State of DevOps bands (seeded with the 2021-2024 reports), so a new
report is new rows. ``view_dora_deployments`` defines the counted deployments and what each shipped; the
attribution views credit deployments, changes and incidents to teams; the four key views aggregate them per team
and month; ``view_dora_summary`` gives each key's band by the newest report, ``dora_summary(year)`` by any.
Audit views list failed deployments with their cause, eligible PRs without a lead time with why, and repositories
no team owns now. Three pull_requests indexes serve the views: the merges into a default branch by repository and
time (what a deployment shipped), PR numbers by repository in lower case (an incident's root-cause PR), and reverts.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

from collector.sqlfiles import read_sql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

METRICS = "('deployment_frequency', 'change_lead_time', 'change_failure_rate', 'time_to_restore')"
# Dependency order: each file reads only those before it.
VIEWS = (
    "view_dora_benchmarks.v001.sql",
    "view_dora_deployments.v001.sql",
    "view_dora_failed_deployments.v001.sql",
    "view_dora_deployment_attribution.v001.sql",
    "view_dora_deployment_frequency.v001.sql",
    "view_dora_change_failure_rate.v001.sql",
    "view_dora_change_attribution.v001.sql",
    "view_dora_change_lead_time.v001.sql",
    "view_dora_undeployed_prs.v001.sql",
    "view_dora_incident_attribution.v001.sql",
    "view_dora_time_to_restore.v001.sql",
    "view_dora_unowned_repositories.v001.sql",
    "dora_band.v001.sql",
    "dora_summary.v001.sql",
    "view_dora_summary.v001.sql",
)


def upgrade() -> None:
    op.create_table(
        "dora_benchmarks",
        sa.Column("report_year", sa.Integer, nullable=False),
        sa.Column("metric", sa.Text, nullable=False),
        sa.Column("band", sa.Text, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("threshold", sa.Numeric),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("wording", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("report_year", "metric", "band"),
        sa.UniqueConstraint("report_year", "metric", "rank"),
        sa.CheckConstraint(f"metric IN {METRICS}", name="ck_dora_benchmarks_metric"),
        sa.CheckConstraint(
            "unit = CASE metric WHEN 'deployment_frequency' THEN 'deployments per week' "
            "WHEN 'change_failure_rate' THEN 'fraction' ELSE 'hours' END",
            name="ck_dora_benchmarks_unit",
        ),
        sa.CheckConstraint("rank >= 1", name="ck_dora_benchmarks_rank"),
        sa.CheckConstraint(
            "threshold >= 0 AND (metric <> 'change_failure_rate' OR threshold <= 1)",
            name="ck_dora_benchmarks_threshold",
        ),
        comment="The performance bands of the State of DevOps reports: per report year, key and band, the report's "
        "wording, our numeric reading of its threshold (null: the lowest band) and the report cited.",
    )
    # One catch-all band per report and key.
    op.create_index(
        "uq_dora_benchmarks_lowest",
        "dora_benchmarks",
        ["report_year", "metric"],
        unique=True,
        postgresql_where=sa.text("threshold IS NULL"),
    )
    op.execute(read_sql("dora_benchmarks.v001.sql"))
    op.create_index(
        "ix_pull_requests_repository_merged",
        "pull_requests",
        [sa.text("lower(repository)"), "merged_at"],
        postgresql_where=sa.text("merged_at IS NOT NULL AND base_ref = default_branch"),
    )
    op.create_index("ix_pull_requests_repository_number", "pull_requests", [sa.text("lower(repository)"), "number"])
    op.create_index(
        "ix_pull_requests_reverts",
        "pull_requests",
        ["repository", "reverts_number"],
        postgresql_where=sa.text("reverts_number IS NOT NULL"),
    )
    for name in VIEWS:
        op.execute(read_sql(name))
    # dora_band and dora_summary grant EXECUTE in their files; the views are granted here, like 0008's.
    op.execute(
        "GRANT SELECT ON view_dora_benchmarks, view_dora_deployments, view_dora_failed_deployments, "
        "view_dora_deployment_attribution, view_dora_deployment_frequency, view_dora_change_failure_rate, "
        "view_dora_change_attribution, view_dora_change_lead_time, view_dora_undeployed_prs, "
        "view_dora_incident_attribution, view_dora_time_to_restore, view_dora_unowned_repositories, "
        "view_dora_summary TO dora_reader"
    )


def downgrade() -> None:
    op.execute("DROP VIEW view_dora_summary")
    op.execute("DROP FUNCTION dora_summary(integer)")
    op.execute("DROP TYPE dora_summary_row")
    op.execute("DROP FUNCTION dora_band(integer, text, double precision)")
    for name in reversed(VIEWS[:-3]):
        op.execute(f"DROP VIEW {name.split('.')[0]}")
    for index in (
        "ix_pull_requests_reverts",
        "ix_pull_requests_repository_number",
        "ix_pull_requests_repository_merged",
    ):
        op.drop_index(index, table_name="pull_requests")
    op.drop_index("uq_dora_benchmarks_lowest", table_name="dora_benchmarks")
    op.drop_table("dora_benchmarks")
