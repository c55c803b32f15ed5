"""Indexes that match the views' week and month grouping, so analyst queries stay fast at millions of rows.

The expressions are exactly the views' (IMMUTABLE: ``timezone('UTC', timestamptz)`` then ``date_trunc``),
so a filter on ``week`` or ``month`` becomes an index range scan. The INCLUDE columns let the aggregates
come from an index-only scan; ``merged_at`` is among them because PostgreSQL plans an index-only scan
on an expression index only when the expression's column is in the index as well.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

WEEK = "(date_trunc('week', merged_at AT TIME ZONE 'UTC')::date)"
MONTH = "(date_trunc('month', merged_at AT TIME ZONE 'UTC')::date)"


def upgrade() -> None:
    op.execute(
        f"CREATE INDEX ix_pr_metrics_team_week ON pr_metrics (team_id, {WEEK}) "
        "INCLUDE (merged_at, allocation_weight, cycle_time_hours)"
    )
    op.execute(
        f"CREATE INDEX ix_pr_metrics_month_team ON pr_metrics ({MONTH}, team_id) INCLUDE (merged_at, cycle_time_hours)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_pr_metrics_month_team")
    op.execute("DROP INDEX ix_pr_metrics_team_week")
