-- role_dora_reader, version 1. Never edit once applied.
-- A read-only role for analysts and BI tools: the views, nothing else. Roles are cluster-wide, so it
-- may exist already (another database on the same server).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dora_reader') THEN
        CREATE ROLE dora_reader NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO dora_reader;
-- The schema version only, so tools running as dora_reader (the HTML report) can check it.
GRANT SELECT ON alembic_version TO dora_reader;
GRANT SELECT ON view_team_velocity, view_dora_lead_time, view_pr_attribution, view_unattributed_prs,
    view_unmapped_authors, view_open_pr_age TO dora_reader;
