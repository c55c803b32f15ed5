-- view_team_velocity_calendar, version 1. Never edit once applied: a change is a new file and a new migration.
-- view_team_velocity with every week filled in: one row per team and ISO week (Monday, UTC) from the week of the
-- team's first attributed merge through the current week, zero where nothing merged. It starts at the first merge,
-- not at the first membership: joined_at often predates what was collected, and a zero must mean "collected, and
-- nothing merged". A team with no attributed PR has no row.
-- Each week is its own aggregate over ix_pr_metrics_team_week (one index-only probe), so an analyst's filter on
-- team_name or week applies before any PR is read.
CREATE VIEW view_team_velocity_calendar AS
SELECT
    t.id AS team_id,
    t.name AS team_name,
    w.week,
    merged.prs_merged,
    merged.weighted_prs_merged,
    merged.avg_cycle_time_hours,
    w.week >= now_week.week AS in_progress
FROM teams AS t
CROSS JOIN (SELECT date_trunc('week', now() AT TIME ZONE 'UTC')::date AS week) AS now_week
CROSS JOIN LATERAL (
    SELECT
        min(date_trunc('week', m.merged_at AT TIME ZONE 'UTC')::date) AS first_week,
        -- Later than now_week only when a merge is dated after now() (GitHub's clock ahead of ours).
        greatest(max(date_trunc('week', m.merged_at AT TIME ZONE 'UTC')::date), now_week.week) AS last_week
    FROM pr_metrics AS m
    WHERE m.team_id = t.id
) AS span
-- date + integer days: no timestamp, so no session TimeZone, anywhere. No merge at all: first_week is null, no rows.
CROSS JOIN LATERAL generate_series(0, (span.last_week - span.first_week) / 7) AS n(weeks_after_first)
CROSS JOIN LATERAL (SELECT span.first_week + 7 * n.weeks_after_first AS week) AS w
CROSS JOIN LATERAL (
    SELECT
        count(*) AS prs_merged,
        coalesce(sum(m.allocation_weight), 0) AS weighted_prs_merged,
        avg(m.cycle_time_hours) AS avg_cycle_time_hours
    FROM pr_metrics AS m
    WHERE m.team_id = t.id AND date_trunc('week', m.merged_at AT TIME ZONE 'UTC')::date = w.week
) AS merged;

COMMENT ON VIEW view_team_velocity_calendar IS
    'Pull requests merged per team and ISO week (Monday, UTC), every week present: one row per team and week from '
    'the week of the team''s first attributed merge through the current week, with 0 where nothing merged (a team '
    'with no attributed PR has no row). Weeks with merges equal view_team_velocity''s rows. The current week is '
    'flagged in_progress.';
COMMENT ON COLUMN view_team_velocity_calendar.team_id IS 'teams.id of the credited team.';
COMMENT ON COLUMN view_team_velocity_calendar.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_team_velocity_calendar.week IS 'Monday (UTC) of the ISO week.';
COMMENT ON COLUMN view_team_velocity_calendar.prs_merged IS
    'Number of merged PRs credited to the team that week; 0 when none merged.';
COMMENT ON COLUMN view_team_velocity_calendar.weighted_prs_merged IS
    'Sum of the authors'' allocation weights (a PR by someone at 50% on this team counts 0.5); 0 when none merged.';
COMMENT ON COLUMN view_team_velocity_calendar.avg_cycle_time_hours IS
    'Plain mean (not weighted) of those PRs'' cycle time, i.e. PR lead time: (merged_at - created_at) in hours, '
    'PR opened -> merged; not DORA''s lead time for changes. Null when none merged: a mean of no PRs is unknown, '
    'not 0.';
COMMENT ON COLUMN view_team_velocity_calendar.in_progress IS
    'True for the week containing now() in UTC (and any later one, should a merge be dated ahead of our clock): the '
    'week is not over, its counts will still grow.';
