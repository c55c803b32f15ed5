-- view_unattributed_prs, version 1. Never edit once applied.
-- Eligible PRs (merged, human, into the default branch) that no team received, and why.
CREATE VIEW view_unattributed_prs AS
WITH spans AS (
    SELECT
        lower(github_username) AS login,
        min(joined_at) AS first_joined_at,
        max(coalesce(left_at, 'infinity'::timestamptz)) AS last_left_at
    FROM team_memberships
    GROUP BY lower(github_username)
)
SELECT
    p.repository,
    p.number AS pr_number,
    p.author,
    p.created_at,
    p.merged_at,
    CASE
        WHEN p.author IS NULL THEN 'deleted_author'
        WHEN s.login IS NULL THEN 'unknown_author'
        WHEN p.merged_at < s.first_joined_at THEN 'before_joining'
        WHEN p.merged_at >= s.last_left_at THEN 'after_leaving'
        ELSE 'between_memberships'
    END AS reason
FROM pull_requests AS p
LEFT JOIN spans AS s ON s.login = lower(p.author)
WHERE p.merged_at IS NOT NULL
  AND NOT p.is_bot
  AND p.base_ref = p.default_branch
  AND NOT EXISTS (
      SELECT 1 FROM pr_metrics AS m WHERE m.repository = p.repository AND m.pr_number = p.number
  );

COMMENT ON VIEW view_unattributed_prs IS
    'Merged, non-bot PRs into a default branch that no team received, with the reason. Fix the teams file '
    'and run `dora-collector teams sync`: attribution is recomputed, no GitHub request needed.';
COMMENT ON COLUMN view_unattributed_prs.repository IS 'owner/name of the repository.';
COMMENT ON COLUMN view_unattributed_prs.pr_number IS 'Pull request number in the repository.';
COMMENT ON COLUMN view_unattributed_prs.author IS 'GitHub login of the author; null for a deleted account.';
COMMENT ON COLUMN view_unattributed_prs.created_at IS 'When the PR was opened (UTC).';
COMMENT ON COLUMN view_unattributed_prs.merged_at IS 'When the PR merged (UTC).';
COMMENT ON COLUMN view_unattributed_prs.reason IS
    'deleted_author (account gone), unknown_author (login in no team), before_joining (merged before the '
    'author''s first membership began), after_leaving (merged after every membership ended), '
    'between_memberships (merged in a gap between two memberships).';
