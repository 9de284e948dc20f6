//! Likely annotation errors. (Being written.)
