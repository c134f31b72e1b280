//! Streamed bodies: a render in flight, a byte range of a file, server-sent events, a
//! shared live stream. Each is fed by a task through a small channel, so a slow client
//! holds at most a few chunks in memory.

use super::response::{with_type, Body, Response};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use std::io::SeekFrom;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::{broadcast, mpsc};

type Chunk = Result<Bytes, std::io::Error>;

/// A body fed through a channel; an error ends the transfer early (the client sees a
/// truncated response, not a "complete" short one).
struct ChannelBody(mpsc::Receiver<Chunk>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx).map(|c| c.map(|r| r.map(Frame::data)))
    }
}

fn body(rx: mpsc::Receiver<Chunk>) -> Response {
    Response::new(channel(rx))
}

fn channel(rx: mpsc::Receiver<Chunk>) -> Body {
    ChannelBody(rx).boxed()
}

/// Follows a render as it grows; ends when the render ends (with an error if it failed,
/// so the client sees a truncated transfer rather than a "complete" short file). When the
/// client leaves, the stream is dropped at once (not when the next bytes come), so the
/// render knows nobody follows it any more.
pub fn follow(mut f: cache::Stream) -> Response {
    let (tx, rx) = mpsc::channel::<Chunk>(8);
    // The cache's stream is polled from one blocking thread per listener.
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match f.try_read(&mut buf) {
                Ok(cache::TryRead::Data(n)) => {
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        return; // the listener left
                    }
                }
                Ok(cache::TryRead::Pending) => {
                    if tx.is_closed() {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Ok(cache::TryRead::End) => return,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    body(rx)
}

/// Bytes `start..=end` of a file.
pub fn file_range(path: std::path::PathBuf, start: u64, end: u64) -> Response {
    let (tx, rx) = mpsc::channel::<Chunk>(8);
    tokio::spawn(async move {
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        if let Err(e) = file.seek(SeekFrom::Start(start)).await {
            let _ = tx.send(Err(e)).await;
            return;
        }
        let mut left = end + 1 - start;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let want = (left as usize).min(buf.len());
            match file.read(&mut buf[..want]).await {
                Ok(0) => {
                    let _ = tx.send(Err(std::io::Error::other("file shrank"))).await;
                    return;
                }
                Ok(n) => {
                    left -= n as u64;
                    if tx
                        .send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
        }
    });
    body(rx)
}

/// Server-sent events from a broadcast channel, with a keep-alive comment every 15 s.
pub fn sse(events: broadcast::Receiver<serde_json::Value>) -> Response {
    sse_many(vec![events])
}

/// Server-sent events from several broadcast channels in one stream (the operator's stream
/// carries the public events too, so the admin page needs one connection, not two).
pub fn sse_many(sources: Vec<broadcast::Receiver<serde_json::Value>>) -> Response {
    let (merge_tx, mut events) = mpsc::channel::<serde_json::Value>(64);
    for mut src in sources {
        let merge_tx = merge_tx.clone();
        tokio::spawn(async move {
            loop {
                match src.recv().await {
                    Ok(v) => {
                        if merge_tx.send(v).await.is_err() {
                            return; // the client left
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
    drop(merge_tx);
    let (tx, rx) = mpsc::channel::<Chunk>(16);
    tokio::spawn(async move {
        if tx
            .send(Ok(Bytes::from_static(b"retry: 3000\n\n")))
            .await
            .is_err()
        {
            return;
        }
        // The first keep-alive after 15 s (an interval's first tick would be immediate and
        // could reach the client before the first event).
        let every = std::time::Duration::from_secs(15);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            let chunk = tokio::select! {
                ev = events.recv() => match ev {
                    Some(v) => {
                        let kind = v.get("type").and_then(|t| t.as_str()).unwrap_or("message").to_string();
                        format!("event: {kind}\ndata: {v}\n\n")
                    }
                    None => return,
                },
                _ = tick.tick() => ": keep-alive\n\n".to_string(),
            };
            let last = chunk.starts_with("event: shutdown");
            if tx.send(Ok(Bytes::from(chunk))).await.is_err() || last {
                return;
            }
        }
    });
    let mut res = with_type(channel(rx), "text/event-stream");
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A shared live stream: every listener gets the same encoded bytes from the moment it
/// joins (MP3 frames resynchronise by themselves); a listener that falls behind skips.
pub fn live(mut rx: broadcast::Receiver<Bytes>) -> Response {
    let (tx, out) = mpsc::channel::<Chunk>(32);
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(b) => {
                    if tx.send(Ok(b)).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    body(out)
}
