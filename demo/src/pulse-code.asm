; pulse-code.asm - "Pulse Code", SIDFlow demo library
; Copyright (C) 2026 SIDFlow Team
; SPDX-License-Identifier: GPL-3.0-or-later
;
; RSID v2, PAL, 6581, one song: 4-bit $d418 sample playback from a CIA2 timer A NMI, with
; music on the three SID voices.
; - header: load 0 (embedded $0900), play 0, speed 0 (RSID rules). init banks out BASIC and
;   KERNAL ($01 = $35) and installs its own vectors at $fffa (NMI) and $fffe (IRQ).
; - CIA2 timer A runs continuously with latch 125 (126 cycles, 7819 Hz) and raises an NMI
;   each underflow; the NMI handler writes the next 4-bit sample to $d418 (the master
;   volume, low nibble) and acknowledges by reading $dd0d.
; - a raster IRQ at line $105 runs the music driver 50 times a second and triggers the
;   drum samples from a 32-step sequence.
; - the samples (kick, snare, tom) are our own, synthesized by the assembler at build
;   time from sine sweeps, exponential decays and a 16-bit LFSR; values 0..15, idle = 15.
; The $d418 technique relies on the 6581's DC offset: on an 8580 the drums are nearly
; inaudible, so the tune is flagged 6581. D minor, Dm Bb C Am, 16 bars, ~30.6 s loop.
;
; Build: 64tass -a -b -o ../pulse-code.sid pulse-code.asm

        .cpu "6502i"
        .include "defs.inc"

NV      = 3
SIDOFS  = (0, 7, 14)
CLOCK   = PAL_CLOCK
ILLEGAL = 0
HOOK    = 1
BANKIO  = 0
ZP      = $e0
LOAD    = $0900
RASTER  = $105
NMILATCH = 125                  ; timer period = latch + 1 cycles
RATE    = 1.0 * PAL_CLOCK / (NMILATCH + 1)

* = 0
        #sidheader "RSID", 2, 0, init, 0, 1, 1, 0, "Pulse Code", AUTHOR, RELEASED, F_PAL | F_6581, 0, 0, 0, 0
        .word LOAD

        .logical LOAD
init    sei
        pha
        lda #$35                ; BASIC and KERNAL out, I/O in
        sta $01
        lda #$7f                ; no CIA interrupts while we set up
        sta $dc0d
        sta $dd0d
        lda $dc0d
        lda $dd0d
        lda #<irq
        sta $fffe
        lda #>irq
        sta $ffff
        lda #<nmi
        sta $fffa
        lda #>nmi
        sta $fffb
        ldx #$18
        lda #0
-       sta $d400,x
        dex
        bpl -
        lda #$0f
        sta $d418
        lda #1
        sta dcnt
        lda #31                 ; the first step plays index 0
        sta dstep
        pla
        jsr pl_init
        lda #$1b | ((RASTER >> 1) & $80)
        sta $d011
        lda #<RASTER
        sta $d012
        lda #$01
        sta $d01a
        sta $d019
        lda #<NMILATCH          ; CIA2 timer A: sample clock
        sta $dd04
        lda #>NMILATCH
        sta $dd05
        lda #$81                ; timer A underflow -> NMI
        sta $dd0d
        lda #$11                ; continuous, force load, start
        sta $dd0e
        cli
        rts

; ---- NMI: one 4-bit sample per call (A is saved in the immediate operand below)
nmi     sta nmia+1
smpop   lda silence             ; operand advanced by the handler
        sta $d418
        inc smpop+1
        beq nmipage
        bit $dd0d               ; acknowledge CIA2
nmia   lda #0
        rti
nmipage   inc smpop+2
        lda smpop+2
        cmp smpend
        bne +
        lda #>silence           ; sample finished: loop the silence page
        sta smpop+2
        lda #(>silence)+1
        sta smpend
+       bit $dd0d
        jmp nmia
smpend  .byte (>silence)+1

; ---- raster IRQ: music
irq     pha
        txa
        pha
        tya
        pha
        jsr pl_play
        lda #$01
        sta $d019
        pla
        tay
        pla
        tax
        pla
        rti

; ---- called by pl_play each frame: step the drum sequence once per row
tune_tick
        dec dcnt
        bne _x
        lda tempo
        sta dcnt
        ldx dstep
        inx
        txa
        and #31
        sta dstep
        tax
        ldy dseq,x
        beq _x
        lda s_end-1,y           ; start sample y: end page first, then the start
        sta smpend
        lda #0
        sta smpop+1
        lda s_start-1,y
        sta smpop+2
_x      rts
dcnt    .byte 0
dstep   .byte 0
; 1 kick, 2 snare, 3 tom; two bars, one step per row
K = 1
S = 2
T = 3
dseq    .byte K, 0, 0, 0, S, 0, 0, K, 0, 0, K, 0, S, 0, T, T
        .byte K, 0, 0, 0, S, 0, 0, K, 0, 0, K, 0, S, T, T, T

        .include "player.inc"

; ---------------------------------------------------------------- song data
song_tempo .byte 6
song_fxdiv .byte 1
ORDS    = (o_lead, o_bass, o_chord)
song_ord_lo .byte <ORDS
song_ord_hi .byte >ORDS

;              AD   SR   wavetable        pw   pws vib  hr  -
instab
i_lead  .byte $0a, $a9, wt_lead-wt,      $50, $18, $83, 2, 0
i_bass  .byte $08, $a8, wt_bass-wt,      $00, $00, $00, 1, 0
i_maj   .byte $09, $00, wt_maj-wt,       $40, $30, $00, 0, 0
i_min   .byte $09, $00, wt_min-wt,       $40, $30, $00, 0, 0
LEAD  = $80 + (i_lead - instab) / 8
BASS  = $80 + (i_bass - instab) / 8
MAJ   = $80 + (i_maj - instab) / 8
MIN   = $80 + (i_min - instab) / 8

wt
wt_lead  .byte $41, 0, $ff, wt_lead-wt
wt_bass  .byte $21, 0, $ff, wt_bass-wt
wt_maj   .byte $41, 0, $41, 4, $41, 7, $ff, wt_maj-wt
wt_min   .byte $41, 0, $41, 3, $41, 7, $ff, wt_min-wt

PATS    = (p_d1, p_d2, p_d3, p_bass, p_cmaj, p_cmin)
pat_lo  .byte <PATS
pat_hi  .byte >PATS

o_lead  .byte TR(0), 0, 1, 0, 2, OJMP, 0
o_bass  .byte TR(0), 3, TR(-4), 3, TR(-2), 3, TR(-5), 3, OJMP, 0
o_chord .byte TR(2), 5, TR(-2), 4, TR(0), 4, TR(-3), 5, OJMP, 0

p_d1    .byte LEAD, L4, d5, f5, L6, a5, L2, g5
        .byte L8, f5, L4, d5, as4
        .byte L4, c5, e5, g5, e5
        .byte L8, a5, e5, PEND
p_d2    .byte L2, a5, g5, f5, e5, L4, d5, a4
        .byte L4, as4, d5, f5, as5
        .byte L6, c6, L2, as5, L4, a5, g5
        .byte L8, a5, L4, e5, cs5, PEND
p_d3    .byte L4, d6, a5, f5, a5
        .byte L6, as5, L2, a5, L8, f5
        .byte L4, g5, c6, e6, c6
        .byte L8, e6, cs6, PEND
p_bass  .byte BASS, L3, d2, L1, d2, L2, d3, a2, REST, d2, a2, d3, PEND
p_cmaj  .byte MAJ, L3, c4, c4, L2, c4, L3, c4, c4, L2, c4, PEND
p_cmin  .byte MIN, L3, c4, c4, L2, c4, L3, c4, c4, L2, c4, PEND

; ---------------------------------------------------------------- samples (page aligned,
; whole pages, 0..15, starting and ending at 15 so the music keeps its volume between hits)
        .align 256
silence .fill 256, 15
s_kick  .for i := 0, i < 1024, i += 1
tt := i / RATE
        .byte 15 - round(7.5 * exp(-tt / 0.05) * (1.0 - i / 1024.0) * (1.0 - cos(2 * pi * (45.0 * tt + 120.0 * 0.025 * (1.0 - exp(-tt / 0.025))))))
        .next
lfsr := $ace1
s_snare .for i := 0, i < 1024, i += 1
tt := i / RATE
lfsr := (lfsr >> 1) ^ ((lfsr & 1) * $b400)
        .byte 15 - round(15.0 * exp(-tt / 0.07) * (1.0 - i / 1024.0) * (0.7 * (lfsr & 255) / 255.0 + 0.3 * (0.5 - 0.5 * cos(2 * pi * 185.0 * tt))))
        .next
s_tom   .for i := 0, i < 1024, i += 1
tt := i / RATE
        .byte 15 - round(7.5 * exp(-tt / 0.07) * (1.0 - i / 1024.0) * (1.0 - cos(2 * pi * (95.0 * tt + 60.0 * 0.04 * (1.0 - exp(-tt / 0.04))))))
        .next
s_start .byte >s_kick, >s_snare, >s_tom
s_end   .byte >s_snare, >s_tom, >s_start
        .endlogical
