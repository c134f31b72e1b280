; sixty-hertz.asm - "Sixty Hertz", SIDFlow demo library
; Copyright (C) 2026 SIDFlow Team
; SPDX-License-Identifier: GPL-3.0-or-later
;
; PSID v2, NTSC (flags bits 2-3 = 10), 6581, one song, VBI speed: play is called once per
; NTSC frame (17 095 cycles, 59.83 Hz). The frequency table is computed for the NTSC clock
; (1 022 727 Hz), so on a PAL machine every note is ~3.7 % flat and the tempo is 16 % slow.
; G major jazz turnaround Am7 - D7 - Gmaj7 - Cmaj7, 16 bars, ~30 s loop.
;
; Build: 64tass -a -b -o ../sixty-hertz.sid sixty-hertz.asm

        .cpu "6502i"
        .include "defs.inc"

NV      = 3
SIDOFS  = (0, 7, 14)
CLOCK   = NTSC_CLOCK
ILLEGAL = 0
HOOK    = 0
BANKIO  = 0
ZP      = $e0
LOAD    = $1000

* = 0
        #sidheader "PSID", 2, 0, init, play, 1, 1, 0, "Sixty Hertz", AUTHOR, RELEASED, F_NTSC | F_6581, 0, 0, 0, 0
        .word LOAD

        .logical LOAD
init    pha
        ldx #$18
        lda #0
-       sta $d400,x
        dex
        bpl -
        lda #$0f
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
i_lead  .byte $09, $89, wt_lead-wt,      $30, $28, $a3, 2, 0
i_bass  .byte $08, $a6, wt_bass-wt,      $00, $00, $00, 1, 0
i_kick  .byte $08, $05, wt_kick-wt,      $80, $00, $00, 0, 0
i_snare .byte $08, $07, wt_snare-wt,     $80, $00, $00, 0, 0
i_hat   .byte $02, $00, wt_hat-wt,       $00, $00, $00, 0, 0
i_m7    .byte $07, $00, wt_m7-wt,        $50, $30, $00, 0, 0
i_dom7  .byte $07, $00, wt_dom7-wt,      $50, $30, $00, 0, 0
i_maj7  .byte $07, $00, wt_maj7-wt,      $50, $30, $00, 0, 0
LEAD  = $80 + (i_lead - instab) / 8
BASS  = $80 + (i_bass - instab) / 8
KICK  = $80 + (i_kick - instab) / 8
SNARE = $80 + (i_snare - instab) / 8
HAT   = $80 + (i_hat - instab) / 8
M7    = $80 + (i_m7 - instab) / 8
DOM7  = $80 + (i_dom7 - instab) / 8
MAJ7  = $80 + (i_maj7 - instab) / 8

wt
wt_lead  .byte $41, 0, $ff, wt_lead-wt
wt_bass  .byte $21, 12, $21, 0, $ff, wt_bass-wt+2
wt_kick  .byte $81, ABSN(a5), $41, ABSN(c4), $41, ABSN(a3), $41, ABSN(f3), $41, ABSN(d3), $41, ABSN(b2), $40, ABSN(a2), $ff, wt_kick-wt+12
wt_snare .byte $81, ABSN(c7), $41, ABSN(a4), $41, ABSN(f4), $81, ABSN(as6), $80, ABSN(a6), $ff, wt_snare-wt+8
wt_hat   .byte $81, ABSN(b7), $80, ABSN(b7), $ff, wt_hat-wt+2
wt_m7    .byte $41, 0, $41, 3, $41, 7, $41, 10, $ff, wt_m7-wt
wt_dom7  .byte $41, 0, $41, 4, $41, 7, $41, 10, $ff, wt_dom7-wt
wt_maj7  .byte $41, 0, $41, 4, $41, 7, $41, 11, $ff, wt_maj7-wt

PATS    = (p_n1, p_n2, p_n3, p_bass, p_dm7, p_ddom7, p_dmaj7)
pat_lo  .byte <PATS
pat_hi  .byte >PATS

o_lead  .byte TR(0), 0, 1, 0, 2, OJMP, 0
o_bass  .byte TR(0), 3, TR(5), 3, TR(-2), 3, TR(3), 3, OJMP, 0
o_drum  .byte TR(-3), 4, TR(2), 5, TR(-5), 6, TR(0), 6, OJMP, 0

p_n1    .byte LEAD, L2, e5, g5, a5, L4, c6, L2, b5, a5, g5
        .byte L6, fs5, L2, a5, L4, c6, a5
        .byte L8, b5, L2, d6, b5, L4, g5
        .byte L8, e5, L4, g5, b5, PEND
p_n2    .byte L4, c6, L2, b5, a5, L4, e5, g5
        .byte L2, fs5, a5, d6, c6, L4, a5, fs5
        .byte L2, g5, b5, d6, fs6, L8, g6
        .byte L6, e6, L2, d6, L4, b5, a5, PEND
p_n3    .byte L2, a5, c6, L4, e6, L2, d6, c6, L4, a5
        .byte L4, fs5, L2, a5, c6, L4, e6, d6
        .byte L4, d6, b5, L8, fs6
        .byte L8, e6, L4, b5, g5, PEND
p_bass  .byte BASS, L3, a1, L1, a2, L2, REST, a1, e2, a2, e2, a1, PEND
p_dm7   .byte KICK, L2, c4, M7, c4, SNARE, c4, KICK, L1, c4, M7, c4, L2, c4, KICK, c4, SNARE, c4, HAT, c4, PEND
p_ddom7 .byte KICK, L2, c4, DOM7, c4, SNARE, c4, KICK, L1, c4, DOM7, c4, L2, c4, KICK, c4, SNARE, c4, HAT, c4, PEND
p_dmaj7 .byte KICK, L2, c4, MAJ7, c4, SNARE, c4, KICK, L1, c4, MAJ7, c4, L2, c4, KICK, c4, SNARE, c4, HAT, c4, PEND
        .endlogical
