; trinity.asm - "Trinity", SIDFlow demo library
; Copyright (C) 2026 SIDFlow Team
; SPDX-License-Identifier: GPL-3.0-or-later
;
; PSID v4, PAL, three SIDs: $d400, $d420 (header byte $7a = $42) and $d440 (byte $7b = $44),
; SIDs 1 and 2 are 6581 (flags bits 4-5 and 6-7 = 01), SID 3 an 8580 (bits 8-9 = 10), so each
; chip model field is exercised. One song, VBI speed, nine voices:
;   SID 1 ($d400): lead, bass, kick/snare
;   SID 2 ($d420): harmony line, chord arpeggios, hi-hats
;   SID 3 ($d440): a three-voice pad (one chord tone per voice) through SID 3's filter
; F major, F Dm Bb C, 16 bars, ~30.6 s loop.
;
; Build: 64tass -a -b -o ../trinity.sid trinity.asm

        .cpu "6502i"
        .include "defs.inc"

NV      = 9
SIDOFS  = (0, 7, 14, $20, $27, $2e, $40, $47, $4e)
CLOCK   = PAL_CLOCK
ILLEGAL = 0
HOOK    = 0
BANKIO  = 0
ZP      = $e0
LOAD    = $1000
SID2    = $d420
SID3    = $d440

* = 0
        #sidheader "PSID", 4, 0, init, play, 1, 1, 0, "Trinity", AUTHOR, RELEASED, F_PAL | F_6581 | F2_6581 | F3_8580, 0, 0, (SID2 >> 4) & $ff, (SID3 >> 4) & $ff
        .word LOAD

        .logical LOAD
init    pha
        ldx #$18
        lda #0
-       sta $d400,x
        sta SID2,x
        sta SID3,x
        dex
        bpl -
        lda #$0f
        sta $d418
        sta SID2+$18
        lda #$30                ; SID 3: low-pass pad
        sta SID3+$16
        lda #$67                ; resonance 6, voices 1-3
        sta SID3+$17
        lda #$1f
        sta SID3+$18
        pla
        jmp pl_init

play    jmp pl_play

        .include "player.inc"

; ---------------------------------------------------------------- song data
song_tempo .byte 6
song_fxdiv .byte 1
ORDS    = (o_lead, o_bass, o_drum, o_harm, o_arp, o_hat, o_pad1, o_pad2, o_pad3)
song_ord_lo .byte <ORDS
song_ord_hi .byte >ORDS

;              AD   SR   wavetable        pw   pws vib  hr  -
instab
i_lead  .byte $0a, $a9, wt_lead-wt,      $50, $20, $83, 2, 0
i_bass  .byte $09, $a8, wt_bass-wt,      $30, $18, $00, 1, 0
i_kick  .byte $08, $05, wt_kick-wt,      $80, $00, $00, 0, 0
i_snare .byte $08, $07, wt_snare-wt,     $80, $00, $00, 0, 0
i_hat   .byte $02, $00, wt_hat-wt,       $00, $00, $00, 0, 0
i_ohat  .byte $05, $00, wt_hat-wt,       $00, $00, $00, 0, 0
i_harm  .byte $4a, $7a, wt_harm-wt,      $20, $10, $94, 2, 0
i_maj   .byte $05, $00, wt_maj-wt,       $30, $40, $00, 0, 0
i_min   .byte $05, $00, wt_min-wt,       $30, $40, $00, 0, 0
i_pad   .byte $a0, $ac, wt_pad-wt,       $00, $00, $00, 4, 0
LEAD  = $80 + (i_lead - instab) / 8
BASS  = $80 + (i_bass - instab) / 8
KICK  = $80 + (i_kick - instab) / 8
SNARE = $80 + (i_snare - instab) / 8
HAT   = $80 + (i_hat - instab) / 8
OHAT  = $80 + (i_ohat - instab) / 8
HARM  = $80 + (i_harm - instab) / 8
MAJ   = $80 + (i_maj - instab) / 8
MIN   = $80 + (i_min - instab) / 8
PAD   = $80 + (i_pad - instab) / 8

wt
wt_lead  .byte $41, 0, $ff, wt_lead-wt
wt_bass  .byte $41, 0, $ff, wt_bass-wt
wt_harm  .byte $41, 0, $ff, wt_harm-wt
wt_pad   .byte $21, 0, $ff, wt_pad-wt
wt_kick  .byte $81, ABSN(a5), $11, ABSN(c4), $11, ABSN(a3), $11, ABSN(f3), $11, ABSN(d3), $11, ABSN(b2), $10, ABSN(a2), $ff, wt_kick-wt+12
wt_snare .byte $81, ABSN(c7), $41, ABSN(a4), $41, ABSN(f4), $81, ABSN(as6), $80, ABSN(a6), $ff, wt_snare-wt+8
wt_hat   .byte $81, ABSN(b7), $80, ABSN(b7), $ff, wt_hat-wt+2
wt_maj   .byte $41, 12, $41, 16, $41, 19, $ff, wt_maj-wt
wt_min   .byte $41, 12, $41, 15, $41, 19, $ff, wt_min-wt

PATS    = (p_t1, p_t2, p_t3, p_bass, p_drum, p_harm, p_amaj, p_amin, p_hat, p_pad1, p_pad2, p_pad3)
pat_lo  .byte <PATS
pat_hi  .byte >PATS

o_lead  .byte TR(0), 0, 1, 0, 2, OJMP, 0
o_bass  .byte TR(0), 3, TR(9), 3, TR(5), 3, TR(7), 3, OJMP, 0
o_drum  .byte TR(0), 4, OJMP, 0
o_harm  .byte TR(0), 5, OJMP, 0
o_arp   .byte TR(5), 6, TR(2), 7, TR(-2), 6, TR(0), 6, OJMP, 0
o_hat   .byte TR(0), 8, OJMP, 0
o_pad1  .byte TR(0), 9, OJMP, 0
o_pad2  .byte TR(0), 10, OJMP, 0
o_pad3  .byte TR(0), 11, OJMP, 0

p_t1    .byte LEAD, L4, c5, f5, L6, a5, L2, g5
        .byte L8, f5, L4, d5, a4
        .byte L4, as4, d5, f5, as5
        .byte L6, a5, L2, g5, L4, e5, c5, PEND
p_t2    .byte L4, a5, c6, L6, f6, L2, e6
        .byte L8, d6, L4, a5, f5
        .byte L4, g5, as5, d6, f6
        .byte L8, e6, L4, g6, e6, PEND
p_t3    .byte L2, f6, e6, c6, a5, f5, a5, L4, c6
        .byte L2, d6, c6, a5, f5, d5, f5, L4, a5
        .byte L2, as5, a5, g5, f5, L4, d5, f5
        .byte L6, g5, L2, e5, L4, c5, e5, PEND
p_bass  .byte BASS, L2, f1, f2, c2, f2, f1, f2, c2, f2, PEND
p_drum  .byte KICK, L4, c4, SNARE, c4, KICK, L2, c4, c4, SNARE, L4, c4, PEND
p_harm  .byte HARM, L8, a4, c5, d5, a4, as4, d5, c5, e5, PEND
p_amaj  .byte MAJ, L1, c4, c4, c4, c4, c4, c4, c4, c4, c4, c4, c4, c4, c4, c4, c4, c4, PEND
p_amin  .byte MIN, L1, c4, c4, c4, c4, c4, c4, c4, c4, c4, c4, c4, c4, c4, c4, c4, c4, PEND
p_hat   .byte HAT, L2, c4, OHAT, c4, HAT, L1, c4, c4, OHAT, L2, c4
        .byte HAT, L2, c4, OHAT, c4, HAT, L1, c4, c4, OHAT, L2, c4, PEND
p_pad1  .byte PAD, L16, f3, f3, f3, e3, PEND
p_pad2  .byte PAD, L16, a3, a3, as3, g3, PEND
p_pad3  .byte PAD, L16, c4, d4, d4, c4, PEND
        .endlogical
