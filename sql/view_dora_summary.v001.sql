-- view_dora_summary, version 1. Never edit once applied: a change is a new file and a new migration.
-- dora_summary() for the newest report year in view_dora_benchmarks: a new report's rows move it, no view edit.
CREATE VIEW view_dora_summary AS
SELECT s.*
FROM (SELECT max(b.report_year) AS report_year FROM view_dora_benchmarks AS b) AS newest
CROSS JOIN LATERAL dora_summary(newest.report_year) AS s;

COMMENT ON VIEW view_dora_summary IS
    'The four DORA keys per team and month, each with its band by the newest State of DevOps report in '
    'view_dora_benchmarks and its low_sample flag: deployment frequency, lead time for changes, change failure rate, '
    'time to restore. One row per team and month in which any key has a value; a key without one has null value, '
    'band and low_sample. dora_summary(year) gives the same for another report.';
COMMENT ON COLUMN view_dora_summary.team_id IS 'teams.id of the team.';
COMMENT ON COLUMN view_dora_summary.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_dora_summary.month IS 'First day (UTC) of the month.';
COMMENT ON COLUMN view_dora_summary.report_year IS 'The State of DevOps report whose bands are given: the newest.';
COMMENT ON COLUMN view_dora_summary.deployments_per_week IS
    'view_dora_deployment_frequency.deployments_per_week: weighted deployments / (days in the month / 7).';
COMMENT ON COLUMN view_dora_summary.deployment_frequency_band IS
    'Its band (elite, high, medium, low): the best whose threshold it reaches; null without deployments.';
COMMENT ON COLUMN view_dora_summary.deployment_frequency_low_sample IS
    'True when fewer deployments than analytics_settings.low_sample_min_prs made it.';
COMMENT ON COLUMN view_dora_summary.median_change_lead_time_hours IS
    'view_dora_change_lead_time.median_change_lead_time_hours: first commit -> deployed, in hours (not PR lead time).';
COMMENT ON COLUMN view_dora_summary.change_lead_time_band IS
    'Its band: the best whose threshold it is within; null without changes deployed that month.';
COMMENT ON COLUMN view_dora_summary.change_lead_time_low_sample IS
    'True when fewer changes than analytics_settings.low_sample_min_prs made it.';
COMMENT ON COLUMN view_dora_summary.change_failure_rate IS
    'view_dora_change_failure_rate.change_failure_rate: the weighted fraction of deployments that failed.';
COMMENT ON COLUMN view_dora_summary.change_failure_rate_band IS
    'Its band: the best whose threshold it is within; null without deployments.';
COMMENT ON COLUMN view_dora_summary.change_failure_rate_low_sample IS
    'True when fewer deployments than analytics_settings.low_sample_min_prs made it.';
COMMENT ON COLUMN view_dora_summary.median_time_to_restore_hours IS
    'view_dora_time_to_restore.median_time_to_restore_hours: opened -> closed, in hours, over restored incidents.';
COMMENT ON COLUMN view_dora_summary.open_incidents IS
    'Incidents opened that month and still open: not in the median, never guessed; null without incidents.';
COMMENT ON COLUMN view_dora_summary.time_to_restore_band IS
    'Its band: the best whose threshold it is within; null when no incident of the month is restored.';
COMMENT ON COLUMN view_dora_summary.time_to_restore_low_sample IS
    'True when fewer restored incidents than analytics_settings.low_sample_min_prs made it.';
COMMENT ON COLUMN view_dora_summary.in_progress IS
    'True for the month containing now() in UTC (and any later one): not over, its figures will still change.';
