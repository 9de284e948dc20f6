//! WGSL backend (stub, being written).
use super::{Backend, BackendChoice};
use crate::error::{Error, Result};

/// Choose the backend as DESIGN.md §2 says. Returns the backend, whether a failure may fall
/// back to the CPU, and a note for the user.
pub fn select(choice: BackendChoice) -> Result<(Box<dyn Backend + Sync>, bool, Option<String>)> {
    match choice {
        BackendChoice::Cpu => Ok((Box::new(super::cpu::Cpu), false, None)),
        BackendChoice::Auto => Ok((Box::new(super::cpu::Cpu), false, Some("no hardware GPU; using the CPU".into()))),
        BackendChoice::Gpu => Err(Error::input("no GPU adapter found").with_hint("install mesa-vulkan-drivers")),
    }
}
