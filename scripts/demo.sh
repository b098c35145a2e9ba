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
"$BIN" serve & SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do (echo > /dev/tcp/${HUIKUAN_LISTEN%:*}/${HUIKUAN_LISTEN#*:}) 2>/dev/null && break; sleep 0.2; done
echo "--- dialer workers leasing and reporting calls for 3 s (calling window applies: 08:00-21:00 debtor time) ---"
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
# The demo's simulated debtors answer at any hour: this server run uses a
# 24-hour calling window, and the 1,000-account campaign above is paused.
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
"$BIN" import samples/robot-demo.csv --campaign robot-demo
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
ADMIN_PW=$(demo_user demo-admin --role admin)
cat <<TXT
The console runs at http://$HUIKUAN_CONSOLE_LISTEN/ (open it in a browser on this machine)
  agent:       demo-agent       password $AGENT_PW   (the desktop: go Available, take a break)
  supervisor:  demo-supervisor  password $SUP_PW   (the floor: agents and their state, live)
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
  "$BIN" import samples/desk-demo.csv --campaign desk-demo
  "$BIN" dialer --print-calls --idle-exit-secs 30 &
  echo "Ctrl-C stops the server."
  wait $SERVER
fi
