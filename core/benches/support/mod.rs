//! Shared pieces of the `session` bench: the counting allocator, the benchmark cases and the
//! timed measurement loop that produces the side-by-side summary table.

pub mod alloc;
pub mod framelock_cases;
pub mod ggrs_cases;

use std::time::{Duration, Instant};

/// One benchmark case: something that can be ticked forever and says how many frames it simulated.
pub trait Case {
    /// One tick of a game loop: add the inputs, advance, fulfil every request.
    fn tick(&mut self);
    /// Frames simulated for the first time so far, summed over every session the case runs.
    fn frames(&self) -> u64;
    /// Frames simulated again so far (rollbacks, sync-test checks), summed over every session.
    fn resimulated(&self) -> u64;
    /// Extra facts for the report (rollback counts, stalls, ...).
    fn detail(&self) -> String {
        String::new()
    }
}

/// How long the timed loops run.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Ticks run before anything is measured.
    pub warmup_ticks: u64,
    /// The target duration of one timed repetition (the tick count is calibrated to it).
    pub rep_time: Duration,
    /// Repetitions; the best one is reported.
    pub reps: usize,
    /// Ticks of the separate allocation-counting run.
    pub alloc_ticks: u64,
    /// The allocation run is cut short (but not below 1,000 ticks) if it would take longer than this.
    pub alloc_time_cap: Duration,
}

impl Budget {
    /// The budget of `cargo bench`.
    pub const FULL: Budget = Budget {
        warmup_ticks: 2_000,
        rep_time: Duration::from_millis(250),
        reps: 7,
        alloc_ticks: 10_000,
        alloc_time_cap: Duration::from_secs(5),
    };
    /// The budget when the binary is run as a test (`cargo test --benches`): just check it works.
    pub const QUICK: Budget = Budget {
        warmup_ticks: 20,
        rep_time: Duration::from_millis(1),
        reps: 1,
        alloc_ticks: 200,
        alloc_time_cap: Duration::from_millis(100),
    };
}

/// What the timed loop measured for one case.
#[derive(Debug, Clone)]
pub struct Figures {
    /// New frames per second, best repetition.
    pub frames_per_s: f64,
    /// Heap allocations (alloc + alloc_zeroed + realloc calls) per new frame.
    pub allocs_per_frame: f64,
    /// Bytes requested from the heap per new frame.
    pub bytes_per_frame: f64,
    /// Resimulated frames per new frame.
    pub resim_per_frame: f64,
    /// Ticks and new frames of the allocation-counting run.
    pub alloc_ticks: u64,
    pub alloc_frames: u64,
    /// The case's own report after the run.
    pub detail: String,
}

/// A case being timed: warmed up, its repetition length calibrated, its best repetition so far.
struct Timed<C> {
    case: C,
    ticks_per_rep: u64,
    best_fps: f64,
    best_secs: f64,
}

impl<C: Case> Timed<C> {
    /// Warms `case` up and calibrates the number of ticks of one repetition to `budget.rep_time`.
    fn new(mut case: C, budget: Budget) -> Self {
        for _ in 0..budget.warmup_ticks {
            case.tick();
        }
        let start = Instant::now();
        let mut ticks_per_rep = 0u64;
        while start.elapsed() < budget.rep_time || ticks_per_rep == 0 {
            for _ in 0..16 {
                case.tick();
            }
            ticks_per_rep += 16;
        }
        Timed { case, ticks_per_rep, best_fps: 0.0, best_secs: f64::MAX }
    }

    /// One timed repetition.
    fn rep(&mut self) {
        let f0 = self.case.frames();
        let t = Instant::now();
        for _ in 0..self.ticks_per_rep {
            self.case.tick();
        }
        let secs = t.elapsed().as_secs_f64();
        self.best_fps = self.best_fps.max((self.case.frames() - f0) as f64 / secs);
        self.best_secs = self.best_secs.min(secs);
    }

    /// Counts allocations over a separate run of `budget.alloc_ticks` ticks (fewer, but at least
    /// 1,000, for a case that would take longer than `budget.alloc_time_cap`).
    fn finish(mut self, budget: Budget) -> Figures {
        let secs_per_tick = self.best_secs / self.ticks_per_rep as f64;
        let cap = (budget.alloc_time_cap.as_secs_f64() / secs_per_tick) as u64;
        let alloc_ticks = budget.alloc_ticks.min(cap.max(1_000));
        let case = &mut self.case;
        let (f0, r0) = (case.frames(), case.resimulated());
        let a0 = alloc::snapshot();
        for _ in 0..alloc_ticks {
            case.tick();
        }
        let a1 = alloc::snapshot();
        let frames = case.frames() - f0;
        let resim = case.resimulated() - r0;
        let per = |x: u64| x as f64 / frames.max(1) as f64;
        Figures {
            frames_per_s: self.best_fps,
            allocs_per_frame: per(a1.calls - a0.calls),
            bytes_per_frame: per(a1.bytes - a0.bytes),
            resim_per_frame: per(resim),
            alloc_ticks,
            alloc_frames: frames,
            detail: case.detail(),
        }
    }
}

/// Warms `case` up, times `budget.reps` repetitions (the best one counts), then counts allocations
/// over a separate run.
pub fn measure<C: Case>(case: C, budget: Budget) -> Figures {
    let mut t = Timed::new(case, budget);
    for _ in 0..budget.reps {
        t.rep();
    }
    t.finish(budget)
}

/// Like [`measure`] for two cases whose repetitions alternate (a, b, a, b, ...), so that both see
/// the same background load on a shared machine.
pub fn measure_pair<A: Case, B: Case>(a: A, b: B, budget: Budget) -> (Figures, Figures) {
    let mut ta = Timed::new(a, budget);
    let mut tb = Timed::new(b, budget);
    for _ in 0..budget.reps {
        ta.rep();
        tb.rep();
    }
    (ta.finish(budget), tb.finish(budget))
}
