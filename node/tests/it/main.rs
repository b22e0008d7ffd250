//! Integration tests of the node: real sled in temporary directories, real
//! HTTP on 127.0.0.1:0.

mod attachments;
mod events;
mod federation;
mod federation_faults;
mod federation_limits;
mod federation_rules;
mod governance;
mod harness;
mod ops;
mod pages;
mod reads;
mod recovery;
mod rejections;
mod support;
mod tiles;
mod witness;
mod write;
