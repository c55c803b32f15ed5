-- dora_benchmarks, version 1. Never edit once applied: a new report, or a correction, is a new file and a new migration.
-- The performance bands of the Accelerate State of DevOps reports 2021-2024, one row per report, key and band.
-- wording: the report's own words for the band. threshold: our numeric reading of its boundary, in the key's unit
-- (sql/README.md, "Bands"); a band applies when a value is at least as good as its threshold, and the best band that
-- applies wins. The report's lowest band takes whatever the better ones leave: its threshold is null.
--   deployment_frequency, deployments per week (higher is better):
--     "on demand (multiple deploys per day)" 7 (once a day on average); "once per week" 1;
--     "once per month" 0.2258 (7/31: one deployment in a 31-day month, rounded down, so one deployment in any
--     calendar month meets it); "once every six months" 0.0380 (7/184, the longest six months, rounded down).
--   change_lead_time and time_to_restore, hours (lower is better): "one hour" 1, "one day" 24, "one week" 168,
--     "one month" 744 (31 days), "six months" 4416 (184 days). "Between A and B" reads as "at most B".
--   change_failure_rate, a fraction (lower is better): "0%-15%" 0.15, "16%-30%" 0.30, "5%" 0.05, and so on.
-- Where a report gives two bands the same words (2021's change failure rates, 2023's low and medium deployment
-- frequency and lead time, 2024's high and medium recovery time), the better band takes every value they share.
-- 2024's medium change failure rate (10%) is better than its high one (20%): a rate of 8% is high there, as the
-- best band that applies; the table keeps the report's numbers as published.
WITH report (report_year, source) AS (
    VALUES
        (2021, 'Accelerate State of DevOps 2021, DORA / Google Cloud, https://dora.dev/research/2021/dora-report/'),
        (2022, '2022 Accelerate State of DevOps Report, DORA / Google Cloud, https://dora.dev/research/2022/dora-report/'),
        (2023, 'Accelerate State of DevOps Report 2023, DORA / Google Cloud, https://dora.dev/research/2023/dora-report/'),
        (2024, 'Accelerate State of DevOps Report 2024, DORA / Google Cloud, https://dora.dev/research/2024/dora-report/')
),
band (report_year, metric, band, rank, threshold, wording) AS (
    VALUES
        (2021, 'deployment_frequency', 'elite', 1, 7, 'On-demand (multiple deploys per day)'),
        (2021, 'deployment_frequency', 'high', 2, 0.2258, 'Between once per week and once per month'),
        (2021, 'deployment_frequency', 'medium', 3, 0.0380, 'Between once per month and once every 6 months'),
        (2021, 'deployment_frequency', 'low', 4, NULL, 'Fewer than once per six months'),
        (2021, 'change_lead_time', 'elite', 1, 1, 'Less than one hour'),
        (2021, 'change_lead_time', 'high', 2, 168, 'Between one day and one week'),
        (2021, 'change_lead_time', 'medium', 3, 4416, 'Between one month and six months'),
        (2021, 'change_lead_time', 'low', 4, NULL, 'More than six months'),
        (2021, 'change_failure_rate', 'elite', 1, 0.15, '0%-15%'),
        (2021, 'change_failure_rate', 'high', 2, 0.30, '16%-30%'),
        (2021, 'change_failure_rate', 'medium', 3, 0.30, '16%-30%'),
        (2021, 'change_failure_rate', 'low', 4, NULL, '16%-30%'),
        (2021, 'time_to_restore', 'elite', 1, 1, 'Less than one hour'),
        (2021, 'time_to_restore', 'high', 2, 24, 'Less than one day'),
        (2021, 'time_to_restore', 'medium', 3, 168, 'Between one day and one week'),
        (2021, 'time_to_restore', 'low', 4, NULL, 'More than six months'),
        -- 2022: no elite cluster emerged; high is the best band.
        (2022, 'deployment_frequency', 'high', 1, 7, 'On-demand (multiple deploys per day)'),
        (2022, 'deployment_frequency', 'medium', 2, 0.2258, 'Between once per week and once per month'),
        (2022, 'deployment_frequency', 'low', 3, NULL, 'Between once per month and once every six months'),
        (2022, 'change_lead_time', 'high', 1, 168, 'Between one day and one week'),
        (2022, 'change_lead_time', 'medium', 2, 744, 'Between one week and one month'),
        (2022, 'change_lead_time', 'low', 3, NULL, 'Between one month and six months'),
        (2022, 'change_failure_rate', 'high', 1, 0.15, '0%-15%'),
        (2022, 'change_failure_rate', 'medium', 2, 0.30, '16%-30%'),
        (2022, 'change_failure_rate', 'low', 3, NULL, '46%-60%'),
        (2022, 'time_to_restore', 'high', 1, 24, 'Less than one day'),
        (2022, 'time_to_restore', 'medium', 2, 168, 'Between one day and one week'),
        (2022, 'time_to_restore', 'low', 3, NULL, 'Between one week and one month'),
        -- 2023: time to restore became "failed deployment recovery time"; change failure rates are single values.
        (2023, 'deployment_frequency', 'elite', 1, 7, 'On demand'),
        (2023, 'deployment_frequency', 'high', 2, 1, 'Between once per day and once per week'),
        (2023, 'deployment_frequency', 'medium', 3, 0.2258, 'Between once per week and once per month'),
        (2023, 'deployment_frequency', 'low', 4, NULL, 'Between once per week and once per month'),
        (2023, 'change_lead_time', 'elite', 1, 24, 'Less than one day'),
        (2023, 'change_lead_time', 'high', 2, 168, 'Between one day and one week'),
        (2023, 'change_lead_time', 'medium', 3, 744, 'Between one week and one month'),
        (2023, 'change_lead_time', 'low', 4, NULL, 'Between one week and one month'),
        (2023, 'change_failure_rate', 'elite', 1, 0.05, '5%'),
        (2023, 'change_failure_rate', 'high', 2, 0.10, '10%'),
        (2023, 'change_failure_rate', 'medium', 3, 0.15, '15%'),
        (2023, 'change_failure_rate', 'low', 4, NULL, '64%'),
        (2023, 'time_to_restore', 'elite', 1, 1, 'Less than one hour'),
        (2023, 'time_to_restore', 'high', 2, 24, 'Less than one day'),
        (2023, 'time_to_restore', 'medium', 3, 168, 'Between one day and one week'),
        (2023, 'time_to_restore', 'low', 4, NULL, 'Between one month and six months'),
        (2024, 'deployment_frequency', 'elite', 1, 7, 'On demand (multiple deploys per day)'),
        (2024, 'deployment_frequency', 'high', 2, 1, 'Between once per day and once per week'),
        (2024, 'deployment_frequency', 'medium', 3, 0.2258, 'Between once per week and once per month'),
        (2024, 'deployment_frequency', 'low', 4, NULL, 'Between once per month and once every six months'),
        (2024, 'change_lead_time', 'elite', 1, 24, 'Less than one day'),
        (2024, 'change_lead_time', 'high', 2, 168, 'Between one day and one week'),
        (2024, 'change_lead_time', 'medium', 3, 744, 'Between one week and one month'),
        (2024, 'change_lead_time', 'low', 4, NULL, 'Between one month and six months'),
        (2024, 'change_failure_rate', 'elite', 1, 0.05, '5%'),
        (2024, 'change_failure_rate', 'high', 2, 0.20, '20%'),
        (2024, 'change_failure_rate', 'medium', 3, 0.10, '10%'),
        (2024, 'change_failure_rate', 'low', 4, NULL, '40%'),
        (2024, 'time_to_restore', 'elite', 1, 1, 'Less than one hour'),
        (2024, 'time_to_restore', 'high', 2, 24, 'Less than one day'),
        (2024, 'time_to_restore', 'medium', 3, 24, 'Less than one day'),
        (2024, 'time_to_restore', 'low', 4, NULL, 'Between one week and one month')
)
INSERT INTO dora_benchmarks (report_year, metric, band, rank, threshold, unit, wording, source)
SELECT
    b.report_year,
    b.metric,
    b.band,
    b.rank,
    b.threshold,
    CASE b.metric
        WHEN 'deployment_frequency' THEN 'deployments per week'
        WHEN 'change_failure_rate' THEN 'fraction'
        ELSE 'hours'
    END,
    b.wording,
    r.source
FROM band AS b
JOIN report AS r ON r.report_year = b.report_year;
