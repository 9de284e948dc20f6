//! Missed GT that no anchor could catch. (Being written.)
