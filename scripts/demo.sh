#!/usr/bin/env bash
# Builds Huikuan, starts the all-in-one server on SQLite, imports the sample
# portfolio and shows the dispatch API handing out and closing calls.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-deps.sh
./scripts/fetch-models.sh
cargo build --release -p huikuan-cli
BIN=${CARGO_TARGET_DIR:-target}/release/huikuan
export HUIKUAN_DATA_DIR=${HUIKUAN_DATA_DIR:-$HOME/.cache/huikuan/demo-data}
export HUIKUAN_TOKEN=${HUIKUAN_TOKEN:-demo-token}
export HUIKUAN_LISTEN=${HUIKUAN_LISTEN:-127.0.0.1:50051}
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
echo "The live phone call (SIP dialer joining speech and dialogue) arrives with the dialer service."
