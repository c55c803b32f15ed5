"""Run and teams-sync locks become row locks that only the collector's role can take; rows_written.

Advisory locks with fixed keys could be taken by any role that can connect (``dora_reader``
included) and stall every run. A row lock needs the UPDATE privilege on the table, which only the
collector's role has. A run's ledger row names the backend holding its locks, which tells a live run
from a killed one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collector_locks",
        sa.Column("name", sa.Text, primary_key=True),
        comment="Rows the collector locks ('global', 'repository:<owner/name>'): only its own role can lock them.",
    )
    op.execute("INSERT INTO collector_locks (name) VALUES ('global')")
    op.add_column("collector_runs", sa.Column("lock_pid", sa.Integer))
    op.add_column("collector_runs", sa.Column("lock_backend_start", sa.DateTime(timezone=True)))
    # Batches are replaced (delete + COPY), not upserted: the ledger's name says what happens.
    op.alter_column("collector_runs", "rows_upserted", new_column_name="rows_written")


def downgrade() -> None:
    op.alter_column("collector_runs", "rows_written", new_column_name="rows_upserted")
    op.drop_column("collector_runs", "lock_backend_start")
    op.drop_column("collector_runs", "lock_pid")
    op.drop_table("collector_locks")
