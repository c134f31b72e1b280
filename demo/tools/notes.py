#!/usr/bin/env python3
# notes.py - name the strongest equal-tempered note in short windows of a WAV file.
# Copyright (C) 2026 SIDFlow Team
# SPDX-License-Identifier: GPL-3.0-or-later
#
# usage: notes.py FILE.wav START STEP COUNT [LOW HIGH]
# Prints COUNT note names (c4, fs5, ...), one per 60 ms window starting at START + k*STEP s,
# choosing among notes LOW..HIGH (note numbers, a4 = 57) by Goertzel power. Pure Python.
import math
import struct
import sys
import wave

NAMES = ["c", "cs", "d", "ds", "e", "f", "fs", "g", "gs", "a", "as", "b"]


def main():
    path, start, step, count = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    low = int(sys.argv[5]) if len(sys.argv) > 5 else 43
    high = int(sys.argv[6]) if len(sys.argv) > 6 else 95
    w = wave.open(path)
    rate, channels = w.getframerate(), w.getnchannels()
    if w.getsampwidth() != 2:
        sys.exit("notes.py: need 16-bit PCM")
    raw = w.readframes(w.getnframes())
    pcm = struct.unpack("<%dh" % (len(raw) // 2), raw)
    if channels == 2:
        pcm = [(pcm[i] + pcm[i + 1]) / 2 for i in range(0, len(pcm), 2)]
    size = int(rate * 0.06)
    out = []
    for k in range(count):
        a = int((start + k * step) * rate)
        x = pcm[a:a + size]
        best = None
        for n in range(low, high + 1):
            coeff = 2 * math.cos(2 * math.pi * 440 * 2 ** ((n - 57) / 12) / rate)
            q1 = q2 = 0.0
            for v in x:
                q1, q2 = coeff * q1 - q2 + v, q1
            power = q1 * q1 + q2 * q2 - coeff * q1 * q2
            if best is None or power > best[0]:
                best = (power, n)
        out.append("%s%d" % (NAMES[best[1] % 12], best[1] // 12))
    print(" ".join(out))


if __name__ == "__main__":
    main()
