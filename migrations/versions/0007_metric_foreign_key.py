"""pr_metrics references its membership with a plain composite foreign key again.

Migration 0004 replaced the foreign keys by statement-level triggers to speed up the write path. At
a realistic page latency (1 s) the database's share of a backfill is about 7 % either way
(bench/RESULTS.md), so the triggers do not pay for their code. One composite foreign key keeps every
guarantee they gave: a row names a membership *of its team*, deleting a membership (or its team)
deletes its rows, and a referenced membership cannot change its id or team.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from importlib import import_module

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP TRIGGER team_memberships_keep_referenced_keys ON team_memberships")
    op.execute("DROP TRIGGER team_memberships_delete_metrics ON team_memberships")
    op.execute("DROP TRIGGER pr_metrics_check_membership_on_update ON pr_metrics")
    op.execute("DROP TRIGGER pr_metrics_check_membership_on_insert ON pr_metrics")
    op.execute("DROP FUNCTION team_memberships_keep_referenced_keys()")
    op.execute("DROP FUNCTION team_memberships_delete_metrics()")
    op.execute("DROP FUNCTION pr_metrics_check_membership()")
    op.create_unique_constraint("uq_team_memberships_id_team", "team_memberships", ["id", "team_id"])
    op.create_foreign_key(
        "fk_pr_metrics_membership",
        "pr_metrics",
        "team_memberships",
        ["membership_id", "team_id"],
        ["id", "team_id"],
        ondelete="CASCADE",
    )


def downgrade() -> None:
    op.drop_constraint("fk_pr_metrics_membership", "pr_metrics", type_="foreignkey")
    op.drop_constraint("uq_team_memberships_id_team", "team_memberships", type_="unique")
    # 0004's upgrade, from the foreign keys it found to the triggers it left.
    op.execute(
        "ALTER TABLE pr_metrics ADD CONSTRAINT pr_metrics_membership_id_fkey FOREIGN KEY (membership_id) "
        "REFERENCES team_memberships (id) ON DELETE CASCADE"
    )
    op.execute(
        "ALTER TABLE pr_metrics ADD CONSTRAINT pr_metrics_team_id_fkey FOREIGN KEY (team_id) "
        "REFERENCES teams (id) ON DELETE CASCADE"
    )
    import_module("collector.migrations.versions.0004_set_based_metric_integrity").upgrade()
