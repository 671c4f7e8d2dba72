//! Huge pages for big outputs. Writing a fresh 80 MB vector faults in
//! 20,000 pages of 4 KiB, which costs more than the writing itself (an
//! indexed `collect` of 10M `u64` spends about two thirds of its time
//! there); with transparent huge pages the kernel maps 2 MiB at a time.
//!
//! Invariant: this is advice only. `madvise(MADV_HUGEPAGE)` changes no byte
//! and no permission of the range; it is given only for whole 2 MiB blocks
//! inside spare capacity the caller owns and is about to write in full, so
//! no memory is mapped that would not be touched anyway. Where transparent
//! huge pages are off (or not Linux, or under Miri) nothing happens.
//!
//! Trade-off: with the kernel's `defrag` setting at `madvise` (a common
//! default), a fault in advised memory may compact memory to find a free
//! 2 MiB block; on a badly fragmented machine that can make the first
//! write slower instead of faster. The kernel falls back to small pages
//! when it finds none, so the output is correct either way.

/// Outputs smaller than this are left alone: the advice is a system call.
const AT_LEAST: usize = 4 << 20;
/// The huge page size on x86_64 and aarch64 (4 KiB base pages).
const HUGE: usize = 2 << 20;

/// Advises the kernel to back the whole 2 MiB blocks of `bytes` bytes at
/// `start` with huge pages. `start..start + bytes` must be memory the caller
/// owns (a vector's spare capacity).
pub(crate) fn advise_huge(start: *mut u8, bytes: usize) {
    if bytes < AT_LEAST {
        return;
    }
    #[cfg(all(target_os = "linux", not(miri), not(loom)))]
    {
        let first = (start as usize).next_multiple_of(HUGE);
        let end = (start as usize + bytes) / HUGE * HUGE;
        if end > first {
            // SAFETY: the range lies inside memory the caller owns (see
            // above); MADV_HUGEPAGE only changes how the kernel backs it,
            // never its contents or access. A failure (THP not built in)
            // leaves things as they were, so the result is ignored.
            unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(all(target_os = "linux", not(miri), not(loom))))]
    let _ = (start, HUGE);
}
