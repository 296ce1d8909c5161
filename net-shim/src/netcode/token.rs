//! Connect tokens: the public part a client holds and the private part only servers can read.

use std::fmt;
use std::net::SocketAddr;

use rand_core::RngCore;

use super::crypto;
use super::wire::{Reader, Short, Writer};
use super::{
    CONNECT_TOKEN_BYTES, CONNECT_TOKEN_NONCE_BYTES, CONNECT_TOKEN_PRIVATE_BYTES, KEY_BYTES, MAC_BYTES,
    MAX_SERVER_ADDRESSES, USER_DATA_BYTES, VERSION_INFO,
};

const UNSPECIFIED: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);
const ROOM_SLOT_MAGIC: &[u8; 4] = b"FLRS";
const ROOM_SLOT_VERSION: u8 = 1;

/// Why a token could not be generated, read or decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// The server address list is empty or longer than 32.
    BadAddressCount,
    /// The expire timestamp is not after the create timestamp.
    BadTimestamps,
    /// The bytes are too short, have the wrong version or an invalid field.
    Malformed,
    /// The private part does not decrypt with this key, protocol id and expire timestamp.
    DecryptFailed,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadAddressCount => "a connect token needs 1 to 32 server addresses",
            Self::BadTimestamps => "the connect token expires before it is created",
            Self::Malformed => "malformed connect token",
            Self::DecryptFailed => "connect token private data does not decrypt",
        })
    }
}

impl std::error::Error for TokenError {}

impl From<Short> for TokenError {
    fn from(_: Short) -> Self {
        Self::Malformed
    }
}

/// The 256 bytes of application data a connect token carries to the server.
///
/// framelock puts the room and slot the holder may play in it ([`UserData::for_room_slot`]); the server hands it
/// out per connected client ([`super::Server::user_data`]), so only the token holder can send inputs for its slot.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct UserData(pub [u8; USER_DATA_BYTES]);

impl Default for UserData {
    fn default() -> Self {
        Self([0; USER_DATA_BYTES])
    }
}

impl fmt::Debug for UserData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.room_slot() {
            Some((room, slot)) => write!(f, "UserData {{ room: {room}, slot: {slot} }}"),
            None => f.write_str("UserData(..)"),
        }
    }
}

impl UserData {
    /// User data naming a room and a slot: bytes 0..4 `b"FLRS"`, byte 4 layout version (1), bytes 5..13 the room id
    /// (u64 LE), byte 13 the slot; the rest is zero.
    pub fn for_room_slot(room_id: u64, slot: u8) -> Self {
        let mut d = [0u8; USER_DATA_BYTES];
        d[..4].copy_from_slice(ROOM_SLOT_MAGIC);
        d[4] = ROOM_SLOT_VERSION;
        d[5..13].copy_from_slice(&room_id.to_le_bytes());
        d[13] = slot;
        Self(d)
    }

    /// The room id and slot written by [`UserData::for_room_slot`], or `None` if the data has another layout.
    pub fn room_slot(&self) -> Option<(u64, u8)> {
        if &self.0[..4] != ROOM_SLOT_MAGIC || self.0[4] != ROOM_SLOT_VERSION {
            return None;
        }
        let mut room = [0u8; 8];
        room.copy_from_slice(&self.0[5..13]);
        Some((u64::from_le_bytes(room), self.0[13]))
    }
}

/// The private part of a connect token, as the server reads it after decryption.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateConnectToken {
    /// Globally unique id of the authenticated client.
    pub client_id: u64,
    /// Seconds without packets before the connection times out; negative disables timeouts (development only).
    pub timeout_seconds: i32,
    addresses: [SocketAddr; MAX_SERVER_ADDRESSES],
    num_addresses: usize,
    /// Key for packets from the client to the server.
    pub client_to_server_key: [u8; KEY_BYTES],
    /// Key for packets from the server to the client.
    pub server_to_client_key: [u8; KEY_BYTES],
    /// Application data (room and slot in framelock).
    pub user_data: UserData,
}

impl fmt::Debug for PrivateConnectToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateConnectToken")
            .field("client_id", &self.client_id)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("server_addresses", &self.server_addresses())
            .field("user_data", &self.user_data)
            .finish_non_exhaustive()
    }
}

/// Associated data of the private token: version info, protocol id, expire timestamp.
fn token_aad(protocol_id: u64, expire_timestamp: u64) -> [u8; 29] {
    let mut ad = [0u8; 29];
    ad[..13].copy_from_slice(VERSION_INFO);
    ad[13..21].copy_from_slice(&protocol_id.to_le_bytes());
    ad[21..].copy_from_slice(&expire_timestamp.to_le_bytes());
    ad
}

impl PrivateConnectToken {
    /// The server addresses the token is valid for.
    pub fn server_addresses(&self) -> &[SocketAddr] {
        self.addresses.get(..self.num_addresses).unwrap_or(&[])
    }

    fn write(&self, out: &mut [u8; CONNECT_TOKEN_PRIVATE_BYTES]) -> Result<(), Short> {
        out.fill(0);
        let mut w = Writer::new(&mut out[..CONNECT_TOKEN_PRIVATE_BYTES - MAC_BYTES]);
        w.u64(self.client_id)?;
        w.u32(self.timeout_seconds as u32)?;
        w.addresses(self.server_addresses())?;
        w.bytes(&self.client_to_server_key)?;
        w.bytes(&self.server_to_client_key)?;
        w.bytes(&self.user_data.0)
    }

    /// Decrypts and parses `encrypted` (1024 bytes) in place. On success `encrypted` holds the plaintext.
    pub fn decrypt(
        encrypted: &mut [u8; CONNECT_TOKEN_PRIVATE_BYTES],
        protocol_id: u64,
        expire_timestamp: u64,
        nonce: &[u8; CONNECT_TOKEN_NONCE_BYTES],
        private_key: &[u8; KEY_BYTES],
    ) -> Result<Self, TokenError> {
        crypto::decrypt_x(encrypted, nonce, private_key, &token_aad(protocol_id, expire_timestamp))
            .map_err(|_| TokenError::DecryptFailed)?;
        let mut r = Reader::new(&encrypted[..CONNECT_TOKEN_PRIVATE_BYTES - MAC_BYTES]);
        let client_id = r.u64()?;
        let timeout_seconds = r.u32()? as i32;
        let mut addresses = [UNSPECIFIED; MAX_SERVER_ADDRESSES];
        let num_addresses = r.addresses(&mut addresses)?;
        Ok(Self {
            client_id,
            timeout_seconds,
            addresses,
            num_addresses,
            client_to_server_key: r.array()?,
            server_to_client_key: r.array()?,
            user_data: UserData(r.array()?),
        })
    }
}

/// What a connect token is minted from.
#[derive(Debug, Clone, Copy)]
pub struct TokenParams<'a> {
    /// Unique id of the game/application version; must match the server's.
    pub protocol_id: u64,
    /// Unique id of the authenticated client.
    pub client_id: u64,
    /// Unix timestamp (seconds) of creation: the caller's clock.
    pub create_timestamp: u64,
    /// Unix timestamp (seconds) after which servers reject the token.
    pub expire_timestamp: u64,
    /// Seconds without packets before either side times the connection out; negative disables (development only).
    pub timeout_seconds: i32,
    /// 1 to 32 server addresses, tried in order.
    pub server_addresses: &'a [SocketAddr],
    /// Application data (room and slot).
    pub user_data: UserData,
}

/// A connect token: public part for the client plus the encrypted private part for the server.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectToken {
    /// Protocol id the token is for.
    pub protocol_id: u64,
    /// Unix timestamp (seconds) of creation.
    pub create_timestamp: u64,
    /// Unix timestamp (seconds) of expiry.
    pub expire_timestamp: u64,
    /// Random nonce of the private part.
    pub nonce: [u8; CONNECT_TOKEN_NONCE_BYTES],
    /// The encrypted private part, forwarded verbatim in connection requests.
    pub private_data: [u8; CONNECT_TOKEN_PRIVATE_BYTES],
    /// Connection timeout in seconds; negative disables.
    pub timeout_seconds: i32,
    addresses: [SocketAddr; MAX_SERVER_ADDRESSES],
    num_addresses: usize,
    /// Key for packets from the client to the server.
    pub client_to_server_key: [u8; KEY_BYTES],
    /// Key for packets from the server to the client.
    pub server_to_client_key: [u8; KEY_BYTES],
}

impl fmt::Debug for ConnectToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectToken")
            .field("protocol_id", &self.protocol_id)
            .field("create_timestamp", &self.create_timestamp)
            .field("expire_timestamp", &self.expire_timestamp)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("server_addresses", &self.server_addresses())
            .finish_non_exhaustive()
    }
}

impl ConnectToken {
    /// Mints a token. The two session keys and the 24-byte nonce are drawn from `rng`, which must be a CSPRNG
    /// (for example [`super::SeededRng`] seeded from the OS): a repeated nonce under the same private key breaks
    /// the private part's confidentiality.
    pub fn generate(
        params: &TokenParams<'_>,
        private_key: &[u8; KEY_BYTES],
        rng: &mut impl RngCore,
    ) -> Result<Self, TokenError> {
        let n = params.server_addresses.len();
        if n == 0 || n > MAX_SERVER_ADDRESSES {
            return Err(TokenError::BadAddressCount);
        }
        if params.expire_timestamp <= params.create_timestamp {
            return Err(TokenError::BadTimestamps);
        }
        let mut addresses = [UNSPECIFIED; MAX_SERVER_ADDRESSES];
        addresses[..n].copy_from_slice(params.server_addresses);
        let mut private = PrivateConnectToken {
            client_id: params.client_id,
            timeout_seconds: params.timeout_seconds,
            addresses,
            num_addresses: n,
            client_to_server_key: [0; KEY_BYTES],
            server_to_client_key: [0; KEY_BYTES],
            user_data: params.user_data,
        };
        rng.fill_bytes(&mut private.client_to_server_key);
        rng.fill_bytes(&mut private.server_to_client_key);
        let mut nonce = [0u8; CONNECT_TOKEN_NONCE_BYTES];
        rng.fill_bytes(&mut nonce);
        let mut private_data = [0u8; CONNECT_TOKEN_PRIVATE_BYTES];
        private.write(&mut private_data)?;
        let ad = token_aad(params.protocol_id, params.expire_timestamp);
        crypto::encrypt_x(&mut private_data, &nonce, private_key, &ad).map_err(|_| TokenError::Malformed)?;
        Ok(Self {
            protocol_id: params.protocol_id,
            create_timestamp: params.create_timestamp,
            expire_timestamp: params.expire_timestamp,
            nonce,
            private_data,
            timeout_seconds: params.timeout_seconds,
            addresses,
            num_addresses: n,
            client_to_server_key: private.client_to_server_key,
            server_to_client_key: private.server_to_client_key,
        })
    }

    /// The server addresses, in the order the client tries them.
    pub fn server_addresses(&self) -> &[SocketAddr] {
        self.addresses.get(..self.num_addresses).unwrap_or(&[])
    }

    /// Serializes to the standard's 2048-byte format.
    pub fn write(&self, out: &mut [u8; CONNECT_TOKEN_BYTES]) {
        out.fill(0);
        let mut w = Writer::new(out);
        // 13 + 8 * 3 + 24 + 1024 + 4 + (4 + 32 * 19) + 64 = 1765 <= 2048: cannot run short.
        let _ = (|| -> Result<(), Short> {
            w.bytes(VERSION_INFO)?;
            w.u64(self.protocol_id)?;
            w.u64(self.create_timestamp)?;
            w.u64(self.expire_timestamp)?;
            w.bytes(&self.nonce)?;
            w.bytes(&self.private_data)?;
            w.u32(self.timeout_seconds as u32)?;
            w.addresses(self.server_addresses())?;
            w.bytes(&self.client_to_server_key)?;
            w.bytes(&self.server_to_client_key)
        })();
    }

    /// Serializes to a new 2048-byte array.
    pub fn to_bytes(&self) -> [u8; CONNECT_TOKEN_BYTES] {
        let mut out = [0u8; CONNECT_TOKEN_BYTES];
        self.write(&mut out);
        out
    }

    /// Parses the standard's 2048-byte format (the private part stays encrypted).
    pub fn read(bytes: &[u8]) -> Result<Self, TokenError> {
        if bytes.len() != CONNECT_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let mut r = Reader::new(bytes);
        if r.array_ref::<13>()? != VERSION_INFO {
            return Err(TokenError::Malformed);
        }
        let protocol_id = r.u64()?;
        let create_timestamp = r.u64()?;
        let expire_timestamp = r.u64()?;
        let nonce = r.array()?;
        let private_data = r.array()?;
        let timeout_seconds = r.u32()? as i32;
        let mut addresses = [UNSPECIFIED; MAX_SERVER_ADDRESSES];
        let num_addresses = r.addresses(&mut addresses)?;
        let token = Self {
            protocol_id,
            create_timestamp,
            expire_timestamp,
            nonce,
            private_data,
            timeout_seconds,
            addresses,
            num_addresses,
            client_to_server_key: r.array()?,
            server_to_client_key: r.array()?,
        };
        if token.expire_timestamp <= token.create_timestamp {
            return Err(TokenError::BadTimestamps);
        }
        Ok(token)
    }

    /// Decrypts this token's private part (what a server does); for tools and tests.
    pub fn decrypt_private(&self, private_key: &[u8; KEY_BYTES]) -> Result<PrivateConnectToken, TokenError> {
        let mut buf = self.private_data;
        PrivateConnectToken::decrypt(&mut buf, self.protocol_id, self.expire_timestamp, &self.nonce, private_key)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::netcode::SeededRng;

    fn params(addrs: &[SocketAddr]) -> TokenParams<'_> {
        TokenParams {
            protocol_id: 0x1234,
            client_id: 42,
            create_timestamp: 1000,
            expire_timestamp: 1300,
            timeout_seconds: 5,
            server_addresses: addrs,
            user_data: UserData::for_room_slot(77, 3),
        }
    }

    #[test]
    fn room_slot_roundtrip() {
        let u = UserData::for_room_slot(u64::MAX - 1, 63);
        assert_eq!(u.room_slot(), Some((u64::MAX - 1, 63)));
        assert_eq!(UserData::default().room_slot(), None);
        assert_eq!(format!("{u:?}"), format!("UserData {{ room: {}, slot: 63 }}", u64::MAX - 1));
    }

    #[test]
    fn generate_serialize_read_decrypt() {
        let addrs = [SocketAddr::from(([127, 0, 0, 1], 4000)), SocketAddr::from(([0xfe80, 0, 0, 0, 0, 0, 0, 1], 5))];
        let key = [5u8; 32];
        let t = ConnectToken::generate(&params(&addrs), &key, &mut SeededRng::from_u64(1)).unwrap();
        let bytes = t.to_bytes();
        assert_eq!(&bytes[..13], VERSION_INFO);
        let back = ConnectToken::read(&bytes).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.server_addresses(), &addrs);
        let p = back.decrypt_private(&key).unwrap();
        assert_eq!(p.client_id, 42);
        assert_eq!(p.timeout_seconds, 5);
        assert_eq!(p.server_addresses(), &addrs);
        assert_eq!(p.client_to_server_key, t.client_to_server_key);
        assert_eq!(p.server_to_client_key, t.server_to_client_key);
        assert_eq!(p.user_data.room_slot(), Some((77, 3)));
        assert_eq!(back.decrypt_private(&[6u8; 32]).unwrap_err(), TokenError::DecryptFailed);
        let mut tampered = back.clone();
        tampered.expire_timestamp += 1;
        assert_eq!(tampered.decrypt_private(&key).unwrap_err(), TokenError::DecryptFailed);
    }

    #[test]
    fn nonces_and_keys_differ_per_token() {
        let addrs = [SocketAddr::from(([127, 0, 0, 1], 4000))];
        let mut rng = SeededRng::from_u64(9);
        let a = ConnectToken::generate(&params(&addrs), &[1; 32], &mut rng).unwrap();
        let b = ConnectToken::generate(&params(&addrs), &[1; 32], &mut rng).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.client_to_server_key, b.client_to_server_key);
    }

    #[test]
    fn rejects_bad_input() {
        let mut rng = SeededRng::from_u64(1);
        assert_eq!(ConnectToken::generate(&params(&[]), &[0; 32], &mut rng).unwrap_err(), TokenError::BadAddressCount);
        let many = [SocketAddr::from(([1, 2, 3, 4], 5)); 33];
        assert_eq!(
            ConnectToken::generate(&params(&many), &[0; 32], &mut rng).unwrap_err(),
            TokenError::BadAddressCount
        );
        let one = [SocketAddr::from(([1, 2, 3, 4], 5))];
        let mut p = params(&one);
        p.expire_timestamp = p.create_timestamp;
        assert_eq!(ConnectToken::generate(&p, &[0; 32], &mut rng).unwrap_err(), TokenError::BadTimestamps);
        assert_eq!(ConnectToken::read(&[0u8; 100]).unwrap_err(), TokenError::Malformed);
        assert_eq!(ConnectToken::read(&[0u8; CONNECT_TOKEN_BYTES]).unwrap_err(), TokenError::Malformed);
        let good = ConnectToken::generate(&params(&one), &[0; 32], &mut rng).unwrap().to_bytes();
        let mut bad = good;
        bad[13 + 24 + 24 + 1024 + 4] = 0; // zero server addresses
        assert_eq!(ConnectToken::read(&bad).unwrap_err(), TokenError::Malformed);
    }
}
