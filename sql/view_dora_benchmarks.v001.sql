-- view_dora_benchmarks, version 1. Never edit once applied: a change is a new file and a new migration.
-- The bands of dora_benchmarks as this database reads them, for dora_reader (which reads views, never tables), for
-- dora_band() and dora_summary(), which run with their caller's rights and so read this view, not the table.
CREATE VIEW view_dora_benchmarks AS
SELECT
    b.report_year,
    b.metric,
    b.band,
    b.rank,
    b.threshold,
    b.unit,
    b.metric = 'deployment_frequency' AS higher_is_better,
    b.wording,
    b.source
FROM dora_benchmarks AS b;

COMMENT ON VIEW view_dora_benchmarks IS
    'The performance bands of the published Accelerate State of DevOps reports, one row per report year, key and '
    'band, each citing its report. A value is in a band when it is at least as good as the band''s threshold; the '
    'best band that applies wins (dora_band()). A new report is new rows, not a view edit.';
COMMENT ON COLUMN view_dora_benchmarks.report_year IS 'The year of the State of DevOps report that published the band.';
COMMENT ON COLUMN view_dora_benchmarks.metric IS
    'The key: deployment_frequency, change_lead_time, change_failure_rate or time_to_restore (the 2023 report''s '
    '"failed deployment recovery time").';
COMMENT ON COLUMN view_dora_benchmarks.band IS 'The band''s name in that report: elite, high, medium or low.';
COMMENT ON COLUMN view_dora_benchmarks.rank IS '1 for the report''s best band for this key, then 2, 3, ...';
COMMENT ON COLUMN view_dora_benchmarks.threshold IS
    'Our numeric reading of the band''s boundary, in unit: a value at least as good as this is in the band (or in a '
    'better one). Null for the report''s lowest band, which takes every value the better bands leave.';
COMMENT ON COLUMN view_dora_benchmarks.unit IS
    'deployments per week (a month''s weighted deployments / (days in the month / 7)), hours (median), or fraction '
    '(failed / deployments).';
COMMENT ON COLUMN view_dora_benchmarks.higher_is_better IS
    'True for deployment_frequency (a value applies when >= threshold); false for the others (<= threshold).';
COMMENT ON COLUMN view_dora_benchmarks.wording IS 'The report''s own words for the band, as published.';
COMMENT ON COLUMN view_dora_benchmarks.source IS 'The report: its title, publisher and address.';
