"""The source generator's world is consistent whichever day generates it: the same project
belongs to the same organization in every day's population (the jobs of day D and the project
documents seeded on another day agree). That every organization a vendor bills exists in
MongoDB is checked end to end in tests/test_vendor_warehouse.py."""
from __future__ import annotations

import datetime as dt

from dw.local import generate as g

SCALE = 0.1


def test_a_project_has_one_organization_whichever_day_generates_it():
    owner: dict[str, str] = {}
    strays = []
    for k in range(9):
        day = dt.date(2024, 3, 4) + dt.timedelta(days=k)
        _, projects, _ = g._population(g.SEED, SCALE, day)
        for p in projects:
            if owner.setdefault(p.key, p.org.key) != p.org.key:
                strays.append((day, p.key, owner[p.key], p.org.key))
    assert owner and not strays, strays[:5]

