; left-and-right.asm - "Left and Right", SIDFlow demo library
; Copyright (C) 2026 SIDFlow Team
; SPDX-License-Identifier: GPL-3.0-or-later
;
; PSID v3, PAL, two SIDs (stereo): SID 1 at $d400, SID 2 at $d420 (header byte $7a = $42),
; both 6581 (flags bits 4-5 and 6-7 = 01). One song, VBI speed.
; One driver instance runs six voices with different parts on each chip:
;   SID 1 ($d400): lead, bass, drums
;   SID 2 ($d420): a delayed echo of the lead (3 rows late, triangle), chord arpeggios,
;                  and a slow sawtooth pad through SID 2's own low-pass filter
; G major, G D/F# Em C, 16 bars, ~30.6 s loop.
;
; Build: 64tass -a -b -o ../left-and-right.sid left-and-right.asm

        .cpu "6502i"
        .include "defs.inc"

NV      = 6
SIDOFS  = (0, 7, 14, $20, $27, $2e)
CLOCK   = PAL_CLOCK
ILLEGAL = 0
HOOK    = 0
BANKIO  = 0
ZP      = $e0
LOAD    = $1000
SID2    = $d420

* = 0
        #sidheader "PSID", 3, 0, init, play, 1, 1, 0, "Left and Right", AUTHOR, RELEASED, F_PAL | F_6581 | F2_6581, 0, 0, (SID2 >> 4) & $ff, 0
        .word LOAD

        .logical LOAD
init    pha
        ldx #$18
        lda #0
-       sta $d400,x
        sta SID2,x
        dex
        bpl -
        lda #$0f                ; SID 1: no filter, volume 15
        sta $d418
        lda #$40                ; SID 2: cutoff for the pad
        sta SID2+$16
        lda #$94                ; SID 2: resonance 9, filter its voice 3 (the pad)
        sta SID2+$17
        lda #$1f                ; SID 2: low-pass, volume 15
        sta SID2+$18
        pla
        jmp pl_init

play    jmp pl_play

        .include "player.inc"

; ---------------------------------------------------------------- song data
song_tempo .byte 6
song_fxdiv .byte 1
ORDS    = (o_lead, o_bass, o_drum, o_echo, o_arp, o_pad)
song_ord_lo .byte <ORDS
song_ord_hi .byte >ORDS

;              AD   SR   wavetable        pw   pws vib  hr  -
instab
i_lead  .byte $0a, $a9, wt_lead-wt,      $40, $20, $83, 2, 0
i_bass  .byte $09, $a8, wt_bass-wt,      $30, $18, $00, 1, 0
i_kick  .byte $08, $05, wt_kick-wt,      $80, $00, $00, 0, 0
i_snare .byte $08, $07, wt_snare-wt,     $80, $00, $00, 0, 0
i_hat   .byte $02, $00, wt_hat-wt,       $00, $00, $00, 0, 0
i_echo  .byte $0a, $79, wt_echo-wt,      $00, $00, $83, 2, 0
i_maj   .byte $05, $00, wt_maj-wt,       $20, $40, $00, 0, 0
i_min   .byte $05, $00, wt_min-wt,       $20, $40, $00, 0, 0
i_pad   .byte $8a, $ab, wt_pad-wt,       $00, $00, $00, 3, 0
LEAD  = $80 + (i_lead - instab) / 8
BASS  = $80 + (i_bass - instab) / 8
KICK  = $80 + (i_kick - instab) / 8
SNARE = $80 + (i_snare - instab) / 8
HAT   = $80 + (i_hat - instab) / 8
ECHO  = $80 + (i_echo - instab) / 8
MAJ   = $80 + (i_maj - instab) / 8
MIN   = $80 + (i_min - instab) / 8
PAD   = $80 + (i_pad - instab) / 8

wt
wt_lead  .byte $41, 0, $ff, wt_lead-wt
wt_bass  .byte $41, 0, $ff, wt_bass-wt
wt_echo  .byte $11, 12, $ff, wt_echo-wt
wt_pad   .byte $21, 0, $ff, wt_pad-wt
wt_kick  .byte $81, ABSN(a5), $41, ABSN(c4), $41, ABSN(a3), $41, ABSN(f3), $41, ABSN(d3), $41, ABSN(b2), $40, ABSN(a2), $ff, wt_kick-wt+12
wt_snare .byte $81, ABSN(c7), $41, ABSN(a4), $41, ABSN(f4), $81, ABSN(as6), $80, ABSN(a6), $ff, wt_snare-wt+8
wt_hat   .byte $81, ABSN(b7), $80, ABSN(b7), $ff, wt_hat-wt+2
wt_maj   .byte $41, 12, $41, 16, $41, 19, $ff, wt_maj-wt
wt_min   .byte $41, 12, $41, 15, $41, 19, $ff, wt_min-wt

PATS    = (p_s1, p_s2, p_s3, p_bass, p_drum, p_amaj, p_amin, p_pad, p_wait, p_setl)
pat_lo  .byte <PATS
pat_hi  .byte >PATS

o_lead  .byte TR(0), 9, 0, 1, 0, 2, OJMP, 2    ; pattern 9 only selects the instrument
o_bass  .byte TR(0), 3, TR(-1), 3, TR(-3), 3, TR(5), 3, OJMP, 0
o_drum  .byte TR(0), 4, OJMP, 0
o_echo  .byte TR(0), 8, 0, 1, 0, 2, OJMP, 1    ; 3 rows late, then loops like the lead
o_arp   .byte TR(-5), 5, TR(2), 5, TR(4), 6, TR(0), 5, OJMP, 0
o_pad   .byte TR(0), 7, OJMP, 0

p_s1    .byte L4, d5, g5, L6, b5, L2, a5
        .byte L8, a5, L4, fs5, d5
        .byte L4, e5, g5, b5, e6
        .byte L6, d6, L2, c6, L4, b5, a5, PEND
p_s2    .byte L4, b5, d6, L6, g6, L2, fs6
        .byte L8, fs6, L4, e6, d6
        .byte L6, e6, L2, d6, L8, b5
        .byte L4, c6, e6, L8, d6, PEND
p_s3    .byte L2, g5, a5, b5, d6, L8, g5
        .byte L2, fs5, g5, a5, d6, L8, fs6
        .byte L2, e6, d6, b5, g5, L8, e5
        .byte L4, e5, g5, a5, fs5, PEND
p_wait  .byte ECHO, L3, REST, PEND
p_setl  .byte LEAD, PEND
p_bass  .byte BASS, L3, g1, L1, g1, L2, g2, g1, g2, g1, g2, g2, PEND
p_drum  .byte KICK, L2, c4, HAT, c4, SNARE, c4, HAT, L1, c4, KICK, c4
        .byte L2, c4, HAT, c4, SNARE, c4, HAT, L1, c4, SNARE, c4, PEND
p_amaj  .byte MAJ, L1, c4, c4, REST, c4, c4, REST, c4, c4, REST, c4, c4, REST, c4, c4, REST, c4, PEND
p_amin  .byte MIN, L1, c4, c4, REST, c4, c4, REST, c4, c4, REST, c4, c4, REST, c4, c4, REST, c4, PEND
p_pad   .byte PAD, L16, b3, a3, g3, e3, PEND
        .endlogical
