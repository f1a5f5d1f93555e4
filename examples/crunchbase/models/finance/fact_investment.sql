{{ config(materialized='table') }}
SELECT i.uuid, i.funding_round_identifier__uuid AS funding_round_uuid,
       i.investor_identifier__uuid AS investor_uuid, i.is_lead_investor, i.announced_on,
       CAST(extract(year FROM i.announced_on) * 10000 + extract(month FROM i.announced_on) * 100
            + extract(day FROM i.announced_on) AS INTEGER) AS date_key,
       CAST(i.money_invested__value_usd AS DECIMAL(18, 4)) AS amount_usd
FROM {{ source('crunchbase', 'investments') }} i
JOIN {{ ref('dim_investor') }} d ON d.investor_uuid = i.investor_identifier__uuid
