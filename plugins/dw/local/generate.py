"""Deterministic source data for the local stack: the MongoDB database ``app`` of DESIGN.md.

    seed_base(db, seed=42, scale=1.0)          organizations, projects, users that exist before day one
    seed_day(db, day, seed=42, scale=1.0)      one UTC day of activity (idempotent: a seeded day is skipped)

At ``scale=1.0`` a day holds about 50,000 job runs (the talk's size) across ~4,000 organizations,
~16,000 projects and ~24,000 users. Everything is a pure function of ``(seed, scale, day)``:
ids, timestamps and values come from ``random.Random`` instances seeded with those, so two
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
  integer booleans, upper-case UUIDs, integral floats).

A day that ``seed_day`` has already written is recorded in the collection ``_seed_log`` and
skipped, so re-seeding never reverts the updates a later day made to earlier documents.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import random
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterator

from bson import ObjectId

UTC = dt.timezone.utc
SEED = 42
SEED_LOG = "_seed_log"
# Calendar of the base population: everything in seed_base exists before this day.
EPOCH = dt.datetime(2023, 1, 1, tzinfo=UTC)
BASE_DAY = dt.date(2023, 12, 31)
# Chargify subscription ids: organization i (base) has subscription FIRST_SUBSCRIPTION_ID + i.
FIRST_SUBSCRIPTION_ID = 6_100_000

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
VCS = ["github", "bitbucket", "gitlab"]
PLANS = ["free", "performance", "scale", "server"]


@dataclass(frozen=True)
class Sizes:
    organizations: int
    projects_per_org: int
    users: int
    jobs_per_day: int
    new_orgs_per_day: int
    new_projects_per_day: int
    new_users_per_day: int

    @classmethod
    def of(cls, scale: float) -> Sizes:
        if scale <= 0:
            raise ValueError(f"scale must be positive, not {scale}")
        return cls(
            organizations=max(20, round(4_000 * scale)),
            projects_per_org=4,
            users=max(30, round(24_000 * scale)),
            jobs_per_day=max(50, round(50_000 * scale)),
            new_orgs_per_day=max(1, round(20 * scale)),
            new_projects_per_day=max(2, round(120 * scale)),
            new_users_per_day=max(3, round(200 * scale)),
        )


# --------------------------------------------------------------------------- deterministic ids


def _digest(*parts) -> bytes:
    return hashlib.sha256("|".join(map(str, parts)).encode()).digest()


def analytics_id(seed: int, kind: str, key) -> str:
    """A stable UUID (version 4 layout) for entity ``kind`` number/key ``key``."""
    return str(uuid.UUID(bytes=_digest(seed, kind, key)[:16], version=4))


def object_id(seed: int, kind: str, key, at: dt.datetime) -> ObjectId:
    """An ObjectId whose timestamp is ``at`` and whose other 8 bytes are stable."""
    return ObjectId(int(at.timestamp()).to_bytes(4, "big") + _digest(seed, "oid", kind, key)[:8])


def _rng(seed: int, scale: float, *parts) -> random.Random:
    return random.Random(_digest(seed, scale, *parts))


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


def _naive(ts: dt.datetime) -> dt.datetime:
    """BSON dates are UTC; pymongo stores aware datetimes correctly, naive ones as UTC."""
    return ts.astimezone(UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------- entities


@dataclass(frozen=True)
class Org:
    key: str
    analytics_id: str
    subscription_id: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Project:
    key: str
    analytics_id: str
    org: Org
    created_at: dt.datetime


@dataclass(frozen=True)
class User:
    key: str
    analytics_id: str
    login: str
    created_at: dt.datetime


def base_orgs(seed: int, scale: float) -> list[Org]:
    return list(_base_orgs(seed, scale))


@functools.lru_cache(maxsize=4)
def _base_orgs(seed: int, scale: float) -> tuple[Org, ...]:
    s = Sizes.of(scale)
    r = _rng(seed, scale, "base-orgs")
    out = []
    for i in range(s.organizations):
        created = EPOCH + dt.timedelta(seconds=r.randrange(0, 300 * 86_400))
        out.append(Org(f"b{i}", analytics_id(seed, "org", f"b{i}"), str(FIRST_SUBSCRIPTION_ID + i), created))
    return tuple(out)


def week_orgs(seed: int, scale: float, day: dt.date) -> list[Org]:
    """The organizations that exist around ``day`` for the day's generators: the base population
    and the newcomers of the week before and of the day itself (a function of the day alone)."""
    orgs = base_orgs(seed, scale)
    for back in range(7, -1, -1):
        orgs += new_orgs(seed, scale, day - dt.timedelta(days=back))
    return orgs


def new_orgs(seed: int, scale: float, day: dt.date) -> list[Org]:
    s = Sizes.of(scale)
    r = _rng(seed, scale, "new-orgs", day)
    start = _day_start(day)
    out = []
    for k in range(s.new_orgs_per_day):
        key = f"{day.isoformat()}-{k}"
        sub = str(FIRST_SUBSCRIPTION_ID + 1_000_000 + (day.toordinal() % 10_000) * 100 + k)
        out.append(Org(key, analytics_id(seed, "org", key), sub, start + dt.timedelta(seconds=r.randrange(0, 43_200))))
    return out


def base_projects(seed: int, scale: float, orgs: list[Org]) -> list[Project]:
    s = Sizes.of(scale)
    r = _rng(seed, scale, "base-projects")
    out = []
    for o in orgs:
        for j in range(1 + r.randrange(2 * s.projects_per_org - 1)):
            key = f"{o.key}-p{j}"
            created = o.created_at + dt.timedelta(seconds=r.randrange(0, 30 * 86_400))
            out.append(Project(key, analytics_id(seed, "project", key), o, min(created, EPOCH + dt.timedelta(days=360))))
    return out


def new_projects(seed: int, scale: float, day: dt.date) -> list[Project]:
    """The day's new projects: about a sixth in the day's new organizations, the rest in the
    base organizations and the newcomers of the week before. A function of the day alone, so
    a project has the same organization whichever day's seeding or jobs generate it."""
    s = Sizes.of(scale)
    r = _rng(seed, scale, "new-projects", day)
    start = _day_start(day)
    todays = new_orgs(seed, scale, day)
    orgs = week_orgs(seed, scale, day)
    out = []
    for k in range(s.new_projects_per_day):
        o = todays[k % len(todays)] if k % 6 == 0 else r.choice(orgs)
        key = f"{day.isoformat()}-p{k}"
        created = max(o.created_at, start) + dt.timedelta(seconds=r.randrange(0, 36_000))
        out.append(Project(key, analytics_id(seed, "project", key), o, created))
    return out


def base_users(seed: int, scale: float) -> list[User]:
    s = Sizes.of(scale)
    r = _rng(seed, scale, "base-users")
    return [
        User(f"b{i}", analytics_id(seed, "user", f"b{i}"), f"user{i}", EPOCH + dt.timedelta(seconds=r.randrange(0, 330 * 86_400)))
        for i in range(s.users)
    ]


def new_users(seed: int, scale: float, day: dt.date) -> list[User]:
    s = Sizes.of(scale)
    r = _rng(seed, scale, "new-users", day)
    start = _day_start(day)
    return [
        User(f"{day.isoformat()}-{k}", analytics_id(seed, "user", f"{day.isoformat()}-{k}"),
             f"dev-{day.strftime('%Y%m%d')}-{k}", start + dt.timedelta(seconds=r.randrange(0, 36_000)))
        for k in range(s.new_users_per_day)
    ]


def is_late(seed: int, kind: str, key: str) -> bool:
    """Whether a new entity's document reaches MongoDB only the day after it is created: the
    day's first newcomer of each kind always (so every day has the case), then 1 in 4."""
    return key.endswith(("-0", "-p0")) or _digest(seed, "late", kind, key)[0] < 64


def email_of(user: User) -> str:
    """The user's email (personal data: only its keyed hash may reach the lake)."""
    return f"{user.login}@example.com"


def org_doc(seed: int, o: Org, updated_at: dt.datetime, plan: str | None = None) -> dict:
    r = _rng(seed, 0, "org-doc", o.key)
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
    r = _rng(seed, 0, "project-doc", p.key)
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
    if _digest(seed, "user-mess", u.key)[0] < 3:  # ~1%: an upper-case UUID (converts to lower case)
        doc["analytics_id"] = u.analytics_id.upper()
    return doc


# --------------------------------------------------------------------------- jobs


def _population(seed: int, scale: float, day: dt.date):
    """Who can run jobs on ``day``: the base population plus the last week's newcomers
    (late ones included: their jobs arrive before their documents do)."""
    projects = base_projects(seed, scale, base_orgs(seed, scale))
    users = base_users(seed, scale)
    for back in range(7, -1, -1):
        d = day - dt.timedelta(days=back)
        projects += new_projects(seed, scale, d)
        users += new_users(seed, scale, d)
    return week_orgs(seed, scale, day), projects, users


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
    r = _rng(seed, scale, "jobs", day)
    orgs, projects, users = _population(seed, scale, day)
    by_org: dict[str, list[Project]] = {}
    for p in projects:
        by_org.setdefault(p.org.key, []).append(p)
    active_orgs = [o for o in orgs if o.key in by_org]
    # A few busy organizations and many quiet ones (a Zipf-like skew).
    weights = [1.0 / (1 + (i % 500)) ** 0.8 for i in range(len(active_orgs))]
    start = _day_start(day)
    n = round(s.jobs_per_day * (0.6 if day.weekday() >= 5 else 1.0))
    chosen = r.choices(active_orgs, weights, k=n)
    for i, o in enumerate(chosen):
        p = r.choice(by_org[o.key])
        u = users[r.randrange(len(users))] if r.random() < 0.9 else users[-1 - r.randrange(min(len(users), 8 * s.new_users_per_day))]
        ex_i = r.choices(range(len(RESOURCES)), RESOURCE_WEIGHTS)[0]
        executor, os_, classes, rate = RESOURCES[ex_i]
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


def seed_day(db, day: dt.date, seed: int = SEED, scale: float = 1.0) -> dict:
    """Write what happened on ``day`` (UTC) into MongoDB. Idempotent: a day already seeded is
    skipped (re-writing it would undo what later days changed in its documents).

    - new organizations, projects and users of the day (late ones are held back a day), and
      the previous day's late projects and users;
    - the day's jobs, as they stand at the end of the day;
    - the previous day's over-midnight jobs finish (``updated_at`` in this day);
    - corrections: ~0.5% of the previous day's jobs get their credits recomputed and ~0.1%
      of the jobs two days back are re-classified (outcome changed);
    - some organizations change plan and some users change login (``updated_at`` in this day).
    """
    key = f"day:{day.isoformat()}"
    if _logged(db, key, seed, scale):
        return {"skipped": True}
    seed_base(db, seed, scale)
    _ensure_indexes(db)
    start = _day_start(day)
    r = _rng(seed, scale, "day-updates", day)
    prev = day - dt.timedelta(days=1)

    # entities: today's on-time newcomers; yesterday's late ones arrive now. Newcomers of the
    # week before are inserted if missing (the jobs of a day reference the last week's newcomers,
    # whether or not those days were seeded); present documents are never overwritten.
    arrival = start + dt.timedelta(hours=1)
    n_orgs = n_projects = n_users = 0
    # So are the newcomers of every day since VENDOR_FIRST_DAY: the vendors bill those
    # organizations and Amplitude records those users, and each of them exists in MongoDB.
    # (once: when the day before was seeded, they are in already).
    first = day - dt.timedelta(days=7)
    if VENDOR_FIRST_DAY < first and not _logged(db, f"day:{prev.isoformat()}", seed, scale):
        first = VENDOR_FIRST_DAY
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
        jr = _rng(seed, scale, "finish", str(doc["_id"]))
        _finish(jr, current, current["started_at"].replace(tzinfo=UTC), stops, _rate(current), _pick_outcome(jr))
        db.jobs.replace_one({"_id": current["_id"]}, current)
        finished += 1

    # corrections of earlier jobs (MongoDB keeps only the latest version)
    corrected = 0
    for back, share, what in ((1, 0.005, "credits"), (2, 0.001, "outcome")):
        d = day - dt.timedelta(days=back)
        cr = _rng(seed, scale, "corrections", day, back)
        lo, hi = _day_start(d), _day_start(d) + dt.timedelta(days=1)
        ids = [x["_id"] for x in db.jobs.find({"started_at": {"$gte": _naive(lo), "$lt": _naive(hi)},
                                               "outcome": {"$ne": "running"}}, {"_id": 1})]
        ids.sort()
        for oid in cr.sample(ids, k=round(len(ids) * share)) if ids else []:
            when = start + dt.timedelta(seconds=cr.randrange(0, 86_400))
            if what == "credits":
                doc = db.jobs.find_one({"_id": oid})
                credits = int(Decimal(str(doc.get("credits_used") or 0))) + cr.randrange(1, 20)
                upd = {"credits_used": credits, "updated_at": _naive(when)}
            else:
                upd = {"outcome": cr.choice(["failed", "infrastructure_fail", "canceled"]), "updated_at": _naive(when)}
            db.jobs.update_one({"_id": oid}, {"$set": upd})
            corrected += 1

    # the day's jobs
    jobs = [doc for doc, _ in day_jobs(seed, scale, day)]
    _upsert(db.jobs, jobs)
    db[SEED_LOG].insert_one({"_id": key, "seed": seed, "scale": scale})
    return {"jobs": len(jobs), "finished": finished, "corrected": corrected, "new_organizations": n_orgs,
            "new_projects": n_projects, "new_users": n_users}


def seed_days(db, days: list[dt.date], seed: int = SEED, scale: float = 1.0) -> list[dict]:
    """``seed_base`` then ``seed_day`` for each day, oldest first."""
    seed_base(db, seed, scale)
    return [seed_day(db, d, seed, scale) for d in sorted(days)]


# =========================================================================== vendors
# What the Stripe, Amplitude and Chargify stand-ins (dw.local.vendors) serve: pure functions
# of (seed, scale, time), built on the organizations, projects and users above, so the
# vendors' data joins the MongoDB data:
#
# - every organization has one Chargify subscription whose ``id`` is the int form of the
#   organization's ``subscription_id`` (what its jobs carry) and one Chargify customer whose
#   ``reference`` is the organization's ``analytics_id``; the subscription changes plan over
#   time (``plan_history``): each change moves ``updated_at``, so an SCD2 dimension has
#   versions to track;
# - every organization has one Stripe customer (``metadata.analytics_id``) and one Stripe
#   subscription (``metadata.billing_subscription_id`` = the Chargify id); invoices and charges
#   are created per day (monthly renewals on the organization's anchor day plus one-off
#   credit purchases), finalized when created;
# - Amplitude events are sessions of the users above in the organizations and projects
#   above, exported by the hour of their ``server_upload_time``.
#
# Mutable objects (Chargify subscriptions and customers, Stripe subscriptions) are served
# as they stand at a moment ``now``: the stand-ins take it from their clock.

VENDOR_FIRST_DAY = BASE_DAY + dt.timedelta(days=1)  # new organizations exist from this day on
CHARGIFY_CUSTOMER_OFFSET = 30_000_000
CHARGIFY_TZ = dt.timezone(dt.timedelta(hours=-5))  # the Chargify site's time zone (timestamps are served in it)
# product handle -> (name, monthly price in cents, USD)
CHARGIFY_PRODUCTS = {
    "free": ("Free", 0),
    "performance": ("Performance", 1_500),
    "scale": ("Scale", 20_000),
    "server": ("Server", 35_000),
}
CURRENCIES = [("usd", 0.80), ("eur", 0.12), ("gbp", 0.08)]
FX = {"usd": 1.0, "eur": 0.92, "gbp": 0.79}
INVOICE_STATUSES = [("paid", 0.86), ("open", 0.07), ("void", 0.03), ("uncollectible", 0.04)]
AMPLITUDE_PROJECT_ID = 314159
AMPLITUDE_EVENT_TYPES = [
    ("pipeline_viewed", 0.30), ("job_log_viewed", 0.22), ("dashboard_viewed", 0.15), ("insights_viewed", 0.08),
    ("rerun_clicked", 0.08), ("settings_changed", 0.05), ("project_followed", 0.04), ("context_created", 0.03),
    ("plan_page_viewed", 0.05),
]
# event types that are about the organization, never a project
AMPLITUDE_ORG_EVENTS = {"dashboard_viewed", "settings_changed", "context_created", "plan_page_viewed"}
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _pick(r: random.Random, weighted: list[tuple[str, float]]) -> str:
    return r.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def vendor_id(seed: int, prefix: str, *key, n: int = 14) -> str:
    """A Stripe-style object id (``cus_…``, ``in_…``), stable for ``key``."""
    x = int.from_bytes(_digest(seed, "vendor-id", prefix, *key)[:16], "big")
    out = []
    for _ in range(n):
        x, d = divmod(x, 62)
        out.append(_B62[d])
    return f"{prefix}_{''.join(out)}"


def vendor_orgs(seed: int, scale: float, through: dt.date) -> list[Org]:
    """Every organization that exists by the end of ``through``: the base population and the
    new organizations of each day from VENDOR_FIRST_DAY through ``through``."""
    orgs = list(base_orgs(seed, scale))
    d = VENDOR_FIRST_DAY
    while d <= through:
        orgs += new_orgs(seed, scale, d)
        d += dt.timedelta(days=1)
    return orgs


def org_currency(seed: int, o: Org) -> str:
    return _pick(_rng(seed, 0, "currency", o.key), CURRENCIES)


@dataclass(frozen=True)
class PlanVersion:
    at: dt.datetime  # when this version began (the subscription's updated_at from then on)
    handle: str  # Chargify product handle
    state: str  # trialing, active, past_due, canceled


def plan_history(seed: int, scale: float, o: Org, until: dt.datetime) -> list[PlanVersion]:
    """The organization's subscription versions that began at or before ``until``, oldest
    first. A pure function: the versions before ``until`` do not depend on ``until``."""
    r = _rng(seed, scale, "plan-history", o.key)
    handles = list(CHARGIFY_PRODUCTS)
    handle = r.choices(handles, [0.55, 0.30, 0.10, 0.05])[0]
    state = "active" if handle == "free" else "trialing"
    out = [PlanVersion(o.created_at, handle, state)] if o.created_at <= until else []
    t = o.created_at
    if state == "trialing":
        t = t + dt.timedelta(days=14)
        state = "active"
        if t <= until:
            out.append(PlanVersion(t, handle, state))
    while True:
        t = t + dt.timedelta(seconds=3_600 + int(r.expovariate(1 / (25 * 86_400))))
        x = r.random()
        if t > until:
            return out
        if state == "past_due":
            state = "active" if x < 0.9 else "canceled"
        elif x < 0.70:  # a plan change
            handle = r.choice([h for h in handles if h != handle])
        elif x < 0.88:  # an update that changes no tracked attribute (billing details)
            pass
        elif x < 0.99:
            state = "past_due"
        else:
            state = "canceled"
        out.append(PlanVersion(t, handle, state))
        if state == "canceled":
            return out


def _chargify_time(ts: dt.datetime) -> str:
    return ts.astimezone(CHARGIFY_TZ).replace(microsecond=0).isoformat()


def _customer_history(seed: int, scale: float, o: Org, until: dt.datetime) -> list[dt.datetime]:
    r = _rng(seed, scale, "customer-history", o.key)
    out, t = [], o.created_at
    while t <= until:
        out.append(t)
        t = t + dt.timedelta(seconds=3_600 + int(r.expovariate(1 / (90 * 86_400))))
    return out


def chargify_customer(seed: int, scale: float, o: Org, now: dt.datetime) -> dict | None:
    """The organization's Chargify customer as it stands at ``now`` (None before it exists)."""
    versions = _customer_history(seed, scale, o, now)
    if not versions:
        return None
    n = len(versions)
    return {
        "id": int(o.subscription_id) + CHARGIFY_CUSTOMER_OFFSET,
        "first_name": "Billing",
        "last_name": f"Contact {n}",
        "email": f"billing{n}@org-{o.key}.example.com",
        "cc_emails": None,
        "organization": f"org-{o.key}",
        "reference": o.analytics_id,
        "created_at": _chargify_time(o.created_at),
        "updated_at": _chargify_time(versions[-1]),
        "locale": None,
        "portal_customer_created_at": None,
    }


def chargify_subscription(seed: int, scale: float, o: Org, now: dt.datetime) -> dict | None:
    """The organization's Chargify subscription as it stands at ``now`` (None before it exists)."""
    versions = plan_history(seed, scale, o, now)
    if not versions:
        return None
    cur = versions[-1]
    name, price = CHARGIFY_PRODUCTS[cur.handle]
    anchor = o.created_at
    months = (now.year - anchor.year) * 12 + now.month - anchor.month + 1
    period_end = _add_months(anchor, max(months, 1))
    trial = versions[0].state == "trialing"
    return {
        "id": int(o.subscription_id),
        "state": cur.state,
        "balance_in_cents": 0,
        "product_price_in_cents": price,
        "product_version_number": 1,
        "current_period_ends_at": _chargify_time(period_end),
        "next_assessment_at": _chargify_time(period_end),
        "trial_started_at": _chargify_time(o.created_at) if trial else None,
        "trial_ended_at": _chargify_time(versions[1].at) if trial and len(versions) > 1 else None,
        "activated_at": _chargify_time(versions[1].at if trial and len(versions) > 1 else o.created_at),
        "expires_at": None,
        "created_at": _chargify_time(o.created_at),
        "updated_at": _chargify_time(cur.at),
        "cancellation_message": "Customer requested cancellation" if cur.state == "canceled" else None,
        "canceled_at": _chargify_time(cur.at) if cur.state == "canceled" else None,
        "payment_collection_method": "automatic",
        "customer": chargify_customer(seed, scale, o, now),
        "product": {
            "id": 7_000 + list(CHARGIFY_PRODUCTS).index(cur.handle),
            "name": name,
            "handle": cur.handle,
            "price_in_cents": price,
            "interval": 1,
            "interval_unit": "month",
            "product_family": {"id": 2_526, "name": "Platform", "handle": "platform"},
        },
    }


def _add_months(ts: dt.datetime, months: int) -> dt.datetime:
    import calendar

    y, m = divmod(ts.month - 1 + months, 12)
    y, m = ts.year + y, m + 1
    return ts.replace(year=y, month=m, day=min(ts.day, calendar.monthrange(y, m)[1]))


def _epoch(ts: dt.datetime) -> int:
    return int(ts.timestamp())


_STRIPE_STATUS = {"trialing": "trialing", "active": "active", "past_due": "past_due", "canceled": "canceled"}


def stripe_customer(seed: int, o: Org) -> dict:
    cur = org_currency(seed, o)
    return {
        "id": vendor_id(seed, "cus", o.key),
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": _epoch(o.created_at),
        "currency": cur,
        "delinquent": False,
        "description": f"org-{o.key}",
        "email": f"billing@org-{o.key}.example.com",
        "invoice_prefix": vendor_id(seed, "ip", o.key, n=8)[3:].upper(),
        "livemode": False,
        "metadata": {"analytics_id": o.analytics_id, "billing_subscription_id": o.subscription_id},
        "name": f"org-{o.key}",
        "preferred_locales": [],
        "tax_exempt": "none",
    }


def stripe_subscription(seed: int, scale: float, o: Org, now: dt.datetime) -> dict | None:
    versions = plan_history(seed, scale, o, now)
    if not versions:
        return None
    cur = versions[-1]
    currency = org_currency(seed, o)
    price = round(CHARGIFY_PRODUCTS[cur.handle][1] * FX[currency])
    months = (now.year - o.created_at.year) * 12 + now.month - o.created_at.month
    start = _add_months(o.created_at, max(months, 0))
    if start > now:
        start = _add_months(o.created_at, max(months - 1, 0))
    sub_id = vendor_id(seed, "sub", o.key)
    return {
        "id": sub_id,
        "object": "subscription",
        "billing_cycle_anchor": _epoch(o.created_at),
        "cancel_at_period_end": False,
        "canceled_at": _epoch(cur.at) if cur.state == "canceled" else None,
        "collection_method": "charge_automatically",
        "created": _epoch(o.created_at),
        "currency": currency,
        "current_period_start": _epoch(start),
        "current_period_end": _epoch(_add_months(start, 1)),
        "customer": vendor_id(seed, "cus", o.key),
        "ended_at": _epoch(cur.at) if cur.state == "canceled" else None,
        "items": {
            "object": "list",
            "data": [{
                "id": vendor_id(seed, "si", o.key),
                "object": "subscription_item",
                "price": {"id": f"price_{cur.handle}_{currency}", "object": "price", "currency": currency,
                          "unit_amount": price, "product": f"prod_{cur.handle}",
                          "recurring": {"interval": "month", "interval_count": 1}},
                "quantity": 1,
                "subscription": sub_id,
            }],
            "has_more": False,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "livemode": False,
        "metadata": {"billing_subscription_id": o.subscription_id, "plan": cur.handle},
        "start_date": _epoch(o.created_at),
        "status": _STRIPE_STATUS[cur.state],
        "trial_end": _epoch(o.created_at + dt.timedelta(days=14)) if versions[0].state == "trialing" else None,
    }


def _anchor_day(o: Org, day: dt.date) -> bool:
    import calendar

    last = calendar.monthrange(day.year, day.month)[1]
    return day.day == min(o.created_at.day, last)


def stripe_day(seed: int, scale: float, day: dt.date) -> tuple[list[dict], list[dict]]:
    """The Stripe invoices and charges created on ``day`` (UTC), in creation order.

    Monthly renewals of every non-free, non-trialing, non-canceled subscription on its
    anchor day, plus one-off credit purchases. Invoices are finalized when created (their
    status is final); a paid invoice has one succeeded charge, some of them (partly)
    refunded; an uncollectible one a failed charge."""
    start = _day_start(day)
    orgs = [o for o in vendor_orgs(seed, scale, day) if o.created_at < start]
    r = _rng(seed, scale, "stripe-day", day)
    bills: list[tuple[dt.datetime, Org, int, str, str | None]] = []  # (at, org, usd cents, reason, handle)
    for o in orgs:
        if not _anchor_day(o, day):
            continue
        at = start + dt.timedelta(seconds=o.created_at.hour * 3_600 + o.created_at.minute * 60 + o.created_at.second)
        versions = plan_history(seed, scale, o, at)
        cur = versions[-1]
        if cur.state in ("trialing", "canceled"):
            continue
        bills.append((at, o, CHARGIFY_PRODUCTS[cur.handle][1], "subscription_cycle", cur.handle))
    for _ in range(max(1, round(len(orgs) * 0.05))):
        o = r.choice(orgs)
        at = start + dt.timedelta(seconds=r.randrange(0, 86_400))
        bills.append((at, o, r.choice([2_500, 5_000, 10_000, 25_000]), "manual", None))
    bills.sort(key=lambda b: (b[0], b[1].key))
    invoices, charges = [], []
    for i, (at, o, usd, reason, handle) in enumerate(bills):
        ir = _rng(seed, scale, "invoice", day, i)
        currency = org_currency(seed, o)
        amount = round(usd * FX[currency])
        status = "paid" if amount == 0 else _pick(ir, INVOICE_STATUSES)
        paid = amount if status == "paid" else 0
        inv_id = vendor_id(seed, "in", day, i)
        cus = vendor_id(seed, "cus", o.key)
        sub = vendor_id(seed, "sub", o.key) if reason == "subscription_cycle" else None
        charge_id = vendor_id(seed, "ch", day, i) if (status == "paid" and amount) or status == "uncollectible" else None
        invoices.append({
            "id": inv_id,
            "object": "invoice",
            "amount_due": amount,
            "amount_paid": paid,
            "amount_remaining": 0 if status in ("paid", "void") else amount,
            "attempt_count": 1 if charge_id else 0,
            "attempted": charge_id is not None,
            "billing_reason": reason,
            "charge": charge_id,
            "collection_method": "charge_automatically",
            "created": _epoch(at),
            "currency": currency,
            "customer": cus,
            "customer_email": f"billing@org-{o.key}.example.com",
            "description": None if reason == "subscription_cycle" else "Credit purchase",
            "livemode": False,
            "metadata": {"billing_subscription_id": o.subscription_id},
            "number": f"{vendor_id(seed, 'ip', o.key, n=8)[3:].upper()}-{day.strftime('%y%m%d')}{i:04d}",
            "paid": status == "paid",
            "period_end": _epoch(at),
            "period_start": _epoch(_add_months(at, -1)) if sub else _epoch(at),
            "status": status,
            "subscription": sub,
            "subscription_details": {"metadata": {"billing_subscription_id": o.subscription_id, "plan": handle}}
            if sub else None,
            "total": amount,
        })
        if charge_id:
            ok = status == "paid"
            refunded = 0
            if ok and ir.random() < 0.06:
                refunded = amount if ir.random() < 0.5 else max(1, amount // ir.choice([2, 4, 10]))
            charges.append({
                "id": charge_id,
                "object": "charge",
                "amount": amount,
                "amount_captured": amount if ok else 0,
                "amount_refunded": refunded,
                "captured": ok,
                "created": _epoch(at),
                "currency": currency,
                "customer": cus,
                "failure_code": None if ok else "card_declined",
                "failure_message": None if ok else "Your card was declined.",
                "invoice": inv_id,
                "livemode": False,
                "metadata": {},
                "paid": ok,
                "refunded": refunded == amount and refunded > 0,
                "status": "succeeded" if ok else "failed",
            })
    return invoices, charges


def _amplitude_time(ts: dt.datetime) -> str:
    t = ts.astimezone(UTC)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}"


def _projects_by_org(projects: list[Project]) -> dict[str, list[Project]]:
    out: dict[str, list[Project]] = {}
    for p in projects:
        out.setdefault(p.org.key, []).append(p)
    return out


def amplitude_day(seed: int, scale: float, day: dt.date) -> list[dict]:
    """The Amplitude events of the sessions that start on ``day`` (UTC), in event order.

    Events carry the user's analytics id (``user_id``; ~1% anonymous, ~0.5% upper-case),
    the organization's (``event_properties.organization_analytics_id`` and
    ``groups.organization``) and the project's where there is one. ``server_upload_time``
    follows ``event_time`` by seconds, sometimes minutes or hours (offline clients), so an
    event can be exported in a later hour, or day, than it happened."""
    import itertools

    s = Sizes.of(scale)
    orgs, projects, users = _population(seed, scale, day)
    by_org = _projects_by_org(projects)
    active = [o for o in orgs if o.key in by_org]
    r = _rng(seed, scale, "amplitude", day)
    cum = list(itertools.accumulate(1.0 / (1 + (i % 500)) ** 0.8 for i in range(len(active))))
    types = [t for t, _ in AMPLITUDE_EVENT_TYPES]
    type_cum = list(itertools.accumulate(w for _, w in AMPLITUDE_EVENT_TYPES))
    start = _day_start(day)
    n_sessions = round(max(30, round(12_000 * scale)) * (0.6 if day.weekday() >= 5 else 1.0))
    events = []
    amp_ids = {}
    for k in range(n_sessions):
        o = r.choices(active, cum_weights=cum)[0]
        u = users[r.randrange(len(users))] if r.random() < 0.9 else users[-1 - r.randrange(min(len(users), 8 * s.new_users_per_day))]
        project = r.choice(by_org[o.key])
        t = start + dt.timedelta(seconds=r.randrange(0, 86_400), microseconds=r.randrange(0, 1000) * 1000)
        session_id = int(t.timestamp() * 1000)
        device = str(uuid.UUID(bytes=_digest(seed, "device", u.key)[:16], version=4))
        user_id: str | None = u.analytics_id
        x = r.random()
        if x < 0.01:
            user_id = None
        elif x < 0.015:
            user_id = u.analytics_id.upper()
        for j in range(1 + min(int(r.expovariate(1 / 7)), 60)):
            etype = r.choices(types, cum_weights=type_cum)[0]
            props = {"organization_analytics_id": o.analytics_id}
            if etype not in AMPLITUDE_ORG_EVENTS:
                props["project_analytics_id"] = project.analytics_id
                props["project_name"] = f"repo-{project.key}"
            y = r.random()
            delay = (dt.timedelta(milliseconds=r.randrange(200, 5_000)) if y < 0.95
                     else dt.timedelta(seconds=r.randrange(60, 1_800)) if y < 0.997
                     else dt.timedelta(seconds=r.randrange(3_600, 6 * 3_600)))
            upload = t + delay
            ident = _digest(seed, "event", day, k, j)
            event_time, upload_time = _amplitude_time(t), _amplitude_time(upload)
            events.append({
                "$insert_id": str(uuid.UUID(bytes=ident[16:32], version=4)),
                "amplitude_id": amp_ids.setdefault(u.key, int.from_bytes(_digest(seed, "amp-user", u.key)[:6], "big")),
                "app": AMPLITUDE_PROJECT_ID,
                "client_event_time": event_time,
                "client_upload_time": upload_time,
                "country": "United States",
                "device_id": device,
                "event_id": j + 1,
                "event_properties": props,
                "event_time": event_time,
                "event_type": etype,
                "groups": {"organization": o.analytics_id},
                "library": "amplitude-ts/2.11.0",
                "os_name": "Chrome",
                "platform": "Web",
                "server_received_time": upload_time,
                "server_upload_time": upload_time,
                "session_id": session_id,
                "user_id": user_id,
                "user_properties": {"vcs_type": VCS[ident[0] % len(VCS)]},
                "uuid": str(uuid.UUID(bytes=ident[:16], version=4)),
            })
            t = t + dt.timedelta(seconds=1 + int(r.expovariate(1 / 45)), microseconds=r.randrange(0, 1000) * 1000)
    events.sort(key=lambda e: (e["event_time"], e["uuid"]))
    return events
