{{ config(materialized='table') }}
SELECT CAST(date_trunc('month', f.announced_on) AS DATE) AS month,
       coalesce(d.category, 'unknown') AS category, coalesce(d.country, 'unknown') AS country,
       count(*) AS rounds, sum(f.amount_usd) AS amount_usd
FROM {{ ref('fact_funding_round') }} f
JOIN {{ ref('dim_organization') }} d ON d.dim_organization_sk = f.dim_organization_sk
GROUP BY 1, 2, 3
