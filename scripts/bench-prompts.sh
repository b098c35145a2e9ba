#!/usr/bin/env bash
# Recorded prompt packs: how fast a line is made from recordings against
# the synthesized voice, and how well the recognizer (a stand-in for a
# listener) hears every line through a telephone line either way.
# The pack is the placeholder one (`huikuan prompts placeholder`: the
# synthesized voice cut into the recording script's phrases and pieces),
# so the figures measure the assembly (joins, levels, pieces), not a
# studio's voice.
# Usage: scripts/bench-prompts.sh [DIALECT...] (default: mandarin sichuanese)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/fetch-models.sh >/dev/null
cargo build --release -q -p huikuan-cli
BIN="${CARGO_TARGET_DIR:-target}/release/huikuan"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
DIALECTS=("$@")
[ ${#DIALECTS[@]} -gt 0 ] || DIALECTS=(mandarin sichuanese)
for d in "${DIALECTS[@]}"; do
  echo "== $d"
  "$BIN" prompts placeholder "$WORK/delivery-$d" --dialect "$d"
  "$BIN" prompts import "$WORK/delivery-$d" --dialect "$d" --into "$WORK/prompts"
  "$BIN" prompts check --dialect "$d" --dir "$WORK/prompts" --say "$WORK/said-$d" | tail -n 3
  for kind in recorded synthesized; do
    "$BIN" eval-asr "$WORK/said-$d/$kind" --dialect "$d" --telephone --json | tail -n1 |
      python3 -c "import json,sys; d=json.load(sys.stdin); print(f\"$kind: CER {d['cer']*100:.1f}% on the telephone line, RTF {d['rtf']:.3f}\")"
  done
done
