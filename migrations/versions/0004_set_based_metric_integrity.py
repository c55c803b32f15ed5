"""pr_metrics' references to memberships, checked once per statement instead of once per row.

A foreign key checks every inserted row with its own lookup and row lock: two foreign keys made up
about 40 % of the write path's time (bench/RESULTS.md). These triggers keep the same guarantees with
one set-based query per statement, and make one of them stricter:

- every ``pr_metrics`` row names an existing membership *of the row's team* (before, ``team_id`` and
  ``membership_id`` were checked separately and could disagree);
- the referenced memberships are locked ``FOR KEY SHARE``, as a foreign key locks them, so a
  concurrent delete waits for the writing transaction;
- deleting a membership deletes its rows (a team's deletion cascades to its memberships, so to its
  rows), and changing a referenced membership's id or team is refused.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CHECK_FUNCTION = """
CREATE FUNCTION pr_metrics_check_membership() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    orphan record;
BEGIN
    PERFORM 1 FROM team_memberships m
     WHERE m.id IN (SELECT DISTINCT n.membership_id FROM new_rows n)
       FOR KEY SHARE;
    SELECT n.membership_id, n.team_id INTO orphan FROM new_rows n
     WHERE NOT EXISTS (SELECT 1 FROM team_memberships m WHERE m.id = n.membership_id AND m.team_id = n.team_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'pr_metrics row references no membership % of team %', orphan.membership_id, orphan.team_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$
"""

# Both compute the membership ids first: one pass over pr_metrics when there is work, none otherwise.
CASCADE_FUNCTION = """
CREATE FUNCTION team_memberships_delete_metrics() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    removed integer[] := ARRAY(SELECT o.id FROM old_rows o);
BEGIN
    IF cardinality(removed) > 0 THEN
        DELETE FROM pr_metrics p WHERE p.membership_id = ANY(removed);
    END IF;
    RETURN NULL;
END $$
"""

GUARD_FUNCTION = """
CREATE FUNCTION team_memberships_keep_referenced_keys() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed integer[] := ARRAY(
        SELECT o.id FROM old_rows o
         WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND n.team_id = o.team_id));
BEGIN
    IF cardinality(changed) > 0 AND EXISTS (SELECT 1 FROM pr_metrics p WHERE p.membership_id = ANY(changed)) THEN
        RAISE EXCEPTION 'a membership referenced by pr_metrics cannot change its id or team'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute("ALTER TABLE pr_metrics DROP CONSTRAINT pr_metrics_team_id_fkey")
    op.execute("ALTER TABLE pr_metrics DROP CONSTRAINT pr_metrics_membership_id_fkey")
    for function in (CHECK_FUNCTION, CASCADE_FUNCTION, GUARD_FUNCTION):
        op.execute(function)
    # A trigger with transition tables may not name columns (UPDATE OF): it fires on any update.
    op.execute(
        "CREATE TRIGGER pr_metrics_check_membership_on_insert AFTER INSERT ON pr_metrics "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pr_metrics_check_membership()"
    )
    op.execute(
        "CREATE TRIGGER pr_metrics_check_membership_on_update AFTER UPDATE ON pr_metrics "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pr_metrics_check_membership()"
    )
    op.execute(
        "CREATE TRIGGER team_memberships_delete_metrics AFTER DELETE ON team_memberships "
        "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION team_memberships_delete_metrics()"
    )
    op.execute(
        "CREATE TRIGGER team_memberships_keep_referenced_keys AFTER UPDATE ON team_memberships "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION team_memberships_keep_referenced_keys()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER team_memberships_keep_referenced_keys ON team_memberships")
    op.execute("DROP TRIGGER team_memberships_delete_metrics ON team_memberships")
    op.execute("DROP TRIGGER pr_metrics_check_membership_on_update ON pr_metrics")
    op.execute("DROP TRIGGER pr_metrics_check_membership_on_insert ON pr_metrics")
    op.execute("DROP FUNCTION team_memberships_keep_referenced_keys()")
    op.execute("DROP FUNCTION team_memberships_delete_metrics()")
    op.execute("DROP FUNCTION pr_metrics_check_membership()")
    op.execute(
        "ALTER TABLE pr_metrics ADD CONSTRAINT pr_metrics_membership_id_fkey FOREIGN KEY (membership_id) "
        "REFERENCES team_memberships (id) ON DELETE CASCADE"
    )
    op.execute(
        "ALTER TABLE pr_metrics ADD CONSTRAINT pr_metrics_team_id_fkey FOREIGN KEY (team_id) "
        "REFERENCES teams (id) ON DELETE CASCADE"
    )
