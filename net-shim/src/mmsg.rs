//! Batched datagram syscalls: `recvmmsg` / `sendmmsg` on Linux, one datagram per call elsewhere.
//!
//! A batch owns its buffers, addresses and message headers, allocated once: receiving or sending a
//! batch allocates nothing. The drivers read a socket until `WouldBlock` one batch at a time and
//! send what the endpoint produced in batches too, so a busy relay makes one syscall per batch of up
//! to [`BATCH`] datagrams instead of one per datagram.
#![allow(unsafe_code)] // the syscalls themselves; every unsafe block says why it is sound.

use std::io;
use std::net::SocketAddr;

use arrayvec::ArrayVec;
use mio::net::UdpSocket;

/// Datagrams per batch.
pub const BATCH: usize = 32;
/// The largest datagram a batch receives (longer ones are truncated, and then rejected by the
/// protocol's length checks).
pub const DATAGRAM: usize = 2048;

/// A received datagram: its length in the buffer of the same index, and its sender (`None`: an
/// address family this crate does not know).
#[derive(Debug, Clone, Copy)]
struct Received {
    len: usize,
    from: Option<SocketAddr>,
}

/// A datagram to send: its length in the buffer of the same index, and where to.
#[derive(Debug, Clone, Copy)]
struct Queued {
    len: usize,
    to: SocketAddr,
}

/// Received datagrams.
///
/// The entries are an `ArrayVec` (its length is the batch's, its capacity [`BATCH`]: no count kept
/// beside parallel arrays); the 64 KiB of buffers stay one `Vec` of full-size slots that the kernel
/// writes into, allocated once.
pub struct RecvBatch {
    bufs: Vec<[u8; DATAGRAM]>,
    got: ArrayVec<Received, BATCH>,
    #[cfg(target_os = "linux")]
    sys: linux::Headers,
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch").field("len", &self.got.len()).finish_non_exhaustive()
    }
}

impl Default for RecvBatch {
    fn default() -> Self {
        RecvBatch {
            bufs: vec![[0; DATAGRAM]; BATCH],
            got: ArrayVec::new(),
            #[cfg(target_os = "linux")]
            sys: linux::Headers::new(BATCH),
        }
    }
}

impl RecvBatch {
    /// Receives up to [`BATCH`] datagrams without blocking; `Ok(0)` when none is waiting.
    pub fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.got.clear();
        #[cfg(target_os = "linux")]
        linux::recv(socket, &mut self.sys, &mut self.bufs, &mut self.got)?;
        #[cfg(not(target_os = "linux"))]
        while !self.got.is_full() {
            match socket.recv_from(&mut self.bufs[self.got.len()]) {
                Ok((len, from)) => self.got.push(Received { len, from: Some(from) }),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(self.got.len())
    }

    /// Datagram `i` of the last batch and its sender (datagrams from unknown address families are
    /// skipped: `None`).
    pub fn get(&self, i: usize) -> Option<(SocketAddr, &[u8])> {
        let e = self.got.get(i)?;
        e.from.map(|from| (from, &self.bufs[i][..e.len]))
    }
}

/// Datagrams waiting to be sent (entries and buffers as in [`RecvBatch`]).
pub struct SendBatch {
    bufs: Vec<[u8; DATAGRAM]>,
    queued: ArrayVec<Queued, BATCH>,
    #[cfg(target_os = "linux")]
    sys: linux::Headers,
}

impl std::fmt::Debug for SendBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendBatch").field("len", &self.queued.len()).finish_non_exhaustive()
    }
}

impl Default for SendBatch {
    fn default() -> Self {
        SendBatch {
            bufs: vec![[0; DATAGRAM]; BATCH],
            queued: ArrayVec::new(),
            #[cfg(target_os = "linux")]
            sys: linux::Headers::new(BATCH),
        }
    }
}

/// What a flush did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    /// Datagrams sent.
    pub datagrams: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Datagrams the socket refused (a full send buffer, an unreachable address): dropped.
    pub dropped: u64,
}

impl SendBatch {
    /// Queues a datagram; when the batch is full it is sent first (into `sent`).
    pub fn push(&mut self, socket: &UdpSocket, to: SocketAddr, bytes: &[u8], sent: &mut Sent) {
        if bytes.len() > DATAGRAM {
            sent.dropped += 1;
            return;
        }
        if self.queued.is_full() {
            self.flush(socket, sent);
        }
        self.bufs[self.queued.len()][..bytes.len()].copy_from_slice(bytes);
        self.queued.push(Queued { len: bytes.len(), to });
    }

    /// Sends every queued datagram. UDP may drop: what the socket refuses is counted, not retried
    /// (the protocols resend).
    pub fn flush(&mut self, socket: &UdpSocket, sent: &mut Sent) {
        let n = self.queued.len();
        let mut i = 0;
        while i < n {
            #[cfg(target_os = "linux")]
            let done = linux::send(socket, &mut self.sys, &self.bufs[i..n], &self.queued[i..]);
            #[cfg(not(target_os = "linux"))]
            let done = socket.send_to(&self.bufs[i][..self.queued[i].len], self.queued[i].to).map(|_| 1);
            match done {
                Ok(k) if k > 0 => {
                    for e in &self.queued[i..i + k] {
                        sent.datagrams += 1;
                        sent.bytes += e.len as u64;
                    }
                    i += k;
                }
                // Refused (or nothing went out): drop the first and go on with the rest.
                _ => {
                    sent.dropped += 1;
                    i += 1;
                }
            }
        }
        self.queued.clear();
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::mem::{size_of, zeroed};
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
    use std::os::fd::AsRawFd;

    use arrayvec::ArrayVec;
    use mio::net::UdpSocket;

    use super::{Queued, Received, BATCH, DATAGRAM};

    /// The kernel-facing arrays of a batch, allocated once.
    pub struct Headers {
        hdrs: Vec<libc::mmsghdr>,
        iovs: Vec<libc::iovec>,
        addrs: Vec<libc::sockaddr_storage>,
    }

    // SAFETY: the raw pointers inside the headers only ever point into buffers of the batch that
    // owns them, and are rewritten before every syscall; nothing is shared between threads.
    unsafe impl Send for Headers {}

    impl Headers {
        pub fn new(n: usize) -> Self {
            // SAFETY: all-zero bytes are valid values of these plain C structs.
            let (hdr, iov, addr) = unsafe { (zeroed(), zeroed(), zeroed()) };
            Headers { hdrs: vec![hdr; n], iovs: vec![iov; n], addrs: vec![addr; n] }
        }
    }

    fn to_std(a: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
        match i32::from(a.ss_family) {
            libc::AF_INET if len as usize >= size_of::<libc::sockaddr_in>() => {
                // SAFETY: the family says the storage holds a sockaddr_in, which it is large and
                // aligned enough for.
                let v4 = unsafe { &*(a as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
                let ip = Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
                Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(v4.sin_port))))
            }
            libc::AF_INET6 if len as usize >= size_of::<libc::sockaddr_in6>() => {
                // SAFETY: as above, for sockaddr_in6.
                let v6 = unsafe { &*(a as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
                let ip = Ipv6Addr::from(v6.sin6_addr.s6_addr);
                Some(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    u16::from_be(v6.sin6_port),
                    v6.sin6_flowinfo,
                    v6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    fn from_std(addr: SocketAddr, out: &mut libc::sockaddr_storage) -> libc::socklen_t {
        // SAFETY: all-zero bytes are a valid sockaddr_storage.
        *out = unsafe { zeroed() };
        match addr {
            SocketAddr::V4(a) => {
                // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in.
                let v4 = unsafe { &mut *(out as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
                v4.sin_family = libc::AF_INET as libc::sa_family_t;
                v4.sin_port = a.port().to_be();
                v4.sin_addr.s_addr = u32::from(*a.ip()).to_be();
                size_of::<libc::sockaddr_in>() as libc::socklen_t
            }
            SocketAddr::V6(a) => {
                // SAFETY: as above, for sockaddr_in6.
                let v6 = unsafe { &mut *(out as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
                v6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                v6.sin6_port = a.port().to_be();
                v6.sin6_addr.s6_addr = a.ip().octets();
                v6.sin6_flowinfo = a.flowinfo();
                v6.sin6_scope_id = a.scope_id();
                size_of::<libc::sockaddr_in6>() as libc::socklen_t
            }
        }
    }

    // Parallel arrays (headers, iovecs, addresses, buffers) are filled by one index.
    #[allow(clippy::needless_range_loop)]
    pub fn recv(
        socket: &UdpSocket,
        h: &mut Headers,
        bufs: &mut [[u8; DATAGRAM]],
        got: &mut ArrayVec<Received, BATCH>,
    ) -> io::Result<usize> {
        let n = bufs.len().min(h.hdrs.len()).min(got.remaining_capacity());
        for i in 0..n {
            h.iovs[i] = libc::iovec { iov_base: bufs[i].as_mut_ptr().cast(), iov_len: DATAGRAM };
            // SAFETY: all-zero bytes are a valid msghdr; the pointers set below outlive the call.
            h.hdrs[i] = unsafe { zeroed() };
            h.hdrs[i].msg_hdr.msg_name = (&mut h.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.hdrs[i].msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.hdrs[i].msg_hdr.msg_iov = &mut h.iovs[i];
            h.hdrs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `hdrs[..n]` are initialized headers whose buffers and address slots belong to this
        // batch and stay alive and unaliased for the call; the fd is the socket's, open.
        let received = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                h.hdrs.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if received < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::WouldBlock { Ok(0) } else { Err(e) };
        }
        let k = (received as usize).min(n);
        for i in 0..k {
            got.push(Received {
                len: (h.hdrs[i].msg_len as usize).min(DATAGRAM),
                from: to_std(&h.addrs[i], h.hdrs[i].msg_hdr.msg_namelen),
            });
        }
        Ok(k)
    }

    #[allow(clippy::needless_range_loop)]
    pub fn send(socket: &UdpSocket, h: &mut Headers, bufs: &[[u8; DATAGRAM]], queued: &[Queued]) -> io::Result<usize> {
        let n = bufs.len().min(h.hdrs.len()).min(queued.len());
        for i in 0..n {
            let len = from_std(queued[i].to, &mut h.addrs[i]);
            h.iovs[i] = libc::iovec { iov_base: bufs[i].as_ptr() as *mut libc::c_void, iov_len: queued[i].len };
            // SAFETY: all-zero bytes are a valid msghdr; the pointers set below outlive the call.
            h.hdrs[i] = unsafe { zeroed() };
            h.hdrs[i].msg_hdr.msg_name = (&mut h.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.hdrs[i].msg_hdr.msg_namelen = len;
            h.hdrs[i].msg_hdr.msg_iov = &mut h.iovs[i];
            h.hdrs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `hdrs[..n]` are initialized headers pointing at this batch's buffers (read only by
        // the kernel) and address slots, alive for the call; the fd is the socket's, open.
        let sent =
            unsafe { libc::sendmmsg(socket.as_raw_fd(), h.hdrs.as_mut_ptr(), n as libc::c_uint, libc::MSG_DONTWAIT) };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(sent as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(addr: &str) -> Option<(UdpSocket, UdpSocket)> {
        let a = UdpSocket::bind(addr.parse().ok()?).ok()?;
        let b = UdpSocket::bind(addr.parse().ok()?).ok()?;
        Some((a, b))
    }

    #[test]
    fn a_batch_goes_out_and_comes_back_whole() {
        for addr in ["127.0.0.1:0", "[::1]:0"] {
            // IPv6 loopback may be missing on a test machine; IPv4 is always there.
            let Some((a, b)) = pair(addr) else { continue };
            let to = b.local_addr().expect("addr");
            let mut out = SendBatch::default();
            let mut sent = Sent::default();
            for i in 0..100u32 {
                let len = (i as usize * 13) % 1200 + 1;
                let bytes: Vec<u8> = (0..len).map(|k| (k as u32 ^ i) as u8).collect();
                out.push(&a, to, &bytes, &mut sent);
            }
            out.flush(&a, &mut sent);
            assert_eq!((sent.datagrams, sent.dropped), (100, 0), "{addr}");
            let mut inb = RecvBatch::default();
            let mut got = Vec::new();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while got.len() < 100 && std::time::Instant::now() < deadline {
                let n = inb.recv(&b).expect("recv");
                for i in 0..n {
                    let (from, bytes) = inb.get(i).expect("an address");
                    assert_eq!(from, a.local_addr().expect("addr"));
                    got.push(bytes.to_vec());
                }
                if n == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
            assert_eq!(got.len(), 100, "{addr}");
            for (i, bytes) in got.iter().enumerate() {
                let len = (i * 13) % 1200 + 1;
                assert!(bytes.len() == len && bytes.iter().enumerate().all(|(k, &b)| b == (k as u32 ^ i as u32) as u8));
            }
        }
    }
}
