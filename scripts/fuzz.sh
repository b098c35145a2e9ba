#!/usr/bin/env bash
# Fuzzes every parser that takes network bytes of our own (SDP, RTP through
# the jitter buffer, RFC 4733 DTMF) for a bounded time each.
#   FUZZ_SECONDS=60 ./scripts/fuzz.sh [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-30}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# libFuzzer's sanitizer flags need a nightly compiler; the stable one
# accepts them when bootstrapping is allowed.
export RUSTC_BOOTSTRAP=1
# The speech crate links sherpa-onnx from the model cache.
export SHERPA_LIB_PATH=${SHERPA_LIB_PATH:-$PWD/.models/sherpa-onnx}
TARGETS=${*:-sdp_parse rtp_packets dtmf_events}
for target in $TARGETS; do
  echo "fuzz: $target for ${SECONDS_EACH}s"
  mkdir -p "fuzz/corpus/$target"
  cargo fuzz run "$target" "fuzz/corpus/$target" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=4096
done
