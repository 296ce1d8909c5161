//! Model-based test: random programs of operations (add input, advance, disconnect, change delay)
//! run against the session and against a deliberately naive model that recomputes from scratch,
//! after every step, which frames are confirmed, what each simulated frame must have seen, where the
//! session must roll back to and whether it must stall.

use std::collections::BTreeMap;

use framelock_core::{Error, Frame, InputStatus, Mode, Outcome, Request, Session, SessionBuilder, SlotMask};
use quickcheck::{Arbitrary, Gen, QuickCheck};

const SLOTS: usize = 3;
const MAX_PREDICTION: u32 = 3;

#[derive(Debug, Clone)]
enum Op {
    AddLocal(u8),
    AddRemote { slot: usize, offset: i8, byte: u8 },
    Advance,
    Disconnect { slot: usize, offset: u8 },
    SetDelay(u32),
}

impl Arbitrary for Op {
    fn arbitrary(g: &mut Gen) -> Self {
        match u8::arbitrary(g) % 20 {
            0..=5 => Op::AddLocal(u8::arbitrary(g) % 3),
            6..=12 => Op::AddRemote {
                slot: 1 + usize::arbitrary(g) % (SLOTS - 1),
                offset: (i8::arbitrary(g) % 8) + 3,
                byte: u8::arbitrary(g) % 3,
            },
            13..=17 => Op::Advance,
            18 => Op::Disconnect { slot: 1 + usize::arbitrary(g) % (SLOTS - 1), offset: u8::arbitrary(g) % 4 },
            _ => Op::SetDelay(u32::arbitrary(g) % 4),
        }
    }
}

fn input(byte: u8) -> Vec<u8> {
    // Lengths vary with the value so that length mismatches are mispredictions too.
    vec![byte; byte as usize % 3]
}

#[derive(Default)]
struct Model {
    cur: Frame,
    base: Frame,
    delay: u32,
    local_next: Frame,
    confirmed: BTreeMap<(usize, Frame), Vec<u8>>,
    disconnected: [Option<Frame>; SLOTS],
    /// What the simulation was given for (frame, slot), for frames below `cur`.
    seen: BTreeMap<(Frame, usize), (InputStatus, Vec<u8>)>,
}

impl Model {
    fn is_confirmed(&self, s: usize, f: Frame) -> bool {
        self.disconnected[s].is_some_and(|d| f >= d) || self.confirmed.contains_key(&(s, f))
    }

    fn truth(&self, s: usize, f: Frame) -> Option<(InputStatus, Vec<u8>)> {
        if self.disconnected[s].is_some_and(|d| f >= d) {
            return Some((InputStatus::Disconnected, Vec::new()));
        }
        self.confirmed.get(&(s, f)).map(|b| (InputStatus::Confirmed, b.clone()))
    }

    /// The first frame of `s` not confirmed by a real input.
    fn next_real(&self, s: usize) -> Frame {
        (0..).find(|&f| !self.confirmed.contains_key(&(s, f))).unwrap_or(Frame::MAX)
    }

    fn confirmed_until(&self) -> Frame {
        (0..SLOTS)
            .map(|s| (0..self.cur + 100).find(|&f| !self.is_confirmed(s, f)).unwrap_or(Frame::MAX))
            .min()
            .unwrap_or(Frame::MAX)
    }

    fn mask(&self, f: Frame) -> SlotMask {
        (0..SLOTS).filter(|&s| !self.is_confirmed(s, f)).fold(0, |m, s| m | 1 << s)
    }

    fn view(&self, s: usize, f: Frame) -> (InputStatus, Vec<u8>) {
        self.truth(s, f).unwrap_or_else(|| {
            let n = self.next_real(s);
            let last = if n == 0 { Vec::new() } else { self.confirmed[&(s, n - 1)].clone() };
            (InputStatus::Predicted, last)
        })
    }

    /// The frame a rollback must start from: the first simulated frame that saw something else.
    fn first_wrong(&self) -> Option<Frame> {
        self.seen
            .iter()
            .filter(|((f, _), _)| *f < self.cur)
            .filter(|((f, s), (seen_status, seen_bytes))| match self.truth(*s, *f) {
                Some((InputStatus::Disconnected, _)) => *seen_status != InputStatus::Disconnected,
                Some((_, bytes)) => *seen_bytes != bytes,
                None => false,
            })
            .map(|((f, _), _)| *f)
            .min()
    }
}

fn check_program(ops: Vec<Op>) -> Result<(), String> {
    let mut session: Session = SessionBuilder::new(SLOTS)
        .local_slot(0)
        .max_input_size(4)
        .mode(Mode::Rollback { max_prediction: MAX_PREDICTION })
        .build()
        .map_err(|e| e.to_string())?;
    let mut m = Model::default();
    for (i, op) in ops.iter().enumerate() {
        let at = |what: &str| format!("op {i} {op:?}: {what}");
        match *op {
            Op::AddLocal(byte) => {
                let target = m.cur + m.delay;
                let expected = if target < m.local_next { None } else { Some(target) };
                if let Some(t) = expected {
                    for f in m.local_next..t {
                        let prev = if f == 0 { Vec::new() } else { m.confirmed[&(0, f - 1)].clone() };
                        m.confirmed.insert((0, f), prev);
                    }
                    m.confirmed.insert((0, t), input(byte));
                    m.local_next = t + 1;
                }
                let got = session.add_local_input(0, &input(byte)).map_err(|e| at(&e.to_string()))?;
                if got != expected {
                    return Err(at(&format!("queued for {got:?}, model says {expected:?}")));
                }
            }
            Op::AddRemote { slot, offset, byte } => {
                let Some(frame) = m.cur.checked_add_signed(offset.into()) else { continue };
                let expected = if m.is_confirmed(slot, frame) {
                    Err(Error::AlreadyConfirmed { slot, frame })
                } else {
                    m.confirmed.insert((slot, frame), input(byte));
                    Ok(())
                };
                let got = session.add_remote_input(slot, frame, &input(byte));
                if got != expected {
                    return Err(at(&format!("got {got:?}, model says {expected:?}")));
                }
            }
            Op::Disconnect { slot, offset } => {
                let frame = m.cur + Frame::from(offset);
                let earliest = m.next_real(slot).max(m.base);
                let expected = if m.disconnected[slot].is_some() || frame < earliest {
                    Err(Error::InvalidDisconnect { slot, frame, earliest })
                } else {
                    m.disconnected[slot] = Some(frame);
                    m.confirmed.retain(|&(s, f), _| s != slot || f < frame);
                    Ok(())
                };
                let got = session.disconnect_slot(slot, frame);
                if got != expected {
                    return Err(at(&format!("got {got:?}, model says {expected:?}")));
                }
            }
            Op::SetDelay(d) => {
                m.delay = d;
                session.set_input_delay(d).map_err(|e| at(&e.to_string()))?;
            }
            Op::Advance => {
                if !m.is_confirmed(0, m.cur) {
                    let got = session.advance().err();
                    let expected = Some(Error::MissingLocalInput { slot: 0, frame: m.cur });
                    if got != expected {
                        return Err(at(&format!("got {got:?}, model says {expected:?}")));
                    }
                    continue;
                }
                // What the model expects, in order: (kind, frame) with 0 save, 1 load, 2 advance.
                let mut expected: Vec<(u8, Frame)> = Vec::new();
                let rollback = m.first_wrong();
                if let Some(r) = rollback {
                    expected.push((1, r));
                    for f in r..m.cur {
                        if f > r {
                            expected.push((0, f));
                        }
                        expected.push((2, f));
                    }
                }
                let cu = m.confirmed_until();
                let stalled = m.cur >= cu && m.cur - cu >= MAX_PREDICTION;
                if !stalled {
                    expected.push((0, m.cur));
                    expected.push((2, m.cur));
                }
                let step = session.advance().map_err(|e| at(&e.to_string()))?;
                let got: Vec<(u8, Frame)> = step
                    .requests()
                    .iter()
                    .map(|r| match *r {
                        Request::SaveState { frame } => (0, frame),
                        Request::LoadState { frame } => (1, frame),
                        Request::AdvanceFrame { frame, .. } => (2, frame),
                    })
                    .collect();
                if got != expected {
                    return Err(at(&format!("requests {got:?}, model says {expected:?}")));
                }
                for r in step.requests() {
                    if let Request::AdvanceFrame { frame, inputs } = *r {
                        for p in inputs.iter() {
                            let want = m.view(p.slot, frame);
                            if (p.status, p.bytes.to_vec()) != want {
                                return Err(at(&format!(
                                    "frame {frame} slot {}: saw {:?} {:?}, model says {want:?}",
                                    p.slot, p.status, p.bytes
                                )));
                            }
                            m.seen.insert((frame, p.slot), want);
                        }
                    }
                }
                let outcome = step.outcome();
                drop(step);
                let want = if stalled {
                    Outcome::Stalled { waiting_for: m.mask(cu) }
                } else {
                    Outcome::Advanced { frame: m.cur }
                };
                if outcome != want {
                    return Err(at(&format!("outcome {outcome:?}, model says {want:?}")));
                }
                if !stalled {
                    m.cur += 1;
                }
                m.base = m.base.max(cu.min(m.cur));
            }
        }
        if session.confirmed_until() != m.confirmed_until() {
            return Err(at(&format!(
                "confirmed_until {} but model says {}",
                session.confirmed_until(),
                m.confirmed_until()
            )));
        }
        if session.current_frame() != m.cur {
            return Err(at("current frame differs"));
        }
    }
    Ok(())
}

#[test]
fn session_follows_the_model() {
    fn prop(ops: Vec<Op>) -> quickcheck::TestResult {
        match check_program(ops) {
            Ok(()) => quickcheck::TestResult::passed(),
            Err(e) => quickcheck::TestResult::error(e),
        }
    }
    QuickCheck::new().tests(2000).rng(Gen::new(200)).quickcheck(prop as fn(Vec<Op>) -> quickcheck::TestResult);
}

#[test]
fn a_long_program_rolls_back_and_stalls() {
    // A fixed program: the local player plays every frame, remote inputs trail by 2..5 frames.
    let mut ops = Vec::new();
    for t in 0..300u32 {
        ops.push(Op::AddLocal((t / 3 % 3) as u8));
        if t % 7 != 0 {
            ops.push(Op::AddRemote { slot: 1, offset: -2, byte: (t / 2 % 3) as u8 });
            ops.push(Op::AddRemote { slot: 2, offset: -3, byte: (t % 3) as u8 });
        }
        ops.push(Op::Advance);
    }
    check_program(ops).expect("model");
}
