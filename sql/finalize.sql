-- Run last (finalize): privileges and per-function settings of the routines the Rust code
-- creates. See docs/security.md and docs/design.md.

-- Callers get EXECUTE only when an operator grants it (docs/security.md, "Roles and grants").
REVOKE ALL ON ALL ROUTINES IN SCHEMA @extschema@ FROM PUBLIC;
-- But the low-water mark: arithmetic on its arguments, which the view pool_alerts calls with its
-- reader's rights (sql/schema.sql).
GRANT EXECUTE ON FUNCTION _low_water_mark(integer, numeric, bigint) TO PUBLIC;
-- And a number's state, for the view number_states (sql/schema.sql).
GRANT EXECUTE ON FUNCTION _number_state(text, text, timestamptz, timestamptz, bigint, integer)
    TO PUBLIC;

-- These write their own ledger rows; the marker tells the direct-change triggers to stay out.
ALTER FUNCTION assign_phone_number(text, uuid, text) SET pool_ext.in_api = 'on';
ALTER FUNCTION try_assign_phone_number(text, uuid, text) SET pool_ext.in_api = 'on';
ALTER FUNCTION release_expired_phone_numbers(bigint) SET pool_ext.in_api = 'on';
ALTER FUNCTION force_release_phone_number(text, text) SET pool_ext.in_api = 'on';
ALTER FUNCTION record_call_outcome(uuid, text, timestamptz, text) SET pool_ext.in_api = 'on';

-- Every statement of these is a few index lookups: compiling one with JIT would cost more
-- than running it, and a plan estimated from unanalyzed tables can cross jit_above_cost.
ALTER FUNCTION assign_phone_number(text, uuid, text) SET jit = off;
-- Its statements are written to need no parameter values to plan well (a test checks the
-- generic plans): planning them again on every call would cost more than running them.
ALTER FUNCTION assign_phone_number(text, uuid, text) SET plan_cache_mode = force_generic_plan;
-- Every row it reads is reached through an index; a scan of a whole table (even a small one
-- such as company_pool_sizes, which grows with the companies) or a bitmap over a company's
-- rows would grow with the data.
ALTER FUNCTION assign_phone_number(text, uuid, text) SET enable_seqscan = off;
ALTER FUNCTION assign_phone_number(text, uuid, text) SET enable_bitmapscan = off;
-- try_assign_phone_number runs the same statements (it is assign_phone_number with an
-- exhausted pool as a status): the same settings, for the same reasons.
ALTER FUNCTION try_assign_phone_number(text, uuid, text) SET jit = off;
ALTER FUNCTION try_assign_phone_number(text, uuid, text) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION try_assign_phone_number(text, uuid, text) SET enable_seqscan = off;
ALTER FUNCTION try_assign_phone_number(text, uuid, text) SET enable_bitmapscan = off;
ALTER FUNCTION release_expired_phone_numbers(bigint) SET jit = off;
ALTER FUNCTION force_release_phone_number(text, text) SET jit = off;
ALTER FUNCTION record_call_outcome(uuid, text, timestamptz, text) SET jit = off;

-- The readers of the ledger: their plans are estimated over every month of it, and a long
-- history crossed jit_above_cost (measured: pool_activity 1.3 s, of which JIT 1.7 s of CPU,
-- against 64 ms without it, at 20,000,000 rows; bench/RESULTS.md section 11).
ALTER FUNCTION pool_activity(text, timestamptz, timestamptz) SET jit = off;
ALTER FUNCTION pool_runway(interval) SET jit = off;
ALTER FUNCTION who_held_number(text, timestamptz) SET jit = off;
