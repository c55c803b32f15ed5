-- view_pr_titles, version 1. Never edit once applied.
-- Titles can name security fixes or customers: not granted to dora_reader unless an admin decides so.
CREATE VIEW view_pr_titles AS
SELECT p.repository, p.number AS pr_number, p.title
FROM pull_requests AS p;

COMMENT ON VIEW view_pr_titles IS
    'PR titles, kept apart so that granting them is a decision: GRANT SELECT ON view_pr_titles TO dora_reader.';
COMMENT ON COLUMN view_pr_titles.repository IS 'owner/name of the repository.';
COMMENT ON COLUMN view_pr_titles.pr_number IS 'Pull request number in the repository.';
COMMENT ON COLUMN view_pr_titles.title IS 'The PR title as of the last collection run.';
