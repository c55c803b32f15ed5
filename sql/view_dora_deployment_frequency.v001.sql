-- view_dora_deployment_frequency, version 1. Never edit once applied: a change is a new file and a new migration.
-- Deployment frequency per team and calendar month (UTC) of deployed_at, over view_dora_deployment_attribution.
-- date + interval is a timestamp without time zone and date - date an integer: the session's TimeZone changes nothing.
CREATE VIEW view_dora_deployment_frequency AS
SELECT
    a.team_id,
    a.team_name,
    m.month,
    count(*) AS deployments,
    sum(a.share) AS weighted_deployments,
    count(DISTINCT (a.deployed_at AT TIME ZONE 'UTC')::date) AS deployment_days,
    sum(a.share) * 7 / ((m.month + interval '1 month')::date - m.month) AS deployments_per_week,
    count(*) < (SELECT s.low_sample_min_prs FROM analytics_settings AS s) AS low_sample,
    -- A later month only when a deployment is dated after now() (GitHub's clock ahead of ours): unfinished too.
    m.month >= date_trunc('month', now() AT TIME ZONE 'UTC')::date AS in_progress
FROM view_dora_deployment_attribution AS a
CROSS JOIN LATERAL (SELECT date_trunc('month', a.deployed_at AT TIME ZONE 'UTC')::date AS month) AS m
GROUP BY a.team_id, a.team_name, m.month;

COMMENT ON VIEW view_dora_deployment_frequency IS
    'DORA deployment frequency per team and calendar month (UTC): counted deployments credited to the team, weighted '
    'by its share of each repository at the deployment''s time, and the days with one. One row per team and month '
    'with at least one deployment; small months are flagged (low_sample), the current one too (in_progress).';
COMMENT ON COLUMN view_dora_deployment_frequency.team_id IS 'teams.id of the credited team.';
COMMENT ON COLUMN view_dora_deployment_frequency.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_dora_deployment_frequency.month IS 'First day (UTC) of the month in which the deployments happened.';
COMMENT ON COLUMN view_dora_deployment_frequency.deployments IS
    'Counted deployments credited to the team that month (n), each counted once whatever the share.';
COMMENT ON COLUMN view_dora_deployment_frequency.weighted_deployments IS
    'Sum of the team''s shares of those deployments'' repositories (a deployment of a repository it owns 40% of '
    'counts 0.4).';
COMMENT ON COLUMN view_dora_deployment_frequency.deployment_days IS
    'Distinct days (UTC) of the month with at least one deployment credited to the team.';
COMMENT ON COLUMN view_dora_deployment_frequency.deployments_per_week IS
    'weighted_deployments / (days in the month / 7): the unit of the bands in view_dora_benchmarks. The current month '
    'is divided by all its days, so it reads low until it ends.';
COMMENT ON COLUMN view_dora_deployment_frequency.low_sample IS
    'True when deployments is below analytics_settings.low_sample_min_prs (default 5).';
COMMENT ON COLUMN view_dora_deployment_frequency.in_progress IS
    'True for the month containing now() in UTC (and any later one): not over, its figures will still change.';
