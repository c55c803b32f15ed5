-- view_dora_lead_time, version 2: version 1 plus low_sample, documented column by column.
-- Never edit once applied: a change is a new file and a new migration.
CREATE OR REPLACE VIEW view_dora_lead_time AS
SELECT
    m.team_id,
    t.name AS team_name,
    date_trunc('month', m.merged_at AT TIME ZONE 'UTC')::date AS month,
    count(*) AS prs_merged,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY m.cycle_time_hours) AS median_lead_time_hours,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY m.cycle_time_hours) AS p95_lead_time_hours,
    count(*) < (SELECT s.low_sample_min_prs FROM analytics_settings AS s) AS low_sample
FROM pr_metrics AS m
JOIN teams AS t ON t.id = m.team_id
GROUP BY m.team_id, t.name, date_trunc('month', m.merged_at AT TIME ZONE 'UTC')::date;

COMMENT ON VIEW view_dora_lead_time IS
    'Lead time for changes per team and calendar month (UTC): median and p95 of the hours from opening a PR '
    'to merging it. One row per team and month with at least one attributed PR; small months are flagged, '
    'never dropped.';
COMMENT ON COLUMN view_dora_lead_time.team_id IS 'teams.id of the credited team.';
COMMENT ON COLUMN view_dora_lead_time.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_dora_lead_time.month IS 'First day (UTC) of the month in which the PRs merged.';
COMMENT ON COLUMN view_dora_lead_time.prs_merged IS 'Number of merged PRs credited to the team that month.';
COMMENT ON COLUMN view_dora_lead_time.median_lead_time_hours IS
    'percentile_cont(0.5) of (merged_at - created_at) in hours.';
COMMENT ON COLUMN view_dora_lead_time.p95_lead_time_hours IS
    'percentile_cont(0.95) of (merged_at - created_at) in hours (interpolated between PRs).';
COMMENT ON COLUMN view_dora_lead_time.low_sample IS
    'True when prs_merged is below analytics_settings.low_sample_min_prs (default 5): grey it out, the '
    'median and p95 of a handful of PRs say little.';
