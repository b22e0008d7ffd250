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
//! Large buffers (request bodies, a batch's statements and writes) come and
//! go with every batch. glibc serves them from its heap once it has seen
//! one freed (its mmap threshold rises to the largest freed so far), and
//! what they leave free stays resident until the next trim. Measured on the
//! append benchmark at 10⁵ leaves: 151.6 MiB resident just after the last
//! write with that default, 125.2 MiB with the threshold fixed at
//! [`MMAP_THRESHOLD`], so that such buffers are mapped and unmapped whole.
//!
//! [`tune_allocator`] limits the arenas and fixes the threshold;
//! [`release_free_memory`] returns free pages to the system, which the
//! commit thread does every couple of seconds while writes come and once
//! more when they stop. Both do nothing where the allocator is not glibc's.

/// Arenas glibc may create: enough that the sequencer and the HTTP threads
/// rarely wait on one another, few enough that free memory is not spread thin.
pub const ARENAS: i32 = 2;

/// Allocations of at least this many bytes are mapped on their own and
/// handed back when freed.
pub const MMAP_THRESHOLD: i32 = 256 * 1024;

/// Limits glibc's arenas to [`ARENAS`] and fixes its mmap threshold at
/// [`MMAP_THRESHOLD`] for the whole process. Call before starting threads;
/// [`crate::Node::open`] does.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; any value is
    // accepted and an unsupported one is ignored.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
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
