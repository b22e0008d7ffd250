//! The community pages: render tests on view models, an HTML validity and
//! accessibility check, and browser tests in headless Chromium against a
//! real node seeded with a realistic story through signed statements;
//! the HTML 404 for unknown addresses, and witness cosignatures checked on
//! the pages against real witnessing nodes.

mod browser;
mod fallback;
mod html;
mod render;
mod seed;
mod witnessed;
