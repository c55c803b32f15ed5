-- view_pr_lead_time, version 1. Never edit once applied: a change is a new file and a new migration.
-- view_dora_lead_time version 2 under an honest name, plus in_progress. The figure is PR lead time (open -> merge,
-- also called cycle time), not DORA's lead time for changes (first commit -> running in production).
CREATE VIEW view_pr_lead_time AS
SELECT
    m.team_id,
    t.name AS team_name,
    date_trunc('month', m.merged_at AT TIME ZONE 'UTC')::date AS month,
    count(*) AS prs_merged,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY m.cycle_time_hours) AS median_lead_time_hours,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY m.cycle_time_hours) AS p95_lead_time_hours,
    count(*) < (SELECT s.low_sample_min_prs FROM analytics_settings AS s) AS low_sample,
    -- A later month only when a merge is dated after now() (GitHub's clock ahead of ours): unfinished too.
    date_trunc('month', m.merged_at AT TIME ZONE 'UTC')::date >= date_trunc('month', now() AT TIME ZONE 'UTC')::date
        AS in_progress
FROM pr_metrics AS m
JOIN teams AS t ON t.id = m.team_id
GROUP BY m.team_id, t.name, date_trunc('month', m.merged_at AT TIME ZONE 'UTC')::date;

COMMENT ON VIEW view_pr_lead_time IS
    'PR lead time (PR opened -> merged, also called cycle time) per team and calendar month (UTC): median and p95 '
    'in hours. Not DORA''s lead time for changes (first commit -> running in production). '
    'One row per team and month with at least one attributed PR; small months are flagged (low_sample) and '
    'the current month is flagged (in_progress), never dropped.';
COMMENT ON COLUMN view_pr_lead_time.team_id IS 'teams.id of the credited team.';
COMMENT ON COLUMN view_pr_lead_time.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_pr_lead_time.month IS 'First day (UTC) of the month in which the PRs merged.';
COMMENT ON COLUMN view_pr_lead_time.prs_merged IS 'Number of merged PRs credited to the team that month.';
COMMENT ON COLUMN view_pr_lead_time.median_lead_time_hours IS
    'Median PR lead time: percentile_cont(0.5) of (merged_at - created_at) in hours, PR opened -> merged. '
    'Not DORA''s lead time for changes.';
COMMENT ON COLUMN view_pr_lead_time.p95_lead_time_hours IS
    'p95 PR lead time: percentile_cont(0.95) of (merged_at - created_at) in hours, PR opened -> merged '
    '(interpolated between PRs). Not DORA''s lead time for changes.';
COMMENT ON COLUMN view_pr_lead_time.low_sample IS
    'True when prs_merged is below analytics_settings.low_sample_min_prs (default 5): grey it out, the '
    'median and p95 of a handful of PRs say little.';
COMMENT ON COLUMN view_pr_lead_time.in_progress IS
    'True for the month containing now() in UTC (and any later one, should a merge be dated ahead of our clock): '
    'the month is not over, its figures will still change.';
