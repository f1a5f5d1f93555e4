{{ config(materialized='table') }}
-- Everyone who invested: organizations and people, one row each.
SELECT investor_identifier__uuid AS investor_uuid, min(investor_identifier__value) AS name,
       min(investor_identifier__entity_def_id) AS investor_type
FROM {{ source('crunchbase', 'investments') }}
WHERE investor_identifier__uuid IS NOT NULL
GROUP BY investor_identifier__uuid
