; raster-rider.asm - "Raster Rider", SIDFlow demo library
; Copyright (C) 2026 SIDFlow Team
; SPDX-License-Identifier: GPL-3.0-or-later
;
; RSID v2, PAL, 6581, one song, with its own raster interrupt:
; - header: load address 0 (the load address $9f00 is embedded), play 0, speed 0 (RSID rules)
; - init (at $9f00, below BASIC ROM) sets $01 = $35 to bank out BASIC and KERNAL, installs
;   its IRQ and NMI vectors at $fffe/$fffa, silences CIA1/CIA2 interrupts, sets the raster
;   compare to line $105 (261, bit 8 in $d011 bit 7: exists on PAL and NTSC), enables the
;   raster IRQ in $d01a, acknowledges $d019, and returns with CLI.
; - the music driver and all song data live at $a000+, in the RAM under the BASIC ROM, so
;   they are only reachable because the tune banked the ROM out itself.
; - the IRQ handler saves and restores A/X/Y itself and acks $d019; no KERNAL is used, so it
;   runs on a real C64 as well.
; B minor, Bm G D A, 16 bars, ~30.6 s loop.
;
; Build: 64tass -a -b -o ../raster-rider.sid raster-rider.asm

        .cpu "6502i"
        .include "defs.inc"

NV      = 3
SIDOFS  = (0, 7, 14)
CLOCK   = PAL_CLOCK
ILLEGAL = 0
HOOK    = 0
BANKIO  = 0
ZP      = $e0
LOAD    = $9f00
RASTER  = $105

* = 0
        #sidheader "RSID", 2, 0, init, 0, 1, 1, 0, "Raster Rider", AUTHOR, RELEASED, F_PAL | F_6581, 0, 0, 0, 0
        .word LOAD

        .logical LOAD
init    sei
        pha
        lda #$35                ; RAM at $a000-$bfff and $e000-$ffff, I/O on
        sta $01
        lda #<irq
        sta $fffe
        lda #>irq
        sta $ffff
        lda #<nmi
        sta $fffa
        lda #>nmi
        sta $fffb
        lda #$7f                ; no CIA interrupts
        sta $dc0d
        sta $dd0d
        lda $dc0d
        lda $dd0d
        lda #$1b | ((RASTER >> 1) & $80)
        sta $d011
        lda #<RASTER
        sta $d012
        lda #$01
        sta $d01a
        sta $d019
        ldx #$18
        lda #0
-       sta $d400,x
        dex
        bpl -
        lda #$0f
        sta $d418
        pla
        jsr pl_init             ; lives under the BASIC ROM
        cli
        rts

irq     pha
        txa
        pha
        tya
        pha
        jsr pl_play
        lda #$01                ; acknowledge the raster interrupt
        sta $d019
        pla
        tay
        pla
        tax
        pla
nmi     rti

        .fill $a000 - *, 0      ; the rest is under the BASIC ROM
        .include "player.inc"

; ---------------------------------------------------------------- song data
song_tempo .byte 6
song_fxdiv .byte 1
ORDS    = (o_lead, o_bass, o_drum)
song_ord_lo .byte <ORDS
song_ord_hi .byte >ORDS

;              AD   SR   wavetable        pw   pws vib  hr  -
instab
i_lead  .byte $09, $9a, wt_lead-wt,      $20, $30, $73, 2, 0
i_bass  .byte $09, $a8, wt_bass-wt,      $40, $20, $00, 1, 0
i_kick  .byte $08, $05, wt_kick-wt,      $80, $00, $00, 0, 0
i_snare .byte $08, $07, wt_snare-wt,     $80, $00, $00, 0, 0
i_hat   .byte $02, $00, wt_hat-wt,       $00, $00, $00, 0, 0
i_maj   .byte $06, $00, wt_maj-wt,       $30, $50, $00, 0, 0
i_min   .byte $06, $00, wt_min-wt,       $30, $50, $00, 0, 0
LEAD  = $80 + (i_lead - instab) / 8
BASS  = $80 + (i_bass - instab) / 8
KICK  = $80 + (i_kick - instab) / 8
SNARE = $80 + (i_snare - instab) / 8
HAT   = $80 + (i_hat - instab) / 8
MAJ   = $80 + (i_maj - instab) / 8
MIN   = $80 + (i_min - instab) / 8

wt
wt_lead  .byte $21, 12, $41, 0, $ff, wt_lead-wt+2
wt_bass  .byte $41, 0, $ff, wt_bass-wt
wt_kick  .byte $81, ABSN(a5), $41, ABSN(c4), $41, ABSN(a3), $41, ABSN(f3), $41, ABSN(d3), $41, ABSN(b2), $40, ABSN(a2), $ff, wt_kick-wt+12
wt_snare .byte $81, ABSN(c7), $41, ABSN(a4), $41, ABSN(f4), $81, ABSN(as6), $80, ABSN(a6), $ff, wt_snare-wt+8
wt_hat   .byte $81, ABSN(b7), $80, ABSN(b7), $ff, wt_hat-wt+2
wt_maj   .byte $41, 0, $41, 4, $41, 7, $ff, wt_maj-wt
wt_min   .byte $41, 0, $41, 3, $41, 7, $ff, wt_min-wt

PATS    = (p_r1, p_r2, p_r3, p_bass, p_dmaj, p_dmin)
pat_lo  .byte <PATS
pat_hi  .byte >PATS

o_lead  .byte TR(0), 0, 1, 0, 2, OJMP, 0
o_bass  .byte TR(0), 3, TR(-4), 3, TR(3), 3, TR(-2), 3, OJMP, 0
o_drum  .byte TR(-1), 5, TR(-5), 4, TR(2), 4, TR(-3), 4, OJMP, 0

p_r1    .byte LEAD, L2, b4, d5, L4, fs5, L2, e5, d5, cs5, d5
        .byte L6, b4, L2, d5, L8, g5
        .byte L4, fs5, a5, L2, fs5, e5, L4, d5
        .byte L4, e5, cs5, L8, a4, PEND
p_r2    .byte L4, fs5, b5, L2, a5, fs5, L4, d5
        .byte L6, g5, L2, fs5, L4, d5, b4
        .byte L4, a5, fs5, d6, a5
        .byte L8, cs6, L4, e6, cs6, PEND
p_r3    .byte L2, b5, a5, fs5, d5, b4, d5, L4, fs5
        .byte L2, g5, fs5, d5, b4, g4, b4, L4, d5
        .byte L2, d5, fs5, a5, d6, L8, fs6
        .byte L6, e6, L2, cs6, L4, a5, as5, PEND
p_bass  .byte BASS, L2, b1, L1, b1, b2, L2, fs2, b1, b2, fs2, b1, fs2, PEND
p_dmaj  .byte KICK, L2, c4, HAT, L1, c4, c4, SNARE, L2, c4, MAJ, c4, KICK, L1, c4, c4
        .byte MAJ, L2, c4, SNARE, c4, HAT, L1, c4, SNARE, c4, PEND
p_dmin  .byte KICK, L2, c4, HAT, L1, c4, c4, SNARE, L2, c4, MIN, c4, KICK, L1, c4, c4
        .byte MIN, L2, c4, SNARE, c4, HAT, L1, c4, SNARE, c4, PEND
        .endlogical
