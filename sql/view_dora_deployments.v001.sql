-- view_dora_deployments, version 1. Never edit once applied: a change is a new file and a new migration.
-- The counted deployments, the one definition every key builds on:
--   * a row of deployments whose source is its repository's current deploy_source and whose status is success, at
--     deployed_at (its first success);
--   * in a repository whose deploy_source is merges, every eligible PR merged into the default branch (merged, by an
--     author who exists and is not a bot), at merged_at, with the PR's number as its id and no sha.
-- A repository that is not in the teams file has no counted deployment. Within a repository the deployments are
-- ordered by (deployed_at, deployment_id): the previous one ends the range of merges a deployment ships.
-- A PR merged into the default branch (bots' included) is shipped by the first counted deployment of its repository
-- at or after its merged_at: the one with previous_deployed_at < merged_at <= deployed_at.
-- prs_shipped and pr_numbers are evaluated only when read, one range scan of ix_pull_requests_repository_merged per
-- deployment; views that read other columns do not pay for them.
CREATE VIEW view_dora_deployments AS
SELECT
    c.repository,
    c.source,
    c.deployment_id,
    c.sha,
    c.environment,
    c.deployed_at,
    c.previous_deployed_at,
    c.next_deployed_at,
    (
        SELECT count(*)
        FROM pull_requests AS p
        WHERE lower(p.repository) = c.repository
          AND p.merged_at IS NOT NULL AND p.base_ref = p.default_branch
          AND p.merged_at > coalesce(c.previous_deployed_at, '-infinity') AND p.merged_at <= c.deployed_at
    ) AS prs_shipped,
    ARRAY(
        SELECT p.number
        FROM pull_requests AS p
        WHERE lower(p.repository) = c.repository
          AND p.merged_at IS NOT NULL AND p.base_ref = p.default_branch
          AND p.merged_at > coalesce(c.previous_deployed_at, '-infinity') AND p.merged_at <= c.deployed_at
        ORDER BY p.merged_at, p.number
    ) AS pr_numbers
FROM (
    SELECT
        counted.*,
        lag(counted.deployed_at) OVER per_repository AS previous_deployed_at,
        lead(counted.deployed_at) OVER per_repository AS next_deployed_at
    FROM (
        SELECT d.repository, d.source, d.id AS deployment_id, d.sha, d.environment, d.deployed_at
        FROM deployments AS d
        JOIN repositories AS r ON r.name = d.repository AND r.deploy_source = d.source
        WHERE d.status = 'success'
        UNION ALL
        -- pull_requests spells the repository as the run did; repositories.name is lower case.
        SELECT r.name, r.deploy_source, p.number::text, NULL, NULL, p.merged_at
        FROM repositories AS r
        JOIN pull_requests AS p ON lower(p.repository) = r.name
        WHERE r.deploy_source = 'merges'
          AND p.merged_at IS NOT NULL AND p.author IS NOT NULL AND NOT p.is_bot AND p.base_ref = p.default_branch
    ) AS counted
    WINDOW per_repository AS (PARTITION BY counted.repository ORDER BY counted.deployed_at, counted.deployment_id)
) AS c;

COMMENT ON VIEW view_dora_deployments IS
    'The counted deployments, with the PRs each shipped: successful deployments from each repository''s configured '
    'source (deployments, workflow or releases), or, for a repository that deploys on merge, every eligible PR merged '
    'into its default branch. A PR is shipped by the first counted deployment of its repository at or after its merge. '
    'Only repositories in the teams file have counted deployments. Every key''s deployments are these.';
COMMENT ON COLUMN view_dora_deployments.repository IS 'owner/name of the repository, in lower case.';
COMMENT ON COLUMN view_dora_deployments.source IS
    'Where the deployment comes from: deployments (a GitHub Deployment), workflow (a successful workflow run), '
    'releases (a published release) or merges (an eligible PR merged into the default branch).';
COMMENT ON COLUMN view_dora_deployments.deployment_id IS
    'The deployment''s id at its source (for merges, the PR''s number); unique within the repository.';
COMMENT ON COLUMN view_dora_deployments.sha IS 'The commit deployed, as GitHub reports it; null for merges.';
COMMENT ON COLUMN view_dora_deployments.environment IS 'The GitHub Deployment''s environment; null for other sources.';
COMMENT ON COLUMN view_dora_deployments.deployed_at IS
    'When it counts as deployed (UTC): a Deployment''s first success status, a run''s completion, a release''s '
    'publication, or a PR''s merge.';
COMMENT ON COLUMN view_dora_deployments.previous_deployed_at IS
    'deployed_at of the repository''s previous counted deployment (ordered by deployed_at, then deployment_id); null '
    'for its first. The deployment shipped the PRs merged after it, up to its own deployed_at.';
COMMENT ON COLUMN view_dora_deployments.next_deployed_at IS
    'deployed_at of the repository''s next counted deployment; null for the latest. Until then this one is the '
    'repository''s latest: an incident opened in between without a root cause blames it.';
COMMENT ON COLUMN view_dora_deployments.prs_shipped IS
    'How many PRs merged into the default branch it shipped (previous_deployed_at < merged_at <= deployed_at), '
    'bots'' included.';
COMMENT ON COLUMN view_dora_deployments.pr_numbers IS 'The numbers of those PRs, in the order they merged.';
