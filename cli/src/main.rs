//! The `kaitiaki` command.
fn main() {}
