-- dora_summary, version 1. Never edit once applied: a change is a new file and a new migration.
-- The four keys per team and month with their bands by the report of the given year: view_dora_summary for any
-- year in view_dora_benchmarks. A team-month is in the summary when any key has a row for it; a key without one has
-- a null value, band and low_sample there. Each key's view is read once (full joins on team and month).
-- SECURITY INVOKER: it reads the views with its caller's rights, so dora_reader may call it and no one gains a right.
-- The parameter shares its name with an output column; the rows are a named type so the two may.
CREATE TYPE dora_summary_row AS (
    team_id integer,
    team_name text,
    month date,
    report_year integer,
    deployments_per_week numeric,
    deployment_frequency_band text,
    deployment_frequency_low_sample boolean,
    median_change_lead_time_hours double precision,
    change_lead_time_band text,
    change_lead_time_low_sample boolean,
    change_failure_rate numeric,
    change_failure_rate_band text,
    change_failure_rate_low_sample boolean,
    median_time_to_restore_hours double precision,
    open_incidents bigint,
    time_to_restore_band text,
    time_to_restore_low_sample boolean,
    in_progress boolean
);

COMMENT ON TYPE dora_summary_row IS 'A row of dora_summary() and view_dora_summary: see view_dora_summary''s columns.';

CREATE FUNCTION dora_summary(report_year integer) RETURNS SETOF dora_summary_row
    LANGUAGE sql STABLE SECURITY INVOKER
    AS $$
        -- team_id, team_name and month unqualified: the columns USING merges, whichever key has the row.
        SELECT
            team_id,
            team_name,
            month,
            dora_summary.report_year,
            f.deployments_per_week,
            public.dora_band(dora_summary.report_year, 'deployment_frequency', f.deployments_per_week),
            f.low_sample,
            l.median_change_lead_time_hours,
            public.dora_band(dora_summary.report_year, 'change_lead_time', l.median_change_lead_time_hours),
            l.low_sample,
            c.change_failure_rate,
            public.dora_band(dora_summary.report_year, 'change_failure_rate', c.change_failure_rate),
            c.low_sample,
            r.median_time_to_restore_hours,
            r.open_incidents,
            public.dora_band(dora_summary.report_year, 'time_to_restore', r.median_time_to_restore_hours),
            r.low_sample,
            month >= date_trunc('month', now() AT TIME ZONE 'UTC')::date
        FROM public.view_dora_deployment_frequency AS f
        FULL JOIN public.view_dora_change_lead_time AS l USING (team_id, team_name, month)
        FULL JOIN public.view_dora_change_failure_rate AS c USING (team_id, team_name, month)
        FULL JOIN public.view_dora_time_to_restore AS r USING (team_id, team_name, month)
    $$;

COMMENT ON FUNCTION dora_summary(integer) IS
    'The four DORA keys per team and month with their bands by the State of DevOps report of report_year (a year in '
    'view_dora_benchmarks; another year gives null bands): view_dora_summary for a chosen year.';
GRANT EXECUTE ON FUNCTION dora_summary(integer) TO dora_reader;
