-- dw.date_dim: a static calendar, 2000-01-01 .. 2050-12-31, plus the unknown member (id 0,
-- every attribute NULL or 'Unknown'). Facts carry their `date` itself; date_dim joins on it.
-- Deterministic: id = md5('date_dim|YYYY-MM-DD')::uuid and fixed audit timestamps, so two
-- warehouses built at different times are identical. Names are English whatever lc_time is
-- (to_char without the TM prefix).
SET LOCAL timezone = 'UTC';
SET LOCAL datestyle = 'ISO, YMD';

CREATE TABLE dw.date_dim (
  id                  uuid        NOT NULL,
  date                date,
  year                smallint,
  quarter             smallint,
  month               smallint,
  day                 smallint,
  day_of_week         smallint,   -- ISO: 1 = Monday .. 7 = Sunday
  day_of_year         smallint,
  iso_year            smallint,
  iso_week            smallint,
  is_weekend          boolean,
  month_name          text        NOT NULL,
  day_name            text        NOT NULL,
  year_month          text,       -- 'YYYY-MM'
  first_day_of_month  date,
  last_day_of_month   date,
  dw_created_at       timestamptz NOT NULL,
  dw_updated_at       timestamptz NOT NULL,
  CONSTRAINT date_dim_pkey PRIMARY KEY (id),
  CONSTRAINT date_dim_date_key UNIQUE (date),
  CONSTRAINT date_dim_known_has_date CHECK (id = '00000000-0000-0000-0000-000000000000' OR date IS NOT NULL)
);
ALTER TABLE dw.date_dim OWNER TO dw_loader;
COMMENT ON TABLE dw.date_dim IS 'Static calendar 2000-01-01..2050-12-31 (UTC dates) plus the unknown member.';

INSERT INTO dw.date_dim
SELECT md5('date_dim|' || to_char(d, 'YYYY-MM-DD'))::uuid,
       d,
       extract(year FROM d)::smallint,
       extract(quarter FROM d)::smallint,
       extract(month FROM d)::smallint,
       extract(day FROM d)::smallint,
       extract(isodow FROM d)::smallint,
       extract(doy FROM d)::smallint,
       extract(isoyear FROM d)::smallint,
       extract(week FROM d)::smallint,
       extract(isodow FROM d) >= 6,
       to_char(d, 'FMMonth'),
       to_char(d, 'FMDay'),
       to_char(d, 'YYYY-MM'),
       date_trunc('month', d)::date,
       (date_trunc('month', d) + interval '1 month - 1 day')::date,
       timestamptz '2000-01-01 00:00:00+00',
       timestamptz '2000-01-01 00:00:00+00'
FROM generate_series(date '2000-01-01', date '2050-12-31', interval '1 day') AS g(ts),
     LATERAL (SELECT g.ts::date AS d) AS x;

INSERT INTO dw.date_dim (id, date, month_name, day_name, dw_created_at, dw_updated_at)
VALUES ('00000000-0000-0000-0000-000000000000', NULL, 'Unknown', 'Unknown',
        timestamptz '2000-01-01 00:00:00+00', timestamptz '2000-01-01 00:00:00+00');

ANALYZE dw.date_dim;
