//! Simulating a full disk in a test process: `RLIMIT_FSIZE`, with `SIGXFSZ` ignored so writes
//! past the limit fail with `EFBIG` instead of killing the process. Shared by the disk-full
//! tests so this is the one place they need `unsafe`.

/// Sets the soft file-size limit of this process to `limit` bytes; returns the previous one.
pub fn set_file_size_limit(limit: libc::rlim_t) -> libc::rlim_t {
    // SAFETY: plain libc calls on this process with valid arguments; the rlimit struct is fully
    // initialised and outlives both calls.
    unsafe {
        assert_ne!(libc::signal(libc::SIGXFSZ, libc::SIG_IGN), libc::SIG_ERR);
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut lim), 0);
        let old = lim.rlim_cur;
        lim.rlim_cur = limit;
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
        old
    }
}
