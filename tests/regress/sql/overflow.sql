-- The overflow pool (issue 15, part 3), in one session: set_pool_rules' overflow_company (NULL
-- keeps, '' removes, a name sets) and every refusal with its SQLSTATE, message, detail and hint;
-- a lead given a number of the overflow pool under that pool's rules when its own pool has none
-- (the result row, the hold, the ledger); sticky repeats, outcomes and returning leads of
-- overflow holds; one level only, whatever is stored; the monitoring views and analytics; a
-- plain-SQL change of a lent hold. Nothing printed depends on the date or the time of day.
-- Companies: Overflow Acme (1 number, local presence off), Overflow Beta (1), Overflow Shared
-- (4, the shared overflow pool), Overflow Far (1), Overflow Ghost (no numbers of its own),
-- Overflow Empty (a policy, no numbers).
-- Leads 0000000f-0000-4000-8000-0000000000NN, shown as NN: 0x Acme's, 1x Beta's, 2x Ghost's,
-- 3x Shared's own, 41 a lead of both Acme and Shared.

SET datestyle = ISO, MDY;
SET intervalstyle = postgres;
SET timezone = 'UTC';
SET search_path = "$user", public, pool_ext;

-- Shared's numbers least recently used in id order; 415 is the area of ovf-shared-2 (and of
-- Acme's own number).
INSERT INTO signalwire_phone_numbers
    (vapi_phone_number_id, number, name, assigned_broker_company, assigned_at)
VALUES ('ovf-acme-1', '+14155550901', 'Acme SF', 'Overflow Acme', now() - interval '30 days'),
       ('ovf-beta-1', '+16175550931', 'Beta Boston', 'Overflow Beta', now() - interval '30 days'),
       ('ovf-shared-1', '+12125550911', 'Shared NY', 'Overflow Shared', now() - interval '30 days'),
       ('ovf-shared-2', '+14155550912', 'Shared SF', 'Overflow Shared', now() - interval '29 days'),
       ('ovf-shared-3', '+13125550913', 'Shared Chicago', 'Overflow Shared', now() - interval '28 days'),
       ('ovf-shared-4', '+13125550914', 'Shared Chicago', 'Overflow Shared', now() - interval '27 days'),
       ('ovf-far-1', '+16175550921', 'Far Boston', 'Overflow Far', now() - interval '30 days');
-- Overflow Empty has a policy, but no numbers.
SELECT company, retention FROM set_company_policy('Overflow Empty', retention => '2 hours');
-- Different retentions, booked holds and time zones for the borrower and the lender: an
-- overflow hold must follow the lender's.
SELECT company, retention, booked_hold, time_zone
FROM set_company_policy('Overflow Acme', retention => '1 hour', booked_hold => '1 day',
                        time_zone => 'Pacific/Pago_Pago');
SELECT company, retention, booked_hold, time_zone
FROM set_company_policy('Overflow Shared', retention => '5 hours', booked_hold => '3 days',
                        time_zone => 'Pacific/Kiritimati');

-------------------------------------------------------------------------------------------------
-- set_pool_rules: overflow_company is the last column; none by default.
SELECT company, local_presence, overflow_company FROM set_pool_rules('Overflow Beta');
SELECT company, local_presence, overflow_company
FROM set_pool_rules('Overflow Acme', local_presence => false, overflow_company => 'Overflow Shared');
-- NULL keeps the rule while another changes.
SELECT company, daily_cap, overflow_company FROM set_pool_rules('Overflow Acme', daily_cap => 5);
SELECT company, daily_cap, overflow_company
FROM set_pool_rules('Overflow Acme', daily_cap => 0, overflow_company => NULL);
-- Several companies may share one overflow pool; a company without numbers may name one.
SELECT company, overflow_company FROM set_pool_rules('Overflow Beta', overflow_company => 'Overflow Shared');
SELECT company, overflow_company FROM set_pool_rules('Overflow Ghost', overflow_company => 'Overflow Shared');
-- Setting the same rule again is no chain.
SELECT company, overflow_company FROM set_pool_rules('Overflow Acme', overflow_company => 'Overflow Shared');

-- Refusals: each changes nothing.
CREATE TEMP TABLE overflow_before AS SELECT pool_snapshot() AS snapshot;
CREATE TEMP TABLE overflow_refusals (n serial, what text, sqlstate text, message text, detail text, hint text);
INSERT INTO overflow_refusals (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'into its own pool',
    $$SELECT * FROM set_pool_rules('Overflow Acme', overflow_company => 'Overflow Acme')$$);
INSERT INTO overflow_refusals (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'a chain: the overflow pool receives overflow (Acme, Beta and Ghost overflow into Shared)',
    $$SELECT * FROM set_pool_rules('Overflow Shared', overflow_company => 'Overflow Far')$$);
INSERT INTO overflow_refusals (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'a chain: the overflow pool overflows itself',
    $$SELECT * FROM set_pool_rules('Overflow Far', overflow_company => 'Overflow Acme')$$);
INSERT INTO overflow_refusals (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'a cycle: Shared into Acme, which overflows into Shared',
    $$SELECT * FROM set_pool_rules('Overflow Shared', overflow_company => 'Overflow Acme')$$);
INSERT INTO overflow_refusals (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'unknown company, a near miss',
    $$SELECT * FROM set_pool_rules('Overflow Far', overflow_company => 'Overflow Shard')$$);
INSERT INTO overflow_refusals (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'unknown company, another case',
    $$SELECT * FROM set_pool_rules('Overflow Far', overflow_company => 'overflow shared')$$);
INSERT INTO overflow_refusals (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'unknown company, nothing close',
    $$SELECT * FROM set_pool_rules('Overflow Far', overflow_company => 'Zzyzx Brokerage')$$);
INSERT INTO overflow_refusals (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'a company with a policy but no numbers',
    $$SELECT * FROM set_pool_rules('Overflow Far', overflow_company => 'Overflow Empty')$$);
INSERT INTO overflow_refusals (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'a company without numbers that overflows itself',
    $$SELECT * FROM set_pool_rules('Overflow Far', overflow_company => 'Overflow Ghost')$$);
INSERT INTO overflow_refusals (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'white space',
    $$SELECT * FROM set_pool_rules('Overflow Far', overflow_company => E' \t ')$$);
INSERT INTO overflow_refusals (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'a valid other rule does not pass a refused overflow',
    $$SELECT * FROM set_pool_rules('Overflow Acme', cooldown => '1 minute', overflow_company => 'Overflow Acme')$$);
-- The table refuses what the API refuses, for a rule written by hand.
INSERT INTO overflow_refusals (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'by hand: into itself',
    $$UPDATE company_policies SET overflow_company = company WHERE company = 'Overflow Beta'$$);
INSERT INTO overflow_refusals (what, sqlstate, message, detail, hint) SELECT * FROM expect_error(
    'by hand: white space',
    $$UPDATE company_policies SET overflow_company = ' ' WHERE company = 'Overflow Beta'$$);
\pset format unaligned
\pset fieldsep ' | '
SELECT n, what, sqlstate, message, detail, hint FROM overflow_refusals ORDER BY n;
\pset format aligned
SELECT pool_snapshot() = snapshot AS unchanged FROM overflow_before;
SELECT company, overflow_company FROM company_policies WHERE company LIKE 'Overflow %' ORDER BY 1;

-------------------------------------------------------------------------------------------------
-- Assignment: the own pool first; then the overflow pool, under its rules (retention 5 hours,
-- local presence on); the owner in assigned_broker_company, from_overflow true.
--   Acme's own number (local presence off: no area match is tried);
SELECT vapi_phone_number_id, assigned_broker_company, release_at - assigned_at AS held_for,
       area_code_matched, chosen_by, from_overflow
FROM assign_phone_number('Overflow Acme', '0000000f-0000-4000-8000-000000000001', '(415) 555-0100');
--   Acme dry: Shared's least recently used number, held by Shared's retention;
SELECT vapi_phone_number_id, number, name, assigned_broker_company,
       release_at - assigned_at AS held_for, area_code_matched, chosen_by, from_overflow
FROM assign_phone_number('Overflow Acme', '0000000f-0000-4000-8000-000000000002');
--   a lead of the 415 area: Shared's local presence picks its 415 number;
SELECT vapi_phone_number_id, number, assigned_broker_company,
       release_at - assigned_at AS held_for, area_code_matched, chosen_by, from_overflow
FROM assign_phone_number('Overflow Acme', '0000000f-0000-4000-8000-000000000003', '(415) 555-0103');
--   Beta's own number, then Shared's;
SELECT vapi_phone_number_id, assigned_broker_company, chosen_by, from_overflow
FROM assign_phone_number('Overflow Beta', '0000000f-0000-4000-8000-000000000011');
SELECT vapi_phone_number_id, assigned_broker_company, chosen_by, from_overflow
FROM assign_phone_number('Overflow Beta', '0000000f-0000-4000-8000-000000000012');
--   Ghost, which has no numbers of its own, lives on Shared's.
SELECT vapi_phone_number_id, assigned_broker_company, release_at - assigned_at AS held_for,
       chosen_by, from_overflow
FROM assign_phone_number('Overflow Ghost', '0000000f-0000-4000-8000-000000000021');
-- try_assign_phone_number: from_overflow after chosen_by.
SELECT status, vapi_phone_number_id, assigned_broker_company, chosen_by, from_overflow,
       customer_phone_e164
FROM try_assign_phone_number('Overflow Ghost', '0000000f-0000-4000-8000-000000000021', '415 555 0121');

-- The holds: lead_company names the borrower on the lent ones only.
SELECT vapi_phone_number_id, assigned_broker_company, right(currently_assigned_to::text, 2) AS lead,
       lead_company
FROM signalwire_phone_numbers WHERE vapi_phone_number_id LIKE 'ovf-%' ORDER BY 1;

-- The sticky repeat of a lent hold: the same number, renewed by the owner's retention (5
-- hours, not Acme's 1 hour). Its end is moved close by hand first, so the renewal shows.
UPDATE signalwire_phone_numbers SET release_at = now() + interval '1 minute'
WHERE vapi_phone_number_id = 'ovf-shared-1';
SELECT vapi_phone_number_id, assigned_broker_company, chosen_by, from_overflow,
       release_at - now() >= interval '5 hours' AND release_at - now() < interval '5 hours 1 minute'
           AS renewed_by_five_hours
FROM assign_phone_number('Overflow Acme', '0000000f-0000-4000-8000-000000000002');
SELECT status, vapi_phone_number_id, chosen_by, from_overflow
FROM try_assign_phone_number('Overflow Acme', '0000000f-0000-4000-8000-000000000002');
-- The repeat of the hold chosen by Shared's local presence: area_code_matched follows Shared's
-- rule (local presence on), as when the number was lent, not Acme's (off).
SELECT vapi_phone_number_id, chosen_by, area_code_matched, from_overflow
FROM assign_phone_number('Overflow Acme', '0000000f-0000-4000-8000-000000000003', '(415) 555-0103');

-- Both pools dry: 53000 naming both, with their counts; a company without numbers says so;
-- the lender's own leads get its plain error (it has no overflow pool). Nothing changes.
CREATE TEMP TABLE overflow_dry AS SELECT pool_snapshot() AS snapshot;
SELECT * FROM expect_error('Acme and Shared dry',
    $$SELECT * FROM assign_phone_number('Overflow Acme', '0000000f-0000-4000-8000-000000000004')$$);
SELECT * FROM expect_error('Ghost: no numbers of its own',
    $$SELECT * FROM assign_phone_number('Overflow Ghost', '0000000f-0000-4000-8000-000000000022')$$);
SELECT * FROM expect_error('Shared itself',
    $$SELECT * FROM assign_phone_number('Overflow Shared', '0000000f-0000-4000-8000-000000000031')$$);
SELECT status, vapi_phone_number_id, from_overflow, message, detail, hint
FROM try_assign_phone_number('Overflow Beta', '0000000f-0000-4000-8000-000000000013');
SELECT pool_snapshot() = snapshot AS unchanged FROM overflow_dry;
-- The lender's low-water alert was raised by the claims that lent its numbers.
SELECT company FROM pool_alert_state WHERE company LIKE 'Overflow %' ORDER BY 1;

-- One level only, whatever is stored: a chain written by hand (Shared into Far) is not
-- followed for Acme's leads, though Far has a free number ...
INSERT INTO company_policies (company, overflow_company) VALUES ('Overflow Shared', 'Overflow Far')
ON CONFLICT (company) DO UPDATE SET overflow_company = excluded.overflow_company;
SELECT * FROM expect_error('Acme: Far is two levels away',
    $$SELECT * FROM assign_phone_number('Overflow Acme', '0000000f-0000-4000-8000-000000000004')$$);
-- ... while for Shared's own leads Far is one level away.
SELECT vapi_phone_number_id, assigned_broker_company, chosen_by, from_overflow
FROM assign_phone_number('Overflow Shared', '0000000f-0000-4000-8000-000000000031');
UPDATE company_policies SET overflow_company = NULL WHERE company = 'Overflow Shared';

-------------------------------------------------------------------------------------------------
-- Monitoring: number_states and recent_assignments name the borrower of each lent hold,
-- pool_health counts the lent numbers, double_assignments judges by the lead's company.
SELECT company, vapi_phone_number_id, state, right(lead_id::text, 2) AS lead, lead_company
FROM number_states WHERE company LIKE 'Overflow %' ORDER BY 1, 2;
SELECT company, available, assigned, total, lent
FROM pool_health WHERE company LIKE 'Overflow %' ORDER BY 1;
SELECT company, vapi_phone_number_id, right(lead_id::text, 2) AS lead, still_held, lead_company
FROM recent_assignments WHERE company LIKE 'Overflow %' ORDER BY company, vapi_phone_number_id;
SELECT * FROM double_assignments;

-------------------------------------------------------------------------------------------------
-- Outcomes of lent holds, named by the lead's company and run by the owner's rules.
--   booked: the appointment plus Shared's booked hold (3 days, not Acme's 1 day);
SELECT vapi_phone_number_id, assigned_broker_company, assignment_status, last_call_outcome,
       release_at = now() + interval '2 days' + interval '3 days' AS owners_booked_hold
FROM record_call_outcome('0000000f-0000-4000-8000-000000000002', 'booked',
                         now() + interval '2 days', company => 'Overflow Acme');
--   the owner's name is not the lead's company: no hold of Shared's own for lead 02;
SELECT * FROM expect_error('outcome named by the owner',
    $$SELECT * FROM record_call_outcome('0000000f-0000-4000-8000-000000000002', 'no_answer', company => 'Overflow Shared')$$);
--   no_answer: the end of the day in Shared's time zone (Kiritimati), not Beta's or Acme's;
SELECT vapi_phone_number_id, assignment_status,
       release_at = _local_day_end(now(), 'Pacific/Kiritimati') AS owners_day,
       release_at = _local_day_end(now(), 'Pacific/Pago_Pago') AS acmes_day
FROM record_call_outcome('0000000f-0000-4000-8000-000000000012', 'no_answer');
--   wrong_number releases the number, which then rests by Shared's cooldown.
SELECT cooldown FROM set_pool_rules('Overflow Shared', cooldown => '1 hour');
SELECT vapi_phone_number_id, assigned_broker_company, assignment_status, last_call_outcome, release_at
FROM record_call_outcome('0000000f-0000-4000-8000-000000000003', 'wrong_number', company => 'Overflow Acme');
SELECT vapi_phone_number_id, state, lead_id, lead_company
FROM number_states WHERE vapi_phone_number_id = 'ovf-shared-2';
SELECT * FROM expect_error('Beta: Shared has a resting number only',
    $$SELECT * FROM assign_phone_number('Overflow Beta', '0000000f-0000-4000-8000-000000000013')$$);

-- A returning lead: its previous number was lent; its own pool is dry, so it gets that number
-- back from Shared, even while it rests.
SELECT vapi_phone_number_id, assigned_broker_company, chosen_by, from_overflow
FROM assign_phone_number('Overflow Acme', '0000000f-0000-4000-8000-000000000003');
SELECT vapi_phone_number_id, assignment_status
FROM record_call_outcome('0000000f-0000-4000-8000-000000000003', 'do_not_call');
-- When its own pool has a number, the own pool comes first.
SELECT force_release_phone_number('ovf-acme-1', 'overflow test');
SELECT vapi_phone_number_id, assigned_broker_company, chosen_by, from_overflow
FROM assign_phone_number('Overflow Acme', '0000000f-0000-4000-8000-000000000003');

-- A lead of two companies: lead 41 holds a number of Shared as Shared's lead and one as
-- Acme's (Ghost's number released by an operator first). An outcome must name the company.
SELECT cooldown FROM set_pool_rules('Overflow Shared', cooldown => '0');
SELECT vapi_phone_number_id, assigned_broker_company, chosen_by, from_overflow
FROM assign_phone_number('Overflow Shared', '0000000f-0000-4000-8000-000000000041');
SELECT force_release_phone_number('ovf-shared-4', 'overflow test');
SELECT vapi_phone_number_id, assigned_broker_company, chosen_by, from_overflow
FROM assign_phone_number('Overflow Acme', '0000000f-0000-4000-8000-000000000041');
SELECT * FROM expect_error('two holds, no company named',
    $$SELECT * FROM record_call_outcome('0000000f-0000-4000-8000-000000000041', 'no_answer')$$);
SELECT vapi_phone_number_id, assigned_broker_company, last_call_outcome
FROM record_call_outcome('0000000f-0000-4000-8000-000000000041', 'no_answer', company => 'Overflow Acme');
SELECT vapi_phone_number_id, last_call_outcome
FROM signalwire_phone_numbers WHERE currently_assigned_to = '0000000f-0000-4000-8000-000000000041'
ORDER BY 1;
-- Each of lead 41's holds comes back for its own company.
SELECT vapi_phone_number_id, chosen_by, from_overflow
FROM assign_phone_number('Overflow Shared', '0000000f-0000-4000-8000-000000000041');
SELECT vapi_phone_number_id, chosen_by, from_overflow
FROM assign_phone_number('Overflow Acme', '0000000f-0000-4000-8000-000000000041');
SELECT * FROM double_assignments;

-- Who held a number: the lead's company.
SELECT vapi_phone_number_id, right(lead_id::text, 2) AS lead, company, held_at_time
FROM (VALUES ('+12125550911'), ('+14155550912'), ('+13125550913'), ('+13125550914'), ('+16175550921'))
     AS n (phone),
     LATERAL who_held_number(n.phone)
ORDER BY 1;

-- pool_activity and pool_runway count the lending pool's lent assignments and the borrowers'
-- borrowed ones (Ghost, without numbers of its own, is listed for what it borrowed). Sums
-- over the hours: the hours depend on when the test runs.
SELECT company, sum(assignments) AS assignments, sum(lent) AS lent, sum(borrowed) AS borrowed
FROM pool_activity() WHERE company LIKE 'Overflow %' GROUP BY company ORDER BY company;
SELECT company, sum(assignments) AS assignments, sum(lent) AS lent, sum(borrowed) AS borrowed
FROM pool_activity('Overflow Acme') GROUP BY company;
SELECT company, available, assigned, assignments_per_hour, lent_per_hour, borrowed_per_hour
FROM pool_runway() WHERE company LIKE 'Overflow %' ORDER BY company;

-------------------------------------------------------------------------------------------------
-- A plain-SQL release of a lent hold: the ledger's release names the borrower, the pool row
-- loses it (trigger), and a hand-made hold is the owner's.
UPDATE signalwire_phone_numbers
SET currently_assigned_to = NULL, release_at = NULL, assignment_status = 'available'
WHERE vapi_phone_number_id = 'ovf-shared-1';
SELECT vapi_phone_number_id, assignment_status, currently_assigned_to, lead_company
FROM signalwire_phone_numbers WHERE vapi_phone_number_id = 'ovf-shared-1';
UPDATE signalwire_phone_numbers
SET currently_assigned_to = '0000000f-0000-4000-8000-000000000032', assigned_at = now(),
    release_at = now() + interval '1 hour', assignment_status = 'assigned'
WHERE vapi_phone_number_id = 'ovf-shared-1';
SELECT vapi_phone_number_id, right(currently_assigned_to::text, 2) AS lead, lead_company
FROM signalwire_phone_numbers WHERE vapi_phone_number_id = 'ovf-shared-1';
-- Released by hand with a lead company written along: cleared all the same.
UPDATE signalwire_phone_numbers
SET currently_assigned_to = NULL, release_at = NULL, assignment_status = 'available',
    lead_company = 'Overflow Acme'
WHERE vapi_phone_number_id = 'ovf-shared-1';
SELECT count(*) AS free_with_lead_company FROM signalwire_phone_numbers
WHERE currently_assigned_to IS NULL AND lead_company IS NOT NULL;

-- The ledger of the file: every row of a lent hold carries the lead's company.
SELECT event, vapi_phone_number_id, broker_company, right(lead_id::text, 2) AS lead,
       lead_company, reason
FROM phone_number_ledger WHERE broker_company LIKE 'Overflow %' ORDER BY id;
-- Every row of a hold (up to the number's next assignment) carries the lead company of the
-- assignment that began it.
WITH rows AS (
    SELECT id, lead_company,
           max(id) FILTER (WHERE event = 'assigned')
               OVER (PARTITION BY vapi_phone_number_id ORDER BY id) AS hold_id
    FROM phone_number_ledger WHERE broker_company LIKE 'Overflow %'
)
SELECT count(*) FILTER (WHERE h.lead_company IS NOT NULL) AS rows_of_lent_holds,
       count(*) FILTER (WHERE r.lead_company IS DISTINCT FROM h.lead_company) AS mismatched
FROM rows AS r JOIN phone_number_ledger AS h ON h.id = r.hold_id;

-- '' removes the rule: Acme's next lead gets the plain error.
SELECT company, overflow_company FROM set_pool_rules('Overflow Acme', overflow_company => '');
SELECT * FROM expect_error('Acme without overflow',
    $$SELECT * FROM assign_phone_number('Overflow Acme', '0000000f-0000-4000-8000-000000000004')$$);
-- Once no company overflows into Shared, it may have an overflow pool itself.
SELECT company, overflow_company FROM set_pool_rules('Overflow Beta', overflow_company => '');
SELECT company, overflow_company FROM set_pool_rules('Overflow Ghost', overflow_company => '');
SELECT company, overflow_company FROM set_pool_rules('Overflow Shared', overflow_company => 'Overflow Far');
SELECT * FROM pool_invariants();

-- Clean up for the next file.
SELECT * FROM forget_companies('Overflow Acme', 'Overflow Beta', 'Overflow Shared', 'Overflow Far',
                               'Overflow Ghost', 'Overflow Empty');
