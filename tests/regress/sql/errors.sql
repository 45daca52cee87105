-- Every error a caller of pool_ext can see, once each, through the public SQL API: one line per
-- variant of PoolError (src/errors.rs) with its SQLSTATE, message, detail and hint, as
-- expect_error() (helpers.sql) reports them; then the errors raised by the extension's SQL
-- parts (triggers, plpgsql functions, the batch procedure). Timestamps are masked. Where
-- hostile.sql already calls an API the same way, this file calls it differently (another
-- argument, a boundary value, the other message form).
-- Left out: Internal (XX000, "pool_ext internal SPI error: ..."), a pgrx-level failure inside
-- pool_ext that no argument can provoke; and, since they need a second session at the same
-- time (tests/isolation):
--   LeadHoldTaken (40001): a REPEATABLE READ / SERIALIZABLE caller whose snapshot predates
--     another session's hold for the same lead, and whose claim reaches another number
--     (isolation/hold_taken shows its message; the tester prints no SQLSTATE or hint; the
--     callers of isolation/snapshot_callers get Postgres' own 40001 instead).
--   PoolExhausted's "N being assigned by transactions still in progress" part of the detail:
--     numbers locked by an uncommitted assignment. (isolation/skip_locked reaches it; the
--     isolation tester prints the message only, not the detail.)
-- Companies: Errors Realty, Errors Second Realty, Errors Busy Realty, Errors Mixed Realty.
-- Role: regress_pool_ext_errors (created and dropped here).

-- pg_regress sets DateStyle Postgres, IntervalStyle postgres_verbose and TimeZone PST8PDT;
-- back to what a client of a default server sees (ISO, postgres, UTC).
SET datestyle = ISO, MDY;
SET intervalstyle = postgres;
SET timezone = 'UTC';
SET search_path = "$user", public, pool_ext;

-- A role of no privilege, and the owner of a CRM table that is not a superuser. Left over
-- only if an earlier run of this file stopped half-way.
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_pool_ext_errors;
RESET client_min_messages;
CREATE ROLE regress_pool_ext_errors;

INSERT INTO signalwire_phone_numbers (vapi_phone_number_id, number, name, assigned_broker_company)
VALUES ('errors-1', '+14255550001', 'Errors line 1', 'Errors Realty'),
       ('errors-2', '+14255550002', 'Errors line 2', 'Errors Realty'),
       ('errors-second-1', '+14255550011', 'Second line 1', 'Errors Second Realty'),
       ('errors-busy-1', '+14255550021', 'Busy line 1', 'Errors Busy Realty'),
       ('errors-busy-2', '+14255550022', 'Busy line 2', 'Errors Busy Realty'),
       ('errors-mixed-1', '+14255550031', 'Mixed line 1', 'Errors Mixed Realty'),
       ('errors-mixed-2', '+14255550032', 'Mixed line 2', 'Errors Mixed Realty'),
       ('errors-mixed-3', '+14255550033', 'Mixed line 3', 'Errors Mixed Realty'),
       ('errors-mixed-4', '+14255550034', 'Mixed line 4', 'Errors Mixed Realty');

-- Lead e-1 holds errors-1 and errors-second-1 (two companies); e-2 holds nothing.
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Errors Realty', '0000000e-0000-4000-8000-000000000001');
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Errors Second Realty', '0000000e-0000-4000-8000-000000000001');
-- Errors Busy Realty: both numbers held.
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Errors Busy Realty', '0000000e-0000-4000-8000-000000000011');
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Errors Busy Realty', '0000000e-0000-4000-8000-000000000012');
-- Errors Mixed Realty: one number of each kind that cannot be given. Cooldown 1 hour, daily
-- cap 1, and a time zone where it is now between 06:00 and 18:00 (UTC or 12 hours ahead of
-- it, whichever), so that no local midnight falls between the assignments below and the
-- refusal that counts them: the detail does not depend on the time the test runs.
SELECT cooldown, daily_cap FROM set_pool_rules('Errors Mixed Realty', cooldown => '1 hour', daily_cap => 1);
SELECT retention FROM set_company_policy('Errors Mixed Realty', time_zone => (
    SELECT zone FROM (VALUES ('UTC'), ('Etc/GMT-12')) AS z (zone)
    WHERE extract(hour FROM now() AT TIME ZONE zone) BETWEEN 6 AND 17));
--   held:
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Errors Mixed Realty', '0000000e-0000-4000-8000-000000000021');
--   resting: released through the API (do_not_call), in its cooldown;
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Errors Mixed Realty', '0000000e-0000-4000-8000-000000000022');
SELECT vapi_phone_number_id, assignment_status
FROM record_call_outcome('0000000e-0000-4000-8000-000000000022', 'do_not_call');
--   at its daily cap: assigned once today, released with plain SQL (no cooldown);
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Errors Mixed Realty', '0000000e-0000-4000-8000-000000000023');
UPDATE signalwire_phone_numbers
SET currently_assigned_to = NULL, release_at = NULL, assignment_status = 'available'
WHERE vapi_phone_number_id = 'errors-mixed-3';
--   retired.
SELECT retire_phone_number('errors-mixed-4');
-- Errors Second Realty overflows into Errors Busy Realty (both dry).
SELECT company, overflow_company FROM set_pool_rules('Errors Second Realty', overflow_company => 'Errors Busy Realty');
SELECT vapi_phone_number_id, state FROM number_states WHERE company = 'Errors Mixed Realty' ORDER BY 1;

-- CRM tables: one that fits, one with wrong columns, one owned by a role that is no superuser.
CREATE TABLE errors_leads (id uuid PRIMARY KEY, assigned_phone_number_id text, phone_assigned_at timestamptz);
CREATE TABLE errors_interactions (lead_id uuid, type text, metadata jsonb, created_at timestamptz);
CREATE TABLE errors_bad_leads (id integer, assigned_phone_number_id text, phone_assigned_at date);
CREATE TABLE errors_foreign_leads (id uuid, assigned_phone_number_id text, phone_assigned_at timestamptz);
ALTER TABLE errors_foreign_leads OWNER TO regress_pool_ext_errors;
INSERT INTO errors_leads (id) VALUES ('0000000e-0000-4000-8000-000000000031');

CREATE TEMP TABLE errors_seen (n serial, what text, sqlstate text, message text, detail text, hint text);
CREATE TEMP TABLE errors_before AS SELECT pool_snapshot() AS snapshot;

-- NullArgument (22004)
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'NullArgument: interactions NULL',
    $$SELECT register_crm_tables('errors_leads', NULL)$$);
-- BlankArgument (22023)
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'BlankArgument: blank company of a policy',
    $$SELECT * FROM set_company_policy(E'\t', retention => '1 hour')$$);
-- UnknownCompany (42704), with and without a close name
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'UnknownCompany: a near miss',
    $$SELECT * FROM assign_phone_number('errors  realty', '0000000e-0000-4000-8000-000000000002')$$);
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'UnknownCompany: nothing close',
    $$SELECT * FROM assign_phone_number('Zzyzx Brokerage', '0000000e-0000-4000-8000-000000000002')$$);
-- PoolExhausted (53000): all held; and one number of each kind that cannot be given
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'PoolExhausted: all held',
    $$SELECT * FROM assign_phone_number('Errors Busy Realty', '0000000e-0000-4000-8000-000000000002')$$);
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'PoolExhausted: held, retired, resting, at cap',
    $$SELECT * FROM assign_phone_number('Errors Mixed Realty', '0000000e-0000-4000-8000-000000000002')$$);
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'PoolExhausted: the company and its overflow pool',
    $$SELECT * FROM assign_phone_number('Errors Second Realty', '0000000e-0000-4000-8000-000000000002')$$);
-- OverflowRefused (55000; into itself, 22023, is in hostile.sql): a chain either way
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'OverflowRefused: into a pool that overflows',
    $$SELECT * FROM set_pool_rules('Errors Realty', overflow_company => 'Errors Second Realty')$$);
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'OverflowRefused: from a pool others overflow into',
    $$SELECT * FROM set_pool_rules('Errors Busy Realty', overflow_company => 'Errors Realty')$$);
-- OverflowRuleNeedsFreshSnapshot (25000): an overflow rule set in REPEATABLE READ, whose
-- snapshot could miss a rule committed meanwhile
BEGIN ISOLATION LEVEL REPEATABLE READ;
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'OverflowRuleNeedsFreshSnapshot: in REPEATABLE READ',
    $$SELECT * FROM set_pool_rules('Errors Busy Realty', overflow_company => 'Errors Second Realty')$$);
COMMIT;
-- TooLong (22023): one character over the 32 allowed
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'TooLong: customer_phone of 33 characters',
    $$SELECT * FROM assign_phone_number('Errors Realty', '0000000e-0000-4000-8000-000000000002', repeat('5', 33))$$);
-- NonPositiveLimit (22023)
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'NonPositiveLimit: max_rows -1',
    $$SELECT release_expired_phone_numbers(max_rows => -1)$$);
-- UnknownOutcome (22023)
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'UnknownOutcome: a space for the underscore',
    $$SELECT * FROM record_call_outcome('0000000e-0000-4000-8000-000000000001', 'no answer', company => 'Errors Realty')$$);
-- AppointmentNotExpected (22023)
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'AppointmentNotExpected: do_not_call with an appointment',
    $$SELECT * FROM record_call_outcome('0000000e-0000-4000-8000-000000000001', 'do_not_call', now() + interval '1 hour', 'Errors Realty')$$);
-- AppointmentInPast (22023): exactly now is not in the future
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'AppointmentInPast: exactly now',
    $$SELECT * FROM record_call_outcome('0000000e-0000-4000-8000-000000000001', 'booked', now(), 'Errors Realty')$$);
-- AppointmentTooFar (22023): one microsecond past the 366 days allowed
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'AppointmentTooFar: 366 days and 1 microsecond',
    $$SELECT * FROM record_call_outcome('0000000e-0000-4000-8000-000000000001', 'booked', now() + interval '366 days 0.000001 seconds', 'Errors Realty')$$);
-- NoHold (P0002), without and with a company
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'NoHold: a lead that never held a number',
    $$SELECT * FROM record_call_outcome('0000000e-0000-4000-8000-000000000002', 'wrong_number')$$);
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'NoHold: a lead whose hold was released',
    $$SELECT * FROM record_call_outcome('0000000e-0000-4000-8000-000000000022', 'no_booking', company => 'Errors Mixed Realty')$$);
-- AmbiguousHold (21000)
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'AmbiguousHold: holds of two companies, none named',
    $$SELECT * FROM record_call_outcome('0000000e-0000-4000-8000-000000000001', 'no_answer')$$);
-- InvalidPolicyHold (22023): one second over 30 days
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'InvalidPolicyHold: booked_hold 30 days 1 second',
    $$SELECT * FROM set_company_policy('Errors Realty', booked_hold => '30 days 1 second')$$);
-- InvalidRule (22023): one second over 7 days
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'InvalidRule: cooldown 7 days 1 second',
    $$SELECT * FROM set_pool_rules('Errors Realty', cooldown => '7 days 1 second')$$);
-- UnknownTimeZone (22023), with a close name
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'UnknownTimeZone: wrong case',
    $$SELECT * FROM set_company_policy('Errors Realty', time_zone => 'america/new_york')$$);
-- UnknownNumber (42704)
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'UnknownNumber: force release',
    $$SELECT force_release_phone_number('errors-9', 'test')$$);
-- NumberHeld (55006)
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'NumberHeld: move a held number',
    $$SELECT move_phone_number('errors-1', 'Errors Second Realty')$$);
-- InvalidImport (22023): a held number's phone number changed, notes too long, not JSON at all
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'InvalidImport: a held number renumbered',
    $$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "errors-1", "number": "+14255550009", "name": "Errors line 1", "broker_company": "Errors Realty"}]')$$);
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'InvalidImport: notes of 2001 characters',
    format($$SELECT * FROM import_phone_numbers('[{"vapi_phone_number_id": "errors-3", "number": "+14255550003", "name": "Errors line 3", "broker_company": "Errors Realty", "notes": "%s"}]')$$,
           repeat('n', 2001)));
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'InvalidImport: the text form, not JSON',
    $$SELECT * FROM _import_phone_numbers_text('[{"number": 1,')$$);
-- CrmColumnsMissing (42703): a wrong type is named as well as a missing column
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'CrmColumnsMissing: wrong types',
    $$SELECT register_crm_tables('errors_bad_leads', 'errors_interactions')$$);
-- CrmOwnerNotSuperuser (42501), at registration
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'CrmOwnerNotSuperuser: registration',
    $$SELECT register_crm_tables('errors_foreign_leads', 'errors_interactions')$$);
SELECT pool_snapshot() = snapshot AS unchanged_so_far FROM errors_before;

-- The CRM errors of an assignment need registered tables.
SELECT register_crm_tables('errors_leads', 'errors_interactions');
-- CrmLeadMissing (23503): the lead is not in the leads table
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'CrmLeadMissing: lead not in the leads table',
    $$SELECT * FROM assign_phone_number('Errors Realty', '0000000e-0000-4000-8000-000000000032')$$);
-- CrmOwnerNotSuperuser (42501), when the owner changes after the registration
ALTER TABLE errors_interactions OWNER TO regress_pool_ext_errors;
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'CrmOwnerNotSuperuser: owner changed since',
    $$SELECT * FROM assign_phone_number('Errors Realty', '0000000e-0000-4000-8000-000000000031')$$);
ALTER TABLE errors_interactions OWNER TO CURRENT_USER;
-- CrmTableDropped (42P01)
DROP TABLE errors_interactions;
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'CrmTableDropped: interactions dropped',
    $$SELECT * FROM assign_phone_number('Errors Realty', '0000000e-0000-4000-8000-000000000031')$$);
SELECT unregister_crm_tables();

-- Errors of the extension's SQL parts (not PoolError).
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'batches: called inside a transaction',
    $$CALL release_expired_phone_numbers_in_batches(10)$$);
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'schedule_release_job: no pg_cron in this database',
    $$SELECT schedule_release_job()$$);
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'grant_pool_access: unknown level',
    $$SELECT grant_pool_access('regress_pool_ext_errors', 'admin')$$);
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'ledger: an UPDATE',
    $$UPDATE phone_number_ledger SET reason = 'rewritten' WHERE broker_company = 'Errors Realty'$$);
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'ledger: a TRUNCATE',
    $$TRUNCATE phone_number_ledger$$);
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'pool table: a number not in E.164',
    $$INSERT INTO signalwire_phone_numbers (vapi_phone_number_id, number, assigned_broker_company) VALUES ('errors-9', '425-555-0009', 'Errors Realty')$$);
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'pool table: assigned without a holder',
    $$UPDATE signalwire_phone_numbers SET assignment_status = 'assigned' WHERE vapi_phone_number_id = 'errors-2'$$);
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'pool table: a second hold of one lead, by hand',
    $$UPDATE signalwire_phone_numbers SET assignment_status = 'assigned', currently_assigned_to = '0000000e-0000-4000-8000-000000000001', assigned_at = now(), release_at = now() + interval '1 hour' WHERE vapi_phone_number_id = 'errors-2'$$);
-- A role without access (no grant_pool_access): the schema is closed to it. SET ROLE inside
-- the statement, so that the subtransaction's rollback ends it.
INSERT INTO errors_seen (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'no access: a role without a grant',
    $x$DO $$ BEGIN
        SET ROLE regress_pool_ext_errors;
        PERFORM pool_ext.assign_phone_number('Errors Realty', '0000000e-0000-4000-8000-000000000002');
    END $$$x$);
SELECT current_user;

-- One line per error.
\pset format unaligned
\pset fieldsep ' | '
SELECT n, what, sqlstate, message, detail, hint FROM errors_seen ORDER BY n;
\pset format aligned

-- The variants of PoolError (src/errors.rs), each with its lines above: all but LeadHoldTaken
-- (concurrent sessions, see the top) and Internal (a pgrx-level SPI failure, a bug in
-- pool_ext that no call through the API can provoke on purpose).
SELECT v.variant, count(e.n) AS lines
FROM (VALUES (1, 'NullArgument'), (2, 'BlankArgument'), (3, 'UnknownCompany'), (4, 'LeadHoldTaken'),
             (5, 'PoolExhausted'), (6, 'OverflowRefused'), (7, 'OverflowRuleNeedsFreshSnapshot'),
             (8, 'TooLong'), (9, 'NonPositiveLimit'),
             (10, 'UnknownOutcome'), (11, 'AppointmentNotExpected'), (12, 'AppointmentInPast'),
             (13, 'AppointmentTooFar'), (14, 'NoHold'), (15, 'AmbiguousHold'), (16, 'InvalidPolicyHold'),
             (17, 'InvalidRule'), (18, 'UnknownTimeZone'), (19, 'UnknownNumber'), (20, 'NumberHeld'),
             (21, 'InvalidImport'), (22, 'CrmColumnsMissing'), (23, 'CrmLeadMissing'),
             (24, 'CrmTableDropped'), (25, 'CrmOwnerNotSuperuser'), (26, 'Internal')) AS v (i, variant)
LEFT JOIN errors_seen AS e ON split_part(e.what, ':', 1) = v.variant
GROUP BY v.i, v.variant ORDER BY v.i;
-- None of the calls succeeded, and none changed anything (the CRM registration and the owner
-- changes in between are this file's own steps, undone since).
SELECT count(*) AS errors, count(*) FILTER (WHERE sqlstate IS NULL) AS succeeded FROM errors_seen;
SELECT pool_snapshot() = snapshot AS unchanged FROM errors_before;
SELECT * FROM pool_invariants();

-- Clean up for the next file.
DROP TABLE errors_seen, errors_leads, errors_bad_leads, errors_foreign_leads;
DROP ROLE regress_pool_ext_errors;
SELECT * FROM forget_companies('Errors Realty', 'Errors Second Realty', 'Errors Busy Realty', 'Errors Mixed Realty');
