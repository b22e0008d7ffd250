//! Kaitiaki node.
