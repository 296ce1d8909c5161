//! Per-slot input queues (preallocated rings) and the read-only view of one frame's inputs.

use arrayvec::ArrayVec;

use crate::config::{MAX_INPUT_SIZE, MAX_SLOTS};
use crate::{Frame, Predictor, Slot, SlotMask};

/// What the simulation is told about one slot's input for a frame.
///
/// A simulation must not branch on `Predicted` versus `Confirmed`: a predicted frame is simulated
/// again with the confirmed input, and the two runs must only differ through the input bytes.
/// `Disconnected` and `Substituted` are confirmed facts and may be acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum InputStatus {
    /// The input is final.
    Confirmed = 0,
    /// The input has not arrived; this is the predictor's guess.
    Predicted = 1,
    /// The slot is disconnected; the bytes are the configured default input.
    Disconnected = 2,
    /// The authority closed the frame without this slot's input and substituted one (final).
    Substituted = 3,
}

/// One slot's input for one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayerInput<'a> {
    /// The slot.
    pub slot: Slot,
    /// The input bytes (at most `max_input_size`).
    pub bytes: &'a [u8],
    /// Whether the bytes are confirmed, predicted, a disconnect default or a substitute.
    pub status: InputStatus,
}

/// Every slot's input for one frame, as the simulation sees it. Cheap to copy; valid for the step.
#[derive(Clone, Copy)]
pub struct FrameInputs<'a> {
    store: &'a InputStore,
    frame: Frame,
}

impl core::fmt::Debug for FrameInputs<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FrameInputs").field("frame", &self.frame).field("slots", &self.store.slots).finish()
    }
}

impl<'a> FrameInputs<'a> {
    pub(crate) fn new(store: &'a InputStore, frame: Frame) -> Self {
        FrameInputs { store, frame }
    }

    /// The frame these inputs are for.
    #[inline]
    pub fn frame(&self) -> Frame {
        self.frame
    }

    /// The number of slots.
    #[inline]
    pub fn len(&self) -> usize {
        self.store.slots
    }

    /// Always false: a session has at least one slot.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.store.slots == 0
    }

    /// The input of `slot`, or `None` when there is no such slot.
    #[inline]
    pub fn get(&self, slot: Slot) -> Option<PlayerInput<'a>> {
        (slot < self.store.slots).then(|| self.store.effective(slot, self.frame))
    }

    /// Every slot's input, in slot order.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = PlayerInput<'a>> + 'a {
        // One row of cells, walked in order: no per-slot index arithmetic or bounds check.
        let (store, frame) = (self.store, self.frame);
        let row = store.row(frame);
        // Every input of the frame confirmed and no slot ever disconnected (a sync test, lockstep, a
        // rollback's confirmed frames): each cell is read as stored, without `view`'s per-slot checks.
        let settled = !store.any_disconnected && frame < store.until;
        RowWalk { store, frame, row, settled, cells: store.cells[row..row + store.slots].iter().enumerate() }
    }

    /// The slots whose input is predicted in this view.
    pub fn predicted_mask(&self) -> SlotMask {
        let mut m = 0;
        for p in self.iter() {
            if p.status == InputStatus::Predicted {
                m |= 1 << p.slot;
            }
        }
        m
    }
}

/// [`FrameInputs::iter`]'s walk: a struct rather than a `map` closure so that its step is always
/// inlined into the simulation's loop (a closure holding both of `row_view`'s branches was left out
/// of line: a call per slot and frame in the C ABI's callbacks).
struct RowWalk<'a> {
    store: &'a InputStore,
    frame: Frame,
    row: usize,
    settled: bool,
    cells: core::iter::Enumerate<core::slice::Iter<'a, Cell>>,
}

impl<'a> Iterator for RowWalk<'a> {
    type Item = PlayerInput<'a>;

    #[inline(always)]
    fn next(&mut self) -> Option<PlayerInput<'a>> {
        let (s, c) = self.cells.next()?;
        Some(self.store.row_view(self.settled, s, self.frame, self.row + s, c))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.cells.size_hint()
    }
}

impl ExactSizeIterator for RowWalk<'_> {}

/// The last frame a session simulates: `advance` from the frame after it is
/// [`Error::FrameOverflow`](crate::Error::FrameOverflow), and inputs for later frames are refused
/// with it, so every frame counter (`next_unconfirmed`, `base`, a window's top) stays at or below
/// `LAST_FRAME + 1` and never wraps.
pub(crate) const LAST_FRAME: Frame = Frame::MAX - 2;

/// What a cell of the ring holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CellState {
    Empty,
    /// A local input not yet confirmed by the authority (relay mode): the best prediction there is.
    Proposed,
    Confirmed,
}

#[derive(Debug, Clone, Copy)]
struct Cell {
    state: CellState,
    /// Confirmed, Substituted or Disconnected (a disconnect the authority confirmed for this frame).
    status: InputStatus,
    len: u16,
    /// The guess the simulation was given is stored: `predicted[..pred_len]` of the cell's place
    /// (a custom predictor's, or a `RepeatLast` guess kept when the slot's `last` moved on).
    predicted: bool,
    pred_len: u16,
}

impl Cell {
    /// Not confirmed, no proposal, no stored guess: with `RepeatLast` the simulation is given the
    /// slot's `last` input, read in place.
    #[inline]
    fn reads_last(&self) -> bool {
        self.state == CellState::Empty && !self.predicted
    }
}

const EMPTY: Cell =
    Cell { state: CellState::Empty, status: InputStatus::Confirmed, len: 0, predicted: false, pred_len: 0 };

/// Per-slot input rings over a window of frames `[base, base + window)`, all preallocated.
///
/// The rings (`cells`, `bytes`, `predicted`, `last`) are `Vec`s: their size, slots × window ×
/// input size, is known only at run time and can reach megabytes. Per-slot values are arrays of
/// `MAX_SLOTS`, inline in the store (no pointer to follow), the entries past `slots` unused: not
/// `ArrayVec`s, whose every index is checked against a length loaded from memory (the remote
/// input's path indexes them five times; 130 instructions per tick of the C ABI bench).
#[derive(Debug)]
pub(crate) struct InputStore {
    pub slots: usize,
    pub max_input: usize,
    pub window: u32,
    /// Rows in the ring minus one: the ring has a power-of-two number of rows (at least `window`),
    /// so a frame's row is a mask, not a division.
    row_mask: u32,
    /// The oldest frame held; rows below it have been recycled.
    pub base: Frame,
    cells: Vec<Cell>,
    bytes: Vec<u8>,
    /// Stored guesses, one place per cell (see `Cell::predicted`).
    predicted: Vec<u8>,
    /// The built-in `RepeatLast`: a guess is the slot's `last` input, read in place, not written
    /// per cell and frame (see [`InputStore::put`]).
    repeat_last: bool,
    /// `RepeatLast` only: no cell at this frame or above has a stored guess.
    stored_below: Frame,
    /// Per slot: the first frame not confirmed (every frame below it is).
    pub next_unconfirmed: [Frame; MAX_SLOTS],
    /// Per slot: the frame from which it is disconnected.
    pub disconnected_from: [Option<Frame>; MAX_SLOTS],
    /// Per slot: a copy of its last contiguous confirmed input (the default before any).
    last: Vec<u8>,
    last_len: [u16; MAX_SLOTS],
    default: ArrayVec<u8, MAX_INPUT_SIZE>,
    /// Some slot was ever disconnected (until then no per-slot disconnect check is needed).
    any_disconnected: bool,
    /// `confirmed_until()`, kept up to date when a slot's confirmed prefix grows or it disconnects,
    /// so planning reads one number instead of walking every slot per frame.
    until: Frame,
    /// The slots whose first unconfirmed frame is `until`. `until` moves only when the last of them
    /// moves past it: confirming an input costs O(1), plus one pass over the slots each time
    /// `until` advances (once per frame, when the frame's last input arrives), not one pass per
    /// input as a recomputation would (slots × slots per frame).
    behind: SlotMask,
}

impl InputStore {
    /// A store for `slots` slots; `repeat_last` when the session predicts with the built-in
    /// `RepeatLast` (see [`InputStore::put`] for why no prediction is stored then).
    pub fn new(slots: usize, max_input: usize, window: u32, default: &[u8], start: Frame, repeat_last: bool) -> Self {
        let rows = window.next_power_of_two();
        let n = slots * rows as usize;
        let mut last = vec![0u8; slots * max_input];
        for s in 0..slots {
            last[s * max_input..s * max_input + default.len()].copy_from_slice(default);
        }
        InputStore {
            slots,
            max_input,
            window,
            row_mask: rows - 1,
            base: start,
            cells: vec![EMPTY; n],
            bytes: vec![0; n * max_input],
            predicted: vec![0; n * max_input],
            repeat_last,
            stored_below: start,
            next_unconfirmed: [start; MAX_SLOTS],
            disconnected_from: [None; MAX_SLOTS],
            last,
            last_len: [default.len() as u16; MAX_SLOTS],
            default: default.iter().copied().collect(),
            any_disconnected: false,
            until: start,
            behind: if slots >= 64 { u64::MAX } else { (1u64 << slots) - 1 },
        }
    }

    #[inline]
    fn idx(&self, slot: Slot, frame: Frame) -> usize {
        (frame & self.row_mask) as usize * self.slots + slot
    }

    #[inline]
    fn range(&self, i: usize, len: u16) -> core::ops::Range<usize> {
        i * self.max_input..i * self.max_input + len as usize
    }

    /// Where `slot`'s last contiguous confirmed input lies in `last`.
    #[inline(always)]
    fn last_range(&self, slot: Slot) -> core::ops::Range<usize> {
        let l = slot * self.max_input;
        l..l + self.last_len[slot] as usize
    }

    #[inline]
    pub fn in_window(&self, frame: Frame) -> bool {
        frame >= self.base && frame - self.base < self.window
    }

    pub fn newest(&self) -> Frame {
        self.base.saturating_add(self.window - 1)
    }

    #[inline]
    pub fn is_disconnected(&self, slot: Slot, frame: Frame) -> bool {
        // The flag first: until a slot disconnects (the steady state) one load, no per-slot lookup.
        self.any_disconnected && self.disconnected_from[slot].is_some_and(|d| frame >= d)
    }

    #[inline]
    pub fn state(&self, slot: Slot, frame: Frame) -> CellState {
        if self.is_disconnected(slot, frame) {
            return CellState::Confirmed;
        }
        if !self.in_window(frame) {
            return if frame < self.base { CellState::Confirmed } else { CellState::Empty };
        }
        self.cells[self.idx(slot, frame)].state
    }

    #[inline]
    pub fn is_confirmed(&self, slot: Slot, frame: Frame) -> bool {
        self.state(slot, frame) == CellState::Confirmed
    }

    /// The input the simulation sees for `slot` at `frame` right now (requires `frame` in the window).
    #[inline]
    pub fn effective(&self, slot: Slot, frame: Frame) -> PlayerInput<'_> {
        let i = self.idx(slot, frame);
        self.view(slot, frame, i, &self.cells[i])
    }

    /// The first cell of `frame`'s row.
    #[inline]
    fn row(&self, frame: Frame) -> usize {
        (frame & self.row_mask) as usize * self.slots
    }

    /// What the simulation sees of cell `i` (slot `slot` at `frame`), `c` being that cell. Always
    /// inlined: it is the per-slot step of every `FrameInputs` walk (out of line it cost a call
    /// per slot and frame in the C ABI's callbacks).
    #[inline(always)]
    fn view(&self, slot: Slot, frame: Frame, i: usize, c: &Cell) -> PlayerInput<'_> {
        if self.is_disconnected(slot, frame) {
            return PlayerInput { slot, bytes: &self.default, status: InputStatus::Disconnected };
        }
        if c.state == CellState::Confirmed {
            PlayerInput { slot, bytes: &self.bytes[self.range(i, c.len)], status: c.status }
        } else {
            self.predicted_view(slot, i, c)
        }
    }

    /// [`InputStore::view`], or for a `settled` row (see `FrameInputs::iter`) the cell as stored.
    #[inline(always)]
    fn row_view(&self, settled: bool, slot: Slot, frame: Frame, i: usize, c: &Cell) -> PlayerInput<'_> {
        if settled {
            PlayerInput { slot, bytes: &self.bytes[self.range(i, c.len)], status: c.status }
        } else {
            self.view(slot, frame, i, c)
        }
    }

    /// A predicted cell's view, laid out away from the confirmed one: a frame below
    /// `confirmed_until` (a sync test, a rollback's confirmed part) never gets here.
    #[cold]
    #[inline(always)]
    fn predicted_view(&self, slot: Slot, i: usize, c: &Cell) -> PlayerInput<'_> {
        PlayerInput { slot, bytes: self.prediction(slot, i, c), status: InputStatus::Predicted }
    }

    /// What the simulation is given for cell `i` (of `slot`, not confirmed, not disconnected): the
    /// slot's last confirmed input (`RepeatLast`, read in place), else a local proposal (relay
    /// authority) or a stored guess. Inline for the first, the common case in a rollback.
    #[inline(always)]
    fn prediction(&self, slot: Slot, i: usize, c: &Cell) -> &[u8] {
        if c.reads_last() {
            &self.last[self.last_range(slot)]
        } else {
            self.kept_prediction(i, c)
        }
    }

    /// A proposal's bytes, or the stored guess.
    #[inline(never)]
    fn kept_prediction(&self, i: usize, c: &Cell) -> &[u8] {
        if c.state == CellState::Proposed {
            &self.bytes[self.range(i, c.len)]
        } else {
            &self.predicted[self.range(i, c.pred_len)]
        }
    }

    /// Stores an input. The caller has validated slot, length and window; frames below `current`
    /// have been simulated. Returns true when `frame` was simulated on a guess with other bytes
    /// (or another status) than the input's: a misprediction.
    ///
    /// With `RepeatLast` a guess is not stored when it is made: an unconfirmed cell without a
    /// stored guess that was simulated saw the slot's `last` input as it is now, unless a
    /// misprediction at or before its frame is already reported (the rollback to it simulates the
    /// cell again with the new `last`). `last` changes only when the slot's confirmed prefix
    /// grows. When it changes and no misprediction at `frame` is reported (`frame` saw a proposal
    /// or a stored guess, or the prefix also took in inputs that arrived early), the old `last` is
    /// stored as the guess of the simulated cells after the prefix (`store_guesses`), so each is
    /// compared with what it saw when its own input arrives, as with a custom predictor.
    ///
    /// Out of line: `Session::confirm` takes a rollback's common case (`next_seen_last`) itself.
    #[inline(never)]
    pub fn put(&mut self, slot: Slot, frame: Frame, input: &[u8], status: InputStatus, current: Frame) -> bool {
        let i = self.idx(slot, frame);
        let simulated = frame < current;
        // `frame` was simulated with the slot's `last` input (`RepeatLast`, read in place).
        let saw_last = simulated && self.cells[i].reads_last();
        // A frame not simulated yet (a local input, an input ahead of the simulation) was
        // guessed by nobody: nothing to compare.
        let mispredicted = simulated && self.mispredicted(slot, i, input, status);
        if self.store(i, input, CellState::Confirmed, status) && frame == self.next_unconfirmed[slot] {
            // Unless the rollback for a misprediction here simulates them again, simulated
            // cells after the prefix keep the `last` they saw.
            let keep_below = if self.repeat_last && !mispredicted { current } else { 0 };
            self.advance_contiguous(slot, frame, input, keep_below, saw_last);
        }
        mispredicted
    }

    /// The cell of `slot` at `frame` when a confirmed input for it takes `put_next_seen_last`:
    /// `frame` is the slot's first unconfirmed frame, in the window, not disconnected, and its
    /// cell reads the slot's `last` input in place (`RepeatLast`, no stored guess). The caller
    /// checks that `frame` was simulated. Found with one lookup: of the checks
    /// `Session::confirm` makes on other inputs, only the input's length can fail then.
    #[inline(always)]
    pub fn next_seen_last(&self, slot: Slot, frame: Frame) -> Option<usize> {
        if !self.repeat_last
            || frame != self.next_unconfirmed[slot]
            || !self.in_window(frame)
            || self.is_disconnected(slot, frame)
        {
            return None;
        }
        let i = self.idx(slot, frame);
        self.cells[i].reads_last().then_some(i)
    }

    /// What [`InputStore::put`] does in a rollback's common case, cell `i` from `next_seen_last`:
    /// a confirmed input for the slot's first unconfirmed frame, simulated with the slot's `last`
    /// input read in place (`RepeatLast`). Mispredicted exactly when it differs from `last`.
    /// Unless inputs that arrived early follow it (then the general walk), the prefix grows by
    /// this frame alone and `last` becomes this input: unchanged when it was predicted right, and
    /// when not, the later frames that read the old one in place are simulated again by the
    /// rollback this misprediction reports, so no guess needs storing.
    #[inline(always)]
    pub fn put_next_seen_last(&mut self, slot: Slot, frame: Frame, i: usize, input: &[u8], current: Frame) -> bool {
        let mispredicted = !eq_small(&self.last[self.last_range(slot)], input);
        self.store(i, input, CellState::Confirmed, InputStatus::Confirmed);
        if !self.prefix_grows_by_one(slot, frame) {
            let keep_below = if mispredicted { 0 } else { current };
            self.advance_contiguous_out_of_line(slot, frame, input, keep_below);
        } else if mispredicted {
            self.set_last(slot, input);
        }
        mispredicted
    }

    /// `advance_contiguous` over inputs that arrived early, for `put_next_seen_last` and
    /// `put_ahead` (`saw_last` matters only with a `keep_below`, and is true where it does).
    #[inline(never)]
    fn advance_contiguous_out_of_line(&mut self, slot: Slot, frame: Frame, input: &[u8], keep_below: Frame) {
        self.advance_contiguous(slot, frame, input, keep_below, true);
    }

    /// [`InputStore::put`] for a frame not simulated yet (a local input, at least `current`, or
    /// one filling a gap behind it): nothing to compare, no guess to keep. The sync test's and
    /// lockstep's only way in, kept apart so they pay nothing for predictions.
    pub fn put_ahead(&mut self, slot: Slot, frame: Frame, input: &[u8], state: CellState, status: InputStatus) {
        let i = self.idx(slot, frame);
        self.put_ahead_at(i, slot, frame, input, state, status);
    }

    /// A local input for `frame` (in the window, not disconnected): [`InputStore::put_ahead`]
    /// unless the cell is confirmed already (the relay confirmed the frame before the local
    /// proposal). Inlined into `Session::add_local_input`, with one index for the check and the
    /// store: the sync test adds every slot's input this way each frame.
    #[inline(always)]
    pub fn put_local(&mut self, slot: Slot, frame: Frame, input: &[u8], state: CellState) {
        let i = self.idx(slot, frame);
        if self.cells[i].state != CellState::Confirmed {
            self.put_ahead_at(i, slot, frame, input, state, InputStatus::Confirmed);
        }
    }

    #[inline(always)]
    fn put_ahead_at(
        &mut self,
        i: usize,
        slot: Slot,
        frame: Frame,
        input: &[u8],
        state: CellState,
        status: InputStatus,
    ) {
        if self.store(i, input, state, status) && frame == self.next_unconfirmed[slot] {
            if self.prefix_grows_by_one(slot, frame) {
                self.set_last(slot, input);
            } else {
                self.advance_contiguous_out_of_line(slot, frame, input, 0);
            }
        }
    }

    /// `slot`'s confirmed prefix, which `frame` (just confirmed) extends, grows by `frame` alone:
    /// the common case, without `advance_contiguous`'s walk. False, changing nothing, when the
    /// next cell is confirmed too (inputs that arrived early: then the walk).
    #[inline(always)]
    fn prefix_grows_by_one(&mut self, slot: Slot, frame: Frame) -> bool {
        let Some(next) = frame.checked_add(1) else { return false };
        if self.in_window(next) && self.cells[self.idx(slot, next)].state == CellState::Confirmed {
            return false;
        }
        self.next_unconfirmed[slot] = next;
        self.leave_behind(slot);
        true
    }

    /// Makes `input` the slot's last contiguous confirmed input.
    #[inline(always)]
    fn set_last(&mut self, slot: Slot, input: &[u8]) {
        let l = slot * self.max_input;
        copy_small(&mut self.last[l..l + input.len()], input);
        self.last_len[slot] = input.len() as u16;
    }

    /// Writes cell `i`; true when it is now confirmed.
    #[inline(always)]
    fn store(&mut self, i: usize, input: &[u8], state: CellState, status: InputStatus) -> bool {
        let n = input.len();
        let at = i * self.max_input;
        copy_small(&mut self.bytes[at..at + n], input);
        let c = &mut self.cells[i];
        c.state = state;
        c.status = status;
        c.len = n as u16;
        let confirmed = state == CellState::Confirmed;
        if confirmed {
            c.predicted = false;
        }
        confirmed
    }

    /// Cell `i` (of `slot`), simulated, was given something else than `input` with `status`.
    /// Compared before `put` copies the input (a proposal is in `bytes`), in fixed-size words.
    #[inline]
    fn mispredicted(&self, slot: Slot, i: usize, input: &[u8], status: InputStatus) -> bool {
        let c = &self.cells[i];
        c.state != CellState::Confirmed
            && (status != InputStatus::Confirmed || !eq_small(self.prediction(slot, i, c), input))
    }

    /// `slot`'s input for `frame`, its first unconfirmed frame, was just confirmed as `input`: its
    /// confirmed prefix grows (over inputs that arrived early too). An input confirmed out of order
    /// leaves the prefix as it is, without looking at any cell (`put` checks). When `last` changes,
    /// the old one is stored for the simulated cells after the prefix below `keep_below`.
    /// `saw_last`: `frame` was simulated with the old `last` and `input` equals it (when
    /// `keep_below` is set), so confirming `frame` alone does not change it.
    #[inline(always)]
    fn advance_contiguous(&mut self, slot: Slot, frame: Frame, input: &[u8], keep_below: Frame, saw_last: bool) {
        let (mut last, mut f) = (frame, frame);
        // At `Frame::MAX` the slot is confirmed to the end of time; stop instead of wrapping.
        while let Some(next) = f.checked_add(1) {
            f = next;
            if !(self.in_window(f) && self.cells[self.idx(slot, f)].state == CellState::Confirmed) {
                break;
            }
            last = f;
        }
        self.next_unconfirmed[slot] = f;
        self.leave_behind(slot);
        let dst = slot * self.max_input;
        if last == frame {
            // The common case (no early input after it): the bytes are at hand.
            if f < keep_below && !saw_last && !eq_small(&self.last[self.last_range(slot)], input) {
                self.store_guesses(slot, f, keep_below);
            }
            self.set_last(slot, input);
        } else {
            let i = self.idx(slot, last);
            let len = self.cells[i].len;
            let src = self.range(i, len);
            if f < keep_below && !eq_small(&self.last[self.last_range(slot)], &self.bytes[src.clone()]) {
                self.store_guesses(slot, f, keep_below);
            }
            copy_small(&mut self.last[dst..dst + len as usize], &self.bytes[src]);
            self.last_len[slot] = len;
        }
    }

    /// `slot`'s `last` input is about to change while its cells from `from` to `current` may have
    /// been simulated with it (`RepeatLast`): stores it as the guess of each such cell that reads
    /// it. Rare (inputs that arrived early, closing a gap behind frames already simulated), so a
    /// walk over those frames.
    #[cold]
    fn store_guesses(&mut self, slot: Slot, from: Frame, current: Frame) {
        let from_last = self.last_range(slot);
        let n = from_last.len();
        for g in from..current {
            if !self.in_window(g) || self.is_disconnected(slot, g) {
                continue;
            }
            let i = self.idx(slot, g);
            if !self.cells[i].reads_last() {
                continue;
            }
            let out = i * self.max_input;
            let (last, predicted) = (&self.last, &mut self.predicted);
            copy_small(&mut predicted[out..out + n], &last[from_last.clone()]);
            let c = &mut self.cells[i];
            c.predicted = true;
            c.pred_len = n as u16;
            self.stored_below = self.stored_below.max(g + 1);
        }
    }

    /// `RepeatLast`: the frames `first..end` are simulated (again) now, each unconfirmed cell with
    /// its slot's `last` input as it is: guesses stored for them are forgotten. Nothing to do
    /// unless `store_guesses` stored some there.
    #[inline]
    pub fn forget_guesses(&mut self, first: Frame, end: Frame) {
        if first < self.stored_below {
            self.forget_guesses_walk(first.max(self.base), end);
        }
    }

    #[cold]
    #[inline(never)]
    fn forget_guesses_walk(&mut self, first: Frame, end: Frame) {
        let top = end.min(self.stored_below);
        for g in first..top {
            let row = self.row(g);
            for c in &mut self.cells[row..row + self.slots] {
                c.predicted = false;
            }
        }
        if end >= self.stored_below {
            self.stored_below = first;
        }
    }

    /// Gives `slot` at `frame` the input it had at the frame before (a gap a raised input delay
    /// opened; `frame` is not simulated yet, so nothing can have been mispredicted).
    pub fn copy_previous(&mut self, slot: Slot, frame: Frame, state: CellState) {
        let prev = frame.wrapping_sub(1);
        let (src, len) = if frame > self.base && self.state(slot, prev) != CellState::Empty {
            let i = self.idx(slot, prev);
            (&self.bytes, self.range(i, self.cells[i].len))
        } else {
            (&self.last, self.last_range(slot))
        };
        let mut tmp = ArrayVec::<u8, MAX_INPUT_SIZE>::new();
        // Never fails: an input is at most `max_input_size` <= `MAX_INPUT_SIZE` bytes.
        let _ = tmp.try_extend_from_slice(&src[len]);
        self.put_ahead(slot, frame, &tmp, state, InputStatus::Confirmed);
    }

    /// Writes a custom predictor's guesses for `frame` for the slots of `lag` whose input there is
    /// neither confirmed nor a proposal (what `prediction` reads back). One call per frame: the
    /// row is found once, and each slot costs one cell read when confirmed. Never called with the
    /// built-in `RepeatLast`, whose guess is the slot's `last` input, read in place.
    #[inline]
    pub fn predict_row(&mut self, mut lag: SlotMask, frame: Frame, predictor: &dyn Predictor) {
        // Below the window every input is confirmed (`state` says so); nothing to predict.
        if frame < self.base {
            return;
        }
        let row = self.row(frame);
        let m = self.max_input;
        while lag != 0 {
            let slot = lag.trailing_zeros() as Slot;
            lag &= lag - 1;
            if self.is_disconnected(slot, frame) {
                continue;
            }
            let i = row + slot;
            if self.cells[i].state != CellState::Empty {
                continue;
            }
            let out = i * m;
            let last = &self.last[self.last_range(slot)];
            let len = predictor.predict(slot, frame, last, &mut self.predicted[out..out + m]).min(m);
            let c = &mut self.cells[i];
            c.predicted = true;
            c.pred_len = len as u16;
        }
    }

    /// Marks `slot` disconnected from `frame`; returns `frame` when it is below `current`: every frame
    /// from it on was simulated with an input that is not the disconnect default (its status differs
    /// even where the bytes agree), so those frames must be simulated again.
    pub fn disconnect(&mut self, slot: Slot, frame: Frame, current: Frame) -> Option<Frame> {
        // Inputs that arrived for frames past the disconnect no longer count.
        let mut f = frame.max(self.base);
        while self.in_window(f) {
            let i = self.idx(slot, f);
            self.cells[i] = EMPTY;
            let Some(next) = f.checked_add(1) else { break };
            f = next;
        }
        self.disconnected_from[slot] = Some(frame);
        self.any_disconnected = true;
        self.refresh_until();
        (frame < current).then_some(frame)
    }

    /// Forgets every frame below `new_base`, making room at the top of the window. Out of line:
    /// once per frame, not per input, so the per-input callers stay short.
    #[inline(never)]
    pub fn release_below(&mut self, new_base: Frame) {
        while self.base < new_base {
            let row = (self.base & self.row_mask) as usize * self.slots;
            self.cells[row..row + self.slots].fill(EMPTY);
            self.base += 1;
        }
    }

    /// The first frame at which some slot's input is not confirmed.
    #[inline]
    pub fn confirmed_until(&self) -> Frame {
        debug_assert_eq!((self.until, self.behind), self.compute_until(), "cached confirmed_until is stale");
        self.until
    }

    /// `slot`'s first unconfirmed frame moved on: only the last slot holding the minimum moves
    /// `until`.
    #[inline(always)]
    fn leave_behind(&mut self, slot: Slot) {
        if self.behind >> slot & 1 == 1 {
            self.behind &= !(1u64 << slot);
            if self.behind == 0 {
                self.refresh_until();
            }
        }
    }

    fn refresh_until(&mut self) {
        (self.until, self.behind) = self.compute_until();
    }

    /// The first frame a slot's input is not confirmed at (`Frame::MAX` once it is disconnected
    /// there or before).
    #[inline]
    fn unconfirmed_from(&self, s: Slot) -> Frame {
        match self.disconnected_from[s] {
            Some(d) if d <= self.next_unconfirmed[s] => Frame::MAX,
            _ => self.next_unconfirmed[s],
        }
    }

    /// `confirmed_until` from scratch, the lowest slot's first unconfirmed frame, and the slots at it.
    fn compute_until(&self) -> (Frame, SlotMask) {
        let (mut m, mut at) = (Frame::MAX, 0);
        if !self.any_disconnected {
            // No slot ever disconnected: each slot's first unconfirmed frame is its own counter.
            for (s, &f) in self.next_unconfirmed[..self.slots].iter().enumerate() {
                if f < m {
                    (m, at) = (f, 0);
                }
                if f == m {
                    at |= 1u64 << s;
                }
            }
            return (m, at);
        }
        for s in 0..self.slots {
            let f = self.unconfirmed_from(s);
            if f < m {
                (m, at) = (f, 0);
            }
            if f == m {
                at |= 1u64 << s;
            }
        }
        (m, at)
    }

    /// The slots that may lack a confirmed input at some frame up to `frame`: those whose first
    /// unconfirmed frame is at or before it. Planning predicts only these (one pass over the slots
    /// per step, instead of one per predicted frame).
    #[inline]
    pub fn lagging(&self, frame: Frame) -> SlotMask {
        if frame < self.until {
            return 0;
        }
        self.lagging_walk(frame)
    }

    #[inline(never)]
    fn lagging_walk(&self, frame: Frame) -> SlotMask {
        self.slots_where(|s| self.unconfirmed_from(s) <= frame)
    }

    /// The slots whose input for `frame` is not confirmed. The common answer (none, below
    /// `confirmed_until`) inline; the walk over the slots out of line.
    #[inline]
    pub fn unconfirmed_mask(&self, frame: Frame) -> SlotMask {
        if frame < self.until {
            return 0;
        }
        self.unconfirmed_walk(frame)
    }

    #[inline(never)]
    fn unconfirmed_walk(&self, frame: Frame) -> SlotMask {
        self.slots_where(|s| !self.is_confirmed(s, frame))
    }

    /// The mask of the slots for which `pred` holds.
    #[inline]
    fn slots_where(&self, pred: impl Fn(Slot) -> bool) -> SlotMask {
        (0..self.slots).filter(|&s| pred(s)).fold(0, |m, s| m | 1u64 << s)
    }
}

/// `dst.copy_from_slice(src)` for inputs: up to 16 bytes as two overlapping fixed-size moves
/// (a few instructions) instead of a `memcpy` call, which costs more than the copy for a typical
/// 1–16-byte input. Panics like `copy_from_slice` when the lengths differ (never: callers pass
/// equal ranges).
#[inline(always)]
fn copy_small(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    assert_eq!(dst.len(), n, "copy_small: length mismatch");
    match n {
        0 => {}
        1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..=7 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..].copy_from_slice(&src[n - 4..]);
        }
        8..=16 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
        _ => dst.copy_from_slice(src),
    }
}

/// `a == b` for inputs: up to 16 bytes as two overlapping fixed-size loads per side (like
/// `copy_small`) instead of a `bcmp` call.
#[inline(always)]
fn eq_small(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if b.len() != n {
        return false;
    }
    let w4 = |s: &[u8], k: usize| u32::from_ne_bytes([s[k], s[k + 1], s[k + 2], s[k + 3]]);
    let w8 = |s: &[u8], k: usize| {
        u64::from_ne_bytes([s[k], s[k + 1], s[k + 2], s[k + 3], s[k + 4], s[k + 5], s[k + 6], s[k + 7]])
    };
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => w4(a, 0) == w4(b, 0) && w4(a, n - 4) == w4(b, n - 4),
        8..=16 => w8(a, 0) == w8(b, 0) && w8(a, n - 8) == w8(b, n - 8),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::{copy_small, eq_small};

    #[test]
    fn eq_small_finds_every_differing_byte() {
        let a: Vec<u8> = (1..=40u8).collect();
        for n in 0..=40 {
            assert!(eq_small(&a[..n], &a[..n]), "{n} bytes, equal");
            for k in 0..n {
                let mut b = a[..n].to_vec();
                b[k] ^= 0x80;
                assert!(!eq_small(&a[..n], &b), "{n} bytes, byte {k} differs");
            }
            if n > 0 {
                assert!(!eq_small(&a[..n], &a[..n - 1]), "{n} against {} bytes", n - 1);
            }
        }
    }

    #[test]
    fn copy_small_copies_every_length() {
        let src: Vec<u8> = (1..=40u8).collect();
        for n in 0..=40 {
            let mut dst = vec![0u8; n];
            copy_small(&mut dst, &src[..n]);
            assert_eq!(dst, &src[..n], "{n} bytes");
        }
    }
}
