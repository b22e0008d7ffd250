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
//! machine the targets are set for) cost no waiting, and pages a free
//! leaves unused go back to the system at once ([`CONF`]), as the large
//! buffers of a batch (request bodies, statements, writes) come and go.
//! Measured with `KAITIAKI_BENCH_ONLY=sequencer` on 50 000 leaves: 11 300–
//! 14 200 leaves/s, against 8 400–10 300 with glibc's two arenas; keeping
//! freed pages for a second before handing them back was no faster
//! (12 200–14 700) and held 20 MiB more.

/// jemalloc's options, read before `main` from the symbol below: unused
/// pages go back to the system as soon as they are freed, and threads
/// share two arenas through their own caches.
pub const CONF: &[u8] = b"dirty_decay_ms:0,muzzy_decay_ms:0,narenas:2\0";

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
        // SAFETY: both decay options are `ssize_t` in jemalloc 5.
        let decay = |name: &[u8]| unsafe { tikv_jemalloc_ctl::raw::read::<isize>(name) };
        tikv_jemalloc_ctl::opt::narenas::read() == Ok(ARENAS)
            && decay(b"opt.dirty_decay_ms\0") == Ok(0)
            && decay(b"opt.muzzy_decay_ms\0") == Ok(0)
    }
    #[cfg(not(all(unix, not(miri))))]
    false
}

#[cfg(all(test, unix, not(miri)))]
mod tests {
    use super::*;

    /// The options reach jemalloc: the symbol is found and read (two
    /// arenas, freed pages handed back at once).
    #[test]
    fn the_node_runs_on_jemalloc_with_its_options() {
        assert!(tuned(), "jemalloc did not take the node's options");
    }
}
