//! Bounds-checked little-endian cursors over byte slices (never panic, never allocate).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Buffer too short for a read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Short;

/// Address type tags as written by the reference implementation (netcode.c) and renetcode.
pub(crate) const ADDRESS_IPV4: u8 = 1;
pub(crate) const ADDRESS_IPV6: u8 = 2;

#[derive(Debug)]
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) -> Result<(), Short> {
        let end = self.pos.checked_add(b.len()).ok_or(Short)?;
        self.buf.get_mut(self.pos..end).ok_or(Short)?.copy_from_slice(b);
        self.pos = end;
        Ok(())
    }

    pub(crate) fn u8(&mut self, v: u8) -> Result<(), Short> {
        self.bytes(&[v])
    }

    pub(crate) fn u16(&mut self, v: u16) -> Result<(), Short> {
        self.bytes(&v.to_le_bytes())
    }

    pub(crate) fn u32(&mut self, v: u32) -> Result<(), Short> {
        self.bytes(&v.to_le_bytes())
    }

    pub(crate) fn u64(&mut self, v: u64) -> Result<(), Short> {
        self.bytes(&v.to_le_bytes())
    }

    /// Writes `[count: u32]` then each address as the standard says (IPv6 as eight little-endian u16 groups).
    pub(crate) fn addresses(&mut self, addrs: &[SocketAddr]) -> Result<(), Short> {
        self.u32(u32::try_from(addrs.len()).map_err(|_| Short)?)?;
        for a in addrs {
            match a.ip() {
                IpAddr::V4(ip) => {
                    self.u8(ADDRESS_IPV4)?;
                    self.bytes(&ip.octets())?;
                }
                IpAddr::V6(ip) => {
                    self.u8(ADDRESS_IPV6)?;
                    for g in ip.segments() {
                        self.u16(g)?;
                    }
                }
            }
            self.u16(a.port())?;
        }
        Ok(())
    }
}

#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn slice(&mut self, n: usize) -> Result<&'a [u8], Short> {
        let end = self.pos.checked_add(n).ok_or(Short)?;
        let s = self.buf.get(self.pos..end).ok_or(Short)?;
        self.pos = end;
        Ok(s)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Short> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.slice(N)?);
        Ok(out)
    }

    pub(crate) fn array_ref<const N: usize>(&mut self) -> Result<&'a [u8; N], Short> {
        self.slice(N)?.try_into().map_err(|_| Short)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Short> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Short> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Short> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Short> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads an address list into `out`; returns how many were read. Fails on a count outside [1, 32] or an
    /// unknown address type.
    pub(crate) fn addresses(&mut self, out: &mut [SocketAddr; 32]) -> Result<usize, Short> {
        let n = self.u32()? as usize;
        if n == 0 || n > out.len() {
            return Err(Short);
        }
        for slot in out.iter_mut().take(n) {
            let ip = match self.u8()? {
                ADDRESS_IPV4 => IpAddr::V4(Ipv4Addr::from(self.array::<4>()?)),
                ADDRESS_IPV6 => {
                    let mut g = [0u16; 8];
                    for x in g.iter_mut() {
                        *x = self.u16()?;
                    }
                    IpAddr::V6(Ipv6Addr::from(g))
                }
                _ => return Err(Short),
            };
            *slot = SocketAddr::new(ip, self.u16()?);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_bounds_checked() {
        let mut buf = [0u8; 10];
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.u64(0x0102_0304_0506_0708), Ok(()));
        assert_eq!(w.u32(1), Err(Short));
        assert_eq!(w.u16(0xaabb), Ok(()));
        assert_eq!(w.pos(), 10);
        let mut r = Reader::new(&buf);
        assert_eq!(r.u64(), Ok(0x0102_0304_0506_0708));
        assert_eq!(r.u16(), Ok(0xaabb));
        assert_eq!(r.u8(), Err(Short));
    }

    #[test]
    fn addresses_roundtrip() {
        let addrs = [SocketAddr::from(([10, 1, 2, 3], 4000)), SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, 7], 9))];
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        assert_eq!(w.addresses(&addrs), Ok(()));
        assert_eq!(w.pos(), 4 + 7 + 19);
        let mut out = [SocketAddr::from(([0; 4], 0)); 32];
        assert_eq!(Reader::new(&buf).addresses(&mut out), Ok(2));
        assert_eq!(&out[..2], &addrs);
        buf[4] = 3;
        assert_eq!(Reader::new(&buf).addresses(&mut out), Err(Short));
    }
}
