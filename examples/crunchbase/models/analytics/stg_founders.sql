SELECT o.uuid AS organization_uuid, f.uuid AS person_uuid, o.updated_at
FROM {{ source('crunchbase', 'organizations') }} o
JOIN {{ source('crunchbase', 'organizations__founder_identifiers') }} f ON f._ws_parent_id = o._ws_id
