//! Run a batch of items with bounded concurrency, a progress display, and per-item isolation:
//! one item failing (or even panicking) never stops the others.

use std::future::Future;
use std::io::IsTerminal;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};

use crate::model::{ErrorKind, ItemError};
use indicatif::{ProgressBar, ProgressStyle};

/// The most workers allowed: twice the CPUs, as the original utilities did.
pub(crate) fn max_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .saturating_mul(2)
}

/// Clamp `--parallel` to the cap: `--max-parallel` when given, else the system maximum (the
/// warning text is the original utilities').
pub(crate) fn effective_parallel(requested: usize, cap: Option<usize>) -> (usize, Option<String>) {
    let n = requested.max(1);
    match cap {
        Some(cap) if n > cap.max(1) => (
            cap.max(1),
            Some(format!(
                "Limiting workers to {} (--max-parallel)",
                cap.max(1)
            )),
        ),
        Some(_) => (n, None),
        None => {
            let max = max_workers();
            if n > max {
                (max, Some(format!("Limiting workers to {max} (system max)")))
            } else {
                (n, None)
            }
        }
    }
}

enum Display {
    Off,
    Bar(ProgressBar),
    /// Plain lines for CI logs, at most one success line per interval (failures always).
    Lines {
        last: Mutex<Option<Instant>>,
    },
}

/// Progress for one batch, on stderr.
pub(crate) struct Progress {
    display: Display,
    started: Instant,
    total: usize,
    done: AtomicUsize,
}

const LINE_INTERVAL: Duration = Duration::from_secs(2);

impl Progress {
    /// `enabled` is `--progress`; a bar is drawn only when stderr is a terminal.
    pub(crate) fn new(enabled: bool, total: usize, what: &str) -> Progress {
        let display = if !enabled {
            Display::Off
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total as u64);
            let style = ProgressStyle::with_template(
                "{spinner} {msg} {wide_bar} {pos}/{len} {percent}% {elapsed_precise} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style.progress_chars("━━ "));
            bar.set_message(what.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            Display::Bar(bar)
        } else {
            Display::Lines {
                last: Mutex::new(None),
            }
        };
        Progress {
            display,
            started: Instant::now(),
            total,
            done: AtomicUsize::new(0),
        }
    }

    /// Record one finished item.
    pub(crate) fn item_done(&self, label: &str, ok: bool) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let mark = if ok { '✓' } else { '✗' };
        match &self.display {
            Display::Off => {}
            Display::Bar(bar) => {
                bar.println(format!("{mark} {label}"));
                bar.inc(1);
            }
            Display::Lines { last } => {
                let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
                let due = last.is_none_or(|t| t.elapsed() >= LINE_INTERVAL);
                if !ok || due || n == self.total {
                    let eta = eta(self.started.elapsed(), n, self.total)
                        .map(|e| format!(" (ETA {e})"))
                        .unwrap_or_default();
                    eprintln!("[{n}/{}] {mark} {label}{eta}", self.total);
                    *last = Some(Instant::now());
                }
            }
        }
    }

    pub(crate) fn finish(&self) {
        if let Display::Bar(bar) = &self.display {
            bar.finish_and_clear();
        }
    }
}

/// The time left at the pace so far (`1m 05s`, `12s`), once at least one item is done and
/// some are left.
fn eta(elapsed: Duration, done: usize, total: usize) -> Option<String> {
    if done == 0 || done >= total {
        return None;
    }
    let left = elapsed.as_secs_f64() / done as f64 * (total - done) as f64;
    let secs = left.round() as u64;
    Some(if secs >= 60 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    })
}

/// Run `work` over `items` with at most `parallel` at once; results come back in input
/// order, each beside its item. A panic in one item becomes that item's error; the others go on.
///
/// A worker freed by any finished item starts the next one at once (`buffer_unordered`):
/// one slow item never holds back the items after it. The input order is restored at the end.
///
/// An item that takes longer than `timeout` fails as timed out. After SIGINT/SIGTERM
/// ([`crate::cancel`]) no item starts, and the running ones end as cancelled: every item is
/// still in the result, exactly once.
pub(crate) async fn run_batch<T, O, F, Fut>(
    items: Vec<T>,
    parallel: usize,
    timeout: Duration,
    progress: &Progress,
    work: F,
) -> Vec<(T, Result<O, ItemError>)>
where
    T: Clone + std::fmt::Display,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<O, ItemError>>,
{
    let mut results = futures::stream::iter(items.into_iter().enumerate().map(|(index, item)| {
        let fut = AssertUnwindSafe(work(item.clone())).catch_unwind();
        async move {
            let r = if let Some(sig) = crate::cancel::requested() {
                Err(ItemError::new(
                    ErrorKind::Cancelled,
                    format!("cancelled ({}) before it started", crate::cancel::signal_name(sig)),
                ))
            } else {
                tokio::select! {
                    r = tokio::time::timeout(timeout, fut) => match r {
                        Ok(Ok(r)) => r,
                        Ok(Err(panic)) => {
                            let msg = panic
                                .downcast_ref::<&str>()
                                .map(|s| s.to_string())
                                .or_else(|| panic.downcast_ref::<String>().cloned())
                                .unwrap_or_else(|| "unknown panic".into());
                            Err(ItemError::new(
                                ErrorKind::Internal,
                                format!("internal error (please report): {msg}"),
                            ))
                        }
                        Err(_) => Err(ItemError::new(
                            ErrorKind::Timeout,
                            format!(
                                "timed out after {} s (--timeout); any BigQuery job it started is cancelled",
                                timeout.as_secs_f64()
                            ),
                        )),
                    },
                    _ = crate::cancel::cancelled() => Err(ItemError::new(
                        ErrorKind::Cancelled,
                        format!(
                            "cancelled ({}) before it finished",
                            crate::cancel::requested().map_or("signal", crate::cancel::signal_name)
                        ),
                    )),
                }
            };
            progress.item_done(&item.to_string(), r.is_ok());
            (index, item, r)
        }
    }))
    .buffer_unordered(parallel.max(1))
    .collect::<Vec<_>>()
    .await;
    progress.finish();
    results.sort_unstable_by_key(|(index, _, _)| *index);
    results.into_iter().map(|(_, item, r)| (item, r)).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn eta_is_the_pace_so_far() {
        use std::time::Duration;
        assert_eq!(
            super::eta(Duration::from_secs(10), 1, 5).as_deref(),
            Some("40s")
        );
        assert_eq!(
            super::eta(Duration::from_secs(50), 10, 30).as_deref(),
            Some("1m 40s")
        );
        assert_eq!(super::eta(Duration::from_secs(5), 0, 5), None);
        assert_eq!(super::eta(Duration::from_secs(5), 5, 5), None);
    }

    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn clamps_to_system_max() {
        let max = max_workers();
        assert_eq!(effective_parallel(1, None), (1, None));
        assert_eq!(effective_parallel(max + 5, Some(64)), (max + 5, None));
        assert_eq!(
            effective_parallel(100, Some(64)),
            (64, Some("Limiting workers to 64 (--max-parallel)".into()))
        );
        let (n, w) = effective_parallel(max + 5, None);
        assert_eq!(n, max);
        assert_eq!(
            w.unwrap(),
            format!("Limiting workers to {max} (system max)")
        );
    }

    /// Item 0 can only finish after the last item has: with two workers, every other item
    /// must run on the second worker while the first waits (no head-of-line blocking).
    #[tokio::test]
    async fn a_slow_item_does_not_hold_back_the_ones_after_it() {
        let last_done = tokio::sync::Notify::new();
        let progress = Progress::new(false, 10, "test");
        let run = run_batch(
            (0..10).collect::<Vec<u32>>(),
            2,
            Duration::from_secs(60),
            &progress,
            |i| {
                let last_done = &last_done;
                async move {
                    if i == 0 {
                        last_done.notified().await;
                    } else if i == 9 {
                        last_done.notify_one();
                    }
                    Ok::<_, ItemError>(i)
                }
            },
        );
        let out = tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("item 0 waited for item 9, which never started");
        let order: Vec<u32> = out.into_iter().map(|(i, _)| i).collect();
        assert_eq!(order, (0..10).collect::<Vec<_>>(), "input order restored");
    }

    #[tokio::test]
    async fn bounded_ordered_and_isolated() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let progress = Progress::new(false, 10, "test");
        let out = run_batch(
            (0..10).collect::<Vec<u32>>(),
            3,
            Duration::from_secs(60),
            &progress,
            |i| {
                let running = &running;
                let peak = &peak;
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20 - i as u64)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    if i == 4 {
                        panic!("boom on 4");
                    }
                    if i == 7 {
                        return Err(ItemError::new(ErrorKind::NotFound, "failed 7"));
                    }
                    Ok(i * 10)
                }
            },
        )
        .await;
        assert_eq!(peak.load(Ordering::SeqCst), 3);
        assert_eq!(out.len(), 10);
        assert_eq!(out[0], (0, Ok(0)));
        assert_eq!(out[9], (9, Ok(90)));
        assert_eq!(out[4].0, 4, "a panicking item keeps its identity");
        let panicked = out[4].1.as_ref().unwrap_err();
        assert!(panicked.message.contains("boom on 4"));
        assert_eq!(panicked.kind, ErrorKind::Internal);
        assert_eq!(
            out[7],
            (7, Err(ItemError::new(ErrorKind::NotFound, "failed 7")))
        );
    }
}
