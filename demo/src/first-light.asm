; first-light.asm - "First Light", SIDFlow demo library
; Copyright (C) 2026 SIDFlow Team
; SPDX-License-Identifier: GPL-3.0-or-later
;
; PSID v2, PAL, 6581, one song, VBI speed (speed bit 0 = 0, play address set).
; The plain fixture: load address in the header (no embedded load address),
; documented opcodes only, no filter, and a driver area in the header (start page $04,
; 8 pages: $0400-$0bff is free for the PSID driver). C - Am - F - G, 16 bars at 125 bpm, ~30.7 s loop.
;
; Build: 64tass -a -b -o ../first-light.sid first-light.asm

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

* = 0
        #sidheader "PSID", 2, LOAD, init, play, 1, 1, 0, "First Light", AUTHOR, RELEASED, F_PAL | F_6581, $04, $08, 0, 0

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
song_tempo .byte 6
song_fxdiv .byte 1
ORDS    = (o_lead, o_bass, o_drum)
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
LEAD  = $80 + (i_lead - instab) / 8
BASS  = $80 + (i_bass - instab) / 8
KICK  = $80 + (i_kick - instab) / 8
SNARE = $80 + (i_snare - instab) / 8
HAT   = $80 + (i_hat - instab) / 8
MAJ   = $80 + (i_maj - instab) / 8
MIN   = $80 + (i_min - instab) / 8

wt
wt_lead  .byte $41, 0, $ff, wt_lead-wt
wt_bass  .byte $41, 0, $ff, wt_bass-wt
wt_kick  .byte $81, ABSN(a5), $41, ABSN(c4), $41, ABSN(a3), $41, ABSN(f3), $41, ABSN(d3), $41, ABSN(b2), $40, ABSN(a2), $ff, wt_kick-wt+12
wt_snare .byte $81, ABSN(c7), $41, ABSN(a4), $41, ABSN(f4), $81, ABSN(as6), $80, ABSN(a6), $ff, wt_snare-wt+8
wt_hat   .byte $81, ABSN(b7), $80, ABSN(b7), $ff, wt_hat-wt+2
wt_maj   .byte $41, 0, $41, 4, $41, 7, $41, 12, $ff, wt_maj-wt
wt_min   .byte $41, 0, $41, 3, $41, 7, $41, 12, $ff, wt_min-wt

PATS    = (p_lead1, p_lead2, p_lead3, p_lead4, p_bass, p_dmaj, p_dmin, p_dfill)
pat_lo  .byte <PATS
pat_hi  .byte >PATS

; order lists: pattern numbers index PATS
o_lead  .byte TR(0), 0, 1, 2, 3, OJMP, 0
o_bass  .byte TR(0), 4, TR(-3), 4, TR(5), 4, TR(-5), 4, OJMP, 0
o_drum  .byte TR(0), 5, TR(-3), 6, TR(5), 5, TR(7), 5
        .byte TR(0), 5, TR(-3), 6, TR(5), 5, TR(7), 5
        .byte TR(0), 5, TR(-3), 6, TR(5), 5, TR(7), 5
        .byte TR(0), 5, TR(-3), 6, TR(5), 5, TR(7), 7, OJMP, 0

; lead, four bars each (C Am F G)
p_lead1 .byte LEAD, L4, e5, g5, L6, c6, L2, b5
        .byte L8, a5, L4, e5, c5
        .byte L4, f5, a5, c6, L2, a5, g5
        .byte L12, g5, L4, d5, PEND
p_lead2 .byte L4, e5, g5, c6, e6
        .byte L6, c6, L2, b5, L4, a5, e5
        .byte L4, f5, a5, c6, d6
        .byte L8, b5, L4, g5, L2, b5, d6, PEND
p_lead3 .byte L2, e6, d6, c6, g5, e5, g5, L4, c6
        .byte L2, c6, b5, a5, e5, c5, e5, L4, a5
        .byte L2, a5, g5, f5, c5, a4, c5, L4, f5
        .byte L2, g5, a5, b5, d6, L8, g6, PEND
p_lead4 .byte L4, g6, e6, c6, e6
        .byte L6, a6, L2, g6, L8, e6
        .byte L4, f6, L2, e6, d6, L4, c6, a5
        .byte L6, b5, L2, c6, L6, d6, L2, REST, PEND

; bass, one bar, transposed per chord
p_bass  .byte BASS, L2, c2, c3, g2, c3, c2, c3, g2, L1, c3, c2, PEND

; drums with chord arpeggios between the hits (one bar)
p_dmaj  .byte KICK, L2, c4, MAJ, c4, SNARE, L2, c4, MAJ, c4
        .byte KICK, L1, c4, c4, MAJ, L2, c4, SNARE, c4, HAT, L1, c4, c4, PEND
p_dmin  .byte KICK, L2, c4, MIN, c4, SNARE, L2, c4, MIN, c4
        .byte KICK, L1, c4, c4, MIN, L2, c4, SNARE, c4, HAT, L1, c4, c4, PEND
p_dfill .byte KICK, L2, c4, MAJ, c4, SNARE, L2, c4, MAJ, c4
        .byte KICK, L1, c4, SNARE, c4, c4, c4, c4, c4, KICK, c4, SNARE, c4, PEND
        .endlogical
