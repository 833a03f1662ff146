//! The pool that runs CPU-heavy requests: multi-decision XACML calls, audit histories
//! and their CSV renders, who could act, the read model's digest.
//!
//! Its threads run at a lower scheduling priority (`nice` +[`HEAVY_NICE`]) than the
//! async workers that answer ordinary decisions, so that while maximal requests keep
//! every core busy an ordinary decision still gets a core within a time slice. A
//! dedicated pool because a thread's priority can be lowered but not raised again
//! without privilege: tokio's blocking threads also run writes' fsyncs, which must not
//! wait behind audit renders.
//!
//! Bounded: at most as many jobs as threads are ever queued (the caller holds one of
//! [`super::Slots::heavy`] per job, and there are as many slots as threads).

use std::sync::mpsc;
use std::sync::Mutex;

/// How much lower heavy threads' priority is than the rest of the process (Linux nice
/// values: 0 is the default, 19 the lowest). Measured with the benchmark's maximal-load
/// row on 2 cores: +10 left ordinary decisions a p99 of 5.65 ms, +19 one of 3.22 ms.
pub const HEAVY_NICE: i32 = 19;

type Job = Box<dyn FnOnce() + Send>;

pub struct HeavyPool {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl HeavyPool {
    /// Starts `threads` threads, each lowering its own priority first.
    pub fn new(threads: usize) -> HeavyPool {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = std::sync::Arc::new(Mutex::new(receiver));
        for n in 0..threads.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("ledger-heavy-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = receiver.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // the pool was dropped
                        }
                    }
                })
                .expect("a heavy-work thread starts");
        }
        HeavyPool { jobs: Mutex::new(sender) }
    }

    /// Runs `work` on the pool; a panic in it comes back as the error.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Box<dyn std::any::Any + Send>> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)));
        });
        let sent = self.jobs.lock().unwrap_or_else(|p| p.into_inner()).send(job);
        if sent.is_err() {
            return Err(Box::new("the heavy-work pool has stopped"));
        }
        answered.await.unwrap_or_else(|_| Err(Box::new("a heavy-work thread stopped")))
    }
}

/// Lowers the calling thread's scheduling priority. On Linux `setpriority` with
/// `PRIO_PROCESS` and 0 applies to the calling thread alone (threads are tasks).
fn lower_priority() {
    // SAFETY: setpriority has no memory-safety preconditions; failure leaves the
    // priority as it was, which is only slower for ordinary decisions under load.
    let failed = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, HEAVY_NICE) } != 0;
    if failed {
        tracing::warn!("cannot lower the priority of a heavy-work thread: {}", std::io::Error::last_os_error());
    }
}
