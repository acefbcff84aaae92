//! Running `flywheel` as a child process and measuring it: wall time and peak resident memory
//! (the kernel's high-water mark for that process alone, `VmHWM` in `/proc/<pid>/status`, and
//! the `ru_maxrss` that `wait4` reports for it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// Set in a child's environment to make the bench binary behave as `flywheel` itself (not
/// `FLYWHEEL_…`: Flywheel refuses unknown settings of its own prefix).
pub const RUN_AS_FLYWHEEL: &str = "BENCH_RUN_AS_FLYWHEEL";

/// How `flywheel` is started.
#[derive(Debug, Clone)]
pub enum Flywheel {
    /// A built `flywheel` binary.
    Binary(PathBuf),
    /// This binary, re-run with [`RUN_AS_FLYWHEEL`] set: the same CLI code as `flywheel`.
    ThisBinary,
}

impl Flywheel {
    fn command(&self) -> anyhow::Result<Command> {
        Ok(match self {
            Flywheel::Binary(path) => Command::new(path),
            Flywheel::ThisBinary => {
                let mut command = Command::new(std::env::current_exe()?);
                command.env(RUN_AS_FLYWHEEL, "1");
                command
            }
        })
    }
}

/// How a child went.
#[derive(Debug, Clone)]
pub struct Run {
    /// From start to exit.
    pub elapsed: Duration,
    /// Peak resident memory, in bytes.
    pub peak_rss: u64,
    /// What it printed.
    pub stdout: String,
}

/// Runs `flywheel --config CONFIG ARGS…` with `env`, and fails when it fails.
pub fn run(
    flywheel: &Flywheel,
    config: &Path,
    args: &[&str],
    env: &[(&str, String)],
) -> anyhow::Result<Run> {
    let out_dir = tempfile::tempdir()?;
    let (out_path, err_path) = (out_dir.path().join("out"), out_dir.path().join("err"));
    let mut command = flywheel.command()?;
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path)?)
        .stderr(std::fs::File::create(&err_path)?);
    for (name, value) in env {
        command.env(name, value);
    }
    let started = Instant::now();
    let child = command.spawn().context("cannot start flywheel")?;
    let pid = child.id() as libc::pid_t;
    let status_path = format!("/proc/{pid}/status");
    let mut peak = 0_u64;
    let (status, usage) = loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            peak = peak.max(high_water_mark(&status).unwrap_or(0));
        }
        let mut status = 0;
        // SAFETY: `rusage` is plain data that `wait4` fills in; `pid` is our own child, which
        // nothing else waits for (its `Child` handle is never waited on).
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let done = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if done == pid {
            break (status, usage);
        }
        if done < 0 {
            bail!("waiting for flywheel: {}", std::io::Error::last_os_error());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    drop(child);
    // ru_maxrss is in kilobytes on Linux.
    peak = peak.max(u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024);
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        bail!(
            "flywheel {} failed ({status}):\n{stdout}{stderr}",
            args.join(" ")
        );
    }
    Ok(Run {
        elapsed,
        peak_rss: peak,
        stdout,
    })
}

/// `VmHWM` of a `/proc/<pid>/status`, in bytes.
fn high_water_mark(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The machine, for the record: cores, CPU model, memory.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_string(), |(_, m)| m.trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or("unknown".to_string(), |kb| {
            format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0)
        });
    format!("{cores} cores (nproc), {model}, {memory} RAM")
}

/// Total size of the files under `path`.
pub fn size_of(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| size_of(&e.path()))
                    .sum()
            })
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_high_water_mark_is_read_in_bytes() {
        let status = "Name:\tflywheel\nVmPeak:\t  900 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(high_water_mark(status), Some(1234 * 1024));
        assert_eq!(high_water_mark("Name:\tx\n"), None);
    }
}
