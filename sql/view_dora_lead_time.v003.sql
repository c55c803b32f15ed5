-- view_dora_lead_time, version 3: deprecated alias of view_pr_lead_time, kept for one release; will be dropped in
-- the release after. Its columns are version 2's, unchanged (no in_progress): readers of the old name see the
-- same shape. Never edit once applied: a change is a new file and a new migration.
CREATE OR REPLACE VIEW view_dora_lead_time AS
SELECT team_id, team_name, month, prs_merged, median_lead_time_hours, p95_lead_time_hours, low_sample
FROM view_pr_lead_time;

COMMENT ON VIEW view_dora_lead_time IS
    'DEPRECATED alias of view_pr_lead_time, kept for one release; will be dropped in the release after: read '
    'view_pr_lead_time. The figure is PR lead time (PR opened -> merged, also called cycle time) per team and '
    'month, not DORA''s lead time for changes (first commit -> running in production).';
COMMENT ON COLUMN view_dora_lead_time.team_id IS
    'Deprecated: view_pr_lead_time.team_id (teams.id of the credited team).';
COMMENT ON COLUMN view_dora_lead_time.team_name IS 'Deprecated: view_pr_lead_time.team_name.';
COMMENT ON COLUMN view_dora_lead_time.month IS 'Deprecated: view_pr_lead_time.month (first day, UTC, of the month).';
COMMENT ON COLUMN view_dora_lead_time.prs_merged IS 'Deprecated: view_pr_lead_time.prs_merged.';
COMMENT ON COLUMN view_dora_lead_time.median_lead_time_hours IS
    'Deprecated: view_pr_lead_time.median_lead_time_hours, the median PR lead time (PR opened -> merged, hours); '
    'not DORA''s lead time for changes.';
COMMENT ON COLUMN view_dora_lead_time.p95_lead_time_hours IS
    'Deprecated: view_pr_lead_time.p95_lead_time_hours, the p95 PR lead time (PR opened -> merged, hours); '
    'not DORA''s lead time for changes.';
COMMENT ON COLUMN view_dora_lead_time.low_sample IS 'Deprecated: view_pr_lead_time.low_sample.';
