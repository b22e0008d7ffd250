//! End-to-end tests: several real nodes on loopback, real HTTP, the real `kaitiaki` binary.
