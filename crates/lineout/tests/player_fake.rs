//! Player logic against a fake sink: underruns are counted and recovered without losing
//! frames, and the controls (queue, next, stop, pause, volume) do what they say.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lineout::format::software_gain_q15;
use lineout::{
    MemorySource, PlayState, Player, PlayerEvent, SampleFormat, Sink, SinkInfo, WriteError,
};

#[derive(Default)]
struct Log {
    samples: Vec<i16>,
    recovers: usize,
    discards: usize,
    pauses: Vec<bool>,
    drains: usize,
    writes: usize,
}

struct FakeSink {
    info: SinkInfo,
    log: Arc<Mutex<Log>>,
    /// Every n-th write fails with an underrun (0 = never).
    underrun_every: usize,
    /// Accept at most this many frames per write (partial writes).
    max_frames: usize,
    hw_volume: Option<Arc<Mutex<Option<u8>>>>,
}

impl Sink for FakeSink {
    fn info(&self) -> &SinkInfo {
        &self.info
    }
    fn write(&mut self, samples: &[i16]) -> Result<usize, WriteError> {
        // Paced a little like a device, so an endless source does not fill memory.
        std::thread::sleep(Duration::from_micros(200));
        let mut l = self.log.lock().unwrap();
        l.writes += 1;
        if self.underrun_every > 0 && l.writes.is_multiple_of(self.underrun_every) {
            return Err(WriteError::Underrun);
        }
        let ch = usize::from(self.info.channels);
        let frames = (samples.len() / ch).min(self.max_frames);
        l.samples.extend_from_slice(&samples[..frames * ch]);
        Ok(frames)
    }
    fn recover(&mut self) -> Result<(), lineout::Error> {
        self.log.lock().unwrap().recovers += 1;
        Ok(())
    }
    fn pause(&mut self, p: bool) -> Result<(), lineout::Error> {
        self.log.lock().unwrap().pauses.push(p);
        Ok(())
    }
    fn discard(&mut self) -> Result<(), lineout::Error> {
        self.log.lock().unwrap().discards += 1;
        Ok(())
    }
    fn drain(&mut self) -> Result<(), lineout::Error> {
        self.log.lock().unwrap().drains += 1;
        Ok(())
    }
    fn set_hw_volume(&mut self, percent: u8) -> bool {
        match &self.hw_volume {
            Some(v) => {
                *v.lock().unwrap() = Some(percent);
                true
            }
            None => false,
        }
    }
}

fn info() -> SinkInfo {
    SinkInfo {
        device: "fake".into(),
        rate: 8000,
        channels: 2,
        format: SampleFormat::S16Le,
        period_frames: 100,
        buffer_frames: 400,
        hw_volume: false,
    }
}

type HwVolume = Option<Arc<Mutex<Option<u8>>>>;

#[allow(clippy::type_complexity)]
fn fake(
    underrun_every: usize,
    max_frames: usize,
    hw: HwVolume,
) -> (
    Arc<Mutex<Log>>,
    impl FnOnce() -> Result<Box<dyn Sink>, lineout::Error> + Send,
) {
    let log = Arc::new(Mutex::new(Log::default()));
    let l2 = log.clone();
    (log, move || {
        Ok(Box::new(FakeSink {
            info: info(),
            log: l2,
            underrun_every,
            max_frames,
            hw_volume: hw,
        }) as Box<dyn Sink>)
    })
}

/// Polls `cond` for up to 10 s (no fixed sleeps: the machine may be loaded).
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

fn ramp(frames: usize, start: i16) -> Vec<i16> {
    (0..frames * 2)
        .map(|i| start.wrapping_add(i as i16))
        .collect()
}

#[test]
fn underruns_are_counted_recovered_and_lose_nothing() {
    let (log, open) = fake(3, 37, None);
    let player = Player::spawn(open, 100, None).unwrap();
    let sig = ramp(5000, 0);
    player
        .play(Box::new(MemorySource::new(8000, 2, sig.clone())))
        .unwrap();
    assert!(player.wait_idle(Duration::from_secs(10)));
    let st = player.status();
    let l = log.lock().unwrap();
    assert_eq!(l.samples, sig, "every frame arrives once, in order");
    assert!(st.underruns > 10, "{}", st.underruns);
    assert_eq!(st.underruns as usize, l.recovers);
    assert_eq!(st.frames_played, 5000);
    assert_eq!(l.drains, 1, "the end of the queue drains the device");
}

#[test]
fn queue_next_and_stop() {
    let (log, open) = fake(0, usize::MAX, None);
    let (tx, rx) = std::sync::mpsc::channel();
    let player = Player::spawn(open, 100, Some(tx)).unwrap();
    player.pause().unwrap(); // pausing while idle does nothing
    player
        .enqueue(Box::new(
            MemorySource::new(8000, 2, ramp(300, 0)).with_label("a"),
        ))
        .unwrap();
    player
        .enqueue(Box::new(
            MemorySource::new(8000, 2, ramp(200, 1000)).with_label("b"),
        ))
        .unwrap();
    assert!(player.wait_idle(Duration::from_secs(10)));
    let mut want = ramp(300, 0);
    want.extend(ramp(200, 1000));
    assert_eq!(log.lock().unwrap().samples, want, "a then b, gapless");
    let ev: Vec<_> = rx.try_iter().collect();
    assert_eq!(
        ev,
        [
            PlayerEvent::Started("a".into()),
            PlayerEvent::Finished("a".into()),
            PlayerEvent::Started("b".into()),
            PlayerEvent::Finished("b".into()),
            PlayerEvent::Idle
        ]
    );

    // A source that never ends, then next: it is skipped for the queued one.
    let endless = lineout::FnSource::new(8000, 2, "endless", |b: &mut [i16]| {
        b.fill(7);
        Ok(b.len())
    });
    player.play(Box::new(endless)).unwrap();
    player
        .enqueue(Box::new(
            MemorySource::new(8000, 2, ramp(10, 0)).with_label("c"),
        ))
        .unwrap();
    assert!(eventually(|| player.status().now_playing.as_deref()
        == Some("endless")
        && player.status().frames_played > 0));
    player.next().unwrap();
    assert!(player.wait_idle(Duration::from_secs(10)));
    assert!(rx
        .try_iter()
        .any(|e| e == PlayerEvent::Finished("c".into())));

    // Stop ends an endless source and clears the queue.
    let endless = lineout::FnSource::new(8000, 2, "endless", |b: &mut [i16]| {
        b.fill(7);
        Ok(b.len())
    });
    player.play(Box::new(endless)).unwrap();
    player
        .enqueue(Box::new(
            MemorySource::new(8000, 2, ramp(10, 0)).with_label("d"),
        ))
        .unwrap();
    player.stop().unwrap();
    assert!(player.wait_idle(Duration::from_secs(10)));
    let st = player.status();
    assert_eq!(
        (st.state, st.queued, st.now_playing),
        (PlayState::Idle, 0, None)
    );
    assert!(!rx.try_iter().any(|e| e == PlayerEvent::Started("d".into())));
    assert!(log.lock().unwrap().discards >= 2);
}

#[test]
fn pause_stops_writing_and_resume_continues() {
    let (log, open) = fake(0, usize::MAX, None);
    let player = Player::spawn(open, 100, None).unwrap();
    let endless = lineout::FnSource::new(8000, 2, "endless", |b: &mut [i16]| {
        b.fill(1);
        Ok(b.len())
    });
    player.play(Box::new(endless)).unwrap();
    assert!(eventually(|| player.status().frames_played > 0));
    player.pause().unwrap();
    assert!(eventually(|| player.status().state == PlayState::Paused));
    let n1 = log.lock().unwrap().samples.len();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        log.lock().unwrap().samples.len(),
        n1,
        "nothing is written while paused"
    );
    player.toggle_pause().unwrap();
    assert!(eventually(|| player.status().state == PlayState::Playing));
    assert!(eventually(|| log.lock().unwrap().samples.len() > n1));
    assert_eq!(log.lock().unwrap().pauses, [true, false]);
}

#[test]
fn volume_goes_to_the_hardware_mixer_or_to_the_samples() {
    // Software: samples are scaled.
    let (log, open) = fake(0, usize::MAX, None);
    let player = Player::spawn(open, 40, None).unwrap();
    player
        .play(Box::new(MemorySource::new(8000, 2, vec![10000; 20])))
        .unwrap();
    assert!(player.wait_idle(Duration::from_secs(10)));
    let g = software_gain_q15(40);
    let want = ((10000 * g + (1 << 14)) >> 15) as i16;
    assert!(log.lock().unwrap().samples.iter().all(|&s| s == want));
    assert_eq!(player.status().volume, 40);

    // Hardware: samples untouched, the control gets the value.
    let hw = Arc::new(Mutex::new(None));
    let (log, open) = fake(0, usize::MAX, Some(hw.clone()));
    let player = Player::spawn(open, 100, None).unwrap();
    player.set_volume(30).unwrap();
    player
        .play(Box::new(MemorySource::new(8000, 2, vec![10000; 20])))
        .unwrap();
    assert!(player.wait_idle(Duration::from_secs(10)));
    assert_eq!(*hw.lock().unwrap(), Some(30));
    assert!(log.lock().unwrap().samples.iter().all(|&s| s == 10000));
}

#[test]
fn a_failing_source_is_reported_and_the_next_one_plays() {
    let (log, open) = fake(0, usize::MAX, None);
    let (tx, rx) = std::sync::mpsc::channel();
    let player = Player::spawn(open, 100, Some(tx)).unwrap();
    let bad = lineout::FnSource::new(8000, 2, "bad", |_b: &mut [i16]| {
        Err(lineout::Error::Source("broken file".into()))
    });
    player.enqueue(Box::new(bad)).unwrap();
    player
        .enqueue(Box::new(
            MemorySource::new(8000, 2, ramp(50, 0)).with_label("good"),
        ))
        .unwrap();
    assert!(player.wait_idle(Duration::from_secs(10)));
    let ev: Vec<_> = rx.try_iter().collect();
    assert!(
        ev.iter()
            .any(|e| matches!(e, PlayerEvent::Failed(m) if m.contains("broken file"))),
        "{ev:?}"
    );
    assert!(ev.contains(&PlayerEvent::Finished("good".into())));
    assert_eq!(log.lock().unwrap().samples, ramp(50, 0));
    assert!(player.status().last_error.unwrap().contains("broken file"));
}
