-- view_dora_time_to_restore, version 1. Never edit once applied: a change is a new file and a new migration.
-- Time to restore per team and calendar month (UTC) of the incidents' opening, over view_dora_incident_attribution.
-- percentile_cont skips nulls: the open incidents are counted apart, never in the median.
CREATE VIEW view_dora_time_to_restore AS
SELECT
    a.team_id,
    a.team_name,
    m.month,
    count(*) AS incidents,
    count(a.closed_at) AS restored,
    count(*) - count(a.closed_at) AS open_incidents,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY a.time_to_restore_hours) AS median_time_to_restore_hours,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY a.time_to_restore_hours) AS p95_time_to_restore_hours,
    count(a.closed_at) < (SELECT s.low_sample_min_prs FROM analytics_settings AS s) AS low_sample,
    m.month >= date_trunc('month', now() AT TIME ZONE 'UTC')::date AS in_progress
FROM view_dora_incident_attribution AS a
CROSS JOIN LATERAL (SELECT date_trunc('month', a.created_at AT TIME ZONE 'UTC')::date AS month) AS m
GROUP BY a.team_id, a.team_name, m.month;

COMMENT ON VIEW view_dora_time_to_restore IS
    'DORA time to restore service ("failed deployment recovery time" since 2023) per team and calendar month (UTC) '
    'in which incidents opened: median and p95 hours from opening to closing over the restored ones, open incidents '
    'counted apart. One row per team and month with at least one incident.';
COMMENT ON COLUMN view_dora_time_to_restore.team_id IS 'teams.id of the credited team.';
COMMENT ON COLUMN view_dora_time_to_restore.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_dora_time_to_restore.month IS 'First day (UTC) of the month in which the incidents opened.';
COMMENT ON COLUMN view_dora_time_to_restore.incidents IS 'Incidents credited to the team that opened that month.';
COMMENT ON COLUMN view_dora_time_to_restore.restored IS 'How many of them are closed (n of the median and p95).';
COMMENT ON COLUMN view_dora_time_to_restore.open_incidents IS
    'How many are still open: left out of the median and p95, never given a guessed end.';
COMMENT ON COLUMN view_dora_time_to_restore.median_time_to_restore_hours IS
    'percentile_cont(0.5) of (closed_at - created_at) in hours over the restored incidents; null when none is.';
COMMENT ON COLUMN view_dora_time_to_restore.p95_time_to_restore_hours IS
    'percentile_cont(0.95) of the same, interpolated; null when none is restored.';
COMMENT ON COLUMN view_dora_time_to_restore.low_sample IS
    'True when restored is below analytics_settings.low_sample_min_prs (default 5).';
COMMENT ON COLUMN view_dora_time_to_restore.in_progress IS
    'True for the month containing now() in UTC (and any later one): not over, its incidents may still close.';
