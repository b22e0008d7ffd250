//! The community pages: render tests on view models, an HTML validity and
//! accessibility check, and browser tests in headless Chromium against a
//! real node seeded with a realistic story through signed statements.

mod browser;
mod html;
mod render;
mod seed;
