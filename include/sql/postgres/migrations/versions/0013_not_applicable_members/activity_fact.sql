CREATE TABLE IF NOT EXISTS "dw"."activity_fact" (
  "date" date NOT NULL,
  "organization_id" uuid NOT NULL,
  "project_id" uuid NOT NULL,
  "user_id" uuid NOT NULL,
  "event_type" text NOT NULL,
  "events" bigint,
  "sessions" bigint,
  "dw_updated_at" timestamptz NOT NULL,
  CONSTRAINT "activity_fact_pkey" PRIMARY KEY ("date", "organization_id", "project_id", "user_id", "event_type")
) PARTITION BY RANGE ("date");
CREATE TABLE IF NOT EXISTS "dw"."activity_fact_p_before" PARTITION OF "dw"."activity_fact" FOR VALUES FROM (MINVALUE) TO ('2000-01-01'::date);
REVOKE ALL ON "dw"."activity_fact_p_before" FROM PUBLIC, "dw_analyst", "dw_loader";
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."activity_fact_p_before" TO "dw_loader";
COMMENT ON TABLE "dw"."activity_fact" IS 'Product activity per day (UTC date of event_time) from Amplitude events. Each run restates every event date (within the last 3 days) that the day''s uploads touch, from all the uploads of those dates in the lake. events = distinct events (uuid); sessions = distinct session_id within the grain (so a session that fired two event types counts in both rows). (include/config/warehouse/activity_fact.yaml)';
ALTER TABLE "dw"."activity_fact" OWNER TO "dw_owner";
ALTER TABLE "dw"."activity_fact_p_before" OWNER TO "dw_owner";
REVOKE ALL ON "dw"."activity_fact" FROM "dw_loader";
GRANT SELECT, INSERT, UPDATE, DELETE ON "dw"."activity_fact" TO "dw_loader";
REVOKE ALL ON "dw"."activity_fact" FROM PUBLIC, "dw_analyst";
GRANT SELECT ON "dw"."activity_fact" TO "dw_analyst";
