"""Deterministic source data for the local stack, a pure function of ``(seed, scale, day)``:

- ``mongo``: the MongoDB database ``app`` (``seed_base``, ``seed_day``);
- ``vendors``: what the Stripe, Amplitude and Chargify stand-ins serve;
- ``common``: the population both are built on (organizations, projects, users), ids, sizes.

The package re-exports the public names of the three modules.
"""

from __future__ import annotations

from devstack.generate.common import (  # noqa: F401
    BASE_DAY,
    EPOCH,
    FIRST_SUBSCRIPTION_ID,
    SEED,
    UTC,
    VCS,
    HISTORY_START,
    vendor_first_day,
    analytics_id,
    base_orgs,
    base_projects,
    base_users,
    day_start,
    digest,
    email_of,
    is_late,
    new_orgs,
    new_projects,
    new_users,
    Org,
    population,
    Project,
    rng,
    Sizes,
    User,
    week_orgs,
)
from devstack.generate.mongo import (  # noqa: F401
    OUTCOMES,
    PLANS,
    RESOURCE_WEIGHTS,
    RESOURCES,
    SEED_LOG,
    day_jobs,
    drifted_jobs,
    is_drift_day,
    object_id,
    org_doc,
    project_doc,
    seed_base,
    seed_day,
    seed_days,
    user_doc,
)
from devstack.generate.vendors import (  # noqa: F401
    AMPLITUDE_EVENT_TYPES,
    AMPLITUDE_ORG_EVENTS,
    AMPLITUDE_PROJECT_ID,
    CHARGIFY_CUSTOMER_OFFSET,
    CHARGIFY_PRODUCTS,
    CHARGIFY_TZ,
    CURRENCIES,
    FX,
    INVOICE_STATUSES,
    amplitude_day,
    amplitude_time,
    chargify_customer,
    chargify_subscription,
    org_currency,
    plan_history,
    PlanVersion,
    stripe_customer,
    stripe_day,
    stripe_subscription,
    vendor_id,
    vendor_orgs,
)
