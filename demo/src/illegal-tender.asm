; illegal-tender.asm - "Illegal Tender", SIDFlow demo library
; Copyright (C) 2026 SIDFlow Team
; SPDX-License-Identifier: GPL-3.0-or-later
;
; PSID v2, PAL, 6581, one song, CIA speed (speed bit 0 = 1) at 2x: init reprograms CIA1
; timer A ($dc04/$dc05 = PAL_FRAME/2 - 1 = $2663), so play runs 100 times a second.
; The driver is built with ILLEGAL = 1: its play path uses the undocumented NMOS opcodes
;   LAX (zp),y  order-list bytes into A and X at once (pattern index)
;   DCP abs,x   row counters (decrement + compare)
;   ISC abs     the tick counter (increment + subtract from the tempo)
;   ANC #imm    and + clear carry before adding wavetable pitch offsets
;   ALR #imm    and + shift to split the pulse width byte
;   SAX zp      waveform & gate mask when writing the control register
;   SBX #imm    song * voices in init
; and this tune's filter sweep uses LAX abs,y, ALR and SAX.
; C minor, Cm Ab Eb Bb, 16 bars, ~30.6 s loop.
;
; Build: 64tass -a -b -o ../illegal-tender.sid illegal-tender.asm

        .cpu "6502i"
        .include "defs.inc"

NV      = 3
SIDOFS  = (0, 7, 14)
CLOCK   = PAL_CLOCK
ILLEGAL = 1
HOOK    = 1
BANKIO  = 0
ZP      = $e0
LOAD    = $1000
CIA2X   = PAL_FRAME / 2 - 1

* = 0
        #sidheader "PSID", 2, 0, init, play, 1, 1, 1, "Illegal Tender", AUTHOR, RELEASED, F_PAL | F_6581, 0, 0, 0, 0
        .word LOAD

        .logical LOAD
init    pha
        ldx #$18
        lda #0
-       sta $d400,x
        dex
        bpl -
        sta fpos
        lda #<CIA2X             ; two play calls per PAL frame
        sta $dc04
        lda #>CIA2X
        sta $dc05
        lda #$11
        sta $dc0e
        lda #$a1                ; resonance 10, lead through the filter
        sta $d417
        lda #$1f                ; low-pass, volume 15
        sta $d418
        pla
        jmp pl_init

play    jmp pl_play

; filter sweep: a 128-step triangle read with LAX; resonance derived with ALR; the
; position is advanced and wrapped with SAX
tune_tick
        ldy fpos
        lax sweep,y             ; A = X = cutoff (high byte)
        sta $d416
        txa
        alr #$f0                ; (cutoff & $f0) >> 1
        eor #$78                ; higher cutoff -> less resonance
        asl a                   ; resonance in bits 4-7
        ora #$01                ; filter voice 1 (the lead)
        sta $d417
        lda #$7f
        ldx fpos
        inx
        sax fpos                ; fpos = (fpos + 1) & $7f
        rts
fpos    .byte 0
sweep   .for i := 0, i < 128, i += 1
        .byte 40 + round(150 * (1.0 - abs(i - 64) / 64.0))
        .next

        .include "player.inc"

; ---------------------------------------------------------------- song data
song_tempo .byte 12
song_fxdiv .byte 2
ORDS    = (o_lead, o_bass, o_drum)
song_ord_lo .byte <ORDS
song_ord_hi .byte >ORDS

;              AD   SR   wavetable        pw   pws vib  hr  -
instab
i_lead  .byte $0a, $a9, wt_lead-wt,      $40, $08, $83, 4, 0
i_bass  .byte $09, $a8, wt_bass-wt,      $30, $0c, $00, 2, 0
i_kick  .byte $08, $05, wt_kick-wt,      $80, $00, $00, 0, 0
i_snare .byte $08, $07, wt_snare-wt,     $80, $00, $00, 0, 0
i_hat   .byte $02, $00, wt_hat-wt,       $00, $00, $00, 0, 0
i_maj   .byte $06, $00, wt_maj-wt,       $40, $20, $00, 0, 0
i_min   .byte $06, $00, wt_min-wt,       $40, $20, $00, 0, 0
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
wt_maj   .byte $41, 0, $41, 4, $41, 7, $41, 12, $ff, wt_maj-wt
wt_min   .byte $41, 0, $41, 3, $41, 7, $41, 12, $ff, wt_min-wt

PATS    = (p_i1, p_i2, p_i3, p_bass, p_dmaj, p_dmin)
pat_lo  .byte <PATS
pat_hi  .byte >PATS

o_lead  .byte TR(0), 0, 1, 0, 2, OJMP, 0
o_bass  .byte TR(0), 3, TR(-4), 3, TR(3), 3, TR(-2), 3, OJMP, 0
o_drum  .byte TR(0), 5, TR(-4), 4, TR(3), 4, TR(-2), 4, OJMP, 0

p_i1    .byte LEAD, L2, c5, ds5, L4, g5, L2, f5, ds5, d5, ds5
        .byte L6, c5, L2, ds5, L8, gs5
        .byte L4, g5, as5, L2, g5, f5, L4, ds5
        .byte L4, f5, d5, L8, as4, PEND
p_i2    .byte L4, g5, c6, L2, as5, g5, L4, ds5
        .byte L6, gs5, L2, g5, L4, ds5, c5
        .byte L4, as5, g5, ds6, as5
        .byte L8, d6, L4, f6, d6, PEND
p_i3    .byte L2, c6, as5, g5, ds5, c5, ds5, L4, g5
        .byte L2, gs5, g5, ds5, c5, gs4, c5, L4, ds5
        .byte L2, ds5, g5, as5, ds6, L8, g6
        .byte L6, f6, L2, d6, L4, as5, b5, PEND
p_bass  .byte BASS, L2, c2, L1, c3, c2, L2, REST, c2, g2, c3, c2, g2, PEND
p_dmaj  .byte KICK, L2, c4, MAJ, c4, SNARE, L2, c4, MAJ, c4
        .byte KICK, L1, c4, c4, MAJ, L2, c4, SNARE, c4, HAT, L1, c4, c4, PEND
p_dmin  .byte KICK, L2, c4, MIN, c4, SNARE, L2, c4, MIN, c4
        .byte KICK, L1, c4, c4, MIN, L2, c4, SNARE, c4, HAT, L1, c4, c4, PEND
        .endlogical
