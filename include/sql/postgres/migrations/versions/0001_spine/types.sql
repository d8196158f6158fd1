-- Enum types of the warehouse. Every one has 'unknown', the value of the unknown members.
-- Adding a value later: a new migration with ALTER TYPE ... ADD VALUE.
CREATE TYPE dw.project_visibility_type AS ENUM ('public', 'private', 'unknown');
CREATE TYPE dw.operating_system_type AS ENUM ('linux', 'macos', 'windows', 'unknown');
CREATE TYPE dw.executor_type AS ENUM ('docker', 'machine', 'macos', 'windows', 'unknown');
CREATE TYPE dw.job_outcome_type AS ENUM ('success', 'failed', 'canceled', 'infrastructure_fail', 'timedout', 'running', 'unknown');

ALTER TYPE dw.project_visibility_type OWNER TO dw_loader;
ALTER TYPE dw.operating_system_type OWNER TO dw_loader;
ALTER TYPE dw.executor_type OWNER TO dw_loader;
ALTER TYPE dw.job_outcome_type OWNER TO dw_loader;
