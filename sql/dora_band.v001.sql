-- dora_band, version 1. Never edit once applied: a change is a new file and a new migration.
-- The band a value falls in, by a report's thresholds: the best band (lowest rank) whose threshold the value is at
-- least as good as, the lowest band (null threshold) taking the rest. Null for a null value, an unknown key or a
-- report year with no bands. value is double precision so any number converts to it implicitly (a median, a
-- numeric rate). SECURITY INVOKER: it reads view_dora_benchmarks with its caller's rights.
CREATE FUNCTION dora_band(report_year integer, metric text, value double precision) RETURNS text
    LANGUAGE sql STABLE STRICT SECURITY INVOKER PARALLEL SAFE
    AS $$
        SELECT b.band
        FROM public.view_dora_benchmarks AS b
        WHERE b.report_year = dora_band.report_year
          AND b.metric = dora_band.metric
          AND (
              b.threshold IS NULL
              OR (b.higher_is_better AND dora_band.value >= b.threshold)
              OR (NOT b.higher_is_better AND dora_band.value <= b.threshold)
          )
        ORDER BY b.rank
        LIMIT 1
    $$;

COMMENT ON FUNCTION dora_band(integer, text, double precision) IS
    'The band (elite, high, medium, low) that value falls in for a key (deployment_frequency in deployments per '
    'week, change_lead_time and time_to_restore in hours, change_failure_rate as a fraction) by the report of '
    'report_year: the best band whose threshold it is at least as good as. Null for a null value or unknown year.';
GRANT EXECUTE ON FUNCTION dora_band(integer, text, double precision) TO dora_reader;
