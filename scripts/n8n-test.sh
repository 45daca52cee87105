#!/usr/bin/env bash
# The shipped n8n workflows (examples/n8n/*.json), imported unchanged into a real n8n and run
# as n8n runs them, against a private Postgres on loopback:
#   - the two webhook flows through their real webhooks (`n8n start`, production URLs);
#   - the hourly schedule as n8n's scheduler fires it: n8n runs under libfaketime with its
#     clock set shortly before the top of an hour (only n8n's clock; Postgres keeps real time);
#   - the low-water alert flow from a real NOTIFY through n8n's Postgres Trigger.
# The voice API and the chat webhook are tests/n8n/standin.py, reached through HTTPS_PROXY
# (configuration: the files keep their real URLs). Checks what the database and the stand-in
# received, and that n8n recorded every execution as a success.
#
#   bash scripts/n8n-test.sh    # installs n8n once into the cache (scripts/n8n-install.sh)
#
# If n8n cannot be installed or started, this fails: it never passes without running n8n.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

N8N_PORT=55678
PROXY_PORT=55679
DB=pool_ext_n8n
work=/var/tmp/pool_ext-n8n-run
passed=0
failed=0

n8n_home=$(bash scripts/n8n-install.sh)
node=$n8n_home/node/bin/node
n8n_js=$n8n_home/n8n/node_modules/n8n/bin/n8n
[ -x "$node" ] && [ -f "$n8n_js" ] || { echo "n8n: not installed at $n8n_home" >&2; exit 1; }
libfaketime=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -f "$libfaketime" ] || { echo "n8n: libfaketime missing (apt package faketime; scripts/setup.sh installs it)" >&2; exit 1; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash scripts/cluster.sh stop n8n
}
trap cleanup EXIT

check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then
    passed=$((passed + 1))
    log n8n "ok: $1"
  else
    failed=$((failed + 1))
    log n8n "FAILED: $1"
    printf '  expected: %s\n  actual:   %s\n' "$2" "$3" >&2
  fi
}

rm -rf "$work"
mkdir -p "$work/home"

# --- Postgres: a private cluster on loopback, a fresh database, a caller-level role. ---
bash scripts/cluster.sh start n8n
eval "$(bash scripts/cluster.sh env n8n)"
export PGHOST PGPORT PGUSER
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
recreate_database "$DB" -- psql -X -q -v ON_ERROR_STOP=1 -d postgres
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP ROLE IF EXISTS n8n_worker"
q -f tests/n8n/setup.sql >/dev/null

# --- The stand-in for the voice API and the chat, behind an HTTPS proxy on loopback. ---
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=pool_ext n8n test CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=api.vapi.ai" \
  -keyout "$work/standin.key" -out "$work/standin.csr" 2>/dev/null
printf 'subjectAltName=DNS:api.vapi.ai,DNS:hooks.example.com\n' >"$work/san.ext"
openssl x509 -req -in "$work/standin.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
  -CAcreateserial -days 2 -extfile "$work/san.ext" -out "$work/standin.pem" 2>/dev/null
: >"$work/requests.jsonl"
python3 tests/n8n/standin.py "$PROXY_PORT" "$work/standin.pem" "$work/standin.key" \
  "$work/requests.jsonl" >"$work/standin.log" 2>&1 &
pids+=($!)

# --- n8n: its own folder, loopback only, no telemetry; the world through the stand-in. ---
export N8N_USER_FOLDER=$work/home
export N8N_LISTEN_ADDRESS=127.0.0.1 N8N_PORT N8N_HOST=127.0.0.1
export N8N_WEBHOOK_URL=http://127.0.0.1:$N8N_PORT/ N8N_RUNNERS_BROKER_PORT=$((N8N_PORT + 2))
export N8N_ENCRYPTION_KEY=pool-ext-n8n-test-key
export N8N_DIAGNOSTICS_ENABLED=false N8N_VERSION_NOTIFICATIONS_ENABLED=false
export N8N_TEMPLATES_ENABLED=false N8N_PERSONALIZATION_ENABLED=false
export GENERIC_TIMEZONE=UTC TZ=UTC
export HTTPS_PROXY=http://127.0.0.1:$PROXY_PORT HTTP_PROXY=http://127.0.0.1:$PROXY_PORT
export NO_PROXY=127.0.0.1,localhost
export NODE_EXTRA_CA_CERTS=$work/ca.pem
n8n() { (cd "$work" && "$node" "$n8n_js" "$@"); }

cat >"$work/credentials.json" <<JSON
[
  {"id": "pool-ext-db", "name": "pool_ext database", "type": "postgres",
   "data": {"host": "127.0.0.1", "port": $PGPORT, "database": "$DB", "user": "n8n_worker",
            "password": "n8n-worker-test", "ssl": "disable", "allowUnauthorizedCerts": false}},
  {"id": "vapi-api-key", "name": "Vapi API key", "type": "httpHeaderAuth",
   "data": {"name": "Authorization", "value": "Bearer test-vapi-key"}}
]
JSON
log n8n "importing credentials and the shipped workflows (unchanged)"
n8n import:credentials --input="$work/credentials.json" >"$work/import.log" 2>&1
for file in examples/n8n/*.json; do
  n8n import:workflow --input="$PWD/$file" >>"$work/import.log" 2>&1 ||
    { cat "$work/import.log" >&2; echo "n8n: importing $file failed" >&2; exit 1; }
  id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$file")
  n8n publish:workflow --id="$id" >>"$work/import.log" 2>&1 ||
    { cat "$work/import.log" >&2; echo "n8n: publishing $file failed" >&2; exit 1; }
done

# --- n8n start, its clock 75 s before the next top of the hour (later than real time, so the
# stand-in's fresh certificate is valid to it), so that the hourly schedule fires mid-test. ---
# Two minutes ahead first: near the end of an hour, the hour after next.
now=$(date -u +%s)
fake_start=$(( ((now + 120) / 3600 + 1) * 3600 - 75 ))
log n8n "starting n8n (its clock at $(date -u -d "@$fake_start" +%H:%M:%S) UTC; the schedule fires at the hour)"
(
  cd "$work"
  export LD_PRELOAD=$libfaketime FAKETIME="@$(date -u -d "@$fake_start" '+%Y-%m-%d %H:%M:%S')"
  export FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_DONT_RESET=1
  exec "$node" "$n8n_js" start
) >"$work/n8n.log" 2>&1 &
n8n_pid=$!
pids+=("$n8n_pid")
started=$(date +%s)
until curl -fsS "http://127.0.0.1:$N8N_PORT/healthz/readiness" >/dev/null 2>&1; do
  if ! kill -0 "$n8n_pid" 2>/dev/null || [ $(( $(date +%s) - started )) -gt 180 ]; then
    tail -40 "$work/n8n.log" >&2
    echo "n8n: did not become ready within 180 s" >&2
    exit 1
  fi
  sleep 1
done
# Ready is not yet active: the published workflows' webhooks register a moment later.
for path in lead-replied call-ended; do
  # Unknown: 'The requested webhook "GET <path>" is not registered' (JSON-escaped). Registered
  # for POST: 'This webhook is not registered for GET requests...'.
  until body=$(curl -s "http://127.0.0.1:$N8N_PORT/webhook/$path") &&
        [ -n "$body" ] && ! grep -q 'requested webhook' <<<"$body"; do
    if [ $(( $(date +%s) - started )) -gt 180 ]; then
      tail -40 "$work/n8n.log" >&2
      echo "n8n: the webhook $path was not registered within 180 s" >&2
      exit 1
    fi
    sleep 1
  done
done
log n8n "n8n ready, webhooks registered, after $(( $(date +%s) - started )) s"

post() { # post PATH JSON: the webhook's answer (the last node's output)
  curl -sS --max-time 60 -X POST -H 'Content-Type: application/json' \
    --data "$2" "http://127.0.0.1:$N8N_PORT/webhook/$1"
}
field() { # field JSON KEY: one field of a JSON object (or of the first of an array)
  python3 -c 'import json,sys; v=json.loads(sys.argv[1]); v=v[0] if isinstance(v,list) else v; print(v.get(sys.argv[2]))' "$1" "$2"
}
requests() { # requests HOST: what the stand-in received for HOST, one JSON line each
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["host"] == sys.argv[2]:
        print(json.dumps(r, sort_keys=True))' "$work/requests.jsonl" "$1"
}
holder() { q -c "SELECT vapi_phone_number_id FROM pool_ext.signalwire_phone_numbers WHERE currently_assigned_to = '$1'"; }
lead=00000000-0000-4000-8000-0000000000

# --- 1. A lead replies: a number is held, the call starts from it, in E.164, authenticated. ---
answer=$(post lead-replied "{\"company_name\": \"N8n Main Co\", \"lead_id\": \"${lead}01\", \"reply_phone\": \"415.555.0123\"}")
check "reply: the webhook answers with the voice API's answer" "queued" "$(field "$answer" status)"
check "reply: the lead holds the local number" "n8n-main-1" "$(holder "${lead}01")"
check "reply: the ledger has the assignment" "1" \
  "$(q -c "SELECT count(*) FROM pool_ext.phone_number_ledger WHERE lead_id = '${lead}01' AND event = 'assigned'")"
check "reply: one call to the voice API, from the held number, to the lead in E.164, authenticated" \
  '{"authorization": "Bearer test-vapi-key", "body": {"customer": {"number": "+14155550123"}, "phoneNumberId": "n8n-main-1"}, "content_type": "application/json", "host": "api.vapi.ai", "method": "POST", "path": "/call"}' \
  "$(requests api.vapi.ai)"

# --- 2. The same lead again: the same number (sticky), a second call. ---
post lead-replied "{\"company_name\": \"N8n Main Co\", \"lead_id\": \"${lead}01\", \"reply_phone\": \"(415) 555-0123\"}" >/dev/null
check "repeat: still one hold, the same number" "n8n-main-1" "$(holder "${lead}01")"
check "repeat: the second call is from the same number" "n8n-main-1 n8n-main-1" \
  "$(requests api.vapi.ai | python3 -c 'import json,sys; print(" ".join(json.loads(l)["body"]["phoneNumberId"] for l in sys.stdin))')"

# --- 3. An empty reply phone is no phone: assigned without local presence, no error. ---
answer=$(post lead-replied "{\"company_name\": \"N8n Main Co\", \"lead_id\": \"${lead}02\", \"reply_phone\": \"\"}")
check "empty phone: assigned" "n8n-main-2" "$(holder "${lead}02")"
check "empty phone: the call has no customer number to dial" "None" \
  "$(requests api.vapi.ai | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["body"]["customer"].get("number"))')"

# --- 4. A company name with a comma, a quote and an ampersand stays one parameter. ---
post lead-replied "{\"company_name\": \"N8n O'Brien, Sons & Co\", \"lead_id\": \"${lead}03\", \"reply_phone\": \"+1 312 555 0199\"}" >/dev/null
check "quoted company: assigned from its own pool" "n8n-quote-1" "$(holder "${lead}03")"

# --- 5. An exhausted pool is data: the workflow takes the 'Pool exhausted' branch. ---
post lead-replied "{\"company_name\": \"N8n Dry Co\", \"lead_id\": \"${lead}04\"}" >/dev/null
calls_before=$(requests api.vapi.ai | wc -l)
answer=$(post lead-replied "{\"company_name\": \"N8n Dry Co\", \"lead_id\": \"${lead}05\"}")
check "exhausted: the answer's status" "pool_exhausted" "$(field "$answer" status)"
check "exhausted: the detail counts the pool" "1 of 1 numbers are assigned." "$(field "$answer" detail)"
check "exhausted: the hint says what frees a number" "True" \
  "$(python3 -c 'import sys; print("release_expired_phone_numbers" in sys.argv[1])' "$(field "$answer" hint)")"
check "exhausted: no hold for the lead" "" "$(holder "${lead}05")"
check "exhausted: no call started" "$calls_before" "$(requests api.vapi.ai | wc -l)"

# --- 6. Mistakes go to the error output, not to 'Pool exhausted', and change nothing. ---
ledger_before=$(q -c "SELECT count(*) FROM pool_ext.phone_number_ledger")
answer=$(post lead-replied "{\"company_name\": \"N8n Mian Co\", \"lead_id\": \"${lead}06\"}")
check "unknown company: the error output names the closest company" \
  "No phone numbers are registered for company 'N8n Mian Co'" "$(field "$answer" message)"
check "unknown company: the error's description is the hint" \
  "Company names must match brokers.company_name exactly (case, spaces and punctuation included). Did you mean 'N8n Main Co'?" \
  "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["error"]["description"])' "$answer")"
answer=$(post lead-replied "{\"company_name\": \"N8n Main Co\", \"lead_id\": \"not-a-uuid\"}")
check "malformed lead_id: the error output" 'invalid input syntax for type uuid: "not-a-uuid"' \
  "$(field "$answer" message)"
check "mistakes: nothing changed" "$ledger_before" "$(q -c "SELECT count(*) FROM pool_ext.phone_number_ledger")"

# --- 7. Call outcomes through their webhook; an empty appointment_at is no appointment. ---
appointment=$(date -u -d '+3 days' +%Y-%m-%dT15:00:00Z)
post call-ended "{\"lead_id\": \"${lead}01\", \"outcome\": \"booked\", \"appointment_at\": \"$appointment\"}" >/dev/null
check "booked: held until 24 h after the appointment" "$(date -u -d '+4 days' '+%Y-%m-%d 15:00:00+00')" \
  "$(q -c "SELECT release_at FROM pool_ext.signalwire_phone_numbers WHERE currently_assigned_to = '${lead}01'")"
post call-ended "{\"lead_id\": \"${lead}02\", \"outcome\": \"wrong_number\", \"appointment_at\": \"\"}" >/dev/null
check "wrong_number with an empty appointment_at: the number is released at once" "" "$(holder "${lead}02")"
check "outcomes are in the ledger" "outcome:booked released:wrong_number" \
  "$(q -c "SELECT string_agg(event || ':' || reason, ' ' ORDER BY id) FROM pool_ext.phone_number_ledger WHERE lead_id IN ('${lead}01', '${lead}02') AND event IN ('outcome', 'released')")"

wait_for() { # wait_for SECONDS COMMAND...: until COMMAND prints something non-empty
  local limit=$(( $(date +%s) + $1 ))
  shift
  until [ -n "$("$@")" ]; do
    [ "$(date +%s)" -lt "$limit" ] || return 0
    sleep 1
  done
}

# --- 8. The low-water alert: NOTIFY -> n8n's Postgres Trigger -> the chat. ---
post lead-replied "{\"company_name\": \"N8n Alert Co\", \"lead_id\": \"${lead}11\"}" >/dev/null
post lead-replied "{\"company_name\": \"N8n Alert Co\", \"lead_id\": \"${lead}12\"}" >/dev/null
wait_for 60 sh -c "grep 'N8n Alert Co' '$work/requests.jsonl' || true"
chat() { requests hooks.example.com | python3 -c '
import json, sys
for r in sorted(json.loads(l)["body"]["text"] for l in sys.stdin): print(r)'; }
check "alert: one message to the chat for each pool that crossed its mark, as the Code node words it" \
  "pool_ext: N8n Alert Co is low on caller numbers: 1 of 3 free (alert at 1).
pool_ext: N8n Dry Co is low on caller numbers: 0 of 1 free (alert at 1).
pool_ext: N8n Main Co is low on caller numbers: 1 of 3 free (alert at 1).
pool_ext: N8n O'Brien, Sons & Co is low on caller numbers: 0 of 1 free (alert at 1)." \
  "$(chat)"
check "alert: posted as JSON, no credentials sent to the chat" '{"authorization": null, "content_type": "application/json", "method": "POST", "path": "/your-chat-webhook"}' \
  "$(requests hooks.example.com | python3 -c '
import json, sys
print(sorted({json.dumps({k: v for k, v in json.loads(l).items() if k not in ("body", "host")}, sort_keys=True) for l in sys.stdin})[0])')"

# --- 9. The hourly release, fired by n8n's scheduler at the (fake) top of the hour. ---
released() {
  q -c "SELECT reason || ' by ' || actor FROM pool_ext.phone_number_ledger
        WHERE vapi_phone_number_id = 'n8n-expired-1' AND event = 'released'"
}
# n8n's clock reaches the hour 75 s after it started; a minute's margin.
wait_for $(( started + 75 + 60 - $(date +%s) )) released
check "schedule: the overdue hold was released by n8n's hourly run" "expired by n8n_worker" "$(released)"

# --- 10. n8n's own record: every execution finished as a success, each flow ran its way. ---
sleep 2
executions=$(python3 - "$work/home/.n8n/database.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute(
    "SELECT workflowId, mode, status, count(*) FROM execution_entity "
    "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3").fetchall()
print(" ".join(f"{w}/{m}/{s}={n}" for w, m, s, n in rows))
PY
)
check "n8n: every execution a success (workflow/mode/status=count)" \
  "poolExtAssignOnReply/webhook/success=10 poolExtCallOutcome/webhook/success=2 poolExtHourlyRelease/trigger/success=1 poolExtLowWaterAlert/trigger/success=4" \
  "$executions"

echo "n8n: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
