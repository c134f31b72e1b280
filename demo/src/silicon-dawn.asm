; silicon-dawn.asm - "Silicon Dawn", SIDFlow demo library
; Copyright (C) 2026 SIDFlow Team
; SPDX-License-Identifier: GPL-3.0-or-later
;
; PSID v2, PAL, 8580 (flags bits 4-5 = 10), one song, VBI speed.
; Written for the 8580: the lead and the chords use combined waveforms (pulse+triangle
; $51, pulse+sawtooth $61), which the 8580 renders as the intended clean, mellow timbres
; (a 6581 renders them differently), and the bass runs through a resonant low-pass filter
; whose cutoff the tune sweeps every frame over a range picked for the 8580's linear
; cutoff curve (on a 6581 the same values sound much darker and vary chip to chip). F# minor, F#m D A E, 16 bars, ~35.8 s.
;
; Build: 64tass -a -b -o ../silicon-dawn.sid silicon-dawn.asm

        .cpu "6502i"
        .include "defs.inc"

NV      = 3
SIDOFS  = (0, 7, 14)
CLOCK   = PAL_CLOCK
ILLEGAL = 0
HOOK    = 1
BANKIO  = 0
ZP      = $e0
LOAD    = $1000
FMIN    = 10                    ; cutoff sweep range, high byte of the 11-bit cutoff
FMAX    = 60

* = 0
        #sidheader "PSID", 2, 0, init, play, 1, 1, 0, "Silicon Dawn", AUTHOR, RELEASED, F_PAL | F_8580, 0, 0, 0, 0
        .word LOAD

        .logical LOAD
init    pha
        ldx #$18
        lda #0
-       sta $d400,x
        dex
        bpl -
        lda #FMIN
        sta fcut
        sta $d416
        lda #0
        sta fdir
        lda #$c2                ; resonance 12, voice 2 (bass) through the filter
        sta $d417
        lda #$1f                ; low-pass, volume 15
        sta $d418
        pla
        jmp pl_init

play    jmp pl_play

; filter sweep, called by pl_play every frame: cutoff ping-pongs FMIN..FMAX
tune_tick
        lda fdir
        bne _down
        inc fcut
        lda fcut
        cmp #FMAX
        bcc _set
        inc fdir
        bne _set
_down   dec fcut
        lda fcut
        cmp #FMIN+1
        bcs _set
        dec fdir
_set    lda fcut
        sta $d416
        rts
fcut    .byte 0
fdir    .byte 0

        .include "player.inc"

; ---------------------------------------------------------------- song data
song_tempo .byte 7
song_fxdiv .byte 1
ORDS    = (o_lead, o_bass, o_drum)
song_ord_lo .byte <ORDS
song_ord_hi .byte >ORDS

;              AD   SR   wavetable        pw   pws vib  hr  -
instab
i_lead  .byte $2a, $ba, wt_lead-wt,      $40, $10, $a3, 2, 0
i_bass  .byte $08, $c8, wt_bass-wt,      $00, $00, $00, 1, 0
i_kick  .byte $08, $05, wt_kick-wt,      $80, $00, $00, 0, 0
i_snare .byte $08, $07, wt_snare-wt,     $80, $00, $00, 0, 0
i_hat   .byte $02, $00, wt_hat-wt,       $00, $00, $00, 0, 0
i_maj   .byte $18, $00, wt_maj-wt,       $60, $20, $00, 0, 0
i_min   .byte $18, $00, wt_min-wt,       $60, $20, $00, 0, 0
LEAD  = $80 + (i_lead - instab) / 8
BASS  = $80 + (i_bass - instab) / 8
KICK  = $80 + (i_kick - instab) / 8
SNARE = $80 + (i_snare - instab) / 8
HAT   = $80 + (i_hat - instab) / 8
MAJ   = $80 + (i_maj - instab) / 8
MIN   = $80 + (i_min - instab) / 8

wt
wt_lead  .byte $41, 0, $51, 0, $ff, wt_lead-wt+2
wt_bass  .byte $21, 0, $ff, wt_bass-wt
wt_kick  .byte $81, ABSN(a5), $11, ABSN(c4), $11, ABSN(a3), $11, ABSN(f3), $11, ABSN(d3), $11, ABSN(b2), $10, ABSN(a2), $ff, wt_kick-wt+12
wt_snare .byte $81, ABSN(c7), $41, ABSN(a4), $41, ABSN(f4), $81, ABSN(as6), $80, ABSN(a6), $ff, wt_snare-wt+8
wt_hat   .byte $81, ABSN(b7), $80, ABSN(b7), $ff, wt_hat-wt+2
wt_maj   .byte $61, 0, $61, 4, $61, 7, $ff, wt_maj-wt
wt_min   .byte $61, 0, $61, 3, $61, 7, $ff, wt_min-wt

PATS    = (p_m1, p_m2, p_m3, p_bass, p_dmaj, p_dmin)
pat_lo  .byte <PATS
pat_hi  .byte >PATS

o_lead  .byte TR(0), 0, 1, 0, 2, OJMP, 0
o_bass  .byte TR(0), 3, TR(-4), 3, TR(3), 3, TR(-2), 3, OJMP, 0
o_drum  .byte TR(-6), 5, TR(2), 4, TR(-3), 4, TR(4), 4, OJMP, 0

p_m1    .byte LEAD, L6, cs5, L2, fs5, L8, a5
        .byte L4, fs5, L2, a5, L2, fs5, L8, d5
        .byte L6, e5, L2, cs5, L4, a4, cs5
        .byte L12, b4, L4, REST, PEND
p_m2    .byte L4, fs5, gs5, a5, cs6
        .byte L6, d6, L2, cs6, L8, a5
        .byte L4, cs6, b5, a5, e5
        .byte L8, gs5, L4, b5, e5, PEND
p_m3    .byte L4, a5, cs6, L6, fs6, L2, e6
        .byte L8, d6, L4, a5, fs5
        .byte L4, e5, a5, cs6, e6
        .byte L6, e6, L2, d6, L4, b5, gs5, PEND
p_bass  .byte BASS, L2, fs1, fs2, L1, fs1, fs1, L2, fs2, L2, cs2, fs2, L2, e2, cs2, PEND
p_dmaj  .byte KICK, L2, c4, HAT, c4, SNARE, c4, MAJ, L2, c4
        .byte KICK, L2, c4, KICK, c4, SNARE, c4, HAT, L1, c4, c4, PEND
p_dmin  .byte KICK, L2, c4, HAT, c4, SNARE, c4, MIN, L2, c4
        .byte KICK, L2, c4, KICK, c4, SNARE, c4, HAT, L1, c4, c4, PEND
        .endlogical
