//! Keeping the node's resident memory flat as its logs grow.
//!
//! The node holds neither its logs nor its trees in memory, but the C
//! allocator can still make its footprint grow: glibc gives each thread
//! that meets contention an arena of its own (up to eight per core), and
//! the sequencer, commit and HTTP threads free what others allocated, so
//! freed memory scatters over arenas that never hand it back. Measured on
//! the append benchmark at 10⁵ leaves: 252 MiB resident with glibc's
//! defaults, 158 MiB with arenas limited.
//!
//! [`tune_allocator`] limits the arenas; [`release_free_memory`] returns
//! free pages to the system, which the commit thread does every couple of
//! seconds while writes come and once more when they stop. Both do nothing
//! where the allocator is not glibc's.

/// Arenas glibc may create: enough that the sequencer and the HTTP threads
/// rarely wait on one another, few enough that free memory is not spread thin.
pub const ARENAS: i32 = 2;

/// Limits glibc's arenas to [`ARENAS`] for the whole process. Call before
/// starting threads; [`crate::Node::open`] does.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; any value is
    // accepted and an unsupported one is ignored.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
    }
}

/// Returns free memory at the top of the heap and in whole free pages to
/// the system. Costs a walk over the allocator's free lists: call it now
/// and then, not per request.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}
