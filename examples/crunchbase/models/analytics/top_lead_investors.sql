-- Investors by number of lead investments (a report view over the vault).
SELECT l.investor_identifier__uuid AS investor_uuid, count(*) AS lead_investments
FROM {{ ref('link_investment') }} l
JOIN {{ source('crunchbase', 'investments') }} i
  ON i.funding_round_identifier__uuid = l.funding_round_identifier__uuid
 AND i.investor_identifier__uuid = l.investor_identifier__uuid
WHERE i.is_lead_investor
GROUP BY 1
