-- dw.invoice_fact extract for day D (Athena / Trino SQL; DuckDB runs it locally).
-- raw_stripe_invoices dt = D holds the invoices created in D (finalized at creation), so the
-- date D is complete in this one partition and is the only date of D's own. The organization
-- comes from the customer's metadata.analytics_id (the customers snapshot of D holds every
-- customer created before D+1); refunds from the charges of D. The dates the unknown-member
-- ledger holds open (an organization or subscription that had not arrived) are restated too,
-- each from its own day's partitions, so the slice is the same whichever run restates it
-- (docs/decisions/0014).
with invoices as (
  select dt, id, created, customer, billing_subscription_id, currency, status, amount_due, amount_paid
  from raw_stripe_invoices
  where dt in ('{{ run_date }}'{% for d in unknown_member_dates %}, '{{ d }}'{% endfor %})
),
customers as (
  select dt, id, organization_analytics_id
  from raw_stripe_customers
  where dt in ('{{ run_date }}'{% for d in unknown_member_dates %}, '{{ d }}'{% endfor %})
),
refunds as (
  select dt, invoice, sum(amount_refunded) as amount_refunded
  from raw_stripe_charges
  where dt in ('{{ run_date }}'{% for d in unknown_member_dates %}, '{{ d }}'{% endfor %}) and invoice is not null
  group by dt, invoice
)
select
  cast(i.created as date) as date,
  c.organization_analytics_id,
  i.billing_subscription_id as subscription_billing_id,
  i.currency,
  i.status,
  count(*) as invoices,
  sum(i.amount_due) as amount_due,
  sum(i.amount_paid) as amount_paid,
  sum(coalesce(r.amount_refunded, 0)) as amount_refunded
from invoices i
left join customers c on c.id = i.customer and c.dt = i.dt
left join refunds r on r.invoice = i.id and r.dt = i.dt
group by 1, 2, 3, 4, 5
