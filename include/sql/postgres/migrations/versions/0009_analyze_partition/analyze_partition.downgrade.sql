DROP FUNCTION IF EXISTS dw.analyze_partition(text);
