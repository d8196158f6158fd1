-- IF NOT EXISTS: a load may have added the value already (a new value seen upstream)
ALTER TYPE "dw"."operating_system_type" ADD VALUE IF NOT EXISTS 'not_applicable' AFTER 'unknown';
