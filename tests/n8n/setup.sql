-- The database the n8n test's workflows work on: companies of their own, a role with the
-- caller level only (what the workflows need), an overdue hold for the hourly release.
CREATE EXTENSION pool_ext;
SELECT * FROM pool_ext.import_phone_numbers($$[
  {"vapi_phone_number_id": "n8n-main-1", "number": "+14155550101", "name": "SF 1", "broker_company": "N8n Main Co"},
  {"vapi_phone_number_id": "n8n-main-2", "number": "+12125550102", "name": "NY 1", "broker_company": "N8n Main Co"},
  {"vapi_phone_number_id": "n8n-main-3", "number": "+12125550103", "name": "NY 2", "broker_company": "N8n Main Co"},
  {"vapi_phone_number_id": "n8n-quote-1", "number": "+13125550101", "name": "Q 1", "broker_company": "N8n O'Brien, Sons & Co"},
  {"vapi_phone_number_id": "n8n-dry-1", "number": "+13125550201", "name": "D 1", "broker_company": "N8n Dry Co"},
  {"vapi_phone_number_id": "n8n-alert-1", "number": "+13125550301", "name": "A 1", "broker_company": "N8n Alert Co"},
  {"vapi_phone_number_id": "n8n-alert-2", "number": "+13125550302", "name": "A 2", "broker_company": "N8n Alert Co"},
  {"vapi_phone_number_id": "n8n-alert-3", "number": "+13125550303", "name": "A 3", "broker_company": "N8n Alert Co"},
  {"vapi_phone_number_id": "n8n-expired-1", "number": "+13125550401", "name": "E 1", "broker_company": "N8n Expired Co"}
]$$);
-- An alert when an assignment leaves one number or fewer.
SELECT pool_ext.set_pool_rules('N8n Alert Co', low_water_count => 1);

-- A hold that ran out an hour ago and waits for the release job.
SELECT number FROM pool_ext.assign_phone_number('N8n Expired Co', '00000000-0000-4000-8000-00000000e001');
UPDATE pool_ext.signalwire_phone_numbers SET release_at = now() - interval '1 hour'
WHERE vapi_phone_number_id = 'n8n-expired-1';

CREATE ROLE n8n_worker LOGIN PASSWORD 'n8n-worker-test';
SELECT count(*) FROM pool_ext.grant_pool_access('n8n_worker', 'caller');
