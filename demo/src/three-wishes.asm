; three-wishes.asm - "Three Wishes", SIDFlow demo library
; Copyright (C) 2026 SIDFlow Team
; SPDX-License-Identifier: GPL-3.0-or-later
;
; PSID v2, PAL, 6581, three songs with different speed bits (speed = %110):
;   song 1 "Wish One"   speed bit 0 = 0: VBI, 50 Hz. A minor, Am F C G, ~30.7 s
;   song 2 "Wish Two"   speed bit 1 = 1: CIA1 timer A at the driver's default 60 Hz
;                       ($4025). D major waltz in 3/4, D Bm G A, ~25.6 s
;   song 3 "Wish Three" speed bit 2 = 1: CIA, and init reprograms $dc04/$dc05 to
;                       PAL_FRAME/4 - 1 = $1331, i.e. play is called 4 times per frame
;                       (multi-speed, 200.5 Hz). E minor, Em C D B, ~28.1 s
; init selects the song from A = song - 1. Header start page $c0, 16 pages ($c000-$cfff
; free for the PSID driver).
;
; Build: 64tass -a -b -o ../three-wishes.sid three-wishes.asm

        .cpu "6502i"
        .include "defs.inc"

NV      = 3
SIDOFS  = (0, 7, 14)
CLOCK   = PAL_CLOCK
ILLEGAL = 0
HOOK    = 0
BANKIO  = 0
ZP      = $e0
LOAD    = $1000
CIA4X   = PAL_FRAME / 4 - 1

* = 0
        #sidheader "PSID", 2, 0, init, play, 3, 1, %110, "Three Wishes", AUTHOR, RELEASED, F_PAL | F_6581, $c0, $10, 0, 0
        .word LOAD

        .logical LOAD
init    tay
        ldx #$18
        lda #0
-       sta $d400,x
        dex
        bpl -
        lda #$0f
        sta $d418
        cpy #2
        bne +
        lda #<CIA4X             ; song 3: four calls per PAL frame
        sta $dc04
        lda #>CIA4X
        sta $dc05
        lda #$11                ; continuous, force load, start
        sta $dc0e
+       tya
        jmp pl_init

play    jmp pl_play

        .include "player.inc"

; ---------------------------------------------------------------- song data
song_tempo .byte 6, 8, 22
song_fxdiv .byte 1, 1, 4
ORDS    = (o1_lead, o1_bass, o1_drum, o2_lead, o2_bass, o2_drum, o3_lead, o3_bass, o3_drum)
song_ord_lo .byte <ORDS
song_ord_hi .byte >ORDS

;              AD   SR   wavetable        pw   pws vib  hr  -
instab
i_lead  .byte $0a, $a9, wt_lead-wt,      $60, $20, $83, 2, 0
i_bass  .byte $09, $a8, wt_bass-wt,      $30, $18, $00, 1, 0
i_kick  .byte $08, $05, wt_kick-wt,      $80, $00, $00, 0, 0
i_snare .byte $08, $07, wt_snare-wt,     $80, $00, $00, 0, 0
i_hat   .byte $03, $00, wt_hat-wt,       $00, $00, $00, 0, 0
i_maj   .byte $06, $00, wt_maj-wt,       $40, $40, $00, 0, 0
i_min   .byte $06, $00, wt_min-wt,       $40, $40, $00, 0, 0
i_lead3 .byte $08, $a9, wt_saw-wt,       $00, $00, $73, 8, 0
i_bass3 .byte $08, $a8, wt_bass-wt,      $20, $06, $00, 4, 0
i_maj3  .byte $06, $00, wt_maj-wt,       $40, $10, $00, 0, 0
i_min3  .byte $06, $00, wt_min-wt,       $40, $10, $00, 0, 0
i_bell  .byte $09, $a9, wt_tri-wt,       $00, $00, $84, 2, 0
LEAD  = $80 + (i_lead - instab) / 8
BASS  = $80 + (i_bass - instab) / 8
KICK  = $80 + (i_kick - instab) / 8
SNARE = $80 + (i_snare - instab) / 8
HAT   = $80 + (i_hat - instab) / 8
MAJ   = $80 + (i_maj - instab) / 8
MIN   = $80 + (i_min - instab) / 8
LEAD3 = $80 + (i_lead3 - instab) / 8
BASS3 = $80 + (i_bass3 - instab) / 8
MAJ3  = $80 + (i_maj3 - instab) / 8
MIN3  = $80 + (i_min3 - instab) / 8
BELL  = $80 + (i_bell - instab) / 8

wt
wt_lead  .byte $41, 0, $ff, wt_lead-wt
wt_bass  .byte $41, 0, $ff, wt_bass-wt
wt_saw   .byte $21, 12, $21, 0, $ff, wt_saw-wt+2
wt_tri   .byte $11, 0, $ff, wt_tri-wt
wt_kick  .byte $81, ABSN(a5), $41, ABSN(c4), $41, ABSN(a3), $41, ABSN(f3), $41, ABSN(d3), $41, ABSN(b2), $40, ABSN(a2), $ff, wt_kick-wt+12
wt_snare .byte $81, ABSN(c7), $41, ABSN(a4), $41, ABSN(f4), $81, ABSN(as6), $80, ABSN(a6), $ff, wt_snare-wt+8
wt_hat   .byte $81, ABSN(b7), $80, ABSN(b7), $ff, wt_hat-wt+2
wt_maj   .byte $41, 0, $41, 4, $41, 7, $41, 12, $ff, wt_maj-wt
wt_min   .byte $41, 0, $41, 3, $41, 7, $41, 12, $ff, wt_min-wt

PATS    = (p1_m1, p1_m2, p1_bass, p_dmaj, p_dmin, p2_m1, p2_m2, p2_bass, p2_dmaj, p2_dmin, p3_m1, p3_m2, p3_bass, p3_dmaj, p3_dmin, p1_m3, p2_m3, p3_m3)
pat_lo  .byte <PATS
pat_hi  .byte >PATS

; ---- song 1: A minor, Am F C G
o1_lead .byte TR(0), 0, 1, 0, 15, OJMP, 0
o1_bass .byte TR(0), 2, TR(-4), 2, TR(3), 2, TR(-2), 2, OJMP, 0
o1_drum .byte TR(-3), 4, TR(-7), 3, TR(0), 3, TR(-5), 3, OJMP, 0
p1_m1   .byte LEAD, L2, a4, c5, L4, e5, L2, d5, c5, b4, c5
        .byte L6, a4, L2, c5, L8, f5
        .byte L4, e5, g5, L2, e5, d5, L4, c5
        .byte L4, d5, b4, L8, g4, PEND
p1_m2   .byte L4, a5, L2, g5, e5, L4, c5, e5
        .byte L6, f5, L2, e5, L4, c5, a4
        .byte L4, g5, e5, c6, g5
        .byte L8, b5, L4, g5, gs5, PEND
p1_m3   .byte L2, e5, a5, L4, c6, L2, b5, a5, L4, e5
        .byte L2, f5, a5, L4, c6, d6, c6
        .byte L6, e6, L2, d6, L4, c6, g5
        .byte L4, b5, d6, L2, b5, a5, L4, gs5, PEND
p1_bass .byte BASS, L3, a1, L1, a1, L2, e2, a2, a1, a2, e2, a2, PEND

; drums with chord arpeggios between the hits (one bar of 16 rows)
p_dmaj  .byte KICK, L2, c4, MAJ, c4, SNARE, L2, c4, MAJ, c4
        .byte KICK, L1, c4, c4, MAJ, L2, c4, SNARE, c4, HAT, L1, c4, c4, PEND
p_dmin  .byte KICK, L2, c4, MIN, c4, SNARE, L2, c4, MIN, c4
        .byte KICK, L1, c4, c4, MIN, L2, c4, SNARE, c4, HAT, L1, c4, c4, PEND

; ---- song 2: D major waltz (12 rows a bar), D Bm G A
o2_lead .byte TR(0), 5, 6, 5, 16, OJMP, 0
o2_bass .byte TR(0), 7, TR(-3), 7, TR(-7), 7, TR(-5), 7, OJMP, 0
o2_drum .byte TR(2), 8, TR(-1), 9, TR(-5), 8, TR(-3), 8, OJMP, 0
p2_m1   .byte BELL, L8, fs5, L4, a5
        .byte L4, d5, fs5, b5
        .byte L8, b5, L2, a5, g5
        .byte L8, e5, L4, cs5, PEND
p2_m2   .byte L4, d5, fs5, a5
        .byte L8, b5, L4, d6
        .byte L4, d6, b5, g5
        .byte L6, a5, L2, g5, L4, e5, PEND
p2_m3   .byte L4, a5, fs5, d5
        .byte L8, fs5, L4, b5
        .byte L4, g5, b5, d6
        .byte L8, cs6, L4, e5, PEND
p2_bass .byte BASS, L4, d2, a2, d3, PEND
p2_dmaj .byte KICK, L2, c4, HAT, c4, MAJ, c4, SNARE, c4, MAJ, c4, HAT, c4, PEND
p2_dmin .byte KICK, L2, c4, HAT, c4, MIN, c4, SNARE, c4, MIN, c4, HAT, c4, PEND

; ---- song 3: E minor at 4x speed, Em C D B
o3_lead .byte TR(0), 10, 11, 10, 17, OJMP, 0
o3_bass .byte TR(0), 12, TR(-4), 12, TR(-2), 12, TR(-5), 12, OJMP, 0
o3_drum .byte TR(4), 14, TR(0), 13, TR(2), 13, TR(-1), 13, OJMP, 0
p3_m1   .byte LEAD3, L2, e5, g5, b5, e6, d6, b5, g5, b5
        .byte L4, c6, L2, b5, a5, L4, g5, e5
        .byte L2, fs5, a5, d6, fs6, e6, d6, a5, fs5
        .byte L8, ds6, L4, b5, fs5, PEND
p3_m2   .byte L4, g6, L2, fs6, e6, L4, b5, e6
        .byte L2, e6, d6, c6, b5, L4, c6, g5
        .byte L4, a5, d6, fs6, a6
        .byte L6, fs6, L2, ds6, L4, b5, ds6, PEND
p3_m3   .byte L2, b5, e6, g6, e6, b5, g5, L4, e5
        .byte L2, e5, g5, c6, e6, L4, g6, e6
        .byte L4, fs6, L2, e6, d6, L4, a5, d6
        .byte L4, ds6, fs6, L8, b6, PEND
p3_bass .byte BASS3, L2, e2, e3, e2, e3, e2, e3, d3, b2, PEND
p3_dmaj .byte KICK, L2, c4, MAJ3, c4, SNARE, L2, c4, MAJ3, c4
        .byte KICK, L1, c4, c4, MAJ3, L2, c4, SNARE, c4, HAT, L1, c4, c4, PEND
p3_dmin .byte KICK, L2, c4, MIN3, c4, SNARE, L2, c4, MIN3, c4
        .byte KICK, L1, c4, c4, MIN3, L2, c4, SNARE, c4, HAT, L1, c4, c4, PEND
        .endlogical
