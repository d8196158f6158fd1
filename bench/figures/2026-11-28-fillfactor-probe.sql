-- Issue 12, item 3: does fillfactor 90 make a 10%-changed re-run's updates HOT? 1M rows shaped like
-- a job_ran_fact partition (9-column key), 100,000 measure updates, twice each, rolled back.
-- psql -f this file; output in 2026-11-28-fillfactor-probe.txt.
\timing on
set max_parallel_workers_per_gather = 0;
set work_mem = '256MB';
drop table if exists ff100, ff90;
create table ff100 (d date not null, a uuid not null, b uuid not null, c uuid not null, e uuid not null, f uuid not null, v text not null, o text not null, dl bool not null, j bigint, cr bigint, dc bigint, m numeric(18,3), u timestamptz not null, primary key (d, a, b, c, e, f, v, o, dl)) with (fillfactor = 100);
create table ff90 (like ff100 including all) with (fillfactor = 90);
insert into ff100 select date '2024-01-01' + g % 10, md5('a'||g)::uuid, md5('b'||g)::uuid, md5('c'||g)::uuid, md5('e'||(g%30))::uuid, md5('f'||(g%1000))::uuid, 'public', 'success', false, 1, g % 5000, g % 500, 1.5, now() from generate_series(1, 1000000) g order by 1,2,3,4,5,6;
insert into ff90 select * from ff100 order by d, a, b, c, e, f;
vacuum analyze ff100; vacuum analyze ff90;
select relname, pg_relation_size(oid)/8192 as pages from pg_class where relname in ('ff100','ff90');
create temp table ch as select d, a, b, c, e, f, v, o, dl, cr + 1 as cr from ff100 where (cr % 10) = 0;
analyze ch;
begin; update ff100 t set cr = ch.cr, u = now() from ch where (t.d,t.a,t.b,t.c,t.e,t.f,t.v,t.o,t.dl) = (ch.d,ch.a,ch.b,ch.c,ch.e,ch.f,ch.v,ch.o,ch.dl); rollback;
begin; update ff90 t set cr = ch.cr, u = now() from ch where (t.d,t.a,t.b,t.c,t.e,t.f,t.v,t.o,t.dl) = (ch.d,ch.a,ch.b,ch.c,ch.e,ch.f,ch.v,ch.o,ch.dl); rollback;
begin; update ff100 t set cr = ch.cr, u = now() from ch where (t.d,t.a,t.b,t.c,t.e,t.f,t.v,t.o,t.dl) = (ch.d,ch.a,ch.b,ch.c,ch.e,ch.f,ch.v,ch.o,ch.dl); rollback;
begin; update ff90 t set cr = ch.cr, u = now() from ch where (t.d,t.a,t.b,t.c,t.e,t.f,t.v,t.o,t.dl) = (ch.d,ch.a,ch.b,ch.c,ch.e,ch.f,ch.v,ch.o,ch.dl); rollback;
select relname, n_tup_upd, n_tup_hot_upd from pg_stat_user_tables where relname in ('ff100','ff90');
begin; select count(*) from ff100 where d = any(array['2024-01-01','2024-01-02']::date[]); rollback;
