//! The node's allocator: threads that do not wait on one another to
//! allocate, and resident memory that stays flat as the logs grow.
//!
//! Every thread of a node allocates and frees what others allocated: the
//! HTTP workers (request bodies, statements), the sequence thread
//! (governance records), the commit thread (sled writes) and sled's own.
//! glibc's allocator made the node choose between two faults. With an arena
//! per contending thread (its default), freed memory scattered over arenas
//! that never handed it back: 252 MiB resident on the append benchmark at
//! 10⁵ leaves, against 158 MiB with two arenas. With two arenas, the
//! threads took turns on the arenas' locks: the sequence thread slept on one
//! about once per statement (47 000 times for 50 000 leaves), in `malloc`
//! and `free`.
//!
//! So the node runs on jemalloc, as the global allocator of every program
//! that links this crate. Each thread allocates from a cache of its own and
//! rarely touches a shared arena, so two arenas (one per core of the
//! machine the targets are set for) cost no waiting; a background thread
//! returns freed pages to the system within about a second ([`CONF`]).
//! Measured with `KAITIAKI_BENCH_ONLY=sequencer` on 50 000 leaves: 12 900 and
//! 16 500 leaves/s, against 8 400–10 300 with glibc's two arenas.
//!
//! [`release_free_memory`] returns free pages at once: the commit thread
//! calls it every couple of seconds while writes come and once more when
//! they stop, so the idle figure does not wait for the decay.

/// jemalloc's options, read before `main` from the symbol below: a
/// background thread purges unused pages, dirty pages go back within a
/// second, and threads share two arenas through their own caches.
pub const CONF: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2\0";

/// Arenas jemalloc shares among threads (see [`CONF`]).
pub const ARENAS: u32 = 2;

#[cfg(all(unix, not(miri)))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

// jemalloc (built with its symbols prefixed) reads its options from this
// C string at its first allocation.
#[cfg(all(unix, not(miri)))]
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
static malloc_conf: Option<&'static u8> = Some(&CONF[0]);

/// Whether the process runs on jemalloc with [`CONF`]: `false` where the
/// node cannot use it, or when something overrode the options.
pub fn tuned() -> bool {
    #[cfg(all(unix, not(miri)))]
    {
        // Keeps the options' symbol in every binary that opens a node.
        std::hint::black_box(&malloc_conf);
        let arenas = tikv_jemalloc_ctl::opt::narenas::read();
        let background = tikv_jemalloc_ctl::opt::background_thread::read();
        matches!((arenas, background), (Ok(ARENAS), Ok(true)))
    }
    #[cfg(not(all(unix, not(miri))))]
    false
}

/// Returns every arena's unused pages to the system now; `false` if the
/// allocator refused (or is not jemalloc). Costs a walk over the arenas:
/// call it now and then, not per request.
pub fn release_free_memory() -> bool {
    #[cfg(all(unix, not(miri)))]
    {
        // "arena.<MALLCTL_ARENAS_ALL>.purge": every arena, no argument.
        const PURGE_ALL: &[u8] = b"arena.4096.purge\0";
        // SAFETY: the name is a NUL-terminated mallctl name; a purge reads
        // and writes nothing, so every pointer is null and the length 0.
        let status = unsafe {
            tikv_jemalloc_sys::mallctl(
                PURGE_ALL.as_ptr().cast(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            )
        };
        status == 0
    }
    #[cfg(not(all(unix, not(miri))))]
    false
}

#[cfg(all(test, unix, not(miri)))]
mod tests {
    use super::*;

    /// The options reach jemalloc: the symbol is found and read.
    #[test]
    fn the_node_runs_on_jemalloc_with_its_options() {
        assert!(tuned(), "jemalloc did not take the node's options");
        assert_eq!(tikv_jemalloc_ctl::opt::narenas::read().ok(), Some(ARENAS));
        assert!(release_free_memory(), "jemalloc refused to purge");
    }
}
