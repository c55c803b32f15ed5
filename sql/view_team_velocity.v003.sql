-- view_team_velocity, version 3: the definition of version 2; its comments now name the cycle time as PR lead time
-- and point to view_team_velocity_calendar for weeks without merges.
-- Never edit once applied: a change is a new file and a new migration.
CREATE OR REPLACE VIEW view_team_velocity AS
SELECT
    m.team_id,
    t.name AS team_name,
    date_trunc('week', m.merged_at AT TIME ZONE 'UTC')::date AS week,
    count(*) AS prs_merged,
    sum(m.allocation_weight) AS weighted_prs_merged,
    avg(m.cycle_time_hours) AS avg_cycle_time_hours
FROM pr_metrics AS m
JOIN teams AS t ON t.id = m.team_id
GROUP BY m.team_id, t.name, date_trunc('week', m.merged_at AT TIME ZONE 'UTC')::date;

COMMENT ON VIEW view_team_velocity IS
    'Pull requests merged per team and ISO week (Monday, UTC). One row per team and week with at least one '
    'attributed PR: a week without merges has no row (view_team_velocity_calendar has one, with zeros). A PR '
    'counts for every team its author belonged to when it merged (see view_pr_attribution).';
COMMENT ON COLUMN view_team_velocity.team_id IS 'teams.id of the credited team.';
COMMENT ON COLUMN view_team_velocity.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_team_velocity.week IS 'Monday (UTC) of the ISO week in which the PRs merged.';
COMMENT ON COLUMN view_team_velocity.prs_merged IS 'Number of merged PRs credited to the team that week.';
COMMENT ON COLUMN view_team_velocity.weighted_prs_merged IS
    'Sum of the authors'' allocation weights: a PR by someone at 50% on this team counts 0.5.';
COMMENT ON COLUMN view_team_velocity.avg_cycle_time_hours IS
    'Plain mean (not weighted) of those PRs'' cycle time, i.e. PR lead time: (merged_at - created_at) in hours, '
    'PR opened -> merged. Not DORA''s lead time for changes.';
