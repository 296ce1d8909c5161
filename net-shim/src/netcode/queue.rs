//! Fixed-capacity rings for outgoing datagrams and received payloads (allocated once, never grown).

use std::net::SocketAddr;

use super::{MAX_PACKET_BYTES, MAX_PAYLOAD_BYTES};

/// An outgoing datagram, borrowed from the state machine until its next `&mut` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit<'a> {
    /// Where to send it.
    pub destination: SocketAddr,
    /// The datagram bytes.
    pub contents: &'a [u8],
}

/// A preallocated ring. `reserve` hands out the tail slot to fill in place; `commit` makes it visible.
#[derive(Debug)]
pub(crate) struct Ring<T> {
    items: Vec<T>,
    head: usize,
    len: usize,
}

impl<T> Ring<T> {
    pub(crate) fn new(capacity: usize, make: impl Fn() -> T) -> Self {
        let capacity = capacity.max(1);
        let mut items = Vec::with_capacity(capacity);
        items.resize_with(capacity, make);
        Self { items, head: 0, len: 0 }
    }

    /// The next free slot (its old contents are stale), or `None` when full.
    pub(crate) fn reserve(&mut self) -> Option<&mut T> {
        if self.len == self.items.len() {
            return None;
        }
        let idx = (self.head + self.len) % self.items.len();
        self.items.get_mut(idx)
    }

    /// Publishes the slot last returned by `reserve`.
    pub(crate) fn commit(&mut self) {
        if self.len < self.items.len() {
            self.len += 1;
        }
    }

    /// Removes the oldest item and returns it (valid until the ring is next mutated).
    pub(crate) fn pop(&mut self) -> Option<&T> {
        if self.len == 0 {
            return None;
        }
        let idx = self.head;
        self.head = (self.head + 1) % self.items.len();
        self.len -= 1;
        self.items.get(idx)
    }

    pub(crate) fn free(&self) -> usize {
        self.items.len() - self.len
    }
}

/// One queued datagram.
///
/// A length beside a full array rather than an `ArrayVec<u8, _>`: the ring hands out a reused slot
/// and the packet encoder writes into the whole array in place, which an `ArrayVec` allows only by
/// zero-filling it first or by `unsafe` `set_len` (the same holds for [`EventSlot`]).
#[derive(Debug)]
pub(crate) struct Datagram {
    pub(crate) destination: SocketAddr,
    pub(crate) len: usize,
    pub(crate) buf: [u8; MAX_PACKET_BYTES],
}

impl Datagram {
    pub(crate) fn empty() -> Self {
        Self { destination: SocketAddr::from(([0, 0, 0, 0], 0)), len: 0, buf: [0; MAX_PACKET_BYTES] }
    }

    pub(crate) fn as_transmit(&self) -> Transmit<'_> {
        Transmit { destination: self.destination, contents: self.buf.get(..self.len).unwrap_or(&[]) }
    }
}

/// One queued event with room for a payload.
#[derive(Debug)]
pub(crate) struct EventSlot<E> {
    pub(crate) event: E,
    pub(crate) len: usize,
    pub(crate) payload: [u8; MAX_PAYLOAD_BYTES],
}

impl<E> EventSlot<E> {
    pub(crate) fn new(event: E) -> Self {
        Self { event, len: 0, payload: [0; MAX_PAYLOAD_BYTES] }
    }

    pub(crate) fn payload(&self) -> &[u8] {
        self.payload.get(..self.len).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_fifo_and_capacity() {
        let mut r = Ring::new(2, || 0u32);
        for round in 0..3u32 {
            *r.reserve().unwrap_or(&mut 0) = round * 10;
            r.commit();
            *r.reserve().unwrap_or(&mut 0) = round * 10 + 1;
            r.commit();
            assert!(r.reserve().is_none());
            assert_eq!(r.free(), 0);
            assert_eq!(r.pop().copied(), Some(round * 10));
            assert_eq!(r.pop().copied(), Some(round * 10 + 1));
            assert_eq!(r.pop().copied(), None);
            assert_eq!(r.free(), 2);
        }
    }
}
