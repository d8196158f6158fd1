"""The MongoDB database ``app`` of the local stack: organizations, projects, users and jobs.

    seed_base(db, seed=42, scale=1.0)          organizations, projects, users that exist before day one
    seed_day(db, day, seed=42, scale=1.0)      one UTC day of activity (idempotent: a seeded day is skipped)

At ``scale=1.0`` a day holds about 50,000 job runs across ~4,000 organizations, ~16,000
projects and ~24,000 users. Everything is a pure function of ``(seed, scale, day)``, so two
stacks seeded alike hold identical documents, and the tests can compute truths independently.

The data is as messy as production:

- **late-arriving entities**: a share of each day's new users and projects is inserted into
  MongoDB only by the next day's ``seed_day`` (their jobs point at a user/project that is not
  in its collection yet, so the warehouse resolves them to the unknown member until then);
- **null ``resource_class``** on about 2% of jobs;
- **every outcome**, including ``running`` for jobs that cross midnight;
- **documents updated after they were created**: jobs that run over midnight finish the next
  day (their ``updated_at`` moves to that day, their event date stays), a share of the previous
  days' jobs is corrected (credits recomputed, outcome re-classified), organizations change
  plan and users change login;
- **a few fields of unexpected type** that still convert without loss (numeric strings,
  integer booleans, upper-case UUIDs, integral floats);
- **enumerated values the warehouse's types do not hold yet**: on every day whose day of the
  month is a multiple of 5 (2024-01-15, the demo's day, is one), the day's first
  ``NEW_VALUE_JOBS`` jobs run on executor ``firecracker`` with operating system ``freebsd``
  (``NEW_RESOURCE``), whatever the scale; the first such day a warehouse loads grows its types
  (docs/decisions/0043).
- **upstream drift** (``seed_day(..., drift=True)``, as ``make demo`` and ``make airflow`` seed):
  on the 15th of each month (``is_drift_day``), ``DRIFT_TYPE_JOBS`` of the day's finished jobs
  carry ``dlc`` as the text ``"yes"`` (not a bool: the lake contract quarantines them) and
  ``DRIFT_NEW_FIELD_JOBS`` others a field the config does not declare, ``runner_version`` (a
  string: it lands as a new column). Which jobs is a pure function of ``(seed, scale, day)``;
  the tests seed without drift unless they test it.

A day that ``seed_day`` has already written is recorded in the collection ``_seed_log`` and
skipped, so re-seeding never reverts the updates a later day made to earlier documents.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Iterator

from bson import ObjectId

from devstack.generate.common import (
    SEED,
    UTC,
    VCS,
    vendor_first_day,
    Org,
    Project,
    Sizes,
    User,
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
    population,
    rng,
    week_orgs,
)

SEED_LOG = "_seed_log"
OUTCOMES = [("success", 0.80), ("failed", 0.13), ("canceled", 0.03), ("infrastructure_fail", 0.02), ("timedout", 0.02)]
# executor, operating_system, resource classes, credits per minute
RESOURCES = [
    ("docker", "linux", ["small", "medium", "medium+", "large", "xlarge", "2xlarge", "2xlarge+", "arm.medium", "arm.large"], 10),
    ("machine", "linux", ["medium", "large", "xlarge", "2xlarge", "gpu.nvidia.small", "gpu.nvidia.medium", "arm.medium", "arm.large"], 20),
    ("machine", "windows", ["windows.medium", "windows.large", "windows.xlarge", "windows.2xlarge"], 40),
    ("windows", "windows", ["medium", "large"], 40),
    ("macos", "macos", ["macos.m1.medium.gen1", "macos.m1.large.gen1", "m2pro.medium", "m2pro.large"], 150),
]
RESOURCE_WEIGHTS = [0.70, 0.18, 0.04, 0.02, 0.06]
# (executor, operating_system) of no type of the warehouse's first migration: the first
# NEW_VALUE_JOBS jobs of the days new_values_day() picks (docs/decisions/0043)
NEW_RESOURCE = ("firecracker", "freebsd")
NEW_VALUE_JOBS = 3


def new_values_day(day: dt.date) -> bool:
    """Whether ``day``'s first jobs run on ``NEW_RESOURCE``: the 5th, 10th, ... of each month."""
    return day.day % 5 == 0
PLANS = ["free", "performance", "scale", "server"]
DRIFT_TYPE_JOBS = 3  # jobs of a drift day whose dlc is the text "yes"
DRIFT_NEW_FIELD_JOBS = 5  # jobs of a drift day with the undeclared field runner_version


def is_drift_day(day: dt.date) -> bool:
    """Whether ``seed_day(..., drift=True)`` drifts the day's jobs: the 15th of each month."""
    return day.day == 15


def drifted_jobs(seed: int, scale: float, day: dt.date) -> tuple[list[ObjectId], list[ObjectId]]:
    """The ids of the day's jobs that a drift day changes: (dlc as text, new field)."""
    finished = sorted(doc["_id"] for doc, stops in day_jobs(seed, scale, day) if stops is None)
    r = rng(seed, scale, "drift", day)
    picked = r.sample(finished, k=min(len(finished), DRIFT_TYPE_JOBS + DRIFT_NEW_FIELD_JOBS))
    return picked[:DRIFT_TYPE_JOBS], picked[DRIFT_TYPE_JOBS:]


def object_id(seed: int, kind: str, key, at: dt.datetime) -> ObjectId:
    """An ObjectId whose timestamp is ``at`` and whose other 8 bytes are stable."""
    return ObjectId(int(at.timestamp()).to_bytes(4, "big") + digest(seed, "oid", kind, key)[:8])


def _naive(ts: dt.datetime) -> dt.datetime:
    """BSON dates are UTC; pymongo stores aware datetimes correctly, naive ones as UTC."""
    return ts.astimezone(UTC).replace(tzinfo=None)


def org_doc(seed: int, o: Org, updated_at: dt.datetime, plan: str | None = None) -> dict:
    r = rng(seed, 0, "org-doc", o.key)
    return {
        "_id": object_id(seed, "org", o.key, o.created_at),
        "analytics_id": o.analytics_id,
        "name": f"org-{o.key}",
        "vcs_type": r.choice(VCS),
        "plan_tier": plan or r.choices(PLANS, [0.6, 0.25, 0.1, 0.05])[0],
        "created_at": _naive(o.created_at),
        "updated_at": _naive(updated_at),
    }


def project_doc(seed: int, p: Project, updated_at: dt.datetime) -> dict:
    r = rng(seed, 0, "project-doc", p.key)
    return {
        "_id": object_id(seed, "project", p.key, p.created_at),
        "analytics_id": p.analytics_id,
        "organization_analytics_id": p.org.analytics_id,
        "name": f"repo-{p.key}",
        "visibility": "public" if r.random() < 0.35 else "private",
        "created_at": _naive(p.created_at),
        "updated_at": _naive(updated_at),
    }


def user_doc(seed: int, u: User, updated_at: dt.datetime, login: str | None = None) -> dict:
    doc = {
        "_id": object_id(seed, "user", u.key, u.created_at),
        "analytics_id": u.analytics_id,
        "login": login or u.login,
        "email": email_of(u),
        "created_at": _naive(u.created_at),
        "updated_at": _naive(updated_at),
    }
    if digest(seed, "user-mess", u.key)[0] < 3:  # ~1%: an upper-case UUID (converts to lower case)
        doc["analytics_id"] = u.analytics_id.upper()
    return doc


# --------------------------------------------------------------------------- jobs


def _pick_outcome(r: random.Random) -> str:
    x = r.random()
    for name, p in OUTCOMES:
        x -= p
        if x < 0:
            return name
    return OUTCOMES[0][0]


def _finish(r: random.Random, doc: dict, started: dt.datetime, stopped: dt.datetime, rate: int, outcome: str) -> None:
    minutes = Decimal(int((stopped - started).total_seconds() * 1000) // 60) / 1000  # 3 decimals, exact
    credits = int(minutes * rate) + 1
    doc.update(
        stopped_at=_naive(stopped),
        outcome=outcome,
        minutes_used=float(minutes),
        credits_used=credits,
        dlc_credits_used=(credits // 5 if doc["dlc"] else 0),
        updated_at=_naive(stopped),
    )


def day_jobs(seed: int, scale: float, day: dt.date) -> Iterator[tuple[dict, dt.datetime | None]]:
    """The jobs started on ``day``: ``(document as of the end of day, finish time if the job
    runs over midnight)``. A job running over midnight is ``running`` at the end of its day."""
    s = Sizes.of(scale)
    r = rng(seed, scale, "jobs", day)
    orgs, projects, users = population(seed, scale, day)
    by_org: dict[str, list[Project]] = {}
    for p in projects:
        by_org.setdefault(p.org.key, []).append(p)
    active_orgs = [o for o in orgs if o.key in by_org]
    # A few busy organizations and many quiet ones (a Zipf-like skew).
    weights = [1.0 / (1 + (i % 500)) ** 0.8 for i in range(len(active_orgs))]
    start = day_start(day)
    n = round(s.jobs_per_day * (0.6 if day.weekday() >= 5 else 1.0))
    chosen = r.choices(active_orgs, weights, k=n)
    for i, o in enumerate(chosen):
        p = r.choice(by_org[o.key])
        u = users[r.randrange(len(users))] if r.random() < 0.9 else users[-1 - r.randrange(min(len(users), 8 * s.new_users_per_day))]
        ex_i = r.choices(range(len(RESOURCES)), RESOURCE_WEIGHTS)[0]
        executor, os_, classes, rate = RESOURCES[ex_i]
        if i < NEW_VALUE_JOBS and new_values_day(day):  # no draw: the day's other jobs stay as they were
            executor, os_ = NEW_RESOURCE
        started = start + dt.timedelta(seconds=r.randrange(0, 86_400), microseconds=r.randrange(0, 1000) * 1000)
        duration = dt.timedelta(seconds=int(r.expovariate(1 / 420)) + 5)
        stopped = started + duration
        doc = {
            "_id": object_id(seed, "job", f"{day.isoformat()}-{i}", started),
            "organization_analytics_id": o.analytics_id,
            "project_analytics_id": p.analytics_id,
            "user_analytics_id": u.analytics_id,
            "subscription_id": o.subscription_id,
            "started_at": _naive(started),
            "stopped_at": None,
            "outcome": "running",
            "resource_class": None if r.random() < 0.02 else r.choice(classes),
            "executor": executor,
            "operating_system": os_,
            "dlc": r.random() < 0.2,
            "credits_used": None,
            "dlc_credits_used": None,
            "minutes_used": None,
            "updated_at": _naive(started),
        }
        outcome = _pick_outcome(r)
        over_midnight = stopped >= start + dt.timedelta(days=1)
        if not over_midnight:
            _finish(r, doc, started, stopped, rate, outcome)
        _mess(r, doc)
        yield doc, (stopped if over_midnight else None)


def _mess(r: random.Random, doc: dict) -> None:
    """A few fields of unexpected (but losslessly convertible) type, as production has."""
    x = r.random()
    if x < 0.002 and doc["credits_used"] is not None:
        doc["credits_used"] = str(doc["credits_used"])  # a numeric string
    elif x < 0.004 and doc["minutes_used"] is not None:
        # (Decimal128 would be the production case; the nx-27017 stand-in cannot store it)
        doc["minutes_used"] = str(Decimal(repr(doc["minutes_used"])))  # a numeric string
    elif x < 0.006:
        doc["dlc"] = int(doc["dlc"])  # 0/1
    elif x < 0.008 and doc["credits_used"] is not None:
        doc["credits_used"] = float(doc["credits_used"])  # an integral float
    elif x < 0.009:
        doc["project_analytics_id"] = doc["project_analytics_id"].upper()


def _rate(doc: dict) -> int:
    for executor, os_, _classes, rate in RESOURCES:
        if executor == doc["executor"] and os_ == doc["operating_system"]:
            return rate
    return 10


# --------------------------------------------------------------------------- seeding


def _ensure_indexes(db) -> None:
    db.jobs.create_index("updated_at")
    for name in ("organizations", "projects", "users"):
        db[name].create_index("analytics_id")


def _upsert(coll, docs: list[dict]) -> None:
    """Insert ``docs``; documents whose ``_id`` exists already are replaced whole."""
    import pymongo

    if not docs:
        return
    ids = [d["_id"] for d in docs]
    existing = {d["_id"] for d in coll.find({"_id": {"$in": ids}}, {"_id": 1})}
    fresh = [d for d in docs if d["_id"] not in existing]
    for i in range(0, len(fresh), 10_000):
        coll.insert_many(fresh[i:i + 10_000], ordered=False)
    replace = [pymongo.ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs if d["_id"] in existing]
    for i in range(0, len(replace), 5_000):
        coll.bulk_write(replace[i:i + 5_000], ordered=False)


def _insert_missing(coll, docs: list[dict]) -> int:
    """Insert the documents whose ``_id`` is not in ``coll`` yet; returns how many."""
    if not docs:
        return 0
    existing = {d["_id"] for d in coll.find({"_id": {"$in": [d["_id"] for d in docs]}}, {"_id": 1})}
    fresh = [d for d in docs if d["_id"] not in existing]
    if fresh:
        coll.insert_many(fresh, ordered=False)
    return len(fresh)


def _logged(db, key: str, seed: int, scale: float) -> bool:
    entry = db[SEED_LOG].find_one({"_id": key})
    if entry is None:
        return False
    if entry.get("seed") != seed or entry.get("scale") != scale:
        raise RuntimeError(
            f"MongoDB already holds {key} seeded with seed={entry.get('seed')} scale={entry.get('scale')}, "
            f"not seed={seed} scale={scale}: stop the stack and remove its state (`make clean`) to re-seed"
        )
    return True


def seed_base(db, seed: int = SEED, scale: float = 1.0) -> dict:
    """Organizations, projects and users that exist before any seeded day. Idempotent."""
    if _logged(db, "base", seed, scale):
        return {"skipped": True}
    _ensure_indexes(db)
    orgs = base_orgs(seed, scale)
    projects = base_projects(seed, scale, orgs)
    users = base_users(seed, scale)
    _upsert(db.organizations, [org_doc(seed, o, o.created_at) for o in orgs])
    _upsert(db.projects, [project_doc(seed, p, p.created_at) for p in projects])
    _upsert(db.users, [user_doc(seed, u, u.created_at) for u in users])
    db[SEED_LOG].insert_one({"_id": "base", "seed": seed, "scale": scale})
    return {"organizations": len(orgs), "projects": len(projects), "users": len(users)}


def seed_day(db, day: dt.date, seed: int = SEED, scale: float = 1.0, drift: bool = False) -> dict:
    """Write what happened on ``day`` (UTC) into MongoDB. Idempotent: a day already seeded is
    skipped (re-writing it would undo what later days changed in its documents).

    - new organizations, projects and users of the day (late ones are held back a day), and
      the previous day's late projects and users;
    - the day's jobs, as they stand at the end of the day;
    - the previous day's over-midnight jobs finish (``updated_at`` in this day);
    - corrections: ~0.5% of the previous day's jobs get their credits recomputed, ~0.1% of the
      jobs two days back are re-classified (outcome changed), ~0.1% of the previous day's jobs
      move to the day (started_at + 1 day), and billing-cycle credit corrections reach the jobs
      of 30 (0.4%) and 35 (0.2%) days back, and 40 days back (0.1%: beyond the platform's
      ``look_back_days``, reported by the extract, not restated);
    - some organizations change plan and some users change login (``updated_at`` in this day);
    - with ``drift`` on a drift day (``is_drift_day``): a few jobs of a type that does not convert
      and a few with a new field (``drifted_jobs``).
    """
    key = f"day:{day.isoformat()}"
    if _logged(db, key, seed, scale):
        return {"skipped": True}
    seed_base(db, seed, scale)
    _ensure_indexes(db)
    start = day_start(day)
    r = rng(seed, scale, "day-updates", day)
    prev = day - dt.timedelta(days=1)

    # entities: today's on-time newcomers; yesterday's late ones arrive now. Newcomers of the
    # week before are inserted if missing (the jobs of a day reference the last week's newcomers,
    # whether or not those days were seeded); present documents are never overwritten.
    arrival = start + dt.timedelta(hours=1)
    n_orgs = n_projects = n_users = 0
    # So are the newcomers of every day since vendor_first_day(day): the vendors bill those
    # organizations and Amplitude records those users, and each of them exists in MongoDB.
    # (once: when the day before was seeded, they are in already).
    first = day - dt.timedelta(days=7)
    if vendor_first_day(day) < first and not _logged(db, f"day:{prev.isoformat()}", seed, scale):
        first = vendor_first_day(day)
    for back in range((day - first).days, -1, -1):
        d = day - dt.timedelta(days=back)
        days_orgs = new_orgs(seed, scale, d)
        days_projects = new_projects(seed, scale, d)
        days_users = new_users(seed, scale, d)
        if back == 0:  # today's late ones are held back until tomorrow
            days_projects = [p for p in days_projects if not is_late(seed, "project", p.key)]
            days_users = [u for u in days_users if not is_late(seed, "user", u.key)]
        n_orgs += _insert_missing(db.organizations, [org_doc(seed, o, o.created_at) for o in days_orgs])
        n_projects += _insert_missing(
            db.projects, [project_doc(seed, p, p.created_at if p.created_at >= start else arrival) for p in days_projects])
        n_users += _insert_missing(
            db.users, [user_doc(seed, u, u.created_at if u.created_at >= start else arrival) for u in days_users])

    # organizations change plan, users change login (drawn from the day's organizations: the
    # same whether or not the day before was seeded)
    orgs = week_orgs(seed, scale, day)
    changed_orgs = r.sample(orgs, k=max(1, len(orgs) // 200))
    for o in changed_orgs:
        when = start + dt.timedelta(seconds=r.randrange(0, 86_400))
        db.organizations.update_one({"analytics_id": o.analytics_id},
                                    {"$set": {"plan_tier": r.choice(PLANS), "updated_at": _naive(when)}})
    for u in r.sample(base_users(seed, scale), k=max(1, Sizes.of(scale).users // 500)):
        when = start + dt.timedelta(seconds=r.randrange(0, 86_400))
        db.users.update_many({"analytics_id": {"$in": [u.analytics_id, u.analytics_id.upper()]}},
                             {"$set": {"login": f"{u.login}-{day.strftime('%m%d')}", "updated_at": _naive(when)}})

    # the previous day's jobs that ran over midnight finish now
    finished = 0
    for doc, stops in day_jobs(seed, scale, prev):
        if stops is None:
            continue
        current = db.jobs.find_one({"_id": doc["_id"]})
        if current is None or current.get("outcome") != "running":
            continue
        jr = rng(seed, scale, "finish", str(doc["_id"]))
        _finish(jr, current, current["started_at"].replace(tzinfo=UTC), stops, _rate(current), _pick_outcome(jr))
        db.jobs.replace_one({"_id": current["_id"]}, current)
        finished += 1

    # corrections of earlier jobs (MongoDB keeps only the latest version): credits recomputed the
    # next day, outcomes re-classified two days later, a job's start moved to the next day (it
    # leaves its date), billing-cycle credit corrections 30 and 35 days later (within the
    # platform's look_back_days) and a few 40 days later (beyond it: reported, not restated)
    corrected = 0
    for back, share, what in ((1, 0.005, "credits"), (2, 0.001, "outcome"), (1, 0.001, "move"),
                              (30, 0.004, "credits"), (35, 0.002, "credits"), (40, 0.001, "credits")):
        d = day - dt.timedelta(days=back)
        cr = rng(seed, scale, "corrections", day, back, *(() if (back, what) in ((1, "credits"), (2, "outcome")) else (what,)))
        lo, hi = day_start(d), day_start(d) + dt.timedelta(days=1)
        ids = [x["_id"] for x in db.jobs.find({"started_at": {"$gte": _naive(lo), "$lt": _naive(hi)},
                                               "outcome": {"$ne": "running"}}, {"_id": 1})]
        ids.sort()
        for oid in cr.sample(ids, k=round(len(ids) * share)) if ids else []:
            when = start + dt.timedelta(seconds=cr.randrange(0, 86_400))
            if what == "credits":
                doc = db.jobs.find_one({"_id": oid})
                credits = int(Decimal(str(doc.get("credits_used") or 0))) + cr.randrange(1, 20)
                upd = {"credits_used": credits, "updated_at": _naive(when)}
            elif what == "move":  # the whole document (the stand-in keeps a $set datetime as text)
                doc = db.jobs.find_one({"_id": oid})
                doc["started_at"] = doc["started_at"] + dt.timedelta(days=1)
                if doc.get("stopped_at"):
                    doc["stopped_at"] = doc["stopped_at"] + dt.timedelta(days=1)
                doc["updated_at"] = _naive(when)
                db.jobs.replace_one({"_id": oid}, doc)
                corrected += 1
                continue
            else:
                upd = {"outcome": cr.choice(["failed", "infrastructure_fail", "canceled"]), "updated_at": _naive(when)}
            db.jobs.update_one({"_id": oid}, {"$set": upd})
            corrected += 1

    # the day's jobs
    jobs = [doc for doc, _ in day_jobs(seed, scale, day)]
    drifted = 0
    if drift and is_drift_day(day):
        typed, new_field = drifted_jobs(seed, scale, day)
        by_id = {doc["_id"]: doc for doc in jobs}
        for oid in typed:
            by_id[oid]["dlc"] = "yes"
        for n, oid in enumerate(new_field):
            by_id[oid]["runner_version"] = f"2.{n}.0"
        drifted = len(typed) + len(new_field)
    _upsert(db.jobs, jobs)
    db[SEED_LOG].insert_one({"_id": key, "seed": seed, "scale": scale})
    return {"jobs": len(jobs), "finished": finished, "corrected": corrected, "new_organizations": n_orgs,
            "new_projects": n_projects, "new_users": n_users, "drifted": drifted}


def seed_days(db, days: list[dt.date], seed: int = SEED, scale: float = 1.0) -> list[dict]:
    """``seed_base`` then ``seed_day`` for each day, oldest first."""
    seed_base(db, seed, scale)
    return [seed_day(db, d, seed, scale) for d in sorted(days)]


