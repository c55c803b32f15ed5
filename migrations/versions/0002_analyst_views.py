"""Analysts' layer: documented views, low_sample, attribution audit trail, open PR age, dora_reader.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from collector.sqlfiles import read_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NEW_VIEWS = (
    "view_pr_attribution",
    "view_unattributed_prs",
    "view_unmapped_authors",
    "view_open_pr_age",
    "view_pr_titles",
)


def upgrade() -> None:
    op.create_table(
        "analytics_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("low_sample_min_prs", sa.Integer, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_analytics_settings_single_row"),
        sa.CheckConstraint("low_sample_min_prs >= 1", name="ck_analytics_settings_low_sample"),
        comment="One row of knobs for the views. low_sample_min_prs: months with fewer PRs are flagged low_sample.",
    )
    op.execute("INSERT INTO analytics_settings (id, low_sample_min_prs) VALUES (1, 5)")
    op.execute(read_sql("view_team_velocity.v002.sql"))
    op.execute(read_sql("view_dora_lead_time.v002.sql"))
    for view in NEW_VIEWS:
        op.execute(read_sql(f"{view}.v001.sql"))
    op.execute(read_sql("role_dora_reader.v001.sql"))


def downgrade() -> None:
    op.execute(
        "REVOKE ALL ON view_team_velocity, view_dora_lead_time, view_pr_attribution, view_unattributed_prs, "
        "view_unmapped_authors, view_open_pr_age FROM dora_reader"
    )
    op.execute("REVOKE SELECT ON alembic_version FROM dora_reader")
    op.execute("REVOKE USAGE ON SCHEMA public FROM dora_reader")  # the role itself may serve other databases
    for view in reversed(NEW_VIEWS):
        op.execute(f"DROP VIEW {view}")
    op.execute("DROP VIEW view_dora_lead_time")
    op.execute(read_sql("view_dora_lead_time.v001.sql"))
    op.drop_table("analytics_settings")
