#!/usr/bin/env bash
# Quality-inspection throughput on real robot calls: `scripts/bench-calls.sh`
# makes BENCH_QA_PHONES x BENCH_QA_CALLS robot calls with simulated debtors
# (recordings and call records as production makes them); then, for each
# mode in BENCH_QA_MODES, every call's inspection is queued again and
# BENCH_QA_WORKERS `huikuan qa-worker` processes drain the queue. Prints
# the stereo audio inspected, the wall time, hours of calls inspected per
# wall-clock hour, and the flags found. Modes: `record` (the robot's words
# from its call record, a person's recognized: the default) and
# `recognize` (every word recognized, as `huikuan qa FILE.wav` does).
#   BENCH_QA_PHONES=4 BENCH_QA_CALLS=5 BENCH_QA_WORKERS="1 2" ./scripts/bench-qa.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BENCH_BIN:-}" ]; then
  cargo build --release -p huikuan-cli
  export BENCH_BIN=${CARGO_TARGET_DIR:-target}/release/huikuan
fi
BIN=$(realpath "$BENCH_BIN")
OUT=$(mktemp)
BENCH_KEEP=1 BENCH_CONCURRENCY=${BENCH_QA_PHONES:-4} BENCH_CALLS=${BENCH_QA_CALLS:-5} \
  BENCH_PERSONA=${BENCH_QA_PERSONA:-tests/data/personas/promise_mandarin.toml} \
  ./scripts/bench-calls.sh | tee "$OUT"
WORK=$(sed -n 's/^kept //p' "$OUT" | tail -1)
rm -f "$OUT"
[ -d "$WORK" ] || { echo "bench-calls.sh kept no work directory"; exit 1; }
DB="$WORK/data/huikuan.db"
for MODE in ${BENCH_QA_MODES:-record recognize}; do
  for WORKERS in ${BENCH_QA_WORKERS:-1 2}; do
    cp "$WORK/huikuan.toml" "$WORK/qa.toml"
    if [ "$MODE" = recognize ]; then printf '[qa]\nrobot_words_from_record = false\n' >> "$WORK/qa.toml"; fi
    python3 - "$DB" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
UPDATE inspection_jobs SET status = 'queued', worker = NULL, lease_token = 0,
  lease_expires_at_ms = NULL, tries = 0, error = NULL, done_at_ms = NULL;
DELETE FROM inspection_flags; DELETE FROM inspections; DELETE FROM inspection_hours;
""")
db.commit()
PY
    START=$(date +%s%3N)
    PIDS=()
    for w in $(seq 1 "$WORKERS"); do
      HUIKUAN_CONFIG="$WORK/qa.toml" HUIKUAN_LOG=warn "$BIN" qa-worker --id "bench-$w" >/dev/null 2>>"$WORK/qa.log" & PIDS+=($!)
    done
    python3 - "$DB" <<'PY'
import sqlite3, sys, time
while True:
    db = sqlite3.connect(sys.argv[1])
    left = db.execute("SELECT COUNT(*) FROM inspection_jobs WHERE status NOT IN ('done', 'failed')").fetchone()[0]
    db.close()
    if left == 0:
        break
    time.sleep(0.2)
PY
    END=$(date +%s%3N)
    kill "${PIDS[@]}" 2>/dev/null || true; wait "${PIDS[@]}" 2>/dev/null || true
    python3 - "$DB" "$WORK/data/recordings" "$START" "$END" "$MODE" "$WORKERS" <<'PY'
import sqlite3, sys, wave, os
db_path, rec, start, end, mode, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
db = sqlite3.connect(db_path)
audio_s = 0.0
for (path,) in db.execute("SELECT recording_path FROM inspection_jobs"):
    with wave.open(os.path.join(rec, path)) as w:
        audio_s += w.getnframes() / w.getframerate()
calls, failed = db.execute("SELECT COUNT(*), SUM(status = 'failed') FROM inspection_jobs").fetchone()
flags = dict(db.execute("SELECT kind, COUNT(*) FROM inspection_flags GROUP BY kind").fetchall())
mean = db.execute("SELECT AVG(score) FROM inspections").fetchone()[0]
wall = (end - start) / 1000
print(f"{mode:>9} x{workers} workers: {calls} calls ({failed} failed), {audio_s / 60:.1f} min of stereo audio in {wall:.1f} s: "
      f"{audio_s / wall:.1f}x real time; mean score {mean:.1f}; flags {flags}")
PY
  done
done
[ -n "${BENCH_KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
