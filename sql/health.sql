-- Number health: each number's recent call outcomes against its company's, and the quarantine
-- of a number whose answers collapsed (set_pool_rules: quarantine_below, health_min_calls,
-- quarantine_for). Carriers label worn numbers "Spam Likely" and people stop answering them;
-- a number answered far less often than its company's others is taken out of rotation.

-- Each number's last outcomes since it last came back (its window), oldest first, at most its
-- company's health_min_calls of them, with when each was recorded; true: answered (any
-- outcome but no_answer). With it, the company's calls and answers over the same period (from
-- the window's first outcome on, every number of the company), as the last outcome saw them:
-- the quarantine rule compares the two (src/rules.rs, quarantine_due). Over the same period,
-- so that a company-wide fall (a bad list, a holiday) lowers both and quarantines nothing.
-- Written by record_call_outcome in the outcome's transaction
-- (sql/statements/record_health.sql); forgotten when a quarantine ends, so old calls do not
-- quarantine the number again at once, and when the number changes or is retired (below). Kept
-- here rather than counted from the ledger: a company's rate would read every ledger row of
-- its numbers on every outcome; this way it reads one row per number of the company.
CREATE TABLE number_health_windows (
    vapi_phone_number_id text PRIMARY KEY,
    company              text NOT NULL,
    answered             boolean[] NOT NULL,
    called_at            timestamptz[] NOT NULL,
    company_calls        bigint NOT NULL,
    company_answered     bigint NOT NULL
);

COMMENT ON TABLE number_health_windows IS
    'Each number''s last call outcomes (true: answered), kept by record_call_outcome; read by number_health.';

-- A company's windows, for its answer rate at each outcome.
CREATE INDEX idx_number_health_windows_company ON number_health_windows (company);

REVOKE ALL ON number_health_windows FROM PUBLIC;
ALTER TABLE number_health_windows ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('number_health_windows', '');

-- A window belongs to a number as it was called: it is forgotten when the number changes
-- (another E.164 number or company under the same id, an import or move_phone_number), when it
-- is retired (a retired number that comes back starts afresh), when its quarantine ends (the
-- calls that quarantined it must not do so again at once) and when its row is deleted.
-- Holds and releases never set these columns, so this trigger is never even queued for them.
CREATE FUNCTION _forget_number_health() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    DELETE FROM number_health_windows WHERE vapi_phone_number_id = OLD.vapi_phone_number_id;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION _forget_number_health() FROM PUBLIC;

CREATE TRIGGER signalwire_phone_numbers_forget_health
    AFTER UPDATE OF number, assigned_broker_company, status ON signalwire_phone_numbers
    FOR EACH ROW
    WHEN (OLD.number IS DISTINCT FROM NEW.number
          OR OLD.assigned_broker_company IS DISTINCT FROM NEW.assigned_broker_company
          OR (NEW.status IS DISTINCT FROM OLD.status
              AND (NEW.status = 'inactive' OR OLD.status = 'quarantined')))
    EXECUTE FUNCTION _forget_number_health();
CREATE TRIGGER signalwire_phone_numbers_forget_health_of_deleted
    AFTER DELETE ON signalwire_phone_numbers FOR EACH ROW
    EXECUTE FUNCTION _forget_number_health();

-- One row per number: its calls and answer rate over its window, its company's answer rate
-- over the same period (as of the number's last outcome), and its state: quarantined (until
-- quarantined_until), retired, probation (fewer calls than health_min_calls since it came
-- back: too few to judge) or healthy. Rates are NULL without calls. quarantine_below is the
-- company's rule (NULL: off). One index lookup per number.
CREATE VIEW number_health AS
SELECT p.assigned_broker_company AS company, p.vapi_phone_number_id, p.number,
       coalesce(cardinality(h.answered), 0) AS calls,
       round(w.answered::numeric / nullif(cardinality(h.answered), 0), 3) AS answer_rate,
       round(h.company_answered::numeric / nullif(h.company_calls, 0), 3) AS company_answer_rate,
       CASE WHEN p.status = 'quarantined' THEN 'quarantined'
            WHEN p.status = 'inactive' THEN 'retired'
            WHEN coalesce(cardinality(h.answered), 0)
                 < coalesce(cp.health_min_calls, d.health_min_calls) THEN 'probation'
            ELSE 'healthy'
       END AS state,
       p.quarantined_until,
       h.called_at[1] AS calls_since,
       coalesce(cp.health_min_calls, d.health_min_calls) AS health_min_calls,
       cp.quarantine_below
FROM signalwire_phone_numbers AS p
LEFT JOIN company_policies AS cp ON cp.company = p.assigned_broker_company
CROSS JOIN _policy_defaults AS d
LEFT JOIN number_health_windows AS h
    ON h.vapi_phone_number_id = p.vapi_phone_number_id AND h.company = p.assigned_broker_company
CROSS JOIN LATERAL (SELECT count(*) AS answered FROM unnest(h.answered) AS a WHERE a) AS w;

COMMENT ON VIEW number_health IS
    'Each number: calls and answer rate over its last health_min_calls outcomes, its company''s rate over the same period, and healthy, probation, quarantined or retired.';

REVOKE ALL ON number_health FROM PUBLIC;
