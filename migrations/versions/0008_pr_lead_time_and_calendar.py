"""PR lead time under its own name; every week of every team's velocity; the current week and month flagged.

The open -> merge figure is PR lead time (also called cycle time), not DORA's lead time for changes
(first commit -> running in production), which will get its own view. ``view_pr_lead_time`` is
``view_dora_lead_time`` renamed, plus ``in_progress``; ``view_dora_lead_time`` stays one release as a
deprecated alias over it, with its old columns. ``view_team_velocity_calendar`` has a row for every week,
zero where nothing merged, for BI tools that cannot fill gaps. Two views are recreated unchanged for their
comments only.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from alembic import op

from collector.sqlfiles import read_sql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("view_pr_lead_time.v001.sql"))
    # CREATE OR REPLACE keeps the alias's grant to dora_reader; it now depends on view_pr_lead_time.
    op.execute(read_sql("view_dora_lead_time.v003.sql"))
    op.execute(read_sql("view_team_velocity_calendar.v001.sql"))
    op.execute(read_sql("view_team_velocity.v003.sql"))
    op.execute(read_sql("view_pr_attribution.v002.sql"))
    op.execute("GRANT SELECT ON view_pr_lead_time, view_team_velocity_calendar TO dora_reader")


def downgrade() -> None:
    # version 1 is CREATE VIEW: drop it first, and grant again what dropping it revoked.
    op.execute("DROP VIEW view_pr_attribution")
    op.execute(read_sql("view_pr_attribution.v001.sql"))
    op.execute("GRANT SELECT ON view_pr_attribution TO dora_reader")
    op.execute(read_sql("view_team_velocity.v002.sql"))
    op.execute("DROP VIEW view_team_velocity_calendar")
    # view_dora_lead_time, a standalone view again (its grant kept), before the view it read goes.
    op.execute(read_sql("view_dora_lead_time.v002.sql"))
    op.execute("DROP VIEW view_pr_lead_time")
