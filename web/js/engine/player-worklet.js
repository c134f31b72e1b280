// The player's AudioWorkletProcessor ("sidflow-player"): plays the blocks the engine worker
// sends (a queue of transferred Float32Arrays, no SharedArrayBuffer), tells the worker how
// far it has played so it renders ahead, and counts underruns: a render quantum, while
// playing a song that has not ended and has started (0.08 s queued after its load or seek),
// that the queue could not fill. See doc/browser-engine.md.
//
// From the page (node.port): connect (with the worker's MessagePort), gen { gen, frame }
// (a load or seek: drop queued audio, expect blocks of `gen` from `frame`), play, pause.
// To the page: pos { gen, frame, time, playing, stats } about 10 times a second and on every
// state change, ended { gen, frame }.
// From the worker: block { gen, frame, ch }, end { gen, frame }. To the worker: played.

const ACK_FRAMES = 512; // tell the worker at least this often
const REPORT_SECONDS = 0.1;
// After a load or seek, playing starts once this much audio is queued (or the song's end is
// known), so the first blocks' jitter does not become underruns.
const START_SECONDS = 0.08;

class SidPlayerProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.worker = null;
    this.queue = []; // { frame, ch: [Float32Array], off }
    this.queued = 0; // frames in the queue
    this.gen = 0;
    this.frame = 0; // the next frame to play
    this.endFrame = Infinity;
    this.started = false; // enough of this generation has arrived to start
    this.playing = false;
    this.fade = 0; // +1 fade in / -1 fade out over the next quantum
    this.ended = false;
    this.lastAck = 0;
    this.lastReport = -1;
    this.stats = { underruns: 0, underrunFrames: 0, waitFrames: 0, playedFrames: 0, quanta: 0 };
    this.port.onmessage = (e) => this.fromPage(e.data);
  }

  fromPage(m) {
    switch (m.type) {
      case "connect":
        this.worker = m.port;
        this.worker.onmessage = (e) => this.fromWorker(e.data);
        break;
      case "gen":
        if (m.gen > this.gen) this.reset(m.gen, m.frame);
        break;
      case "play":
        if (!this.playing) this.fade = 1;
        this.playing = true;
        this.report(true);
        break;
      case "pause":
        if (this.playing) this.fade = -1;
        this.report(true);
        break;
    }
  }

  reset(gen, frame) {
    this.gen = gen;
    this.queue = [];
    this.queued = 0;
    this.frame = frame;
    this.endFrame = Infinity;
    this.started = false;
    this.ended = false;
    this.lastAck = frame;
    if (this.playing) this.fade = 1;
  }

  fromWorker(m) {
    if (m.gen > this.gen) this.reset(m.gen, m.frame);
    if (m.gen !== this.gen) return;
    if (m.type === "block") {
      if (!this.queue.length && !this.started) this.frame = m.frame;
      this.queue.push({ frame: m.frame, ch: m.ch, off: 0 });
      this.queued += m.ch[0].length;
    } else if (m.type === "end") {
      this.endFrame = m.frame;
    }
    if (!this.started && (this.queued >= START_SECONDS * sampleRate || this.endFrame < Infinity)) {
      this.started = true;
    }
  }

  process(_inputs, outputs) {
    const out = outputs[0];
    const left = out[0], right = out[1] || null;
    const n = left.length;
    this.stats.quanta++;
    if (!this.playing) return true;
    let done = 0;
    while (this.started && done < n && this.queue.length) {
      const b = this.queue[0];
      const take = Math.min(n - done, b.ch[0].length - b.off);
      left.set(b.ch[0].subarray(b.off, b.off + take), done);
      if (right) right.set((b.ch[1] || b.ch[0]).subarray(b.off, b.off + take), done);
      b.off += take;
      done += take;
      if (b.off === b.ch[0].length) this.queue.shift();
    }
    this.queued -= done;
    this.frame += done;
    this.stats.playedFrames += done;
    if (done < n) {
      if (this.frame >= this.endFrame) {
        if (!this.ended) {
          this.ended = true;
          this.playing = false;
          this.port.postMessage({ type: "ended", gen: this.gen, frame: this.frame });
          this.report(true);
        }
      } else if (!this.started) {
        this.stats.waitFrames += n - done;
      } else {
        this.stats.underruns++;
        this.stats.underrunFrames += n - done;
      }
    }
    if (this.fade && (done > 0 || this.fade < 0)) {
      // A one-quantum ramp (2.7 ms at 48 kHz) on the first audio after play, a load or a
      // seek, and on the last before a pause, so they do not click.
      for (let i = 0; i < n; i++) {
        const g = this.fade > 0 ? i / n : 1 - i / n;
        left[i] *= g;
        if (right) right[i] *= g;
      }
      if (this.fade < 0) this.playing = false;
      this.fade = 0;
    }
    if (this.worker && this.frame - this.lastAck >= ACK_FRAMES) {
      this.lastAck = this.frame;
      this.worker.postMessage({ type: "played", gen: this.gen, frame: this.frame });
    }
    this.report(!this.playing); // at once when this quantum paused or ended it
    return true;
  }

  report(now) {
    if (!now && currentTime - this.lastReport < REPORT_SECONDS) return;
    this.lastReport = currentTime;
    this.port.postMessage({
      type: "pos", gen: this.gen, frame: this.frame, time: currentTime, playing: this.playing,
      stats: { ...this.stats, queuedFrames: this.queued },
    });
  }
}

registerProcessor("sidflow-player", SidPlayerProcessor);
