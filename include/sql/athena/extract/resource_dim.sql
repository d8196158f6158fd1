-- dw.resource_dim extract: the (resource_class, operating_system, executor) combinations of the
-- job documents landed for day D. resource_class may be NULL (a value of the key); a job
-- without operating system or executor has no resource row and resolves to the unknown member.
select distinct
  resource_class,
  operating_system,
  executor
from raw_mongo_jobs
where dt = '{{ run_date }}'
  and operating_system is not null
  and executor is not null
