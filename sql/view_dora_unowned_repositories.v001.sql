-- view_dora_unowned_repositories, version 1. Never edit once applied: a change is a new file and a new migration.
-- Repositories whose deployments and incidents no team receives now: every repository collected (collector_state,
-- signal_state, deployments, incidents; names in lower case) or listed in the teams file, when it is not in the
-- teams file's repositories, has no owner at all there, or has no owner active now.
CREATE VIEW view_dora_unowned_repositories AS
WITH known AS (
    SELECT lower(s.repository) AS repository FROM collector_state AS s
    UNION
    SELECT lower(s.repository) FROM signal_state AS s
    UNION
    SELECT d.repository FROM deployments AS d
    UNION
    SELECT i.repository FROM incidents AS i
    UNION
    SELECT r.name FROM repositories AS r
),
ownership AS (
    SELECT
        k.repository,
        r.name IS NOT NULL AS in_teams_file,
        (SELECT count(*) FROM repository_owners AS o WHERE o.repository = k.repository) AS owner_rows,
        EXISTS (
            SELECT 1 FROM repository_owners AS o
            WHERE o.repository = k.repository AND o.owned_from <= now() AND (o.owned_until IS NULL OR now() < o.owned_until)
        ) AS owned_now,
        (
            SELECT max(o.owned_until) FROM repository_owners AS o
            WHERE o.repository = k.repository AND o.owned_until <= now()
        ) AS last_owned_until,
        (
            SELECT min(o.owned_from) FROM repository_owners AS o
            WHERE o.repository = k.repository AND o.owned_from > now()
        ) AS next_owned_from
    FROM known AS k
    LEFT JOIN repositories AS r ON r.name = k.repository
)
SELECT
    o.repository,
    CASE
        WHEN NOT o.in_teams_file THEN 'not in the teams file'
        WHEN o.owner_rows = 0 THEN 'no owner'
        ELSE 'no owner now'
    END AS reason,
    o.last_owned_until,
    o.next_owned_from,
    (SELECT count(*) FROM deployments AS d WHERE d.repository = o.repository AND d.status = 'success') AS deployments,
    (SELECT count(*) FROM incidents AS i WHERE i.repository = o.repository) AS incidents
FROM ownership AS o
WHERE NOT o.owned_now;

COMMENT ON VIEW view_dora_unowned_repositories IS
    'Repositories collected or listed in the teams file whose deployments and incidents no team receives now: not in '
    'the teams file''s repositories, with no owner, or with no owner active now. Add or fix the entry and run '
    '`dora-collector teams sync`: every key is recomputed, no GitHub request needed.';
COMMENT ON COLUMN view_dora_unowned_repositories.repository IS 'owner/name of the repository, in lower case.';
COMMENT ON COLUMN view_dora_unowned_repositories.reason IS
    'not in the teams file (no entry in its repositories list), no owner (an entry without owners), or no owner now '
    '(every ownership has ended, or the next has not begun).';
COMMENT ON COLUMN view_dora_unowned_repositories.last_owned_until IS
    'When the latest ownership that has ended ended (UTC); null when none has.';
COMMENT ON COLUMN view_dora_unowned_repositories.next_owned_from IS
    'When the next ownership begins (UTC), should one begin later; null otherwise.';
COMMENT ON COLUMN view_dora_unowned_repositories.deployments IS
    'Successful deployments stored for it (any source): what its owners would be credited with.';
COMMENT ON COLUMN view_dora_unowned_repositories.incidents IS 'Incidents stored for it.';
