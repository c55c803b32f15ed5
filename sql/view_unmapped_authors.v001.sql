-- view_unmapped_authors, version 1. Never edit once applied.
CREATE VIEW view_unmapped_authors AS
SELECT
    mode() WITHIN GROUP (ORDER BY p.author) AS author,
    count(*) AS prs_merged,
    count(DISTINCT p.repository) AS repositories,
    min(p.merged_at) AS first_merged_at,
    max(p.merged_at) AS last_merged_at
FROM pull_requests AS p
WHERE p.merged_at IS NOT NULL
  AND p.author IS NOT NULL
  AND NOT p.is_bot
  AND p.base_ref = p.default_branch
  AND NOT EXISTS (SELECT 1 FROM team_memberships AS tm WHERE lower(tm.github_username) = lower(p.author))
GROUP BY lower(p.author);

COMMENT ON VIEW view_unmapped_authors IS
    'Logins with merged PRs (human, into a default branch) but no membership in any team: what whoever '
    'maintains the teams file should look at first.';
COMMENT ON COLUMN view_unmapped_authors.author IS 'GitHub login, its most frequent spelling (logins are case-insensitive: one row per person).';
COMMENT ON COLUMN view_unmapped_authors.prs_merged IS 'Their merged PRs that no team received.';
COMMENT ON COLUMN view_unmapped_authors.repositories IS 'In how many repositories.';
COMMENT ON COLUMN view_unmapped_authors.first_merged_at IS 'Their first such merge (UTC).';
COMMENT ON COLUMN view_unmapped_authors.last_merged_at IS 'Their latest such merge (UTC): is this person still around?';
