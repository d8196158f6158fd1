CREATE TABLE IF NOT EXISTS "dw"."job_ran_fact" (
  "date" date NOT NULL,
  "organization_id" uuid NOT NULL,
  "project_id" uuid NOT NULL,
  "user_id" uuid NOT NULL,
  "resource_id" uuid NOT NULL,
  "subscription_id" uuid NOT NULL,
  "project_visibility" "dw"."project_visibility_type" NOT NULL,
  "outcome" "dw"."job_outcome_type" NOT NULL,
  "dlc" boolean NOT NULL,
  "jobs_ran" bigint,
  "credits_used" bigint,
  "dlc_credits_used" bigint,
  "minutes_used" numeric(18, 3),
  "dw_updated_at" timestamptz NOT NULL,
  CONSTRAINT "job_ran_fact_pkey" PRIMARY KEY ("date", "organization_id", "project_id", "user_id", "resource_id", "subscription_id", "project_visibility", "outcome", "dlc")
) PARTITION BY RANGE ("date");
CREATE TABLE IF NOT EXISTS "dw"."job_ran_fact_p_before" PARTITION OF "dw"."job_ran_fact" FOR VALUES FROM (MINVALUE) TO ('2000-01-01'::date);
REVOKE ALL ON "dw"."job_ran_fact_p_before" FROM PUBLIC, "dw_analyst", "dw_loader";
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."job_ran_fact_p_before" TO "dw_loader";
COMMENT ON TABLE "dw"."job_ran_fact" IS 'Job runs per day (UTC date of started_at) and grain. Each run restates every event date that the day''s job documents touch, from the latest version of each job in the lake. (include/config/warehouse/job_ran_fact.yaml)';
ALTER TABLE "dw"."job_ran_fact" OWNER TO "dw_owner";
ALTER TABLE "dw"."job_ran_fact_p_before" OWNER TO "dw_owner";
REVOKE ALL ON "dw"."job_ran_fact" FROM "dw_loader";
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."job_ran_fact" TO "dw_loader";
REVOKE ALL ON "dw"."job_ran_fact" FROM PUBLIC, "dw_analyst";
GRANT SELECT ON "dw"."job_ran_fact" TO "dw_analyst";
