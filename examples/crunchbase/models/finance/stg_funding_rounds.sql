SELECT uuid, funded_organization_identifier__uuid AS organization_uuid, announced_on,
       investment_type, CAST(money_raised__value_usd AS DECIMAL(18, 4)) AS amount_usd
FROM {{ source('crunchbase', 'funding_rounds') }}
