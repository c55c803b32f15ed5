"""Resumable collection and quarantine: the sweep in progress per repository, refused PRs, ledger counts.

A repository's state gains the history it covers and wants, and the sweep in progress
(collector/cursor.py), committed with each batch, so a backfill continues where the last run stopped.
Existing repositories count as covering everything since their oldest stored update.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.alter_column("collector_state", "watermark", nullable=True)
    for name in ("covered_since", "wanted_since"):
        op.add_column("collector_state", sa.Column(name, TZ))
    op.add_column("collector_state", sa.Column("sweep_kind", sa.Text))
    op.add_column("collector_state", sa.Column("sweep_upper", TZ))
    op.add_column("collector_state", sa.Column("sweep_lower", TZ))
    op.add_column("collector_state", sa.Column("sweep_next_page", sa.Integer))
    op.add_column("collector_state", sa.Column("sweep_pages_read", sa.Integer))
    op.create_check_constraint("ck_collector_state_sweep_kind", "collector_state", "sweep_kind IN ('top', 'history')")
    op.create_check_constraint(
        "ck_collector_state_sweep_whole",
        "collector_state",
        "(sweep_kind IS NULL) = (sweep_upper IS NULL) AND (sweep_kind IS NULL) = (sweep_lower IS NULL) "
        "AND (sweep_kind IS NULL) = (sweep_pages_read IS NULL)",
    )
    op.execute(
        "UPDATE collector_state s SET covered_since = coalesce("
        "(SELECT min(p.updated_at) FROM pull_requests p WHERE p.repository = s.repository), s.watermark)"
    )
    op.execute("UPDATE collector_state SET wanted_since = covered_since")
    op.create_table(
        "quarantined_prs",
        sa.Column("repository", sa.Text, nullable=False),
        sa.Column("item", sa.Text, nullable=False),
        sa.Column("number", sa.Integer),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("excerpt", sa.Text, nullable=False),
        sa.Column("first_seen", TZ, nullable=False),
        sa.Column("last_seen", TZ, nullable=False),
        sa.Column("first_run_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("last_run_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("times_seen", sa.Integer, nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("repository", "item"),
        comment="Listed pull requests kept out of pull_requests because GitHub sent a value we refuse; retried later.",
    )
    op.add_column("collector_runs", sa.Column("prs_quarantined", sa.Integer, nullable=False, server_default="0"))
    op.add_column("collector_runs", sa.Column("rate_limit_reset", TZ))


def downgrade() -> None:
    op.drop_column("collector_runs", "rate_limit_reset")
    op.drop_column("collector_runs", "prs_quarantined")
    op.drop_table("quarantined_prs")
    op.drop_constraint("ck_collector_state_sweep_whole", "collector_state")
    op.drop_constraint("ck_collector_state_sweep_kind", "collector_state")
    for name in ("sweep_pages_read", "sweep_next_page", "sweep_lower", "sweep_upper", "sweep_kind"):
        op.drop_column("collector_state", name)
    op.drop_column("collector_state", "wanted_since")
    op.drop_column("collector_state", "covered_since")
    op.execute("DELETE FROM collector_state WHERE watermark IS NULL")
    op.alter_column("collector_state", "watermark", nullable=False)
