-- view_dora_change_lead_time, version 1. Never edit once applied: a change is a new file and a new migration.
-- DORA's lead time for changes per team and calendar month (UTC) of the deployment that shipped the change, over
-- view_dora_change_attribution. Beside PR lead time (view_pr_lead_time, opened -> merged), which stays.
CREATE VIEW view_dora_change_lead_time AS
SELECT
    a.team_id,
    a.team_name,
    m.month,
    count(*) AS changes,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY a.lead_time_hours) AS median_change_lead_time_hours,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY a.lead_time_hours) AS p95_change_lead_time_hours,
    count(*) < (SELECT s.low_sample_min_prs FROM analytics_settings AS s) AS low_sample,
    m.month >= date_trunc('month', now() AT TIME ZONE 'UTC')::date AS in_progress
FROM view_dora_change_attribution AS a
CROSS JOIN LATERAL (SELECT date_trunc('month', a.deployed_at AT TIME ZONE 'UTC')::date AS month) AS m
GROUP BY a.team_id, a.team_name, m.month;

COMMENT ON VIEW view_dora_change_lead_time IS
    'DORA lead time for changes per team and calendar month (UTC) of deployment: median and p95 hours from a PR''s '
    'first commit to the deployment that shipped it, over the team''s credited PRs (view_dora_change_attribution). '
    'Not PR lead time (opened -> merged, view_pr_lead_time). One row per team and month with at least one change.';
COMMENT ON COLUMN view_dora_change_lead_time.team_id IS 'teams.id of the credited team.';
COMMENT ON COLUMN view_dora_change_lead_time.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_dora_change_lead_time.month IS
    'First day (UTC) of the month in which the deployments that shipped the changes happened.';
COMMENT ON COLUMN view_dora_change_lead_time.changes IS 'Credited PRs with a lead time (n).';
COMMENT ON COLUMN view_dora_change_lead_time.median_change_lead_time_hours IS
    'Median lead time for changes: percentile_cont(0.5) of (deployed_at - first_commit_at) in hours.';
COMMENT ON COLUMN view_dora_change_lead_time.p95_change_lead_time_hours IS
    'p95 lead time for changes: percentile_cont(0.95), interpolated between PRs.';
COMMENT ON COLUMN view_dora_change_lead_time.low_sample IS
    'True when changes is below analytics_settings.low_sample_min_prs (default 5).';
COMMENT ON COLUMN view_dora_change_lead_time.in_progress IS
    'True for the month containing now() in UTC (and any later one): not over, its figures will still change.';
