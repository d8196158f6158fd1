-- Fails while a config-declared table still uses one of the types: drop those tables first.
DROP TYPE IF EXISTS dw.job_outcome_type;
DROP TYPE IF EXISTS dw.executor_type;
DROP TYPE IF EXISTS dw.operating_system_type;
DROP TYPE IF EXISTS dw.project_visibility_type;
