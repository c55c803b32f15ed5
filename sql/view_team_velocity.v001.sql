-- view_team_velocity, version 1. Never edit once applied: a change is a new file and a new migration.
-- Grain: one row per team and ISO week (Monday, UTC) in which the team has at least one attributed PR.
CREATE VIEW view_team_velocity AS
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
