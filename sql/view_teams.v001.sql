-- view_teams, version 1. Never edit once applied: a change is a new file and a new migration.
-- One row per team in the teams file, with or without merges: the list a portal or the API offers to choose from.
-- Members are counted now (UTC): a membership is active when joined_at <= now() and (left_at is null or
-- now() < left_at), the attribution rule. Logins are counted once whatever their case, as the teams file matches them.
CREATE VIEW view_teams AS
SELECT
    t.id AS team_id,
    t.name AS team_name,
    t.description,
    count(DISTINCT lower(m.github_username)) FILTER (WHERE m.joined_at <= now() AND (m.left_at IS NULL OR now() < m.left_at))
        AS current_members,
    coalesce(sum(m.allocation_weight) FILTER (WHERE m.joined_at <= now() AND (m.left_at IS NULL OR now() < m.left_at)), 0)
        AS current_allocation
FROM teams AS t
LEFT JOIN team_memberships AS m ON m.team_id = t.id
GROUP BY t.id, t.name, t.description;

COMMENT ON VIEW view_teams IS
    'One row per team in the teams file (with or without merges): its id, name, description, and how many people '
    'belong to it now (UTC).';
COMMENT ON COLUMN view_teams.team_id IS 'teams.id: what the other views call team_id.';
COMMENT ON COLUMN view_teams.team_name IS 'Team name, as in the teams file.';
COMMENT ON COLUMN view_teams.description IS 'The description given in the teams file; null when none was.';
COMMENT ON COLUMN view_teams.current_members IS
    'People (logins, case-insensitive) with a membership active now: joined_at <= now() and (left_at is null or '
    'now() < left_at). 0 when everyone has left.';
COMMENT ON COLUMN view_teams.current_allocation IS
    'Sum of the allocation weights of the memberships active now: people-equivalents (two people at 50% count 1).';
