#!/usr/bin/env python3
"""Reference pitch tracks for the QA pitch tracker's test.

librosa's pYIN (the reference implementation the `pyin` crate ports) on
real speech clips from ../shared/testdata/speech, at the tracker's settings:
8 kHz, 62.5-500 Hz, 512-sample frames, 10 ms hops. Writes
tests/data/qa/pitch/CLIP.f0.csv (ms,hz; hz empty where unvoiced).

Run once by hand when the clips or settings change (needs librosa from
PyPI: python3 -m venv /tmp/lr && /tmp/lr/bin/pip install librosa):
    /tmp/lr/bin/python scripts/pitch-reference.py
"""
import pathlib
import sys

import librosa
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLIPS = ROOT.parent / "shared" / "testdata" / "speech"
OUT = ROOT / "tests" / "data" / "qa" / "pitch"
CHOSEN = [
    "mandarin/aishell1_BAC009S0764W0121.wav",
    "mandarin/funasr_asr_example_ID0012W0013.wav",
    "sichuanese/wsc_demo_001.wav",
    "cantonese/wsyue_demo_gd0015582_0_4280.wav",
]


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for rel in CHOSEN:
        y, sr = librosa.load(CLIPS / rel, sr=8000, mono=True)
        f0, voiced, _ = librosa.pyin(
            y, fmin=62.5, fmax=500.0, sr=sr, frame_length=512, hop_length=80, center=True
        )
        name = pathlib.Path(rel).stem
        with open(OUT / f"{name}.f0.csv", "w") as out:
            out.write("ms,hz\n")
            for i, (hz, v) in enumerate(zip(f0, voiced)):
                out.write(f"{i * 10},{'' if not v or np.isnan(hz) else round(float(hz), 2)}\n")
        print(f"{rel}: {int(np.sum(voiced))} voiced of {len(f0)} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
