#!/usr/bin/env bash
# Builds Huikuan, starts the all-in-one server on SQLite, imports the sample
# portfolio and shows the dispatch API handing out and closing calls, the
# speech engine, the robot in text and on live SIP calls; then leaves the
# server running with the web console at a printed URL and demo users
# whose passwords are made for this run (HUIKUAN_DEMO_NO_WAIT=1: stop instead).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-deps.sh
./scripts/fetch-models.sh
cargo build --release -p huikuan-cli
BIN=${CARGO_TARGET_DIR:-target}/release/huikuan
# The demo's own directory starts empty on every run, so every run places
# its calls (accounts already called there would not be called again the
# same day). A directory given in HUIKUAN_DATA_DIR is used as it is.
if [ -z "${HUIKUAN_DATA_DIR:-}" ]; then
  export HUIKUAN_DATA_DIR=$HOME/.cache/huikuan/demo-data
  rm -rf "$HUIKUAN_DATA_DIR"
fi
export HUIKUAN_TOKEN=${HUIKUAN_TOKEN:-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n")}
export HUIKUAN_LISTEN=${HUIKUAN_LISTEN:-127.0.0.1:50051}
export HUIKUAN_CONSOLE_LISTEN=${HUIKUAN_CONSOLE_LISTEN:-127.0.0.1:8080}
mkdir -p "$HUIKUAN_DATA_DIR"
"$BIN" import samples/portfolio-1000.csv --campaign demo
"$BIN" campaign show demo
echo "--- the day's plan: who is called when, by robot or agent, and why; approved ---"
TODAY=$(TZ=Asia/Shanghai date +%F)
"$BIN" plan --campaign demo --date "$TODAY" --approve --by demo-manager \
  --why "the demo's plan" --export "$HUIKUAN_DATA_DIR/plan.csv" --skipped "$HUIKUAN_DATA_DIR/skipped.csv"
head -4 "$HUIKUAN_DATA_DIR/plan.csv"
echo "accounts not planned, by rule:"
tail -n +2 "$HUIKUAN_DATA_DIR/skipped.csv" | cut -d, -f2 | sort | uniq -c
FIRST=$(sed -n 2p "$HUIKUAN_DATA_DIR/plan.csv" | cut -d, -f1)
[ -n "$FIRST" ] && "$BIN" plan --explain "$FIRST" --date "$TODAY"
echo "--- tomorrow's plan, left a draft for the manager to review and approve on the console ---"
"$BIN" plan --campaign demo --date "$(TZ=Asia/Shanghai date -d tomorrow +%F)" --by planner | tail -3
"$BIN" serve & SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do (echo > /dev/tcp/${HUIKUAN_LISTEN%:*}/${HUIKUAN_LISTEN#*:}) 2>/dev/null && break; sleep 0.2; done
echo "--- dialer workers leasing and reporting the plan's calls due now for 3 s (none outside 08:00-21:00 debtor time) ---"
"$BIN" dev bench-lease --endpoint "http://$HUIKUAN_LISTEN" --workers 2 --batch 5 --seconds 3
"$BIN" campaign show demo
"$BIN" accounts list --campaign demo --limit 5
echo "--- speech engine: models, a robot line spoken at 8 kHz and heard back ---"
"$BIN" check-models
LINE="您好，这里是回款服务中心。您的借款已逾期十五天，请于2026-12-01前还款¥3,250.50。"
"$BIN" tts "$LINE" --dialect mandarin --rate 8000 -o "$HUIKUAN_DATA_DIR/robot-line.wav"
"$BIN" asr "$HUIKUAN_DATA_DIR/robot-line.wav" --dialect mandarin --telephone
echo "--- the collection robot in text: a Sichuanese debtor promises to pay ---"
printf '是我噻\n我莫得那么多钱，下周五先还两千嘛\n对头\n' |
  "$BIN" chat --dialect sichuanese --account samples/account.json
echo "--- live robot calls over SIP/RTP to simulated debtors in all three dialects ---"
# No plan calls a debtor between 22:00 and 08:00 their time: the demo's
# simulated debtors live in a time zone where it is now early afternoon,
# whenever the demo runs. The 1,000-account campaign above is paused.
daytime_zone() {
  local o=$((13 - 10#$(date -u +%H)))
  if [ $o -eq 0 ]; then echo Etc/GMT; elif [ $o -gt 0 ]; then echo "Etc/GMT-$o"; else echo "Etc/GMT+$((-o))"; fi
}
ZONE=$(daytime_zone)
ZDAY=$(TZ=$ZONE date +%F)
in_zone() { awk -F, -v OFS=, -v z="$ZONE" 'NR > 1 && $8 == "" { $8 = z } { print }' "$1" > "$2"; }
echo "simulated debtors' time zone: $ZONE (their day: $ZDAY)"
kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true
"$BIN" campaign pause demo
DEMO_CONF="$HUIKUAN_DATA_DIR/robot-demo.toml"
cat > "$DEMO_CONF" <<CONF
[server]
listen = "$HUIKUAN_LISTEN"
token = "$HUIKUAN_TOKEN"
[dispatch]
window_start = "00:00"
window_end = "24:00"
[planning.rules]
skip_holidays = false
[dialer]
orchestrator = "http://$HUIKUAN_LISTEN"
max_calls = 3
platform = "易贷"
[dialer.trunk]
name = "simulator"
proxy = "127.0.0.1:5090"
caller_id = "4008001234"
ring_timeout_secs = 8
CONF
export HUIKUAN_CONFIG="$DEMO_CONF"
in_zone samples/robot-demo.csv "$HUIKUAN_DATA_DIR/robot-demo.csv"
"$BIN" import "$HUIKUAN_DATA_DIR/robot-demo.csv" --campaign robot-demo
"$BIN" plan --campaign robot-demo --date "$ZDAY" --approve --by demo-manager --why "the demo's robot calls"
"$BIN" serve & SERVER=$!
"$BIN" sim --listen 127.0.0.1:5090 --personas tests/data/personas --out "$HUIKUAN_DATA_DIR/sim" & SIM=$!
trap 'kill $SERVER $SIM 2>/dev/null || true; wait $SERVER $SIM 2>/dev/null || true' EXIT
for _ in $(seq 50); do (echo > /dev/tcp/${HUIKUAN_LISTEN%:*}/${HUIKUAN_LISTEN#*:}) 2>/dev/null && break; sleep 0.2; done
sleep 2
"$BIN" dialer --print-calls --idle-exit-secs 8
"$BIN" campaign show robot-demo
echo "--- the web console ---"
demo_user() { "$BIN" user add "$@" | sed -n 's/^password: //p'; }
AGENT_PW=$(demo_user demo-agent --role agent --skills mandarin,sichuanese,cantonese)
SUP_PW=$(demo_user demo-supervisor --role supervisor --skills mandarin)
MGR_PW=$(demo_user demo-manager --role manager)
ADMIN_PW=$(demo_user demo-admin --role admin)
cat <<TXT
The console runs at http://$HUIKUAN_CONSOLE_LISTEN/ (open it in a browser on this machine)
  agent:       demo-agent       password $AGENT_PW   (the desktop: go Available, take a break)
  supervisor:  demo-supervisor  password $SUP_PW   (the floor: agents and their state, live)
  manager:     demo-manager     password $MGR_PW   (the day's plans: chart, reasons, approve; the live dashboard)
  admin:       demo-admin       password $ADMIN_PW   (users, the audit log of everything above)
Log in as the agent and the supervisor in two windows to watch the floor follow the agent.
TXT
if [ -z "${HUIKUAN_DEMO_NO_WAIT:-}" ]; then
  cat <<TXT
--- take a handed-over call ---
Log in as demo-agent, press Available, then press Enter here. The robot calls
a simulated debtor (张伟, Mandarin) who asks for a person: the call rings on
your desktop with the transcript so far. Accept it and greet the debtor
("您好…" into your microphone); the debtor promises to pay. Hang up and file
the promise in the wrap-up form.
TXT
  read -r _ || true
  in_zone samples/desk-demo.csv "$HUIKUAN_DATA_DIR/desk-demo.csv"
  "$BIN" import "$HUIKUAN_DATA_DIR/desk-demo.csv" --campaign desk-demo
  "$BIN" plan --campaign desk-demo --date "$ZDAY" --approve --by demo-manager --why "the demo's handed-over call"
  "$BIN" dialer --print-calls --idle-exit-secs 30 &
  echo "Ctrl-C stops the server."
  wait $SERVER
fi
