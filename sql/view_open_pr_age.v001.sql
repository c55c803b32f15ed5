-- view_open_pr_age, version 1. Never edit once applied.
-- Open, non-draft PRs by current team members, as of the last collection run.
CREATE VIEW view_open_pr_age AS
SELECT
    tm.team_id,
    t.name AS team_name,
    count(*) AS open_prs,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM now() - p.created_at) / 3600) AS p50_age_hours,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM now() - p.created_at) / 3600) AS p90_age_hours,
    max(extract(epoch FROM now() - p.created_at) / 3600) AS oldest_age_hours
FROM pull_requests AS p
JOIN team_memberships AS tm
  ON lower(tm.github_username) = lower(p.author)
 AND tm.joined_at <= now()
 AND (tm.left_at IS NULL OR now() < tm.left_at)
JOIN teams AS t ON t.id = tm.team_id
WHERE p.state = 'open' AND NOT p.draft AND NOT p.is_bot
GROUP BY tm.team_id, t.name;

COMMENT ON VIEW view_open_pr_age IS
    'Work in flight: per team, currently open non-draft PRs by its current members (any base branch), and how '
    'old they are. Open PRs come from the same listing as merged ones and are as fresh as the last run.';
COMMENT ON COLUMN view_open_pr_age.team_id IS 'teams.id of the team.';
COMMENT ON COLUMN view_open_pr_age.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_open_pr_age.open_prs IS 'Open, non-draft PRs by members active now.';
COMMENT ON COLUMN view_open_pr_age.p50_age_hours IS 'Median hours since those PRs were opened.';
COMMENT ON COLUMN view_open_pr_age.p90_age_hours IS 'percentile_cont(0.9) of hours since opening: the stuck tail.';
COMMENT ON COLUMN view_open_pr_age.oldest_age_hours IS 'Hours since the oldest of them was opened.';
