//! Ctrl-C (SIGINT) and SIGTERM: stop starting items, let the runner mark unfinished ones as
//! cancelled, cancel the BigQuery jobs still running, write the partial report, and exit
//! 128 + the signal (130, 143). A second signal exits at once.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::LazyLock;

use tokio::sync::watch;

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

static SIGNAL: AtomicI32 = AtomicI32::new(0);
static CANCEL: LazyLock<watch::Sender<bool>> = LazyLock::new(|| watch::channel(false).0);

/// Ask every running batch to stop, as if `signal` had been received.
pub(crate) fn cancel(signal: i32) {
    let _ = SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
    CANCEL.send_replace(true);
}

/// The signal that asked to stop, if any.
pub(crate) fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// `SIGINT` / `SIGTERM`, for messages.
pub(crate) fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

/// The exit status after a signal: 128 + its number (130 for SIGINT, 143 for SIGTERM).
pub(crate) fn exit_code() -> Option<u8> {
    requested().map(|s| (128 + s).clamp(0, 255) as u8)
}

/// Resolves once a stop was asked for.
pub(crate) async fn cancelled() {
    let mut rx = CANCEL.subscribe();
    let _ = rx.wait_for(|c| *c).await;
}

fn on_signal(signal: i32) {
    if requested().is_some() {
        eprintln!("\nbqcheck: {} again: exiting now", signal_name(signal));
        std::process::exit(128 + signal);
    }
    eprintln!(
        "\nbqcheck: {} received: starting nothing new, cancelling running BigQuery jobs, \
         writing the partial report (send it again to quit at once)",
        signal_name(signal)
    );
    cancel(signal);
}

/// Listen for SIGINT and SIGTERM for the rest of the run (call inside the runtime).
pub(crate) fn install() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = int.recv() => on_signal(SIGINT),
                    _ = term.recv() => on_signal(SIGTERM),
                }
            }
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async {
        while tokio::signal::ctrl_c().await.is_ok() {
            on_signal(SIGINT);
        }
    });
}
