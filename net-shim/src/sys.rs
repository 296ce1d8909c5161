//! Small operating-system helpers for the drivers and load tools (never used by the sans-IO state
//! machines): a thread's CPU time, a socket's kernel drop counter and receive buffer, and a timer
//! with sub-millisecond precision that a mio loop can wait on.
//!
//! mio's poll timeout is rounded up to whole milliseconds (epoll's unit), so a loop that waits for a
//! deadline with it wakes up to a millisecond late. [`Timer`] is a Linux `timerfd` registered with the
//! poll instead: it fires at the deadline to within the kernel's timer slack (tens of µs).
#![allow(unsafe_code)] // the syscalls themselves; every unsafe block says why it is sound.

use std::io;
use std::time::Duration;

/// CPU time (user + system) the calling thread has used, if the platform tells.
pub fn thread_cpu_time() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: `ru` is a valid, writable rusage; RUSAGE_THREAD only reads the calling thread.
        let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, ru.as_mut_ptr()) };
        if rc != 0 {
            return None;
        }
        // SAFETY: getrusage succeeded, so it wrote the whole struct (and it was zeroed before).
        let ru = unsafe { ru.assume_init() };
        let us = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
        Some(us(ru.ru_utime) + us(ru.ru_stime))
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Datagrams the kernel dropped on this socket because its receive buffer was full (the socket's
/// drop counter, `SO_MEMINFO`'s `SK_MEMINFO_DROPS`), if the platform tells.
#[cfg(unix)]
pub fn socket_drops(fd: std::os::fd::RawFd) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let mut info = [0u32; 16];
        let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
        // SAFETY: `info` is writable for `len` bytes; the kernel writes at most `len` and updates it.
        let rc =
            unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_MEMINFO, info.as_mut_ptr().cast(), &mut len) };
        if rc != 0 || (len as usize) <= libc::SK_MEMINFO_DROPS as usize * 4 {
            return None;
        }
        Some(u64::from(info[libc::SK_MEMINFO_DROPS as usize]))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = fd;
        None
    }
}

/// A monotonic timer with nanosecond resolution that mio can poll (a `timerfd` on Linux). Elsewhere it
/// is inert and loops fall back to the poll timeout.
#[derive(Debug)]
pub struct Timer {
    #[cfg(target_os = "linux")]
    fd: std::os::fd::OwnedFd,
}

impl Timer {
    /// A disarmed timer, or `None` where the platform has none.
    pub fn new() -> io::Result<Option<Timer>> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::FromRawFd;
            // SAFETY: a plain syscall with constant flags; the result is checked.
            let fd = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` was just created and is owned by nobody else.
            Ok(Some(Timer { fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) } }))
        }
        #[cfg(not(target_os = "linux"))]
        Ok(None)
    }

    /// Arms the timer to fire once `after` from now (a zero `after` fires at once); replaces any earlier
    /// setting and clears a pending expiry.
    pub fn arm(&self, after: Duration) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // A zero it_value would disarm: the earliest deadline is 1 ns away.
            let after = after.max(Duration::from_nanos(1));
            let spec = libc::itimerspec {
                it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
                it_value: libc::timespec {
                    tv_sec: after.as_secs().min(i32::MAX as u64) as libc::time_t,
                    tv_nsec: libc::c_long::from(after.subsec_nanos() as i32),
                },
            };
            // SAFETY: `spec` is a valid itimerspec; the old value is not asked for (null).
            let rc = unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = after;
        Ok(())
    }

    /// Consumes a pending expiry (so that the next one signals readiness again).
    pub fn clear(&self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let mut ticks = 0u64;
            // SAFETY: reads at most 8 bytes into `ticks`; non-blocking, so EAGAIN when nothing expired.
            let _ = unsafe { libc::read(self.fd.as_raw_fd(), (&mut ticks as *mut u64).cast(), 8) };
        }
    }

    /// Registers the timer with a poll under `token` (readable when it fires).
    pub fn register(&self, registry: &mio::Registry, token: mio::Token) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            registry.register(&mut mio::unix::SourceFd(&self.fd.as_raw_fd()), token, mio::Interest::READABLE)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (registry, token);
            Ok(())
        }
    }
}
