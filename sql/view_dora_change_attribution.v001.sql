-- view_dora_change_attribution, version 1. Never edit once applied: a change is a new file and a new migration.
-- DORA's lead time for changes of every credited PR that has one: each pr_metrics row (a team credited with an
-- eligible merged PR, exactly as PR lead time credits it) whose PR has a first commit's authored time and was
-- shipped by a counted deployment (the first of its repository at or after its merge); lead time = deployed_at -
-- first_commit_at in hours.
-- Driven by the deployments: for each, one range scan of ix_pull_requests_repository_merged fetches the PRs it
-- shipped. OFFSET 0 keeps that subquery a per-deployment lookup: flattened, the planner may join every PR of a
-- repository to every deployment of it and filter the ranges afterwards.
CREATE VIEW view_dora_change_attribution AS
SELECT
    m.team_id,
    t.name AS team_name,
    m.repository,
    m.pr_number,
    m.author,
    s.first_commit_at,
    m.merged_at,
    d.deployment_id,
    d.deployed_at,
    extract(epoch FROM d.deployed_at - s.first_commit_at)::double precision / 3600 AS lead_time_hours
FROM view_dora_deployments AS d
CROSS JOIN LATERAL (
    SELECT p.repository, p.number, p.first_commit_at
    FROM pull_requests AS p
    WHERE lower(p.repository) = d.repository
      AND p.merged_at IS NOT NULL AND p.base_ref = p.default_branch
      AND p.merged_at > coalesce(d.previous_deployed_at, '-infinity') AND p.merged_at <= d.deployed_at
      AND p.first_commit_at IS NOT NULL
    OFFSET 0
) AS s
JOIN pr_metrics AS m ON m.repository = s.repository AND m.pr_number = s.number
JOIN teams AS t ON t.id = m.team_id;

COMMENT ON VIEW view_dora_change_attribution IS
    'DORA lead time for changes of each credited PR: one row per team and eligible merged PR (credited as in '
    'view_pr_attribution) that has a first commit and a deployment that shipped it, from the first commit''s authored '
    'time to that deployment. PRs without one are in view_dora_undeployed_prs, with why.';
COMMENT ON COLUMN view_dora_change_attribution.team_id IS 'teams.id of the credited team.';
COMMENT ON COLUMN view_dora_change_attribution.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_dora_change_attribution.repository IS 'owner/name of the repository, as the collector spelled it.';
COMMENT ON COLUMN view_dora_change_attribution.pr_number IS 'Pull request number in the repository.';
COMMENT ON COLUMN view_dora_change_attribution.author IS 'GitHub login of the PR''s author.';
COMMENT ON COLUMN view_dora_change_attribution.first_commit_at IS
    'Authored time of the PR''s first commit (UTC), as Git records it: the author''s clock, kept as it is.';
COMMENT ON COLUMN view_dora_change_attribution.merged_at IS 'When the PR merged (UTC).';
COMMENT ON COLUMN view_dora_change_attribution.deployment_id IS
    'The counted deployment that shipped it: the first of its repository at or after merged_at.';
COMMENT ON COLUMN view_dora_change_attribution.deployed_at IS 'When that deployment happened (UTC).';
COMMENT ON COLUMN view_dora_change_attribution.lead_time_hours IS
    'DORA lead time for changes: (deployed_at - first_commit_at) in hours, first commit -> running in production. '
    'Not PR lead time (opened -> merged).';
