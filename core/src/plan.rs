//! A step's plan: its ordered operations as a few numbers instead of a list.
//!
//! Every mode's step has the same shape: at most two leading operations (a load, and a sync test's
//! first save), then a run of consecutive frames, each advanced once, with the primary saves of a
//! contiguous range of them taken right before their advance (rollback, lockstep) or right after it
//! (sync test). Planning therefore writes a handful of fields rather than pushing one operation per
//! request; fulfilling walks the run with no per-operation dispatch; and request `i`, which the C
//! ABI and Python read one at a time, is computed when asked for.

use arrayvec::ArrayVec;

use crate::config::MAX_ROLLBACK;
use crate::step::Op;
use crate::Frame;

/// The most operations a step plans: a load, then a save and an advance for each of up to
/// `MAX_ROLLBACK + 1` frames, and a save before them (a sync test's first step), with room to spare.
pub(crate) const MAX_OPS: usize = 2 * (MAX_ROLLBACK as usize + 2) + 2;

/// Where the saves of a step's run of frames go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Saves {
    /// Rollback and lockstep: the state at the start of `f` is saved right before `f` is advanced,
    /// for the frames `f` of the run from `from` on (none when `from` is the run's end or past it).
    Before { from: Frame },
    /// Sync test: after `f` is advanced, the state at the start of `f + 1` is saved, for every
    /// frame of the run; the saves of frames below `checks_below` are check copies.
    After { checks_below: Frame },
}

/// The operations of one step, in order: `head`, then for each frame of `first..end` its advance
/// with the save `saves` says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    head: [Op; 2],
    head_len: usize,
    /// The run of frames advanced, `first..end` (empty when `first == end`).
    pub first: Frame,
    pub end: Frame,
    pub saves: Saves,
}

impl Plan {
    /// A plan with no operation.
    pub const fn empty() -> Self {
        Plan { head: [Op::Load(0); 2], head_len: 0, first: 0, end: 0, saves: Saves::Before { from: 0 } }
    }

    /// Adds a leading operation (at most two: planning never asks for more).
    #[inline]
    pub fn push_head(&mut self, op: Op) {
        debug_assert!(self.head_len < self.head.len(), "a step has at most two leading operations");
        if let Some(slot) = self.head.get_mut(self.head_len) {
            *slot = op;
            self.head_len += 1;
        }
    }

    /// The leading operations.
    #[inline]
    pub fn head(&self) -> &[Op] {
        &self.head[..self.head_len]
    }

    /// With [`Saves::Before`]: the first frame of the run saved before its advance (at most `end`).
    #[inline]
    pub fn saved_from(&self) -> Frame {
        match self.saves {
            Saves::Before { from } => from.max(self.first).min(self.end),
            Saves::After { .. } => self.first,
        }
    }

    /// The number of operations.
    pub fn len(&self) -> usize {
        let run = (self.end - self.first) as usize;
        let saves = (self.end - self.saved_from()) as usize;
        self.head_len + run + saves
    }

    /// Writes the operations, in order, into `out` (cleared first).
    pub fn list_into(&self, out: &mut ArrayVec<Op, MAX_OPS>) {
        out.clear();
        out.extend(self.head().iter().copied());
        let from = self.saved_from();
        // Never more than `MAX_OPS` (see there); a longer plan would be cut short, not overflow.
        match self.saves {
            Saves::Before { .. } => {
                for f in self.first..from {
                    let _ = out.try_push(Op::Advance(f));
                }
                for f in from..self.end {
                    let _ = out.try_push(Op::Save { frame: f, check: false });
                    let _ = out.try_push(Op::Advance(f));
                }
            }
            Saves::After { checks_below } => {
                for f in self.first..self.end {
                    let _ = out.try_push(Op::Advance(f));
                    let _ = out.try_push(Op::Save { frame: f + 1, check: f + 1 < checks_below });
                }
            }
        }
        debug_assert_eq!(out.len(), self.len(), "a plan longer than MAX_OPS");
    }

    /// Operation `i`, in order.
    pub fn get(&self, i: usize) -> Option<Op> {
        if let Some(&op) = self.head().get(i) {
            return Some(op);
        }
        let j = i - self.head_len;
        match self.saves {
            Saves::Before { .. } => {
                let from = self.saved_from();
                let plain = (from - self.first) as usize;
                if j < plain {
                    return Some(Op::Advance(self.first + j as Frame));
                }
                let k = j - plain;
                let f = from.checked_add(Frame::try_from(k / 2).ok()?)?;
                (f < self.end).then_some(if k % 2 == 0 { Op::Save { frame: f, check: false } } else { Op::Advance(f) })
            }
            Saves::After { checks_below } => {
                let f = self.first.checked_add(Frame::try_from(j / 2).ok()?)?;
                if f >= self.end {
                    return None;
                }
                Some(if j % 2 == 0 { Op::Advance(f) } else { Op::Save { frame: f + 1, check: f + 1 < checks_below } })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use arrayvec::ArrayVec;

    use super::{Plan, Saves};
    use crate::step::Op;

    /// The plan's operations written out the simple way, as a list.
    fn listed(p: &Plan) -> Vec<Op> {
        let mut v: Vec<Op> = p.head().to_vec();
        for f in p.first..p.end {
            match p.saves {
                Saves::Before { from } => {
                    if f >= from {
                        v.push(Op::Save { frame: f, check: false });
                    }
                    v.push(Op::Advance(f));
                }
                Saves::After { checks_below } => {
                    v.push(Op::Advance(f));
                    v.push(Op::Save { frame: f + 1, check: f + 1 < checks_below });
                }
            }
        }
        v
    }

    fn same(a: Option<Op>, b: Option<Op>) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    #[test]
    fn get_and_len_agree_with_the_list() {
        for head in 0..=2usize {
            for first in [0u32, 5] {
                for n in 0..6u32 {
                    for kind in 0..2 {
                        for at in 0..=n + 2 {
                            let mut p = Plan::empty();
                            for h in 0..head {
                                p.push_head(if h == 0 { Op::Load(first) } else { Op::Save { frame: 9, check: false } });
                            }
                            p.first = first;
                            p.end = first + n;
                            p.saves = if kind == 0 {
                                Saves::Before { from: first + at }
                            } else {
                                Saves::After { checks_below: first + at }
                            };
                            let v = listed(&p);
                            assert_eq!(p.len(), v.len(), "{p:?}");
                            let mut out = ArrayVec::new();
                            p.list_into(&mut out);
                            assert_eq!(format!("{:?}", out.as_slice()), format!("{v:?}"), "{p:?}");
                            for i in 0..v.len() + 3 {
                                assert!(same(p.get(i), v.get(i).copied()), "{p:?} op {i}: {:?}", p.get(i));
                            }
                        }
                    }
                }
            }
        }
    }
}
