-- view_dora_change_failure_rate, version 1. Never edit once applied: a change is a new file and a new migration.
-- Change failure rate per team and calendar month (UTC) of deployed_at: sum(share * failed) / sum(share) over
-- view_dora_deployment_attribution, a failed deployment being one in view_dora_failed_deployments.
CREATE VIEW view_dora_change_failure_rate AS
SELECT
    a.team_id,
    a.team_name,
    m.month,
    count(*) AS deployments,
    sum(a.share) AS weighted_deployments,
    count(*) FILTER (WHERE a.failed) AS failed_deployments,
    coalesce(sum(a.share) FILTER (WHERE a.failed), 0) AS weighted_failed_deployments,
    coalesce(sum(a.share) FILTER (WHERE a.failed), 0) / sum(a.share) AS change_failure_rate,
    count(*) < (SELECT s.low_sample_min_prs FROM analytics_settings AS s) AS low_sample,
    m.month >= date_trunc('month', now() AT TIME ZONE 'UTC')::date AS in_progress
FROM view_dora_deployment_attribution AS a
CROSS JOIN LATERAL (SELECT date_trunc('month', a.deployed_at AT TIME ZONE 'UTC')::date AS month) AS m
GROUP BY a.team_id, a.team_name, m.month;

COMMENT ON VIEW view_dora_change_failure_rate IS
    'DORA change failure rate per team and calendar month (UTC) of the deployments: the share-weighted fraction of '
    'the team''s counted deployments that failed (an incident or a revert names them, view_dora_failed_deployments). '
    'One row per team and month with at least one deployment; a deployment found failed later changes its month.';
COMMENT ON COLUMN view_dora_change_failure_rate.team_id IS 'teams.id of the credited team.';
COMMENT ON COLUMN view_dora_change_failure_rate.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_dora_change_failure_rate.month IS 'First day (UTC) of the month in which the deployments happened.';
COMMENT ON COLUMN view_dora_change_failure_rate.deployments IS 'Counted deployments credited to the team that month (n).';
COMMENT ON COLUMN view_dora_change_failure_rate.weighted_deployments IS 'Sum of the team''s shares of those deployments.';
COMMENT ON COLUMN view_dora_change_failure_rate.failed_deployments IS 'How many of them failed, unweighted.';
COMMENT ON COLUMN view_dora_change_failure_rate.weighted_failed_deployments IS
    'Sum of the team''s shares of the failed ones.';
COMMENT ON COLUMN view_dora_change_failure_rate.change_failure_rate IS
    'weighted_failed_deployments / weighted_deployments, a fraction in [0, 1].';
COMMENT ON COLUMN view_dora_change_failure_rate.low_sample IS
    'True when deployments is below analytics_settings.low_sample_min_prs (default 5): a rate over a handful of '
    'deployments says little.';
COMMENT ON COLUMN view_dora_change_failure_rate.in_progress IS
    'True for the month containing now() in UTC (and any later one): not over, and incidents and reverts may still '
    'name its deployments.';
