//! In-place AEAD helpers (no allocation): the last [`MAC_BYTES`] of each buffer hold the tag.

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag, XChaCha20Poly1305, XNonce};

use super::{KEY_BYTES, MAC_BYTES};

/// AEAD failure: the buffer is too short or the tag does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CryptoError;

fn nonce96(sequence: u64) -> Nonce {
    // The 64-bit sequence, little endian, padded with zeros in the high bits to 96 bits. libsodium's IETF
    // construction (and every netcode implementation) puts the four zero bytes first.
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&sequence.to_le_bytes());
    Nonce::from(n)
}

/// Encrypts `buf[..len - 16]` in place and writes the tag into `buf[len - 16..]` (ChaCha20-Poly1305 IETF).
pub(crate) fn encrypt(buf: &mut [u8], sequence: u64, key: &[u8; KEY_BYTES], aad: &[u8]) -> Result<(), CryptoError> {
    let split = buf.len().checked_sub(MAC_BYTES).ok_or(CryptoError)?;
    let (data, tag_out) = buf.split_at_mut(split);
    let cipher = ChaCha20Poly1305::new(key.into());
    let tag = cipher.encrypt_in_place_detached(&nonce96(sequence), aad, data).map_err(|_| CryptoError)?;
    tag_out.copy_from_slice(&tag);
    Ok(())
}

/// Verifies and decrypts `buf[..len - 16]` in place (ChaCha20-Poly1305 IETF).
pub(crate) fn decrypt(buf: &mut [u8], sequence: u64, key: &[u8; KEY_BYTES], aad: &[u8]) -> Result<(), CryptoError> {
    let split = buf.len().checked_sub(MAC_BYTES).ok_or(CryptoError)?;
    let (data, tag) = buf.split_at_mut(split);
    let cipher = ChaCha20Poly1305::new(key.into());
    cipher.decrypt_in_place_detached(&nonce96(sequence), aad, data, Tag::from_slice(tag)).map_err(|_| CryptoError)
}

/// Encrypts with XChaCha20-Poly1305 (connect token private data).
pub(crate) fn encrypt_x(
    buf: &mut [u8],
    nonce: &[u8; 24],
    key: &[u8; KEY_BYTES],
    aad: &[u8],
) -> Result<(), CryptoError> {
    let split = buf.len().checked_sub(MAC_BYTES).ok_or(CryptoError)?;
    let (data, tag_out) = buf.split_at_mut(split);
    let cipher = XChaCha20Poly1305::new(key.into());
    let tag = cipher.encrypt_in_place_detached(XNonce::from_slice(nonce), aad, data).map_err(|_| CryptoError)?;
    tag_out.copy_from_slice(&tag);
    Ok(())
}

/// Verifies and decrypts with XChaCha20-Poly1305 (connect token private data).
pub(crate) fn decrypt_x(
    buf: &mut [u8],
    nonce: &[u8; 24],
    key: &[u8; KEY_BYTES],
    aad: &[u8],
) -> Result<(), CryptoError> {
    let split = buf.len().checked_sub(MAC_BYTES).ok_or(CryptoError)?;
    let (data, tag) = buf.split_at_mut(split);
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt_in_place_detached(XNonce::from_slice(nonce), aad, data, Tag::from_slice(tag))
        .map_err(|_| CryptoError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_tamper() {
        let key = [7u8; 32];
        let mut buf = [0u8; 40];
        buf[..24].copy_from_slice(b"hello netcode 1.02 world");
        assert_eq!(encrypt(&mut buf, 5, &key, b"ad"), Ok(()));
        assert_ne!(&buf[..24], b"hello netcode 1.02 world");
        let mut copy = buf;
        assert_eq!(decrypt(&mut copy, 5, &key, b"ad"), Ok(()));
        assert_eq!(&copy[..24], b"hello netcode 1.02 world");
        let mut copy = buf;
        assert_eq!(decrypt(&mut copy, 6, &key, b"ad"), Err(CryptoError));
        let mut copy = buf;
        assert_eq!(decrypt(&mut copy, 5, &key, b"ae"), Err(CryptoError));
        let mut copy = buf;
        copy[3] ^= 1;
        assert_eq!(decrypt(&mut copy, 5, &key, b"ad"), Err(CryptoError));
        assert_eq!(decrypt(&mut [0u8; 3], 5, &key, b"ad"), Err(CryptoError));
    }

    #[test]
    fn xchacha_roundtrip() {
        let key = [9u8; 32];
        let nonce = [3u8; 24];
        let mut buf = [1u8; 64];
        assert_eq!(encrypt_x(&mut buf, &nonce, &key, b"x"), Ok(()));
        assert_eq!(decrypt_x(&mut buf, &nonce, &key, b"x"), Ok(()));
        assert_eq!(&buf[..48], &[1u8; 48][..]);
        assert_eq!(decrypt_x(&mut buf, &nonce, &key, b"x"), Err(CryptoError));
    }
}
