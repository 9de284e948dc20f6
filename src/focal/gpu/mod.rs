//! The WGSL backend on wgpu: device acquisition ([`Gpu::open`]) is separate from the compute
//! ([`Gpu::sums`]), which takes the device and queue, reuses one pipeline and one set of buffers,
//! and walks the rows in chunks sized by the adapter's real limits. Every wgpu call that can fail
//! runs inside error scopes, so a shader or device failure is an [`Error`], never a panic.
//! Sums are per-invocation f32 partials (Kahan) added on the host in f64; no float atomics.

use super::input::FocalInput;
use super::stats::Bins;
use super::{Backend, BackendChoice, Config, Sums, MAX_GAMMAS};
use crate::error::{Error, Result};
use crate::progress::Progress;
use std::sync::mpsc;

/// The shader, in its own file; validated by naga in the tests.
pub const SHADER: &str = include_str!("focal.wgsl");
/// Rows one invocation sums (Kahan-compensated) per class.
const ROWS_PER_THREAD: u32 = 64;
const WORKGROUP: u32 = 256;
/// Keep one dispatch to ~32M elements (display-driving GPUs reset long dispatches).
const MAX_CHUNK_ELEMENTS: u64 = 32 << 20;

/// A wgpu device with the focal pipeline built.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
}

/// Backends wgpu may use: Vulkan, Metal, DX12 (and GL with the `gles` feature).
fn backends() -> wgpu::Backends {
    let b = wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12;
    if cfg!(feature = "gles") {
        b | wgpu::Backends::GL
    } else {
        b
    }
}

fn is_software(info: &wgpu::AdapterInfo) -> bool {
    info.device_type == wgpu::DeviceType::Cpu
}

fn describe(info: &wgpu::AdapterInfo) -> String {
    format!(
        "{} ({:?}, {})",
        info.name,
        info.backend,
        if info.driver_info.is_empty() {
            &info.driver
        } else {
            &info.driver_info
        }
    )
}

/// What adapters exist: the best hardware one, else a software one, else none.
pub enum Found {
    Hardware(wgpu::Adapter),
    Software(wgpu::Adapter),
    None(String),
}

/// Mesa prints "error: XDG_RUNTIME_DIR is invalid or not set" when the instance is created
/// without it (harmless, but it reads like one of our errors): give it a private directory.
fn quiet_mesa() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        let dir = std::env::temp_dir().join("retina-tools-xdg");
        if std::fs::create_dir_all(&dir).is_ok() {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
            }
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
        }
    }
}

/// Look for adapters (honours `WGPU_BACKEND` and `WGPU_ADAPTER_NAME`).
pub fn find_adapter() -> Found {
    quiet_mesa();
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends();
    let desc = desc.with_env();
    let want = desc.backends;
    let instance = wgpu::Instance::new(desc);
    let mut adapters = pollster::block_on(instance.enumerate_adapters(want));
    if let Ok(name) = std::env::var("WGPU_ADAPTER_NAME") {
        let name = name.to_lowercase();
        adapters.retain(|a| a.get_info().name.to_lowercase().contains(&name));
    }
    let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    adapters.retain(|a| {
        a.get_downlevel_capabilities()
            .flags
            .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
    });
    adapters.sort_by_key(rank);
    match adapters.into_iter().next() {
        Some(a) if is_software(&a.get_info()) => Found::Software(a),
        Some(a) => Found::Hardware(a),
        None => Found::None(
            "no wgpu adapter with compute shaders (Vulkan, Metal or DX12) was found".into(),
        ),
    }
}

fn gpu_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("GPU: {}: {}", what, e))
}

/// Run `f` inside validation and out-of-memory error scopes; a captured error becomes an `Err`.
fn scoped<T>(device: &wgpu::Device, what: &str, f: impl FnOnce() -> T) -> Result<T> {
    let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let val = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let out = f();
    let v = pollster::block_on(val.pop());
    let o = pollster::block_on(oom.pop());
    if let Some(e) = v.or(o) {
        return Err(gpu_err(what, e));
    }
    Ok(out)
}

impl Gpu {
    /// Open a device on `adapter` and build the pipeline.
    pub fn open(adapter: wgpu::Adapter) -> Result<Gpu> {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("retina-tools focal"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| gpu_err("cannot open the device", e))?;
        // Errors outside our scopes must not panic (wgpu's default handler does).
        device.on_uncaptured_error(std::sync::Arc::new(|e: wgpu::Error| {
            eprintln!("note: GPU error: {}", e)
        }));
        let pipeline = scoped(&device, "cannot build the shader", || {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("focal.wgsl"),
                source: wgpu::ShaderSource::Wgsl(SHADER.into()),
            });
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some("focal"),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            })
        })?;
        Ok(Gpu {
            device,
            queue,
            pipeline,
            info,
            limits,
        })
    }

    pub fn adapter_name(&self) -> String {
        describe(&self.info)
    }

    pub fn is_software(&self) -> bool {
        is_software(&self.info)
    }

    /// Largest chunk (in rows) whose logits and partials fit one binding and one buffer.
    fn chunk_rows(&self, classes: usize, k: usize) -> u64 {
        let bind = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        let c = classes as u64;
        let by_logits = bind / 4 / c;
        // Partials: ceil(rows / R) * C * K floats.
        let by_out = (bind / 4 / (c * k as u64)) * ROWS_PER_THREAD as u64;
        let by_dispatch = (MAX_CHUNK_ELEMENTS / c).max(1);
        let by_groups =
            (self.limits.max_compute_workgroups_per_dimension as u64 * WORKGROUP as u64 * 65535
                / c)
                * ROWS_PER_THREAD as u64;
        let r = by_logits.min(by_out).min(by_dispatch).min(by_groups);
        (r / ROWS_PER_THREAD as u64).max(1) * ROWS_PER_THREAD as u64
    }

    /// The sums of every loss, per class and side, chunk by chunk.
    pub fn sums(&self, input: &FocalInput, cfg: &Config, progress: &dyn Progress) -> Result<Sums> {
        let c = input.num_classes;
        let g = cfg.gammas.len();
        if g > MAX_GAMMAS {
            return Err(Error::input(format!("at most {} γ values", MAX_GAMMAS)));
        }
        let k = 6 + 2 * g;
        let chunk = self.chunk_rows(c, k).min(input.rows.max(1) as u64) as usize;
        if (chunk as u64) * (c as u64) * 4
            > self
                .limits
                .max_storage_buffer_binding_size
                .min(self.limits.max_buffer_size)
        {
            return Err(Error::input(format!(
                "one row of {} classes does not fit a GPU buffer",
                c
            ))
            .with_hint("use --backend cpu"));
        }
        let groups_max = chunk.div_ceil(ROWS_PER_THREAD as usize);
        let out_len = (groups_max * c * k) as u64;
        let d = &self.device;
        let (logits_buf, labels_buf, out_buf, read_buf, uni_buf) =
            scoped(d, "cannot allocate buffers", || {
                let mk = |label: &str, size: u64, usage: wgpu::BufferUsages| {
                    d.create_buffer(&wgpu::BufferDescriptor {
                        label: Some(label),
                        size: size.max(16),
                        usage,
                        mapped_at_creation: false,
                    })
                };
                use wgpu::BufferUsages as U;
                (
                    mk("logits", (chunk * c * 4) as u64, U::STORAGE | U::COPY_DST),
                    mk("labels", (chunk * 4) as u64, U::STORAGE | U::COPY_DST),
                    mk("partials", out_len * 4, U::STORAGE | U::COPY_SRC),
                    mk("readback", out_len * 4, U::MAP_READ | U::COPY_DST),
                    mk("params", 96, U::UNIFORM | U::COPY_DST),
                )
            })?;
        let bind = scoped(d, "cannot bind buffers", || {
            d.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("focal"),
                layout: &self.pipeline.get_bind_group_layout(0),
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: uni_buf.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: logits_buf.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: labels_buf.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: out_buf.as_entire_binding(),
                    },
                ],
            })
        })?;
        let mut sums = Sums::zeros(c, g, input.images);
        let mut buf = Vec::new();
        let n_chunks = input.rows.div_ceil(chunk.max(1));
        progress.start("GPU chunks", n_chunks as u64);
        for ci in 0..n_chunks {
            let r0 = ci * chunk;
            let r1 = (r0 + chunk).min(input.rows);
            let rows = r1 - r0;
            let groups = rows.div_ceil(ROWS_PER_THREAD as usize);
            let threads = (groups * c) as u64;
            let wgs = threads.div_ceil(WORKGROUP as u64);
            let max_x = self.limits.max_compute_workgroups_per_dimension.max(1) as u64;
            let (wx, wy) = (wgs.min(max_x) as u32, wgs.div_ceil(max_x) as u32);
            let mut params = [0u32; 24];
            params[0] = rows as u32;
            params[1] = c as u32;
            params[2] = ROWS_PER_THREAD;
            params[3] = g as u32;
            params[4] = (cfg.params.gamma as f32).to_bits();
            params[5] = (cfg.params.fl_star_gamma as f32).to_bits();
            params[6] = (cfg.params.fl_star_beta as f32).to_bits();
            for (i, &gm) in cfg.gammas.iter().enumerate() {
                params[8 + i] = (gm as f32).to_bits();
            }
            let logits = input.row_block(r0, r1, &mut buf);
            let labels = &input.labels()[r0..r1];
            let bytes = (threads as usize * k * 4) as u64;
            scoped(d, "cannot run the shader", || {
                self.queue
                    .write_buffer(&uni_buf, 0, bytemuck::cast_slice(&params));
                self.queue
                    .write_buffer(&logits_buf, 0, bytemuck::cast_slice(logits));
                self.queue
                    .write_buffer(&labels_buf, 0, bytemuck::cast_slice(labels));
                let mut enc = d.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("focal"),
                });
                {
                    let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("focal"),
                        timestamp_writes: None,
                    });
                    pass.set_pipeline(&self.pipeline);
                    pass.set_bind_group(0, &bind, &[]);
                    pass.dispatch_workgroups(wx, wy, 1);
                }
                enc.copy_buffer_to_buffer(&out_buf, 0, &read_buf, 0, bytes);
                self.queue.submit([enc.finish()]);
            })?;
            let slice = read_buf.slice(0..bytes);
            let (tx, rx) = mpsc::channel();
            slice.map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
            d.poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| gpu_err("waiting for the device", e))?;
            rx.recv()
                .map_err(|e| gpu_err("mapping the results", e))?
                .map_err(|e| gpu_err("mapping the results", e))?;
            {
                let view = slice
                    .get_mapped_range()
                    .map_err(|e| gpu_err("reading the results", e))?;
                let part: &[f32] = bytemuck::cast_slice(&view);
                // Thread t = group * C + class; add in thread order (fixed).
                for (t, v) in part.chunks_exact(k).enumerate() {
                    let cls = t % c;
                    for side in 0..2 {
                        sums.ce[side][cls] += v[side] as f64;
                        sums.fl[side][cls] += v[2 + side] as f64;
                        sums.fl_star[side][cls] += v[4 + side] as f64;
                    }
                    for gi in 0..g {
                        sums.sweep[gi][0] += v[6 + 2 * gi] as f64;
                        sums.sweep[gi][1] += v[7 + 2 * gi] as f64;
                    }
                }
            }
            read_buf.unmap();
            progress.inc(1);
        }
        progress.finish();
        Ok(sums)
    }
}

/// The GPU as a [`Backend`]. The Fig. 4 bins and the per-image totals (torchvision's
/// normaliser) come from the CPU pass.
pub struct GpuBackend(pub Gpu);

impl Backend for GpuBackend {
    fn kind(&self) -> &'static str {
        "gpu"
    }
    fn adapter(&self) -> Option<String> {
        Some(self.0.adapter_name())
    }
    fn sums(
        &self,
        input: &FocalInput,
        cfg: &Config,
        progress: &dyn Progress,
    ) -> Result<(Sums, Bins)> {
        let mut s = self.0.sums(input, cfg, progress)?;
        let (cpu, bins) = super::cpu::pass(input, cfg, progress);
        s.image_fl = cpu.image_fl;
        Ok((s, bins))
    }
}

/// Choose the backend as DESIGN.md §2 says. Returns the backend, whether a failure may fall
/// back to the CPU, and a note for the user.
pub fn select(choice: BackendChoice) -> Result<(Box<dyn Backend + Sync>, bool, Option<String>)> {
    match choice {
        BackendChoice::Cpu => Ok((Box::new(super::cpu::Cpu), false, None)),
        BackendChoice::Gpu => match find_adapter() {
            Found::Hardware(a) | Found::Software(a) => {
                let gpu = Gpu::open(a)?;
                let note = format!("running on GPU adapter {}", gpu.adapter_name());
                Ok((Box::new(GpuBackend(gpu)), false, Some(note)))
            }
            Found::None(why) => Err(Error::input(format!("--backend gpu: {}", why))
                .with_hint("install a Vulkan driver (on Debian: apt-get install mesa-vulkan-drivers libvulkan1 for the lavapipe software GPU), or use --backend cpu")),
        },
        BackendChoice::Auto => match find_adapter() {
            Found::Hardware(a) => match Gpu::open(a) {
                Ok(gpu) => {
                    let note = format!("running on GPU adapter {}", gpu.adapter_name());
                    Ok((Box::new(GpuBackend(gpu)), true, Some(note)))
                }
                Err(e) => Ok((Box::new(super::cpu::Cpu), false, Some(format!("GPU failed ({}); using the CPU", e.message)))),
            },
            Found::Software(a) => Ok((Box::new(super::cpu::Cpu), false, Some(format!("no hardware GPU (found software '{}'); using the CPU", a.get_info().name)))),
            Found::None(_) => Ok((Box::new(super::cpu::Cpu), false, Some("no GPU adapter; using the CPU".into()))),
        },
    }
}
