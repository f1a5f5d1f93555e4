-- One row per organization with its country and main category (staging for the dimension).
SELECT o.uuid, o.name, o.updated_at,
       (SELECT min(l.value) FROM {{ source('crunchbase', 'organizations__location_identifiers') }} l
         WHERE l._ws_parent_id = o._ws_id AND l.location_type = 'country') AS country,
       (SELECT min(c.value) FROM {{ source('crunchbase', 'organizations__categories') }} c
         WHERE c._ws_parent_id = o._ws_id AND c._ws_idx = 0) AS category
FROM {{ source('crunchbase', 'organizations') }} o
