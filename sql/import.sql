-- import_phone_numbers(jsonb) hands the document over as text to _import_phone_numbers_text
-- (src/numbers.rs): pgrx's own jsonb conversion fails on deep nesting with an internal error,
-- where the caller deserves a 22023.
CREATE FUNCTION import_phone_numbers(numbers jsonb)
RETURNS TABLE (inserted bigint, updated bigint, unchanged bigint)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    SELECT * FROM @extschema@._import_phone_numbers_text(numbers::text)
$$;
COMMENT ON FUNCTION import_phone_numbers(jsonb) IS
    'Import the numbers document: a JSON array of {vapi_phone_number_id, number, name, broker_company, notes?}. All or nothing; returns inserted, updated, unchanged.';
