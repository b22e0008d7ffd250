//! Integration tests of the protocol crate: known answers, vectors, properties.

mod evidence;
mod fixtures;
mod fuzz_corpus;
mod merkle;
mod note;
mod statement;
mod vectors;
