-- view_pr_attribution, version 2: the definition of version 1; its comments now name view_pr_lead_time and call
-- the cycle time PR lead time. Never edit once applied: a change is a new file and a new migration.
CREATE OR REPLACE VIEW view_pr_attribution AS
SELECT
    m.team_id,
    t.name AS team_name,
    m.repository,
    m.pr_number,
    m.author,
    m.created_at,
    m.merged_at,
    m.cycle_time_hours,
    m.membership_id,
    tm.github_username AS membership_login,
    tm.joined_at AS membership_joined_at,
    tm.left_at AS membership_left_at,
    m.allocation_weight
FROM pr_metrics AS m
JOIN teams AS t ON t.id = m.team_id
JOIN team_memberships AS tm ON tm.id = m.membership_id;

COMMENT ON VIEW view_pr_attribution IS
    'Audit trail: one row per PR credited to a team, with the membership that produced the credit. Every number '
    'in view_team_velocity, view_team_velocity_calendar and view_pr_lead_time is a count, sum, mean or percentile '
    'over these rows.';
COMMENT ON COLUMN view_pr_attribution.team_id IS 'teams.id of the credited team.';
COMMENT ON COLUMN view_pr_attribution.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_pr_attribution.repository IS 'owner/name of the repository.';
COMMENT ON COLUMN view_pr_attribution.pr_number IS 'Pull request number in the repository.';
COMMENT ON COLUMN view_pr_attribution.author IS 'GitHub login of the PR author, as GitHub spells it.';
COMMENT ON COLUMN view_pr_attribution.created_at IS 'When the PR was opened (UTC).';
COMMENT ON COLUMN view_pr_attribution.merged_at IS 'When the PR merged (UTC): the instant memberships are judged at.';
COMMENT ON COLUMN view_pr_attribution.cycle_time_hours IS
    'This PR''s cycle time, i.e. PR lead time: (merged_at - created_at) in hours, PR opened -> merged. Not DORA''s '
    'lead time for changes.';
COMMENT ON COLUMN view_pr_attribution.membership_id IS 'team_memberships.id that was active at merged_at.';
COMMENT ON COLUMN view_pr_attribution.membership_login IS 'The login as written in the teams file (matched case-insensitively).';
COMMENT ON COLUMN view_pr_attribution.membership_joined_at IS 'Start of that membership (inclusive).';
COMMENT ON COLUMN view_pr_attribution.membership_left_at IS 'End of that membership (exclusive); null while it lasts.';
COMMENT ON COLUMN view_pr_attribution.allocation_weight IS 'The membership''s weight: what the PR adds to weighted_prs_merged.';
