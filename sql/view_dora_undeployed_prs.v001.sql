-- view_dora_undeployed_prs, version 1. Never edit once applied: a change is a new file and a new migration.
-- Eligible merged PRs (merged into the default branch, by an author who exists and is not a bot) with no lead time
-- for changes in any team, and the first reason that applies, in this order:
--   'repository not in the teams file'     its repository has no entry in repositories: nothing there is deployed;
--   'no team credited'                      no team received it (view_unattributed_prs says why);
--   'no deployment yet at or after the merge'  its repository's last counted deployment is older than the merge;
--   'first commit not read yet'             the collector has not asked GitHub for its first commit yet;
--   'no first commit (GitHub lists none)'   GitHub was asked and listed no commit.
-- In a repository that deploys on merge every eligible PR is a deployment: none of them waits for one.
CREATE VIEW view_dora_undeployed_prs AS
WITH last_deployment AS (
    SELECT d.repository, max(d.deployed_at) AS last_deployed_at
    FROM view_dora_deployments AS d
    GROUP BY d.repository
),
undeployed AS (
    SELECT
        p.repository,
        p.number AS pr_number,
        p.author,
        p.merged_at,
        p.first_commit_at,
        r.name IS NOT NULL AS in_teams_file,
        l.last_deployed_at,
        p.first_commit_read_at,
        c.pr_number IS NOT NULL AS credited
    FROM pull_requests AS p
    LEFT JOIN repositories AS r ON r.name = lower(p.repository)
    LEFT JOIN last_deployment AS l ON l.repository = lower(p.repository)
    -- A join, not EXISTS per PR: the OR below would leave EXISTS a probe of pr_metrics for every eligible PR.
    LEFT JOIN (SELECT DISTINCT m.repository, m.pr_number FROM pr_metrics AS m) AS c
        ON c.repository = p.repository AND c.pr_number = p.number
    WHERE p.merged_at IS NOT NULL AND p.author IS NOT NULL AND NOT p.is_bot AND p.base_ref = p.default_branch
)
SELECT
    u.repository,
    u.pr_number,
    u.author,
    u.merged_at,
    u.first_commit_at,
    u.last_deployed_at,
    CASE
        WHEN NOT u.in_teams_file THEN 'repository not in the teams file'
        WHEN NOT u.credited THEN 'no team credited'
        WHEN u.last_deployed_at IS NULL OR u.last_deployed_at < u.merged_at THEN 'no deployment yet at or after the merge'
        WHEN u.first_commit_read_at IS NULL THEN 'first commit not read yet'
        ELSE 'no first commit (GitHub lists none)'
    END AS reason
FROM undeployed AS u
WHERE NOT u.in_teams_file
   OR NOT u.credited
   OR u.last_deployed_at IS NULL OR u.last_deployed_at < u.merged_at
   OR u.first_commit_at IS NULL;

COMMENT ON VIEW view_dora_undeployed_prs IS
    'Eligible merged PRs (human, into the default branch) that have no DORA lead time for changes, with the first '
    'reason that applies: repository not in the teams file, no team credited, no deployment yet at or after the '
    'merge, first commit not read yet, no first commit (GitHub lists none).';
COMMENT ON COLUMN view_dora_undeployed_prs.repository IS 'owner/name of the repository, as the collector spelled it.';
COMMENT ON COLUMN view_dora_undeployed_prs.pr_number IS 'Pull request number in the repository.';
COMMENT ON COLUMN view_dora_undeployed_prs.author IS 'GitHub login of the author.';
COMMENT ON COLUMN view_dora_undeployed_prs.merged_at IS 'When the PR merged (UTC).';
COMMENT ON COLUMN view_dora_undeployed_prs.first_commit_at IS
    'Authored time of its first commit (UTC); null when not read yet or when GitHub lists none.';
COMMENT ON COLUMN view_dora_undeployed_prs.last_deployed_at IS
    'The repository''s latest counted deployment (UTC); null when it has none or is not in the teams file.';
COMMENT ON COLUMN view_dora_undeployed_prs.reason IS
    'The first that applies: repository not in the teams file; no team credited (see view_unattributed_prs); no '
    'deployment yet at or after the merge; first commit not read yet; no first commit (GitHub lists none).';
