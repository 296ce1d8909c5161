//! A fixed-size latency histogram: log-linear buckets of microseconds (4 per power of two, so a
//! percentile is read to within 19%), from 0 to about 17 minutes. It never allocates, so a relay loop
//! can record into it on every tick; histograms add up (per worker, then summed).

use std::time::Duration;

/// Sub-buckets per power of two.
const SUB: usize = 4;
/// Powers of two covered (2^30 µs ≈ 17.9 minutes); larger values land in the last bucket.
const OCTAVES: usize = 30;
/// Buckets: values 0..SUB exactly, then SUB per octave.
pub const BUCKETS: usize = SUB + SUB * OCTAVES;

/// A histogram of durations in microseconds.
#[derive(Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: [u64; BUCKETS],
    total: u64,
    sum_us: u64,
    max_us: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: [0; BUCKETS], total: 0, sum_us: 0, max_us: 0 }
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.total)
            .field("p50_us", &self.percentile(50.0))
            .field("p99_us", &self.percentile(99.0))
            .field("max_us", &self.max_us)
            .finish()
    }
}

/// The bucket of a value in microseconds.
fn bucket(us: u64) -> usize {
    if us < SUB as u64 {
        return us as usize;
    }
    let octave = 63 - us.leading_zeros() as usize; // >= 2 (SUB = 4)
    let sub = ((us >> (octave - 2)) & 3) as usize;
    (SUB + (octave - 2) * SUB + sub).min(BUCKETS - 1)
}

/// The largest value (µs) a bucket holds.
pub fn bucket_upper_us(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let octave = (i - SUB) / SUB + 2;
    let sub = ((i - SUB) % SUB) as u64;
    ((4 + sub + 1) << (octave - 2)) - 1
}

impl Histogram {
    /// Records one duration.
    pub fn record(&mut self, d: Duration) {
        self.record_us(d.as_micros().min(u128::from(u64::MAX)) as u64);
    }

    /// Records one value in microseconds.
    pub fn record_us(&mut self, us: u64) {
        self.counts[bucket(us)] += 1;
        self.total += 1;
        self.sum_us = self.sum_us.saturating_add(us);
        self.max_us = self.max_us.max(us);
    }

    /// Adds another histogram's counts.
    pub fn add(&mut self, o: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(o.counts.iter()) {
            *a += b;
        }
        self.total += o.total;
        self.sum_us = self.sum_us.saturating_add(o.sum_us);
        self.max_us = self.max_us.max(o.max_us);
    }

    /// The counts recorded since `earlier` (a copy of this histogram taken before).
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        let mut h = Histogram::default();
        for (i, c) in h.counts.iter_mut().enumerate() {
            *c = self.counts[i].saturating_sub(earlier.counts[i]);
        }
        h.total = self.total.saturating_sub(earlier.total);
        h.sum_us = self.sum_us.saturating_sub(earlier.sum_us);
        // The maximum of the interval is not recoverable: the largest non-empty bucket's bound.
        h.max_us = h.counts.iter().rposition(|&c| c > 0).map_or(0, |i| bucket_upper_us(i).min(self.max_us));
        h
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Sum of the values, microseconds.
    pub fn sum_us(&self) -> u64 {
        self.sum_us
    }

    /// The largest value recorded, microseconds.
    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    /// Counts per bucket (bucket `i` holds values up to [`bucket_upper_us`]`(i)`).
    pub fn buckets(&self) -> &[u64; BUCKETS] {
        &self.counts
    }

    /// The `p`-th percentile (0..=100) in microseconds: the upper bound of the bucket it falls in
    /// (never above the maximum recorded); 0 when empty.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p.clamp(0.0, 100.0) / 100.0) * self.total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_upper_us(i).min(self.max_us);
            }
        }
        self.max_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_ordered() {
        for us in 0..100_000u64 {
            let b = bucket(us);
            assert!(us <= bucket_upper_us(b), "{us} above bucket {b}");
            assert!(b == 0 || us > bucket_upper_us(b - 1), "{us} belongs below bucket {b}");
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles_within_a_bucket() {
        let mut h = Histogram::default();
        for us in 1..=1000 {
            h.record_us(us);
        }
        let p50 = h.percentile(50.0);
        assert!((500..=600).contains(&p50), "{p50}");
        let p99 = h.percentile(99.0);
        assert!((990..=1000).contains(&p99), "{p99}");
        assert_eq!(h.percentile(100.0), 1000);
        let mut h2 = h.clone();
        h2.add(&h);
        assert_eq!(h2.count(), 2000);
        assert_eq!(h2.since(&h), {
            let mut x = h.clone();
            x.max_us = h2.since(&h).max_us;
            x
        });
        assert_eq!(Histogram::default().percentile(99.0), 0);
    }
}
