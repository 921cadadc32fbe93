//! `--device`: which backend runs the plans — `cpu` (the default) or `cuda` / `cuda:N`
//! (an NVIDIA GPU through `circuit-cuda`; a clear error when none is usable).

use std::time::Instant;

use circuit_cuda::CudaBackend;
use circuit_eval::{CpuBackend, Plan};
use circuit_tensor::Tensor;

use crate::Failure;

/// A backend chosen by `--device`.
pub(crate) enum Runner {
    Cpu(CpuBackend),
    Cuda(Box<CudaBackend>),
}

/// `cpu` → `None`; `cuda` → `Some(0)`; `cuda:N` → `Some(N)`.
pub(crate) fn parse_device(s: &str) -> Result<Option<usize>, Failure> {
    match s {
        "cpu" => Ok(None),
        "cuda" | "gpu" => Ok(Some(0)),
        other => {
            other.strip_prefix("cuda:").and_then(|n| n.parse().ok()).map(Some).ok_or_else(|| {
                Failure::usage(format!("--device must be cpu, cuda or cuda:N, not '{other}'"))
            })
        }
    }
}

impl Runner {
    pub(crate) fn new(device: &str, threads: Option<usize>) -> Result<Runner, Failure> {
        match parse_device(device)? {
            None => CpuBackend::with_threads(threads)
                .map(Runner::Cpu)
                .map_err(|e| Failure::check(e.to_string())),
            Some(n) => CudaBackend::new(n)
                .map(|b| Runner::Cuda(Box::new(b)))
                .map_err(|e| Failure::usage(format!("--device {device}: {e}"))),
        }
    }

    pub(crate) fn run(&self, plan: &Plan) -> Result<Tensor, Failure> {
        let r = match self {
            Runner::Cpu(b) => plan.run(b),
            Runner::Cuda(b) => plan.run(b.as_ref()),
        };
        r.map_err(|e| Failure::check(e.to_string()))
    }

    /// One run: wall seconds, and device milliseconds from CUDA events on a GPU.
    pub(crate) fn timed(&self, plan: &Plan) -> Result<(f64, Option<f64>), Failure> {
        let t = Instant::now();
        let ms = match self {
            Runner::Cpu(b) => {
                plan.run(b).map_err(|e| Failure::check(e.to_string()))?;
                None
            }
            Runner::Cuda(b) => {
                let (r, ms) = b
                    .time_ms(|| plan.run(b.as_ref()))
                    .map_err(|e| Failure::check(e.to_string()))?;
                r.map_err(|e| Failure::check(e.to_string()))?;
                ms
            }
        };
        Ok((t.elapsed().as_secs_f64(), ms))
    }

    /// What runs the plans.
    pub(crate) fn describe(&self) -> String {
        match self {
            Runner::Cpu(_) => "cpu".into(),
            Runner::Cuda(b) => format!("cuda ({})", b.device_name()),
        }
    }

    /// Peak device memory of the allocator since the last reset (GPU only).
    pub(crate) fn peak_device_memory(&self) -> Option<usize> {
        match self {
            Runner::Cpu(_) => None,
            Runner::Cuda(b) => Some(b.memory_stats().peak),
        }
    }

    pub(crate) fn reset_peak(&self) {
        if let Runner::Cuda(b) = self {
            b.reset_peak_memory();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names() {
        assert!(matches!(parse_device("cpu"), Ok(None)));
        assert!(matches!(parse_device("cuda"), Ok(Some(0))));
        assert!(matches!(parse_device("cuda:3"), Ok(Some(3))));
        assert!(parse_device("tpu").is_err());
        assert!(parse_device("cuda:x").is_err());
    }
}
