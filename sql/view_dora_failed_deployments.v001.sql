-- view_dora_failed_deployments, version 1. Never edit once applied: a change is a new file and a new migration.
-- The counted deployments that failed, one row per cause:
--   incident, root cause commit: the earliest counted deployment of the incident's repository whose sha starts with
--     the incident's root_cause_sha;
--   incident, root cause PR: the deployment that shipped root_cause_pr (the first at or after its merge; a PR not
--     merged into the default branch was never shipped and fails nothing);
--   incident, latest deployment when opened: with no root cause line, the repository's latest counted deployment
--     with deployed_at <= the incident's created_at;
--   revert: a PR merged into the default branch (a bot's too) whose reverts_number names a PR the deployment shipped,
--     when the revert merged after the deployment: a revert shipped together with the PR it reverts never let the
--     change run in production.
-- Placing a merge or an opening among a repository's deployments is one ordered pass over both (a running count of
-- the deployments before each), then an equality join: no per-cause lookup, no join on a time range, whatever the
-- numbers of incidents, reverts and deployments. At the same instant a merge comes before a deployment (the
-- deployment ships it) and an opening after it (the deployment was live).
CREATE VIEW view_dora_failed_deployments AS
WITH counted AS (
    SELECT
        d.repository,
        d.source,
        d.deployment_id,
        d.sha,
        d.deployed_at,
        row_number() OVER (PARTITION BY d.repository ORDER BY d.deployed_at, d.deployment_id) AS ordinal
    FROM view_dora_deployments AS d
),
causes AS (
    SELECT
        i.repository,
        p.merged_at AS at,
        true AS is_merge,
        'incident'::text AS reason,
        'root cause PR'::text AS matched_by,
        i.number AS incident_number,
        NULL::integer AS revert_pr_number,
        NULL::timestamptz AS reverted_at
    FROM incidents AS i
    JOIN pull_requests AS p
        ON lower(p.repository) = i.repository AND p.number = i.root_cause_pr
       AND p.merged_at IS NOT NULL AND p.base_ref = p.default_branch
    UNION ALL
    SELECT i.repository, i.created_at, false, 'incident', 'latest deployment when opened', i.number, NULL, NULL
    FROM incidents AS i
    WHERE i.root_cause_sha IS NULL AND i.root_cause_pr IS NULL
    UNION ALL
    -- The reverted PR is in the revert's repository, spelled alike.
    SELECT lower(n.repository), n.merged_at, true, 'revert', 'revert of a shipped PR', NULL, r.number, r.merged_at
    FROM pull_requests AS r
    JOIN pull_requests AS n
        ON n.repository = r.repository AND n.number = r.reverts_number
       AND n.merged_at IS NOT NULL AND n.base_ref = n.default_branch
    WHERE r.reverts_number IS NOT NULL AND r.merged_at IS NOT NULL AND r.base_ref = r.default_branch
),
placed AS (
    SELECT
        e.*,
        count(e.deployment_id) OVER (
            PARTITION BY e.repository ORDER BY e.at, e.same_instant, e.deployment_id ROWS UNBOUNDED PRECEDING
        ) AS deployments_so_far
    FROM (
        SELECT
            c.repository, c.deployed_at AS at, 1 AS same_instant, c.deployment_id, NULL::boolean AS is_merge,
            NULL::text AS reason, NULL::text AS matched_by, NULL::integer AS incident_number,
            NULL::integer AS revert_pr_number, NULL::timestamptz AS reverted_at
        FROM counted AS c
        UNION ALL
        SELECT
            x.repository, x.at, CASE WHEN x.is_merge THEN 0 ELSE 2 END, NULL, x.is_merge, x.reason, x.matched_by,
            x.incident_number, x.revert_pr_number, x.reverted_at
        FROM causes AS x
    ) AS e
),
by_commit AS (
    SELECT DISTINCT ON (i.repository, i.number) i.repository, i.number AS incident_number, c.deployment_id
    FROM incidents AS i
    -- GitHub's shas are lower-case hex, and so is root_cause_sha (a check constraint).
    JOIN counted AS c ON c.repository = i.repository AND starts_with(c.sha, i.root_cause_sha)
    WHERE i.root_cause_sha IS NOT NULL
    ORDER BY i.repository, i.number, c.deployed_at, c.deployment_id
)
SELECT
    c.repository,
    c.source,
    c.deployment_id,
    c.sha,
    c.deployed_at,
    'incident'::text AS reason,
    'root cause commit'::text AS matched_by,
    b.incident_number,
    NULL::integer AS revert_pr_number
FROM by_commit AS b
JOIN counted AS c ON c.repository = b.repository AND c.deployment_id = b.deployment_id
UNION ALL
SELECT
    c.repository, c.source, c.deployment_id, c.sha, c.deployed_at, p.reason, p.matched_by, p.incident_number,
    p.revert_pr_number
FROM placed AS p
-- A merge is shipped by the next deployment; an opening blames the one before it (none: nothing deployed yet).
JOIN counted AS c
    ON c.repository = p.repository AND c.ordinal = p.deployments_so_far + CASE WHEN p.is_merge THEN 1 ELSE 0 END
WHERE p.deployment_id IS NULL
  AND (p.reverted_at IS NULL OR p.reverted_at > c.deployed_at);

COMMENT ON VIEW view_dora_failed_deployments IS
    'Counted deployments that failed, one row per cause: an incident that names the deployment''s commit (root cause: '
    '<sha>) or a PR it shipped (root cause: #<PR>), an incident with no root cause opened while it was the '
    'repository''s latest deployment, or a later-merged PR into the default branch that reverts a PR it shipped. A '
    'deployment with several causes has several rows; view_dora_change_failure_rate counts it once.';
COMMENT ON COLUMN view_dora_failed_deployments.repository IS 'owner/name of the repository, in lower case.';
COMMENT ON COLUMN view_dora_failed_deployments.source IS 'The deployment''s source, as in view_dora_deployments.';
COMMENT ON COLUMN view_dora_failed_deployments.deployment_id IS 'The deployment, as in view_dora_deployments.';
COMMENT ON COLUMN view_dora_failed_deployments.sha IS 'The commit deployed; null for merges.';
COMMENT ON COLUMN view_dora_failed_deployments.deployed_at IS 'When it was deployed (UTC).';
COMMENT ON COLUMN view_dora_failed_deployments.reason IS 'incident or revert.';
COMMENT ON COLUMN view_dora_failed_deployments.matched_by IS
    'How the cause names the deployment: root cause commit (the earliest counted deployment whose sha starts with '
    'the incident''s root cause sha), root cause PR (the deployment that shipped that PR), latest deployment when '
    'opened (no root cause line: the latest counted deployment at or before the incident opened), or revert of a '
    'shipped PR (the revert merged after this deployment).';
COMMENT ON COLUMN view_dora_failed_deployments.incident_number IS 'The incident''s issue number; null for a revert.';
COMMENT ON COLUMN view_dora_failed_deployments.revert_pr_number IS
    'The number of the PR that reverts one this deployment shipped; null for an incident.';
