//! Live audio from a device for fan-out (web listeners, line-out): one capture, many
//! subscribers. Blocks are delivered at the stream's true rate (`rate_hz`); a subscriber that
//! falls behind loses blocks (counted), it never stalls the capture.

use crate::capture::{with_stream, CaptureOptions, Flow};
use crate::error::Result;
use crate::rest::Client;
use crate::stream::{CaptureStats, SystemMode};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One block of interleaved stereo i16 at the stream rate (192 frames, or silence for a lost
/// packet).
pub type Block = Arc<[i16]>;

/// A running live capture.
pub struct LiveStream {
    subscribers: Arc<Mutex<Vec<SyncSender<Block>>>>,
    /// Graceful stop: the sink ends the capture at the next block (statistics kept).
    stop: Arc<AtomicBool>,
    /// Hard stop if no block comes (stream already dead).
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<CaptureStats>>>,
    /// Blocks a slow subscriber missed.
    pub dropped: Arc<AtomicU64>,
    pub rate_hz: f64,
}

impl LiveStream {
    /// Start streaming from `client` until [`LiveStream::stop`].
    pub fn start(
        client: Arc<Client>,
        mode: SystemMode,
        opts: CaptureOptions,
    ) -> Result<LiveStream> {
        let subscribers: Arc<Mutex<Vec<SyncSender<Block>>>> = Arc::default();
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let (subs, c, d, st) = (
            subscribers.clone(),
            cancel.clone(),
            dropped.clone(),
            stop.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("ultimate-live".into())
            .spawn(move || {
                let r = with_stream(&client, mode, &opts, &c, &mut || Ok(()), |b, _| {
                    let block: Block = Arc::from(b);
                    let mut subs = subs.lock().unwrap_or_else(|e| e.into_inner());
                    subs.retain(|tx| match tx.try_send(block.clone()) {
                        Ok(()) => true,
                        Err(TrySendError::Full(_)) => {
                            d.fetch_add(1, Ordering::Relaxed);
                            true
                        }
                        Err(TrySendError::Disconnected(_)) => false,
                    });
                    if st.load(Ordering::Relaxed) {
                        Flow::Stop
                    } else {
                        Flow::Continue
                    }
                });
                match r {
                    Err(crate::Error::Cancelled) => Ok(CaptureStats::default()),
                    other => other,
                }
            })
            .map_err(|e| crate::Error::io("spawn live capture", e))?;
        Ok(LiveStream {
            subscribers,
            stop,
            cancel,
            thread: Some(thread),
            dropped,
            rate_hz: mode.sample_rate(),
        })
    }

    /// A new subscriber with room for `depth` blocks (250 ≈ 1 s).
    pub fn subscribe(&self, depth: usize) -> Receiver<Block> {
        let (tx, rx) = sync_channel(depth.max(1));
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        rx
    }

    /// Stop the capture (the device's stream is stopped too).
    pub fn stop(mut self) -> Result<CaptureStats> {
        self.stop.store(true, Ordering::SeqCst);
        let t0 = std::time::Instant::now();
        while self.thread.as_ref().is_some_and(|t| !t.is_finished()) {
            if t0.elapsed() > std::time::Duration::from_millis(500) {
                self.cancel.store(true, Ordering::SeqCst);
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            _ => Ok(CaptureStats::default()),
        }
    }
}

impl Drop for LiveStream {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
