-- view_dora_deployment_attribution, version 1. Never edit once applied: a change is a new file and a new migration.
-- Which teams each counted deployment is credited to, and with what share: the owners of its repository active at
-- deployed_at (owned_from <= deployed_at < owned_until, or no owned_until). The teams file keeps one team's
-- ownerships of a repository from overlapping, as it does memberships, so a deployment meets at most one row per
-- team. Deployment frequency and change failure rate are sums over these rows; the planner removes the join to the
-- failed deployments when failed is not read.
CREATE VIEW view_dora_deployment_attribution AS
SELECT
    w.team_id,
    t.name AS team_name,
    d.repository,
    d.source,
    d.deployment_id,
    d.deployed_at,
    w.share,
    f.deployment_id IS NOT NULL AS failed
FROM view_dora_deployments AS d
JOIN repository_owners AS w
    ON w.repository = d.repository
   AND w.owned_from <= d.deployed_at AND (w.owned_until IS NULL OR d.deployed_at < w.owned_until)
JOIN teams AS t ON t.id = w.team_id
LEFT JOIN (
    SELECT DISTINCT x.repository, x.deployment_id FROM view_dora_failed_deployments AS x
) AS f ON f.repository = d.repository AND f.deployment_id = d.deployment_id;

COMMENT ON VIEW view_dora_deployment_attribution IS
    'Why a deployment counts for a team: one row per counted deployment and team owning its repository at '
    'deployed_at, with the team''s share. A deployment of a repository with no owner at that instant has no row.';
COMMENT ON COLUMN view_dora_deployment_attribution.team_id IS 'teams.id of the credited team.';
COMMENT ON COLUMN view_dora_deployment_attribution.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_dora_deployment_attribution.repository IS 'owner/name of the repository, in lower case.';
COMMENT ON COLUMN view_dora_deployment_attribution.source IS 'The deployment''s source, as in view_dora_deployments.';
COMMENT ON COLUMN view_dora_deployment_attribution.deployment_id IS 'The deployment, as in view_dora_deployments.';
COMMENT ON COLUMN view_dora_deployment_attribution.deployed_at IS 'When it was deployed (UTC).';
COMMENT ON COLUMN view_dora_deployment_attribution.share IS
    'The team''s share of the repository at deployed_at, in (0, 1]: what the deployment adds to the team''s '
    'weighted deployments.';
COMMENT ON COLUMN view_dora_deployment_attribution.failed IS
    'True when the deployment is in view_dora_failed_deployments (an incident or a revert names it).';
