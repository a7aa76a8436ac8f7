//! The allocator settings of the `blindfold` binary (and of the tests that
//! run large sessions): mimalloc, keeping freed memory for reuse.

/// Keeps freed memory mapped and committed for reuse: Pond's comparison
/// keys come in buffers of hundreds of MB, and returning them to the OS
/// made a third of a CNN prediction's time the kernel zeroing fresh pages.
pub fn keep_freed_memory() {
    // mimalloc v3's option numbers (mimalloc.h): arena_eager_commit = 4,
    // purge_delay = 15 (−1: never purge).
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: plain setters of the allocator's options (mimalloc reads them
    // when it needs them).
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 1);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, -1);
    }
}
