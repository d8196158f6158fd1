DROP FUNCTION IF EXISTS dw.add_enum_value(text, text);
