// SIDFlow test harness: Debian's libsidplayfp (reSID engine) as a reference C64, linked
// statically, with the reSID chip's register writes observed or replaced.
//
// This file is our own code. It uses only libsidplayfp's public API (sidplayfp, SidTune,
// SidConfig, ReSIDBuilder) plus four reSID entry points that libsidplayfp's reSID glue
// calls across object files, intercepted with the linker's --wrap option (build.rs):
//
//   reSID::SID::set_chip_model  -> which reSID object is chip 0, 1, 2 (the player locks
//                                  and configures chips in that order)
//   reSID::SID::reset           -> the chip's cycle counter restarts at 0
//   reSID::SID::clock           -> counts the cycles the chip is clocked (its own time);
//                                  in replay mode it is split at each logged write
//   reSID::SID::write           -> logged (log mode), or dropped and replaced by the
//                                  writes handed in (replay mode)
//
// Everything is per thread: a thread drives one player at a time (see `Scope`).
// Never part of the product: only the `fidelity` crate's tests and tools link it.

#include <sidplayfp/SidConfig.h>
#include <sidplayfp/SidInfo.h>
#include <sidplayfp/SidTune.h>
#include <sidplayfp/SidTuneInfo.h>
#include <sidplayfp/builders/resid.h>
#include <sidplayfp/sidplayfp.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

extern "C" {
// The real reSID functions (this pointer first, as the x86-64/AArch64 C++ ABI passes it).
void __real__ZN5reSID3SID5writeEjj(void *self, unsigned reg, unsigned value);
int __real__ZN5reSID3SID5clockERiPsii(void *self, int *delta, short *buf, int n, int interleave);
void __real__ZN5reSID3SID5resetEv(void *self);
void __real__ZN5reSID3SID14set_chip_modelENS_10chip_modelE(void *self, int model);
}

extern "C" {

/// One SID register write: `cycle` counts the chip's clock since its last reset.
struct sidref_write {
    uint64_t cycle;
    uint32_t chip;
    uint8_t reg;
    uint8_t value;
};

/// How to run the reference.
struct sidref_opts {
    uint32_t song;           // 1-based; 0 = the tune's start song
    uint32_t frequency;      // output rate in Hz
    uint32_t power_on_delay; // cycles, 0..=0x1FFF
    int32_t sid_model;       // -1 = the tune's (6581 when unknown); 0 = 6581; 1 = 8580 (forced)
    int32_t c64_model;       // -1 = the tune's (PAL when unknown); 0 = PAL; 1 = NTSC (forced)
    int32_t cia_model;       // 0 = MOS6526, 1 = MOS8521
    int32_t stereo;          // -1 = stereo for 2+ SIDs (as the sidplayfp CLI); 0 mono; 1 stereo
    uint32_t mode;           // 0 = play, 1 = log writes, 2 = replay `replay` instead of the tune's writes
    const sidref_write *replay;
    uint64_t replay_len;
    const uint8_t *kernal;  // 8 KiB KERNAL image for the reference, or NULL (its own stub)
};

struct sidref;
}

namespace {

enum Mode { PLAY = 0, LOG = 1, REPLAY = 2 };

struct Chip {
    void *sid = nullptr;   // the reSID::SID object
    uint64_t clocked = 0;  // cycles since the chip's last reset
    bool after_reset = false;  // the player's own post-reset volume write comes next
    std::vector<sidref_write> replay;  // this chip's writes, in order (replay mode)
    size_t next = 0;
};

struct Session {
    Mode mode = PLAY;
    std::vector<Chip> chips;
    std::vector<sidref_write> log;
    std::vector<sidref_write> replay;  // as handed in, split per chip when chips appear

    Chip *find(void *sid) {
        for (auto &c : chips)
            if (c.sid == sid)
                return &c;
        return nullptr;
    }
    uint32_t index(const Chip *c) const { return static_cast<uint32_t>(c - chips.data()); }
};

thread_local Session *current = nullptr;

// reSID and libsidplayfp build shared tables on first use: construct players one at a time.
std::mutex construct_lock;

struct Scope {
    Session *prev;
    explicit Scope(Session *s) : prev(current) { current = s; }
    ~Scope() { current = prev; }
};

}  // namespace

extern "C" {

void __wrap__ZN5reSID3SID14set_chip_modelENS_10chip_modelE(void *self, int model) {
    __real__ZN5reSID3SID14set_chip_modelENS_10chip_modelE(self, model);
    Session *s = current;
    if (s == nullptr || s->find(self) != nullptr)
        return;
    Chip c;
    c.sid = self;
    const uint32_t idx = static_cast<uint32_t>(s->chips.size());
    for (const auto &w : s->replay)
        if (w.chip == idx)
            c.replay.push_back(w);
    s->chips.push_back(std::move(c));
}

void __wrap__ZN5reSID3SID5resetEv(void *self) {
    __real__ZN5reSID3SID5resetEv(self);
    Session *s = current;
    Chip *c = s ? s->find(self) : nullptr;
    if (c == nullptr)
        return;
    c->clocked = 0;
    c->after_reset = true;
    c->next = 0;
}

void __wrap__ZN5reSID3SID5writeEjj(void *self, unsigned reg, unsigned value) {
    Session *s = current;
    Chip *c = s ? s->find(self) : nullptr;
    if (c == nullptr || s->mode == PLAY) {
        __real__ZN5reSID3SID5writeEjj(self, reg, value);
        return;
    }
    if (c->after_reset) {
        // ReSID::reset(volume) writes $18 itself right after the chip reset: part of the
        // reference's power-on state, not a write of the C64 program.
        c->after_reset = false;
        __real__ZN5reSID3SID5writeEjj(self, reg, value);
        return;
    }
    if (s->mode == LOG) {
        s->log.push_back(sidref_write{c->clocked, s->index(c), static_cast<uint8_t>(reg),
                                      static_cast<uint8_t>(value)});
        __real__ZN5reSID3SID5writeEjj(self, reg, value);
    }
    // REPLAY: the program's own writes are dropped.
}

int __wrap__ZN5reSID3SID5clockERiPsii(void *self, int *delta, short *buf, int n, int interleave) {
    Session *s = current;
    Chip *c = s ? s->find(self) : nullptr;
    if (c == nullptr)
        return __real__ZN5reSID3SID5clockERiPsii(self, delta, buf, n, interleave);
    if (c->after_reset)
        c->after_reset = false;
    int produced = 0;
    if (s->mode == REPLAY) {
        while (c->next < c->replay.size()) {
            const sidref_write &w = c->replay[c->next];
            const uint64_t end = c->clocked + static_cast<uint64_t>(*delta > 0 ? *delta : 0);
            if (w.cycle >= end)
                break;
            int part = w.cycle > c->clocked ? static_cast<int>(w.cycle - c->clocked) : 0;
            const int asked = part;
            produced += __real__ZN5reSID3SID5clockERiPsii(self, &part, buf + produced * interleave,
                                                          n - produced, interleave);
            const int done = asked - part;
            c->clocked += static_cast<uint64_t>(done);
            *delta -= done;
            if (part != 0)
                return produced;  // the output buffer is full; the caller comes back
            __real__ZN5reSID3SID5writeEjj(self, w.reg, w.value);
            c->next++;
        }
    }
    const int before = *delta;
    produced += __real__ZN5reSID3SID5clockERiPsii(self, delta, buf + produced * interleave,
                                                  n - produced, interleave);
    c->clocked += static_cast<uint64_t>(before - *delta);
    return produced;
}

}  // extern "C"

struct sidref {
    Session session;
    SidTune *tune = nullptr;
    ReSIDBuilder *builder = nullptr;
    sidplayfp *engine = nullptr;
    uint32_t channels = 1;
    uint32_t sids = 1;
    bool failed = false;

    ~sidref() {
        Scope scope(&session);
        delete engine;
        delete builder;
        delete tune;
    }
};

namespace {
void set_err(char *err, uint32_t len, const char *what, const char *detail) {
    if (err == nullptr || len == 0)
        return;
    std::snprintf(err, len, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}
}  // namespace

extern "C" {

sidref *sidref_open(const uint8_t *data, uint32_t len, const sidref_opts *o, char *err,
                    uint32_t errlen) {
    std::lock_guard<std::mutex> guard(construct_lock);
    sidref *r = new (std::nothrow) sidref;
    if (r == nullptr) {
        set_err(err, errlen, "out of memory", nullptr);
        return nullptr;
    }
    r->session.mode = static_cast<Mode>(o->mode <= 2 ? o->mode : 0);
    if (o->mode == REPLAY && o->replay != nullptr)
        r->session.replay.assign(o->replay, o->replay + o->replay_len);
    Scope scope(&r->session);

    r->tune = new SidTune(data, len);
    if (!r->tune->getStatus()) {
        set_err(err, errlen, "libsidplayfp rejects the tune", r->tune->statusString());
        delete r;
        return nullptr;
    }
    if (r->tune->selectSong(o->song) == 0) {
        set_err(err, errlen, "libsidplayfp cannot select the song", r->tune->statusString());
        delete r;
        return nullptr;
    }
    r->engine = new sidplayfp;
    if (o->kernal != nullptr)
        r->engine->setKernal(o->kernal);
    r->builder = new ReSIDBuilder("sidref");
    r->builder->create(r->engine->info().maxsids());
    if (!r->builder->getStatus()) {
        set_err(err, errlen, "reSID builder", r->builder->error());
        delete r;
        return nullptr;
    }
    // As the sidplayfp 2.4 command line with an empty sidplayfp.ini and `--resid`.
    r->builder->filter(true);
    r->builder->bias(0.5);

    const SidTuneInfo *info = r->tune->getInfo();
    r->sids = info->sidChips();
    SidConfig cfg;
    cfg.frequency = o->frequency;
    cfg.powerOnDelay = static_cast<uint_least16_t>(o->power_on_delay & 0x1FFF);
    cfg.samplingMethod = SidConfig::RESAMPLE_INTERPOLATE;
    cfg.fastSampling = false;
    cfg.sidEmulation = r->builder;
    cfg.defaultSidModel = o->sid_model == 1 ? SidConfig::MOS8580 : SidConfig::MOS6581;
    cfg.forceSidModel = o->sid_model >= 0;
    cfg.defaultC64Model = o->c64_model == 1 ? SidConfig::NTSC : SidConfig::PAL;
    cfg.forceC64Model = o->c64_model >= 0;
    cfg.ciaModel = o->cia_model == 1 ? SidConfig::MOS8521 : SidConfig::MOS6526;
    const bool stereo = o->stereo < 0 ? r->sids > 1 : o->stereo == 1;
    cfg.playback = stereo ? SidConfig::STEREO : SidConfig::MONO;
    r->channels = stereo ? 2 : 1;
    if (!r->engine->config(cfg)) {
        set_err(err, errlen, "libsidplayfp config", r->engine->error());
        delete r;
        return nullptr;
    }
    if (!r->engine->load(r->tune)) {
        set_err(err, errlen, "libsidplayfp load", r->engine->error());
        delete r;
        return nullptr;
    }
    return r;
}

uint32_t sidref_channels(const sidref *r) { return r->channels; }
uint32_t sidref_sids(const sidref *r) { return r->sids; }

/// Fills `buf` with `samples` interleaved samples; returns how many were made (less at the
/// end of play, e.g. when the emulated CPU halted) or -1 after an error.
int64_t sidref_play(sidref *r, int16_t *buf, uint32_t samples) {
    if (r->failed)
        return -1;
    Scope scope(&r->session);
    const uint32_t got = r->engine->play(buf, samples);
    if (got < samples && !r->engine->isPlaying())
        r->failed = true;
    return got;
}

const char *sidref_error(const sidref *r) { return r->engine ? r->engine->error() : ""; }

uint64_t sidref_log_len(const sidref *r) { return r->session.log.size(); }
const sidref_write *sidref_log(const sidref *r) { return r->session.log.data(); }
void sidref_log_clear(sidref *r) { r->session.log.clear(); }

void sidref_close(sidref *r) { delete r; }

}  // extern "C"
