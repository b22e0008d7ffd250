//! Kaitiaki governance.
