#!/usr/bin/env bash
# Recognition accuracy and speed on the evaluation clips, for each decoding
# configuration, at 16 kHz and through an 8 kHz G.711 line.
# Usage: scripts/bench-asr.sh [SPEECH_DIR] [OUT.jsonl]
# Writes one JSON line per (config, dialect, band) to OUT (default
# target/bench-asr.jsonl) and prints a table.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${1:-../shared/testdata/speech}"
OUT="${2:-target/bench-asr.jsonl}"
./scripts/fetch-models.sh >/dev/null
cargo build --release -q -p huikuan-cli
BIN="${CARGO_TARGET_DIR:-target}/release/huikuan"
[ -n "${BENCH_APPEND:-}" ] || : > "$OUT"
if [ -n "${BENCH_CONFIGS:-}" ]; then read -r -a ONLY <<< "$BENCH_CONFIGS"; fi
# The decoding configurations are measured on the f16 weights; the
# weight-storage rows on the default decoding.
CONFIGS=(
  "greedy-full-noprompt|--weights f16 --beam 0 --audio-ctx full --no-prompt"
  "greedy-full-prompt|--weights f16 --beam 0 --audio-ctx full"
  "greedy-fit256-prompt|--weights f16 --beam 0 --audio-ctx fit --audio-ctx-min 256"
  "greedy-fit500-prompt|--weights f16 --beam 0 --audio-ctx fit --audio-ctx-min 500"
  "greedy-fit256-prompt-fallback|--weights f16 --beam 0 --audio-ctx fit --audio-ctx-min 256 --fallback"
  "beam5-fit256-prompt|--weights f16 --beam 5 --audio-ctx fit --audio-ctx-min 256"
  "beam5-full-prompt-fallback|--weights f16 --beam 5 --audio-ctx full --fallback"
  "weights-f16|--weights f16 --beam 0 --audio-ctx fit --audio-ctx-min 400"
  "weights-q8_0|--weights q8_0 --beam 0 --audio-ctx fit --audio-ctx-min 400"
  "weights-q5_1|--weights q5_1 --beam 0 --audio-ctx fit --audio-ctx-min 400"
  "weights-q4_0|--weights q4_0 --beam 0 --audio-ctx fit --audio-ctx-min 400"
)
for entry in "${CONFIGS[@]}"; do
  name="${entry%%|*}"; flags="${entry#*|}"
  if [ -n "${ONLY:-}" ] && [[ ! " ${ONLY[*]} " =~ " $name " ]]; then continue; fi
  for dialect in mandarin sichuanese cantonese; do
    for band in wide telephone; do
      extra=""; [ "$band" = telephone ] && extra="--telephone"
      # shellcheck disable=SC2086
      "$BIN" eval-asr "$DIR/$dialect" --dialect "$dialect" $flags $extra --json |
        tail -n1 | python3 -c "import json,sys; d=json.load(sys.stdin); d['config']='$name'; print(json.dumps(d, ensure_ascii=False))" >> "$OUT"
      tail -n1 "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print(f\"{d['config']:22} {d['dialect']:10} {d['band'][:9]:9} CER {d['cer']*100:5.1f}%  RTF {d['rtf']:.3f}\")"
    done
  done
done
