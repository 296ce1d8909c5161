//! Counters: why packets were dropped, what was sent.

macro_rules! drop_reasons {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Why an incoming packet was dropped. Checks run cheapest first, so a packet is counted under the first
        /// check it fails.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum DropReason {
            $($(#[$doc])* $name,)*
        }

        impl DropReason {
            /// Every reason, in declaration order (the order of [`ServerStats::dropped`]).
            pub const ALL: &'static [DropReason] = &[$(DropReason::$name,)*];
            /// Number of reasons.
            pub const COUNT: usize = Self::ALL.len();
        }
    };
}

drop_reasons! {
    /// Shorter than the smallest valid packet.
    TooSmall,
    /// Longer than the largest valid packet.
    TooLarge,
    /// Packet type 7..=15.
    InvalidType,
    /// A packet type this side never accepts (e.g. a challenge sent to the server).
    UnexpectedType,
    /// Sequence byte count outside 1..=8.
    BadSequenceBytes,
    /// The per-packet data has the wrong size for its type.
    BadSize,
    /// Connection request with another version info.
    VersionMismatch,
    /// Connection request for another protocol id.
    ProtocolMismatch,
    /// Connection request with an expired connect token.
    TokenExpired,
    /// The connect token's private part does not decrypt (wrong key, tampered).
    TokenDecryptFailed,
    /// The private part decrypts but does not parse.
    TokenMalformed,
    /// This server's address is not in the token.
    NotInHostList,
    /// A client from this address is already connected.
    AddressAlreadyConnected,
    /// A client with this client id is already connected.
    ClientIdAlreadyConnected,
    /// The connect token was already used from another address.
    TokenInUse,
    /// No room to track another pending connection.
    PendingFull,
    /// An encrypted packet from an address with no pending or connected client (or, on a client, not the server).
    UnknownAddress,
    /// Already received, or older than the replay window.
    Replayed,
    /// The packet does not decrypt with the connection's key.
    DecryptFailed,
    /// The challenge token in a response does not decrypt.
    ChallengeDecryptFailed,
    /// The challenge token names another client than the pending connection.
    ChallengeMismatch,
    /// Valid, but not expected in the connection's current state.
    WrongState,
}

/// Server counters. All monotonic since the server was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Dropped packets per reason, indexed like [`DropReason::ALL`]; read with [`ServerStats::dropped`].
    pub dropped_by_reason: [u64; DropReason::COUNT],
    /// Datagrams passed to `handle_packet`.
    pub packets_received: u64,
    /// Bytes passed to `handle_packet`.
    pub bytes_received: u64,
    /// Datagrams queued for sending.
    pub packets_sent: u64,
    /// Bytes queued for sending.
    pub bytes_sent: u64,
    /// Connection denied packets sent (server full).
    pub denied_sent: u64,
    /// Datagrams dropped because the transmit ring was full.
    pub transmits_dropped: u64,
    /// Events dropped because the event ring was full.
    pub events_dropped: u64,
    /// Clients that became connected.
    pub connects: u64,
    /// Clients that were disconnected (any reason).
    pub disconnects: u64,
}

impl ServerStats {
    /// Packets dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped_by_reason[reason as usize]
    }

    /// Packets dropped for any reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped_by_reason.iter().sum()
    }

    pub(crate) fn drop(&mut self, reason: DropReason) {
        self.dropped_by_reason[reason as usize] += 1;
    }
}

/// Client counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Dropped packets per reason, indexed like [`DropReason::ALL`]; read with [`ClientStats::dropped`].
    pub dropped_by_reason: [u64; DropReason::COUNT],
    /// Datagrams passed to `handle_packet`.
    pub packets_received: u64,
    /// Datagrams queued for sending.
    pub packets_sent: u64,
    /// Datagrams dropped because the transmit ring was full.
    pub transmits_dropped: u64,
    /// Payloads dropped because the receive ring was full.
    pub events_dropped: u64,
}

impl ClientStats {
    /// Packets dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped_by_reason[reason as usize]
    }

    /// Packets dropped for any reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped_by_reason.iter().sum()
    }

    pub(crate) fn drop(&mut self, reason: DropReason) {
        self.dropped_by_reason[reason as usize] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_match_all() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        let mut s = ServerStats::default();
        s.drop(DropReason::Replayed);
        s.drop(DropReason::Replayed);
        assert_eq!(s.dropped(DropReason::Replayed), 2);
        assert_eq!(s.dropped_total(), 2);
    }
}
