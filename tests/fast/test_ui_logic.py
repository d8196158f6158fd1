"""The Warehouse view's logic without servers: redaction, freshness, partition statuses, Parquet
footer counts, the lake listing, the totals SQL, and the app's refusal of requests without a login."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from dw.ui import queries, sources

TODAY = dt.date(2024, 1, 18)


def test_redact_hides_emails_url_passwords_and_secret_settings():
    text = ("COPY stage, line 3: bad value jane.doe@example.com; connect postgresql://loader:s3cr3t@db:5432/dw "
            "failed; password=hunter2 token: abc")
    out = queries.redact(text)
    for secret in ("jane.doe@example.com", "s3cr3t", "hunter2", "abc"):
        assert secret not in out, out
    assert "line 3" in out and "postgresql://loader:***@db:5432/dw" in out
    assert queries.redact(None) is None


@pytest.mark.parametrize("last,status,behind", [
    (dt.date(2024, 1, 17), "fresh", 0), (dt.date(2024, 1, 16), "late", 1), (dt.date(2024, 1, 10), "stale", 7),
    (dt.date(2024, 1, 18), "fresh", 0), (None, "stale", None),
])
def test_freshness_against_the_daily_schedule(last, status, behind):
    f = queries.freshness(last, TODAY)
    assert (f["status"], f["days_behind"], f["expected"]) == (status, behind, "2024-01-17")


def test_window_is_30_days_ending_at_end():
    days = queries.window(dt.date(2024, 1, 17))
    assert len(days) == 30 and days[-1] == dt.date(2024, 1, 17) and days[0] == dt.date(2023, 12, 19)


def test_log_url_quotes_the_run_id():
    assert queries.log_url("warehouse", "backfill__2024-01-16T00:00:00+00:00", "facts.job_ran_fact.load", 2) == (
        "/dags/warehouse/runs/backfill__2024-01-16T00%3A00%3A00%2B00%3A00/tasks/facts.job_ran_fact.load?try_number=2")
    assert queries.log_url(None, "r", "t", 1) is None


def test_compare_measures_exactly():
    out = queries.compare(["a", "b", "c"], {"a": "10", "b": "1.250", "c": None}, {"a": "10", "b": "1.25", "c": "3"})
    assert [m["agrees"] for m in out] == [True, True, False]


@pytest.mark.parametrize("rows,present,min_rows,status", [
    (None, False, 1, "missing"), (None, True, 1, "unknown"), (0, True, 0, "empty"), (0, True, 1, "empty"),
    (3, True, 5, "short"), (5, True, 5, "present"),
])
def test_partition_status(rows, present, min_rows, status):
    assert sources.classify(rows, present, min_rows) == status


def _parquet(n: int) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table({"id": list(range(n)), "s": ["x" * 30] * n}), buf)
    return buf.getvalue()


class FakeS3:
    """list_objects_v2 (paged, StartAfter) and ranged get_object over a dict of objects."""

    def __init__(self, objects: dict[str, bytes], page_size: int = 2):
        self.objects, self.page_size, self.gets = objects, page_size, 0

    def list_objects_v2(self, Bucket, Prefix, StartAfter="", ContinuationToken=None):
        keys = sorted(k for k in self.objects if k.startswith(Prefix) and k > (ContinuationToken or StartAfter))
        page = keys[: self.page_size]
        return {"Contents": [{"Key": k, "Size": len(self.objects[k]), "ETag": f'"{hash(self.objects[k])}"'} for k in page],
                "IsTruncated": len(keys) > len(page), "NextContinuationToken": page[-1] if page else None}

    def get_object(self, Bucket, Key, Range):
        self.gets += 1
        data = self.objects[Key]
        n = int(Range.split("=-")[1])
        return {"Body": io.BytesIO(data[-n:])}


def test_footer_rows_from_the_tail_only():
    data = _parquet(50_000)
    s3 = FakeS3({"k": data})
    assert sources.parquet_rows(s3, "b", "k", "e1") == 50_000
    assert sources.parquet_rows(s3, "b", "k", "e1") == 50_000 and s3.gets == 1  # cached by ETag
    assert sources.parquet_rows(FakeS3({"k": b"not parquet"}), "b", "k", "e2") is None


def test_calendar_lists_each_raw_table_once_and_classifies_days():
    days = queries.window(dt.date(2024, 1, 17))
    p = "raw/mongo/jobs/"
    objects = {f"{p}dt=2023-12-01/part-00000.parquet": _parquet(9),  # before the window: not read
               f"{p}dt=2024-01-15/part-00000.parquet": _parquet(7),
               f"{p}dt=2024-01-16/part-00000.parquet": _parquet(0),
               f"{p}dt=2024-01-17/part-00000.parquet": _parquet(2),
               f"{p}dt=2024-01-17/_tmp": b"x"}
    s3 = FakeS3(objects)
    table = {"table": "raw_mongo_jobs", "source": "mongo", "entity": "jobs", "min_rows": 5, "dag_id": "ingest_mongo"}
    (out,) = sources.calendar(s3, "lake", days, [table])
    by_day = {c["date"]: (c["status"], c["rows"]) for c in out["days"]}
    assert by_day["2024-01-14"] == ("missing", None)
    assert by_day["2024-01-15"] == ("present", 7)
    assert by_day["2024-01-16"] == ("empty", 0)
    assert by_day["2024-01-17"] == ("short", 2)
    assert s3.gets == 3


def test_raw_tables_come_from_the_source_configs():
    tables = {t["table"]: t for t in sources.raw_tables()}
    assert tables["raw_mongo_jobs"]["min_rows"] == 1 and tables["raw_mongo_jobs"]["dag_id"] == "ingest_mongo"
    assert "raw_stripe_invoices" in tables and "raw_amplitude_events" in tables


def test_totals_sql_reads_the_stage_and_the_facts_dates():
    from dw.config import warehouse_tables
    from dw.warehouse import totals

    text = totals.totals_sql(warehouse_tables()["job_ran_fact"]).as_string(None)
    assert '"dw"."load_totals"' in text and 'FROM "stage" AS s' in text and '"dw"."job_ran_fact" AS f' in text
    assert "sum(\"s\".\"minutes_used\")::text" in text and "IS DISTINCT FROM" in text


def test_endpoints_refuse_requests_without_a_login():
    from fastapi.testclient import TestClient

    from dw.ui.app import create_app

    client = TestClient(create_app())
    for path in ("/api/tables", "/api/sources", "/api/open", "/api/agreement"):
        r = client.get(path)
        assert r.status_code == 401, (path, r.status_code, r.text)
    assert client.get("/static/app.js").status_code == 200
