-- The outcome rules of record_call_outcome (src/holds.rs, hold_after_outcome; src/lifecycle.rs),
-- under company policies of other retentions, booked holds and time zones:
--   booked                     holds until appointment_at + the booked hold (24 hours by default)
--   no_answer                  holds until the end of the company's local day
--   no_booking                 holds until the end of the local day or assigned_at + retention,
--                              whichever is first; at once if that has passed
--   do_not_call, wrong_number  release now
-- and that a later outcome replaces an earlier one, that a repeat call keeps a longer hold, and
-- that `company` picks one of a lead's holds. Nothing printed depends on the date or the time of
-- day the test runs: every instant is compared with the one the rule must give, computed in SQL
-- in the same statement (same now()), or shown as an interval between two stored instants; where
-- a rule's branch depends on the time of day, the company's time zone is chosen so that the
-- branch is the same at any time. Companies: Outcome ... Realty; leads 0000000c-....

-- pg_regress sets DateStyle Postgres, IntervalStyle postgres_verbose and TimeZone PST8PDT;
-- back to what a client of a default server sees (ISO, postgres, UTC). UTC also keeps
-- interval arithmetic here free of daylight-saving days ('1 day' is 24 hours).
SET datestyle = ISO, MDY;
SET intervalstyle = postgres;
SET timezone = 'UTC';
SET search_path = "$user", public, pool_ext;

INSERT INTO signalwire_phone_numbers (vapi_phone_number_id, number, name, assigned_broker_company)
SELECT 'outcome-' || i, '+1312555' || lpad(i::text, 4, '0'), 'Outcome line ' || i, company
FROM (VALUES (1, 'Outcome Booked Realty'), (2, 'Outcome Short Booking Realty'),
             (3, 'Outcome Long Booking Realty'), (4, 'Outcome UTC Realty'),
             (5, 'Outcome New York Realty'), (6, 'Outcome Kolkata Realty'),
             (7, 'Outcome Kiritimati Realty'), (8, 'Outcome Pago Pago Realty'),
             (9, 'Outcome Long Retention Realty'), (10, 'Outcome Short Retention Realty'),
             (11, 'Outcome Default Realty'), (12, 'Outcome Late Realty'),
             (13, 'Outcome Release Realty'), (14, 'Outcome Release Realty'),
             (15, 'Outcome Change Realty'), (16, 'Outcome First Realty'),
             (17, 'Outcome Second Realty')) AS c (i, company);

-- The end of the local day, by Postgres' time-zone database, on fixed instants: an ordinary
-- day, a 23-hour and a 25-hour day in New York, and one instant in four zones.
SELECT instant, zone, _local_day_end(instant, zone) AS day_ends,
       _local_day_end(instant, zone) - (date_trunc('day', instant AT TIME ZONE zone) AT TIME ZONE zone) AS day_length
FROM (VALUES (timestamptz '2026-06-15 12:00-04', 'America/New_York'),
             (timestamptz '2026-03-08 12:00-04', 'America/New_York'),
             (timestamptz '2026-11-01 12:00-05', 'America/New_York'),
             (timestamptz '2026-06-15 23:30+00', 'UTC'),
             (timestamptz '2026-06-15 23:30+00', 'Asia/Kolkata'),
             (timestamptz '2026-06-15 23:30+00', 'Pacific/Kiritimati'),
             (timestamptz '2026-06-15 23:30+00', 'Pacific/Pago_Pago')) AS t (instant, zone);

------------------------------------------------------------------------------------------------
-- booked: until the appointment plus the booked hold.
CREATE TEMP TABLE appointment AS SELECT now() + interval '50 hours' AS at;

-- The default booked hold, 24 hours.
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Outcome Booked Realty', '0000000c-0000-4000-8000-000000000001');
SELECT vapi_phone_number_id, assignment_status, last_call_outcome,
       release_at = (SELECT at FROM appointment) + interval '24 hours' AS appointment_plus_24_hours
FROM record_call_outcome('0000000c-0000-4000-8000-000000000001', 'booked', (SELECT at FROM appointment));
SELECT vapi_phone_number_id, appointment_scheduled_at = (SELECT at FROM appointment) AS appointment_recorded,
       release_at - appointment_scheduled_at AS held_after_appointment
FROM signalwire_phone_numbers WHERE assigned_broker_company = 'Outcome Booked Realty';

-- A booked hold of 2 hours.
SELECT * FROM set_company_policy('Outcome Short Booking Realty', booked_hold => '2 hours');
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Outcome Short Booking Realty', '0000000c-0000-4000-8000-000000000002');
SELECT vapi_phone_number_id, assignment_status, last_call_outcome,
       release_at = (SELECT at FROM appointment) + interval '2 hours' AS appointment_plus_2_hours
FROM record_call_outcome('0000000c-0000-4000-8000-000000000002', 'booked', (SELECT at FROM appointment));
-- A repeat call renews to at least the retention from now, and never shortens the booking.
SELECT vapi_phone_number_id, chosen_by,
       release_at = (SELECT at FROM appointment) + interval '2 hours' AS booking_kept
FROM assign_phone_number('Outcome Short Booking Realty', '0000000c-0000-4000-8000-000000000002');
-- A policy applies to outcomes recorded from then on: the hold stays, the next booking uses it.
SELECT booked_hold FROM set_company_policy('Outcome Short Booking Realty', booked_hold => '3 hours');
SELECT release_at - appointment_scheduled_at AS held_after_appointment
FROM signalwire_phone_numbers WHERE assigned_broker_company = 'Outcome Short Booking Realty';
SELECT vapi_phone_number_id, last_call_outcome,
       release_at = (SELECT at FROM appointment) + interval '3 hours' AS appointment_plus_3_hours
FROM record_call_outcome('0000000c-0000-4000-8000-000000000002', 'booked', (SELECT at FROM appointment));

-- The longest: a booked hold of 30 days after an appointment 365 days ahead.
SELECT booked_hold FROM set_company_policy('Outcome Long Booking Realty', booked_hold => '30 days');
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Outcome Long Booking Realty', '0000000c-0000-4000-8000-000000000003');
SELECT vapi_phone_number_id, last_call_outcome, release_at - now() AS held_from_now
FROM record_call_outcome('0000000c-0000-4000-8000-000000000003', 'booked', now() + interval '365 days');
SELECT release_at - appointment_scheduled_at AS held_after_appointment
FROM signalwire_phone_numbers WHERE assigned_broker_company = 'Outcome Long Booking Realty';

------------------------------------------------------------------------------------------------
-- no_answer: until the end of the company's local day, whatever its retention, in five zones:
-- UTC (no policy), New York (with a retention of only 1 hour), Kolkata (+05:30), Kiritimati
-- (+14) and Pago Pago (-11).
SELECT company, retention, time_zone
FROM set_company_policy('Outcome New York Realty', retention => '1 hour', time_zone => 'America/New_York');
SELECT company, time_zone FROM set_company_policy('Outcome Kolkata Realty', time_zone => 'Asia/Kolkata');
SELECT company, time_zone FROM set_company_policy('Outcome Kiritimati Realty', time_zone => 'Pacific/Kiritimati');
SELECT company, time_zone FROM set_company_policy('Outcome Pago Pago Realty', time_zone => 'Pacific/Pago_Pago');
SELECT a.vapi_phone_number_id, a.chosen_by
FROM (VALUES ('Outcome UTC Realty', '0000000c-0000-4000-8000-000000000011'::uuid),
             ('Outcome New York Realty', '0000000c-0000-4000-8000-000000000012'),
             ('Outcome Kolkata Realty', '0000000c-0000-4000-8000-000000000013'),
             ('Outcome Kiritimati Realty', '0000000c-0000-4000-8000-000000000014'),
             ('Outcome Pago Pago Realty', '0000000c-0000-4000-8000-000000000015')) AS l (company, lead)
CROSS JOIN LATERAL assign_phone_number(l.company, l.lead) AS a;
-- The end of the day as _local_day_end() computes it, as a local midnight, on the next local
-- date, and at most a (25-hour) day away, all against the now() the rule used.
SELECT o.assigned_broker_company, p.time_zone, o.assignment_status, o.last_call_outcome,
       o.release_at = _local_day_end(now(), p.time_zone) AS at_local_day_end,
       (o.release_at AT TIME ZONE p.time_zone)::time = '00:00' AS local_midnight,
       (o.release_at AT TIME ZONE p.time_zone)::date = (now() AT TIME ZONE p.time_zone)::date + 1 AS next_local_date,
       o.release_at > now() AND o.release_at <= now() + interval '25 hours' AS within_a_day
FROM (VALUES (1, '0000000c-0000-4000-8000-000000000011'::uuid), (2, '0000000c-0000-4000-8000-000000000012'),
             (3, '0000000c-0000-4000-8000-000000000013'), (4, '0000000c-0000-4000-8000-000000000014'),
             (5, '0000000c-0000-4000-8000-000000000015')) AS l (i, lead)
CROSS JOIN LATERAL record_call_outcome(l.lead, 'no_answer') AS o
CROSS JOIN LATERAL company_policy(o.assigned_broker_company) AS p
ORDER BY l.i;

------------------------------------------------------------------------------------------------
-- no_booking: the end of the local day or assigned_at + retention, whichever is first.
-- Retention 2 days: the local day (at most 25 hours) always ends first.
SELECT company, retention, time_zone
FROM set_company_policy('Outcome Long Retention Realty', retention => '2 days', time_zone => 'America/Chicago');
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Outcome Long Retention Realty', '0000000c-0000-4000-8000-000000000021');
SELECT o.vapi_phone_number_id, o.assignment_status, o.last_call_outcome,
       o.release_at = _local_day_end(now(), 'America/Chicago') AS at_local_day_end,
       o.release_at < p.assigned_at + interval '2 days' AS before_retention_ends
FROM record_call_outcome('0000000c-0000-4000-8000-000000000021', 'no_booking') AS o
JOIN signalwire_phone_numbers AS p USING (vapi_phone_number_id);

-- Retention 1 hour, in a zone where it is now before noon (UTC or 12 hours ahead of it,
-- whichever): at least 12 hours of the local day are left, so the retention always ends first.
-- (Only the retention is shown: the zone depends on the time of day.)
SELECT retention FROM set_company_policy('Outcome Short Retention Realty', retention => '1 hour',
    time_zone => (SELECT zone FROM (VALUES ('UTC'), ('Etc/GMT-12')) AS z (zone)
                  WHERE extract(hour FROM now() AT TIME ZONE zone) < 12));
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Outcome Short Retention Realty', '0000000c-0000-4000-8000-000000000022');
SELECT o.vapi_phone_number_id, o.assignment_status, o.last_call_outcome,
       o.release_at - p.assigned_at AS held_for,
       o.release_at < _local_day_end(now(), policy.time_zone) AS before_local_day_ends
FROM record_call_outcome('0000000c-0000-4000-8000-000000000022', 'no_booking') AS o
JOIN signalwire_phone_numbers AS p USING (vapi_phone_number_id)
CROSS JOIN LATERAL company_policy(o.assigned_broker_company) AS policy;

-- The defaults (18 hours, UTC): which comes first depends on the time of day, so both sides
-- are the rule's formula.
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Outcome Default Realty', '0000000c-0000-4000-8000-000000000023');
SELECT o.vapi_phone_number_id, o.assignment_status, o.last_call_outcome,
       o.release_at = least(_local_day_end(now(), 'UTC'), p.assigned_at + interval '18 hours') AS earlier_of_both
FROM record_call_outcome('0000000c-0000-4000-8000-000000000023', 'no_booking') AS o
JOIN signalwire_phone_numbers AS p USING (vapi_phone_number_id);

-- Retention already over (assigned 19 hours ago, moved back by hand): released at once.
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Outcome Late Realty', '0000000c-0000-4000-8000-000000000024');
UPDATE signalwire_phone_numbers SET assigned_at = assigned_at - interval '19 hours'
WHERE assigned_broker_company = 'Outcome Late Realty';
SELECT vapi_phone_number_id, assignment_status, last_call_outcome, release_at
FROM record_call_outcome('0000000c-0000-4000-8000-000000000024', 'no_booking');
SELECT vapi_phone_number_id, currently_assigned_to, release_at, last_call_outcome
FROM signalwire_phone_numbers WHERE assigned_broker_company = 'Outcome Late Realty';

------------------------------------------------------------------------------------------------
-- do_not_call and wrong_number: released now; with a cooldown, the number then rests.
SELECT cooldown FROM set_pool_rules('Outcome Release Realty', cooldown => '30 minutes');
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Outcome Release Realty', '0000000c-0000-4000-8000-000000000031');
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Outcome Release Realty', '0000000c-0000-4000-8000-000000000032');
SELECT vapi_phone_number_id, assignment_status, last_call_outcome, release_at
FROM record_call_outcome('0000000c-0000-4000-8000-000000000031', 'do_not_call');
SELECT vapi_phone_number_id, assignment_status, last_call_outcome, release_at
FROM record_call_outcome('0000000c-0000-4000-8000-000000000032', 'wrong_number');
SELECT vapi_phone_number_id, state, lead_id, release_at, resting_until - now() > interval '29 minutes' AS resting_30_minutes
FROM number_states WHERE company = 'Outcome Release Realty' ORDER BY 1;

------------------------------------------------------------------------------------------------
-- A later outcome replaces the earlier one: no_answer, then booked (held past the day), then
-- no_answer again (back to the end of the day; the appointment stays recorded).
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Outcome Change Realty', '0000000c-0000-4000-8000-000000000041');
SELECT last_call_outcome, release_at = _local_day_end(now(), 'UTC') AS at_local_day_end
FROM record_call_outcome('0000000c-0000-4000-8000-000000000041', 'no_answer');
SELECT last_call_outcome, release_at = (SELECT at FROM appointment) + interval '24 hours' AS appointment_plus_24_hours
FROM record_call_outcome('0000000c-0000-4000-8000-000000000041', 'booked', (SELECT at FROM appointment));
SELECT last_call_outcome, release_at = _local_day_end(now(), 'UTC') AS at_local_day_end
FROM record_call_outcome('0000000c-0000-4000-8000-000000000041', 'no_answer');
SELECT last_call_outcome, appointment_scheduled_at = (SELECT at FROM appointment) AS appointment_kept
FROM signalwire_phone_numbers WHERE assigned_broker_company = 'Outcome Change Realty';

------------------------------------------------------------------------------------------------
-- A lead holding numbers of two companies: `company` picks the hold; the other is untouched.
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Outcome First Realty', '0000000c-0000-4000-8000-000000000051');
SELECT vapi_phone_number_id, chosen_by
FROM assign_phone_number('Outcome Second Realty', '0000000c-0000-4000-8000-000000000051');
SELECT vapi_phone_number_id, assigned_broker_company, assignment_status, last_call_outcome
FROM record_call_outcome('0000000c-0000-4000-8000-000000000051', 'do_not_call', company => 'Outcome Second Realty');
SELECT vapi_phone_number_id, assigned_broker_company, assignment_status, last_call_outcome,
       release_at - assigned_at AS held_for
FROM signalwire_phone_numbers WHERE assigned_broker_company IN ('Outcome First Realty', 'Outcome Second Realty')
ORDER BY 1;

------------------------------------------------------------------------------------------------
-- The ledger: every assignment, outcome (with the hold's new end) and release, in order.
SELECT l.event, l.vapi_phone_number_id, l.lead_id, l.reason, l.release_at IS NOT NULL AS has_release_at
FROM phone_number_ledger AS l
WHERE l.broker_company LIKE 'Outcome %' ORDER BY l.id;
-- Each outcome row carries the release_at its number was left with (the last one per number).
SELECT count(*) AS outcome_rows,
       count(*) FILTER (WHERE l.release_at = p.release_at) AS matching_the_pool
FROM phone_number_ledger AS l
JOIN signalwire_phone_numbers AS p USING (vapi_phone_number_id)
WHERE l.event = 'outcome' AND l.broker_company LIKE 'Outcome %'
  AND l.id = (SELECT max(id) FROM phone_number_ledger AS m
              WHERE m.vapi_phone_number_id = l.vapi_phone_number_id AND m.event = 'outcome')
  AND p.currently_assigned_to IS NOT NULL;
SELECT * FROM pool_invariants();

-- Clean up for the next file.
SELECT * FROM forget_companies(VARIADIC (
    SELECT array_agg(DISTINCT assigned_broker_company) FROM signalwire_phone_numbers
    WHERE assigned_broker_company LIKE 'Outcome %'));
