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

/// Sets a socket's receive and send buffers to `bytes` each: `SO_RCVBUFFORCE`/`SO_SNDBUFFORCE` where
/// the process may (root, `CAP_NET_ADMIN`), else the plain options (capped by `net.core.rmem_max` /
/// `wmem_max`). Returns the receive buffer the kernel granted (it reports twice the request, its
/// bookkeeping included).
#[cfg(unix)]
pub fn set_socket_buffers(fd: std::os::fd::RawFd, bytes: usize) -> io::Result<usize> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    let set = |name: libc::c_int| {
        // SAFETY: passes a pointer to a live c_int and its size.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                name,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    #[cfg(target_os = "linux")]
    {
        if set(libc::SO_RCVBUFFORCE).is_err() {
            set(libc::SO_RCVBUF)?;
        }
        if set(libc::SO_SNDBUFFORCE).is_err() {
            set(libc::SO_SNDBUF)?;
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        set(libc::SO_RCVBUF)?;
        set(libc::SO_SNDBUF)?;
    }
    let mut got: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `got` is writable for `len` bytes.
    let rc = unsafe {
        libc::getsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, (&mut got as *mut libc::c_int).cast(), &mut len)
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(got).unwrap_or(0))
}

/// A loop's wake-up timer: a [`Timer`] armed for the next deadline (re-armed only when the deadline
/// changes), with mio's millisecond poll timeout as the fallback where there is no timer.
#[derive(Debug)]
pub struct DeadlineTimer {
    timer: Option<Timer>,
    armed: Option<Duration>,
}

impl DeadlineTimer {
    /// A timer registered with `registry` under `token` (inert where the platform has none).
    pub fn new(registry: &mio::Registry, token: mio::Token) -> io::Result<Self> {
        let timer = Timer::new()?;
        if let Some(t) = &timer {
            t.register(registry, token)?;
        }
        Ok(DeadlineTimer { timer, armed: None })
    }

    /// The poll timeout for waiting from `now` until `deadline` (both on the caller's clock), at most
    /// `max_wait`: the timer is armed to fire at the deadline and the returned timeout is a fallback a
    /// little later. A deadline already past gives zero.
    pub fn wait(&mut self, now: Duration, deadline: Option<Duration>, max_wait: Duration) -> io::Result<Duration> {
        let Some(deadline) = deadline.filter(|&d| d < now + max_wait) else { return Ok(max_wait) };
        let wait = deadline.saturating_sub(now);
        match &self.timer {
            Some(t) if !wait.is_zero() => {
                if self.armed != Some(deadline) {
                    t.arm(wait)?;
                    self.armed = Some(deadline);
                }
                Ok(wait + Duration::from_millis(2))
            }
            _ => Ok(wait),
        }
    }
}
