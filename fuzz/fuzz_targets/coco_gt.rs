//! Fuzz target: see `retina_tools::fuzzing::coco_gt` for the property it checks.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| retina_tools::fuzzing::coco_gt(data));
