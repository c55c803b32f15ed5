-- view_dora_lead_time, version 1. Never edit once applied: a change is a new file and a new migration.
-- Grain: one row per team and calendar month (UTC) in which the team has at least one attributed PR.
CREATE VIEW view_dora_lead_time AS
SELECT
    m.team_id,
    t.name AS team_name,
    date_trunc('month', m.merged_at AT TIME ZONE 'UTC')::date AS month,
    count(*) AS prs_merged,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY m.cycle_time_hours) AS median_lead_time_hours,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY m.cycle_time_hours) AS p95_lead_time_hours
FROM pr_metrics AS m
JOIN teams AS t ON t.id = m.team_id
GROUP BY m.team_id, t.name, date_trunc('month', m.merged_at AT TIME ZONE 'UTC')::date;
