-- view_dora_incident_attribution, version 1. Never edit once applied: a change is a new file and a new migration.
-- Which teams each incident is credited to: every team owning its repository at created_at, whatever the share (an
-- outage is the whole outage for every team that owns the service). Open incidents are here with no time to
-- restore: never guessed.
CREATE VIEW view_dora_incident_attribution AS
SELECT
    c.team_id,
    t.name AS team_name,
    i.repository,
    i.number AS incident_number,
    i.state,
    i.created_at,
    i.closed_at,
    extract(epoch FROM i.closed_at - i.created_at)::double precision / 3600 AS time_to_restore_hours,
    i.root_cause_sha,
    i.root_cause_pr
FROM (
    SELECT DISTINCT w.repository, x.number, w.team_id
    FROM incidents AS x
    JOIN repository_owners AS w
        ON w.repository = x.repository
       AND w.owned_from <= x.created_at AND (w.owned_until IS NULL OR x.created_at < w.owned_until)
) AS c
JOIN incidents AS i ON i.repository = c.repository AND i.number = c.number
JOIN teams AS t ON t.id = c.team_id;

COMMENT ON VIEW view_dora_incident_attribution IS
    'Why an incident counts for a team: one row per incident (an issue with its repository''s incident label) and '
    'team owning the repository when it opened, any share. Titles are left out, as for PRs.';
COMMENT ON COLUMN view_dora_incident_attribution.team_id IS 'teams.id of the credited team.';
COMMENT ON COLUMN view_dora_incident_attribution.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_dora_incident_attribution.repository IS 'owner/name of the repository, in lower case.';
COMMENT ON COLUMN view_dora_incident_attribution.incident_number IS 'The incident''s issue number.';
COMMENT ON COLUMN view_dora_incident_attribution.state IS 'open or closed, as GitHub says now (a reopened incident is open).';
COMMENT ON COLUMN view_dora_incident_attribution.created_at IS 'When the issue was opened (UTC).';
COMMENT ON COLUMN view_dora_incident_attribution.closed_at IS 'When it was closed (UTC); null while open.';
COMMENT ON COLUMN view_dora_incident_attribution.time_to_restore_hours IS
    'closed_at - created_at in hours (DORA''s time to restore service, "failed deployment recovery time" since '
    '2023); null while open.';
COMMENT ON COLUMN view_dora_incident_attribution.root_cause_sha IS
    'The commit its body names as root cause (a line "root cause: <sha>"); null when none.';
COMMENT ON COLUMN view_dora_incident_attribution.root_cause_pr IS
    'The PR its body names as root cause (a line "root cause: #<number>"); null when none.';
