#!/usr/bin/env python3
# mklengths.py - write demo/Songlengths.md5 (HVSC format) for the demo tunes.
# Copyright (C) 2026 SIDFlow Team
# SPDX-License-Identifier: GPL-3.0-or-later
#
# A song's length is one pass through its order lists (every voice has the same
# number of rows), i.e. rows * play-calls-per-row / play-calls-per-second; after that
# the tune loops to its start. Run after demo/build.sh --update.
import hashlib, os

PAL, NTSC = 985248, 1022727
VBI_PAL = PAL / (63 * 312)            # 50.12 Hz
VBI_NTSC = NTSC / (65 * 263)          # 59.83 Hz
CIA_PAL = PAL / (0x4025 + 1)          # driver default CIA1 timer A on PAL, 60.0 Hz

def hz(latch, clock=PAL):
    return clock / (latch + 1)

# name: [(rows, play calls per row, play calls per second), ...] one tuple per song
TUNES = {
    "first-light":  [(256, 6, VBI_PAL)],
    "three-wishes": [(256, 6, VBI_PAL), (192, 8, CIA_PAL), (256, 22, hz(63 * 312 // 4 - 1))],
    "sixty-hertz":  [(256, 7, VBI_NTSC)],
    "silicon-dawn": [(256, 7, VBI_PAL)],
    "raster-rider": [(256, 6, VBI_PAL)],      # raster IRQ once per PAL frame
    "pulse-code":   [(256, 6, VBI_PAL)],
    "left-and-right": [(256, 6, VBI_PAL)],
    "illegal-tender": [(256, 12, hz(63 * 312 // 2 - 1))],   # CIA 2x: 100.25 Hz
    "basement":     [(256, 7, VBI_PAL)],
    "trinity":      [(256, 6, VBI_PAL)],
}

def fmt(sec):
    ms = int(round(sec * 1000))
    return "%d:%02d.%03d" % (ms // 60000, ms // 1000 % 60, ms % 1000)

here = os.path.dirname(os.path.abspath(__file__))
lines = ["[Database]"]
for name, songs in sorted(TUNES.items()):
    data = open(os.path.join(here, name + ".sid"), "rb").read()
    lines.append("; /%s.sid" % name)
    lines.append("%s=%s" % (hashlib.md5(data).hexdigest(), " ".join(fmt(r * t / f) for r, t, f in songs)))
tmp = os.path.join(here, "Songlengths.md5.tmp")
with open(tmp, "w", newline="\n") as f:
    f.write("\n".join(lines) + "\n")
os.replace(tmp, os.path.join(here, "Songlengths.md5"))
print("\n".join(lines))
