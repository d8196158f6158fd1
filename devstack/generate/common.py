"""What the MongoDB data and the vendor data share: the population (organizations, projects,
users, base and each day's newcomers), their sizes at a scale, and deterministic ids and random
generators. Everything is a pure function of ``(seed, scale, day)``."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import random
import uuid
from dataclasses import dataclass

UTC = dt.timezone.utc
SEED = 42


def _history_start() -> dt.date:
    from dw.config import lake_config

    return lake_config().history_start


# The platform's epoch (include/config/lake.yaml history_start): the base population is created
# in the year before it (from EPOCH on) and all of it exists by BASE_DAY, the day before.
HISTORY_START = _history_start()
EPOCH = dt.datetime.combine(HISTORY_START - dt.timedelta(days=365), dt.time(), UTC)
BASE_DAY = HISTORY_START - dt.timedelta(days=1)


def vendor_first_day(day: dt.date) -> dt.date:
    """The first day whose new organizations the vendors still know on ``day``: January 1 of
    its year (or the epoch, if later). Newcomers of earlier years closed their vendor accounts;
    this keeps a stack seeded years after the epoch as small as one seeded near it."""
    return max(HISTORY_START, dt.date(day.year, 1, 1))


# Chargify subscription ids: organization i (base) has subscription FIRST_SUBSCRIPTION_ID + i.
FIRST_SUBSCRIPTION_ID = 6_100_000
VCS = ["github", "bitbucket", "gitlab"]


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


def digest(*parts) -> bytes:
    return hashlib.sha256("|".join(map(str, parts)).encode()).digest()


def analytics_id(seed: int, kind: str, key) -> str:
    """A stable UUID (version 4 layout) for entity ``kind`` number/key ``key``."""
    return str(uuid.UUID(bytes=digest(seed, kind, key)[:16], version=4))

def rng(seed: int, scale: float, *parts) -> random.Random:
    return random.Random(digest(seed, scale, *parts))


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


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
    r = rng(seed, scale, "base-orgs")
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
    r = rng(seed, scale, "new-orgs", day)
    start = day_start(day)
    out = []
    for k in range(s.new_orgs_per_day):
        key = f"{day.isoformat()}-{k}"
        sub = str(FIRST_SUBSCRIPTION_ID + 1_000_000 + (day.toordinal() % 10_000) * 100 + k)
        out.append(Org(key, analytics_id(seed, "org", key), sub, start + dt.timedelta(seconds=r.randrange(0, 43_200))))
    return out


def base_projects(seed: int, scale: float, orgs: list[Org]) -> list[Project]:
    s = Sizes.of(scale)
    r = rng(seed, scale, "base-projects")
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
    r = rng(seed, scale, "new-projects", day)
    start = day_start(day)
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
    r = rng(seed, scale, "base-users")
    return [
        User(f"b{i}", analytics_id(seed, "user", f"b{i}"), f"user{i}", EPOCH + dt.timedelta(seconds=r.randrange(0, 330 * 86_400)))
        for i in range(s.users)
    ]


def new_users(seed: int, scale: float, day: dt.date) -> list[User]:
    s = Sizes.of(scale)
    r = rng(seed, scale, "new-users", day)
    start = day_start(day)
    return [
        User(f"{day.isoformat()}-{k}", analytics_id(seed, "user", f"{day.isoformat()}-{k}"),
             f"dev-{day.strftime('%Y%m%d')}-{k}", start + dt.timedelta(seconds=r.randrange(0, 36_000)))
        for k in range(s.new_users_per_day)
    ]


def is_late(seed: int, kind: str, key: str) -> bool:
    """Whether a new entity's document reaches MongoDB only the day after it is created: the
    day's first newcomer of each kind always (so every day has the case), then 1 in 4."""
    return key.endswith(("-0", "-p0")) or digest(seed, "late", kind, key)[0] < 64


def email_of(user: User) -> str:
    """The user's email (personal data: only its keyed hash may reach the lake)."""
    return f"{user.login}@example.com"


def population(seed: int, scale: float, day: dt.date):
    """Who can run jobs on ``day``: the base population plus the last week's newcomers
    (late ones included: their jobs arrive before their documents do)."""
    projects = base_projects(seed, scale, base_orgs(seed, scale))
    users = base_users(seed, scale)
    for back in range(7, -1, -1):
        d = day - dt.timedelta(days=back)
        projects += new_projects(seed, scale, d)
        users += new_users(seed, scale, d)
    return week_orgs(seed, scale, day), projects, users


