"""The source generator's world is consistent whichever day generates it: the same project
belongs to the same organization in every day's population (the jobs of day D and the project
documents seeded on another day agree). That every organization a vendor bills exists in
MongoDB is checked end to end in tests/test_vendor_warehouse.py."""
from __future__ import annotations

import datetime as dt

from devstack import generate as g

SCALE = 0.1


def test_a_project_has_one_organization_whichever_day_generates_it():
    owner: dict[str, str] = {}
    strays = []
    for k in range(9):
        day = dt.date(2024, 3, 4) + dt.timedelta(days=k)
        _, projects, _ = g.population(g.SEED, SCALE, day)
        for p in projects:
            if owner.setdefault(p.key, p.org.key) != p.org.key:
                strays.append((day, p.key, owner[p.key], p.org.key))
    assert owner and not strays, strays[:5]



def test_a_seeded_day_is_the_same_whether_or_not_the_day_before_was_seeded(stack):
    """The first seeded day of a run also inserts every newcomer since vendor_first_day(day) (and the
    last week's newcomers arrive that day, by design); the day's plan changes, drawn from the
    day's organizations, must not depend on that."""
    import pymongo

    client = pymongo.MongoClient(stack.info["mongo_uri"])
    day = dt.date(2024, 1, 20)
    names = ("gen_test_alone", "gen_test_after")
    try:
        for name in names:
            client.drop_database(name)
        g.seed_day(client[names[1]], day - dt.timedelta(days=1), scale=0.2)
        for name in names:
            g.seed_day(client[name], day, scale=0.2)
        lo = dt.datetime.combine(day, dt.time())

        def plan_changes(name):
            """The organizations created before the day and updated on it (the stand-in server
            keeps a $set datetime as text, so the time is compared as text)."""
            return sorted(str(d) for d in client[name].organizations.find({}, {"_id": 0})
                          if d["created_at"] < lo and str(d["updated_at"]) >= str(lo))

        alone, after = plan_changes(names[0]), plan_changes(names[1])
        assert alone and alone == after
        # and both hold every organization the vendors bill
        billed = {o.analytics_id for o in g.vendor_orgs(g.SEED, 0.2, day)}
        for name in names:
            assert billed <= {d["analytics_id"] for d in client[name].organizations.find({}, {"analytics_id": 1})}
    finally:
        for name in names:
            client.drop_database(name)
        client.close()


def test_drift_is_the_15th_and_a_pure_function_of_seed_scale_and_day():
    day = dt.date(2024, 3, 15)
    assert g.is_drift_day(day) and not g.is_drift_day(day - dt.timedelta(days=1))
    typed, new_field = g.drifted_jobs(42, 0.02, day)
    assert (typed, new_field) == g.drifted_jobs(42, 0.02, day)
    assert len(typed) == 3 and len(new_field) == 5 and not set(typed) & set(new_field)
    finished = {doc["_id"] for doc, stops in g.day_jobs(42, 0.02, day) if stops is None}
    assert set(typed) | set(new_field) <= finished  # finished jobs: no later step rewrites their dlc
