//! Gives memory the server freed back to the operating system. glibc's allocator keeps what a
//! thread frees in that thread's arena and returns pages only from the top of each arena, so
//! after a burst (thousands of relay connections from strangers, a crowd of logins) the process
//! stays resident at its peak long after the memory is free. A watcher looks every couple of
//! seconds at how much free memory the allocator holds, and when a burst has freed a lot since it
//! last looked, asks glibc to hand the free pages back (`malloc_trim`). Elsewhere (musl, other
//! systems) the allocator returns memory itself and this does nothing.

#![allow(unsafe_code, reason = "glibc's mallinfo2 and malloc_trim have no safe binding")]

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often the allocator's free memory is read: cheap, and soon enough that an operator who
/// watches memory after an attack sees it come back.
const LOOK_EVERY: Duration = Duration::from_secs(2);
/// Free memory that must have appeared since the last trim before trimming again: below it a
/// trim gives back too little to be worth walking every arena.
const TRIM_AFTER_FREED: usize = 8 * 1024 * 1024;

/// Watches the allocator until `shutdown`, trimming after bursts of frees.
pub async fn give_back_freed_memory(shutdown: CancellationToken) {
    let Some(mut baseline) = free_bytes() else { return };
    let mut every = tokio::time::interval(LOOK_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let Some(free) = free_bytes() else { return };
        // Free memory that was reused since (new connections, new messages) is no longer a
        // candidate; what matters is how much more is free than after the last trim.
        baseline = baseline.min(free);
        if free - baseline >= TRIM_AFTER_FREED {
            // The trim locks each arena in turn; keep it off the runtime's workers.
            let _ = tokio::task::spawn_blocking(trim).await;
            tracing::debug!(free_mib = free / (1024 * 1024), "gave freed memory back to the system");
            // A trim hands back pages but the allocator still counts their chunks as free.
            baseline = free_bytes().unwrap_or(free);
        }
    }
}

/// Bytes the allocator holds free in its arenas, where it can tell.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn free_bytes() -> Option<usize> {
    // SAFETY: mallinfo2 takes no arguments and returns a plain struct by value; glibc locks each
    // arena while it counts.
    let info = unsafe { libc::mallinfo2() };
    Some(info.fordblks)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn free_bytes() -> Option<usize> {
    None
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim takes no pointers and only rearranges glibc's own free lists, which it
    // locks while it runs.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
