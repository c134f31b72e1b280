; basement.asm - "Basement", SIDFlow demo library
; Copyright (C) 2026 SIDFlow Team
; SPDX-License-Identifier: GPL-3.0-or-later
;
; PSID v2, PAL, 6581, one song, VBI speed, with code and data that need $01 banking:
; - the image loads at $df00 (embedded load address): the frequency tables sit in the RAM
;   under the I/O area ($df00-$dfc1), the code and all other data under the KERNAL ROM
;   from $e000 on.
; - init ($e000) and play ($e00x) are >= $e000, so a PSID driver must call them with
;   $01 = $35 (KERNAL out, I/O in).
; - the driver is built with BANKIO = 1: around every frequency-table read it switches to
;   $01 = $34 (all RAM, I/O out) and back to $35 for the SID writes.
; G minor, Gm Eb F D, 16 bars, ~35.8 s loop.
;
; Build: 64tass -a -b -o ../basement.sid basement.asm

        .cpu "6502i"
        .include "defs.inc"

NV      = 3
SIDOFS  = (0, 7, 14)
CLOCK   = PAL_CLOCK
ILLEGAL = 0
HOOK    = 0
BANKIO  = 1
ZP      = $e0
LOAD    = $df00

* = 0
        #sidheader "PSID", 2, 0, init, play, 1, 1, 0, "Basement", AUTHOR, RELEASED, F_PAL | F_6581, 0, 0, 0, 0
        .word LOAD

        .logical LOAD
        #freqtables             ; under the I/O area: readable only with $01 = $34
        .fill $e000 - *, 0

init    pha                     ; $e000: under the KERNAL ROM
        ldx #$18
        lda #0
-       sta $d400,x
        dex
        bpl -
        lda #$f1                ; resonance 15, lead through the filter
        sta $d417
        lda #$68
        sta $d416
        lda #$1f                ; low-pass, volume 15
        sta $d418
        pla
        jmp pl_init

play    jmp pl_play

        .include "player.inc"

; ---------------------------------------------------------------- song data
song_tempo .byte 7
song_fxdiv .byte 1
ORDS    = (o_lead, o_bass, o_drum)
song_ord_lo .byte <ORDS
song_ord_hi .byte >ORDS

;              AD   SR   wavetable        pw   pws vib  hr  -
instab
i_lead  .byte $1a, $aa, wt_lead-wt,      $00, $00, $a3, 2, 0
i_bass  .byte $0a, $a8, wt_bass-wt,      $28, $10, $00, 1, 0
i_kick  .byte $08, $05, wt_kick-wt,      $80, $00, $00, 0, 0
i_snare .byte $08, $07, wt_snare-wt,     $80, $00, $00, 0, 0
i_hat   .byte $02, $00, wt_hat-wt,       $00, $00, $00, 0, 0
i_maj   .byte $07, $00, wt_maj-wt,       $60, $30, $00, 0, 0
i_min   .byte $07, $00, wt_min-wt,       $60, $30, $00, 0, 0
LEAD  = $80 + (i_lead - instab) / 8
BASS  = $80 + (i_bass - instab) / 8
KICK  = $80 + (i_kick - instab) / 8
SNARE = $80 + (i_snare - instab) / 8
HAT   = $80 + (i_hat - instab) / 8
MAJ   = $80 + (i_maj - instab) / 8
MIN   = $80 + (i_min - instab) / 8

wt
wt_lead  .byte $21, 0, $ff, wt_lead-wt
wt_bass  .byte $41, 0, $ff, wt_bass-wt
wt_kick  .byte $81, ABSN(a5), $41, ABSN(c4), $41, ABSN(a3), $41, ABSN(f3), $41, ABSN(d3), $41, ABSN(b2), $40, ABSN(a2), $ff, wt_kick-wt+12
wt_snare .byte $81, ABSN(c7), $41, ABSN(a4), $41, ABSN(f4), $81, ABSN(as6), $80, ABSN(a6), $ff, wt_snare-wt+8
wt_hat   .byte $81, ABSN(b7), $80, ABSN(b7), $ff, wt_hat-wt+2
wt_maj   .byte $41, 0, $41, 4, $41, 7, $ff, wt_maj-wt
wt_min   .byte $41, 0, $41, 3, $41, 7, $ff, wt_min-wt

PATS    = (p_b1, p_b2, p_b3, p_bass, p_dmaj, p_dmin)
pat_lo  .byte <PATS
pat_hi  .byte >PATS

o_lead  .byte TR(0), 0, 1, 0, 2, OJMP, 0
o_bass  .byte TR(0), 3, TR(-4), 3, TR(-2), 3, TR(7), 3, OJMP, 0
o_drum  .byte TR(-5), 5, TR(3), 4, TR(5), 4, TR(2), 4, OJMP, 0

p_b1    .byte LEAD, L4, g4, as4, L6, d5, L2, c5
        .byte L8, as4, L4, g4, ds5
        .byte L4, f5, L2, ds5, d5, L4, c5, a4
        .byte L8, fs4, L4, a4, d5, PEND
p_b2    .byte L4, d5, g5, as5, L2, a5, g5
        .byte L6, g5, L2, f5, L8, ds5
        .byte L4, f5, a5, c6, a5
        .byte L8, a5, L4, fs5, d5, PEND
p_b3    .byte L2, g5, a5, as5, d6, L8, g6
        .byte L2, g6, f6, ds6, d6, c6, as5, L4, g5
        .byte L2, a5, c6, L4, f6, L2, ds6, d6, L4, c6
        .byte L6, d6, L2, c6, L4, a5, fs5, PEND
p_bass  .byte BASS, L4, g1, L2, g2, g1, L4, d2, L2, g2, g1, PEND
p_dmaj  .byte KICK, L2, c4, HAT, c4, SNARE, c4, MAJ, c4
        .byte KICK, L1, c4, c4, MAJ, L2, c4, SNARE, c4, HAT, L1, c4, SNARE, c4, PEND
p_dmin  .byte KICK, L2, c4, HAT, c4, SNARE, c4, MIN, c4
        .byte KICK, L1, c4, c4, MIN, L2, c4, SNARE, c4, HAT, L1, c4, SNARE, c4, PEND
        .endlogical
