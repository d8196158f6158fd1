"""Dimension load statements, run by ``dw.warehouse.load`` on the stage: the SCD1 (and
insert-only) upsert and the SCD2 rebuild of each key's versions (docs/decisions/0005, 0011)."""

from __future__ import annotations

from psycopg import sql

from dw.config import TableConfig
from dw.warehouse.sql import (
    LOADED_AT,
    STAGE,
    dimension_not_null,
    ids,
    members,
    null_safe_eq,
    row,
    stage_not_null,
    surrogate_key,
    table_ident,
)


def natural_key_match(cfg: TableConfig, a: str, b: str) -> sql.Composed:
    """Rows ``a`` and ``b`` of the same dimension shape have the same natural key."""
    return sql.SQL(" AND ").join(
        null_safe_eq(sql.Identifier(a, k), sql.Identifier(b, k), not stage_not_null(cfg, k) or not dimension_not_null(cfg, k), True)
        for k in cfg.natural_key
    )


def _latest_per_key(cfg: TableConfig) -> sql.Composed:
    """The stage deduplicated to one row per natural key: the latest version, ties broken
    by the attribute values (deterministic whatever the extract's row order)."""
    order = [sql.SQL("{} ASC").format(sql.Identifier("s", k)) for k in cfg.natural_key]
    if cfg.version_column:
        order.append(sql.SQL("{} DESC NULLS LAST").format(sql.Identifier("s", cfg.version_column)))
    order += [sql.SQL("{} DESC NULLS LAST").format(sql.Identifier("s", c.name)) for c in cfg.attributes]
    return sql.SQL("SELECT DISTINCT ON ({}) {} FROM {} AS s ORDER BY {}").format(
        ids(cfg.natural_key, "s"), ids(cfg.column_names, "s"), STAGE, sql.SQL(", ").join(order)
    )


def dimension_upsert(cfg: TableConfig) -> sql.Composed:
    """SCD1 (and insert-only) dimension load from ``stage``; returns (inserted, updated).

    The latest row per natural key (``src``) updates the row of its key where something changed
    and the source version is not older (never the Unknown or Not applicable member), and is inserted, in ``id``
    order, where its key is new: an UPDATE and an INSERT ... WHERE NOT EXISTS in one statement.
    Both see the same snapshot, so every key takes one path, and loads of a table serialize on
    their advisory lock (0005; why not ON CONFLICT: docs/decisions/0017-fact-load-speed.md)."""
    attrs = [c.name for c in cfg.attributes]
    ver = cfg.version_column
    payload = list(cfg.natural_key) + attrs + ([ver] if ver else [])
    insert_cols = ["id"] + payload + ["dw_created_at", "dw_updated_at"]
    t = table_ident(cfg)
    changing = attrs + ([ver] if ver else [])
    if cfg.insert_only or not changing:
        update, updated = sql.SQL(""), sql.SQL("0::bigint")
    else:
        sets = [sql.SQL("{c} = s.{c}").format(c=sql.Identifier(c)) for c in changing]
        sets.append(sql.SQL("dw_updated_at = {}").format(LOADED_AT))
        where = [
            natural_key_match(cfg, "d", "s"),
            sql.SQL("d.id NOT IN {}").format(members()),  # the fixed members are never touched
            sql.SQL("{} IS DISTINCT FROM {}").format(row(changing, "d"), row(changing, "s")),
        ]
        if ver:  # never go back to an older source version (a backfill run out of order)
            where.append(sql.SQL("({d} IS NULL OR {e} >= {d})").format(d=sql.Identifier("d", ver), e=sql.Identifier("s", ver)))
        update = sql.SQL("u AS (UPDATE {t} AS d SET {sets} FROM src AS s WHERE {where} RETURNING 1),\n").format(
            t=t, sets=sql.SQL(", ").join(sets), where=sql.SQL(" AND ").join(where))
        updated = sql.SQL("(SELECT count(*) FROM u)")
    return sql.SQL(
        "WITH src AS ({latest}),\n{update}"
        "i AS (INSERT INTO {t} ({cols})\n"
        "  SELECT * FROM (SELECT {id} AS id, {payload}, {at} AS dw_created_at, {at} AS dw_updated_at FROM src AS s\n"
        "    WHERE NOT EXISTS (SELECT 1 FROM {t} AS d WHERE {match})) AS n ORDER BY n.id RETURNING 1)\n"
        "SELECT (SELECT count(*) FROM i), {updated}"
    ).format(
        latest=_latest_per_key(cfg), update=update, t=t, cols=ids(insert_cols), id=surrogate_key(cfg, "s"),
        payload=ids(payload, "s"), at=LOADED_AT, match=natural_key_match(cfg, "d", "s"), updated=updated,
    )


# SCD2: the history of every key in the stage is rebuilt from all its observations, then merged.
SCD2_OBS = sql.Identifier("scd2_obs")
SCD2_KEYS = sql.Identifier("scd2_keys")


def scd2_observe(cfg: TableConfig) -> list[sql.Composed]:
    """Before the rebuild (docs/decisions/0021): the day's observations (the stage: the day's
    partition) replace those the warehouse recorded for the day (``%(run_date)s``) in
    ``dw.<table>_observations``, then the stage becomes every recorded observation of the keys
    the day had or has, what ``scd2_statements`` rebuilds from."""
    from dw.warehouse.ddl import observations_ident

    o = observations_ident(cfg)
    nk = ids(cfg.natural_key)
    cols = ids(cfg.column_names)
    return [
        sql.SQL("CREATE TEMP TABLE {k} ON COMMIT DROP AS\n"
                "SELECT {nk} FROM {o} WHERE dt = %(run_date)s::date UNION SELECT {nk} FROM {stage}").format(
            k=SCD2_KEYS, nk=nk, o=o, stage=STAGE),
        sql.SQL("DELETE FROM {} WHERE dt = %(run_date)s::date").format(o),
        sql.SQL("INSERT INTO {o} (dt, {cols}) SELECT DISTINCT %(run_date)s::date, {cols} FROM {stage}").format(
            o=o, cols=cols, stage=STAGE),
        sql.SQL("DELETE FROM {}").format(STAGE),
        sql.SQL("INSERT INTO {stage} ({cols}) SELECT {ocols} FROM {o} AS o\n"
                "WHERE EXISTS (SELECT 1 FROM {k} AS k WHERE {match})").format(
            stage=STAGE, cols=cols, ocols=ids(cfg.column_names, "o"), o=o, k=SCD2_KEYS,
            match=natural_key_match(cfg, "k", "o")),
    ]
SCD2_VERSIONS = sql.Identifier("scd2_versions")


def scd2_statements(cfg: TableConfig) -> dict[str, sql.Composed]:
    """The SCD2 load, as named statements ``dw.warehouse.load`` runs in order (docs/decisions/0011):

    The stage holds every observation the warehouse recorded of the keys it contains
    (``scd2_observe``: the observations of every day loaded), so each key's version history is
    rebuilt from scratch and the result does not depend on the order runs happen in:

    - ``obs``: one observation per key and source version time (the fixed members' keys left out)
    - ``versions``: consecutive observations with equal tracked columns form one version; it
      starts at its first observation (the first version at '-infinity', so facts dated before
      the key was first seen resolve to it), ends where the next starts ('infinity' for the
      current one) and carries the attributes of its latest observation. Its id is
      ``md5('<table>|<key>|<valid_from>')``: a rebuilt version keeps its id.
    - ``delete``: versions of these keys that are no longer in the history
    - ``close`` then ``update``: versions whose values changed (non-current first, so the one
      current row per key is never doubled); ``open``: new versions. Each returns its row count.
    """
    t = table_ident(cfg)
    ver = cfg.version_column
    nk = list(cfg.natural_key)
    attrs = [c.name for c in cfg.attributes]
    tracked = list(cfg.tracked or attrs)
    by_key = ids(nk)
    obs_order = [sql.SQL("{} ASC").format(sql.Identifier(k)) for k in nk] + [sql.SQL("{} ASC").format(sql.Identifier(ver))]
    obs_order += [sql.SQL("{} DESC NULLS LAST").format(sql.Identifier(a)) for a in attrs]
    obs = sql.SQL(
        "CREATE TEMP TABLE {obs} ON COMMIT DROP AS\n"
        "SELECT DISTINCT ON ({key}, {ver}) {cols} FROM {stage} AS s\n"
        "WHERE NOT EXISTS (SELECT 1 FROM {t} AS u WHERE u.id IN {members} AND {match})\n"
        "ORDER BY {order}"
    ).format(
        obs=SCD2_OBS, key=by_key, ver=sql.Identifier(ver), cols=ids(cfg.column_names, "s"), stage=STAGE, t=t,
        members=members(), match=natural_key_match(cfg, "u", "s"), order=sql.SQL(", ").join(obs_order),
    )
    payload = nk + attrs + [ver]
    versions = sql.SQL(
        "CREATE TEMP TABLE {versions} ON COMMIT DROP AS\n"
        "WITH marked AS (\n"
        "  SELECT o.*, ROW({trk}) IS DISTINCT FROM lag(ROW({trk})) OVER (PARTITION BY {key} ORDER BY {ver}) AS dw_starts\n"
        "  FROM {obs} AS o),\n"
        "numbered AS (\n"
        "  SELECT m.*, sum(CASE WHEN m.dw_starts THEN 1 ELSE 0 END)\n"
        "    OVER (PARTITION BY {key} ORDER BY {ver} ROWS UNBOUNDED PRECEDING) AS dw_version\n"
        "  FROM marked AS m),\n"
        "latest AS (\n"
        "  SELECT DISTINCT ON ({key}, dw_version) n.*, min({ver}) OVER (PARTITION BY {key}, dw_version) AS dw_started\n"
        "  FROM numbered AS n ORDER BY {key}, dw_version, {ver} DESC),\n"
        "bounded AS (\n"
        "  SELECT l.*, CASE WHEN l.dw_version = 1 THEN '-infinity'::timestamptz ELSE l.dw_started END AS valid_from,\n"
        "    coalesce(lead(l.dw_started) OVER (PARTITION BY {key} ORDER BY l.dw_version), 'infinity'::timestamptz) AS valid_to\n"
        "  FROM latest AS l)\n"
        "SELECT {id} AS id, {payload}, b.valid_from, b.valid_to, b.valid_to = 'infinity'::timestamptz AS is_current\n"
        "FROM bounded AS b"
    ).format(
        versions=SCD2_VERSIONS, trk=ids(tracked), key=by_key, ver=sql.Identifier(ver), obs=SCD2_OBS,
        id=surrogate_key(cfg, "b", sql.SQL("b.valid_from")), payload=ids(payload, "b"),
    )
    # driven by the stage's keys (probing the dimension's key index), the rebuilt ids in a hashed subplan
    delete = sql.SQL(
        "WITH w AS (DELETE FROM {t} AS d USING (SELECT DISTINCT {key} FROM {versions}) AS v\n"
        "  WHERE {match} AND d.id NOT IN {members}\n"
        "  AND d.id NOT IN (SELECT k.id FROM {versions} AS k) RETURNING 1)\n"
        "SELECT count(*) FROM w"
    ).format(t=t, members=members(), key=by_key, versions=SCD2_VERSIONS, match=natural_key_match(cfg, "v", "d"))
    changing = attrs + [ver, "valid_to", "is_current"]

    def write_changed(current: bool) -> sql.Composed:
        return sql.SQL(
            "WITH w AS (UPDATE {t} AS d SET {sets}, dw_updated_at = {at}\n"
            "  FROM {versions} AS v WHERE d.id = v.id AND v.is_current = {cur} AND {dchg} IS DISTINCT FROM {vchg}\n"
            "  RETURNING 1)\n"
            "SELECT count(*) FROM w"
        ).format(
            t=t, sets=sql.SQL(", ").join(sql.SQL("{c} = v.{c}").format(c=sql.Identifier(c)) for c in changing),
            at=LOADED_AT, versions=SCD2_VERSIONS, cur=sql.Literal(current), dchg=row(changing, "d"), vchg=row(changing, "v"),
        )

    open_ = sql.SQL(
        "WITH w AS (INSERT INTO {t} (id, {cols}, valid_from, valid_to, is_current, dw_created_at, dw_updated_at)\n"
        "  SELECT v.id, {vals}, v.valid_from, v.valid_to, v.is_current, {at}, {at}\n"
        "  FROM {versions} AS v WHERE NOT EXISTS (SELECT 1 FROM {t} AS d WHERE d.id = v.id) RETURNING 1)\n"
        "SELECT count(*) FROM w"
    ).format(t=t, cols=ids(payload), vals=ids(payload, "v"), at=LOADED_AT, versions=SCD2_VERSIONS)
    return {"obs": obs, "versions": versions, "delete": delete, "close": write_changed(False),
            "update": write_changed(True), "open": open_}
