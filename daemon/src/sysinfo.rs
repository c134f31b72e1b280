//! What the box's kernel says about the daemon and the machine: the process's memory, CPU
//! time and open files (`/proc/self`, through the `procfs` crate), the machine's CPU use,
//! memory and load (`/proc/stat`, `/proc/meminfo`, `/proc/loadavg`), and the temperature of
//! each thermal zone the board has (`/sys/class/thermal/thermal_zone*/temp`, read directly:
//! two small files per zone, which `procfs` does not cover).
//!
//! Every reading is optional: a kernel without a file gives `None`, never an error.

use crate::metrics::Process;
use procfs::{Current, CurrentSI};
use std::path::Path;

/// The daemon process's figures.
pub fn process() -> Option<Process> {
    let me = procfs::process::Process::myself().ok()?;
    let stat = me.stat().ok()?;
    let tps = procfs::ticks_per_second().max(1) as f64;
    let boot = procfs::boot_time_secs().ok().unwrap_or(0) as f64;
    let max_fds = me
        .limits()
        .ok()
        .and_then(|l| match l.max_open_files.soft_limit {
            procfs::process::LimitValue::Value(v) => Some(v),
            procfs::process::LimitValue::Unlimited => None,
        });
    Some(Process {
        resident_bytes: stat.rss * procfs::page_size(),
        virtual_bytes: stat.vsize,
        cpu_seconds: (stat.utime + stat.stime) as f64 / tps,
        open_fds: me.fd_count().ok().unwrap_or(0) as u64,
        max_fds,
        start_time_seconds: boot + stat.starttime as f64 / tps,
        threads: stat.num_threads.max(0) as u64,
    })
}

/// The machine's CPU time so far: (busy, total) in clock ticks over all CPUs.
pub fn cpu_ticks() -> Option<(u64, u64)> {
    let k = procfs::KernelStats::current().ok()?;
    let t = &k.total;
    let idle = t.idle + t.iowait.unwrap_or(0);
    let total = t.user
        + t.nice
        + t.system
        + t.idle
        + t.iowait.unwrap_or(0)
        + t.irq.unwrap_or(0)
        + t.softirq.unwrap_or(0)
        + t.steal.unwrap_or(0);
    Some((total - idle, total))
}

/// Percent of CPU time busy between two [`cpu_ticks`] readings.
pub fn cpu_percent(before: (u64, u64), after: (u64, u64)) -> Option<f64> {
    let busy = after.0.checked_sub(before.0)?;
    let total = after.1.checked_sub(before.1)?;
    (total > 0).then(|| 100.0 * busy as f64 / total as f64)
}

/// Total and available memory in bytes.
pub fn memory() -> Option<(u64, u64)> {
    let m = procfs::Meminfo::current().ok()?;
    Some((m.mem_total, m.mem_available.unwrap_or(m.mem_free)))
}

/// The 1-minute load average.
pub fn load1() -> Option<f64> {
    procfs::LoadAverage::current()
        .ok()
        .map(|l| f64::from(l.one))
}

/// Each thermal zone under `root` (normally `/sys/class/thermal`): its type and degrees
/// Celsius. A board without zones (most VMs) gives none.
pub fn temperatures(root: &Path) -> Vec<(String, f64)> {
    let Ok(dir) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out: Vec<(String, f64)> = dir
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("thermal_zone"))
        .filter_map(|e| {
            let p = e.path();
            let milli: f64 = std::fs::read_to_string(p.join("temp"))
                .ok()?
                .trim()
                .parse()
                .ok()?;
            let kind = std::fs::read_to_string(p.join("type"))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| e.file_name().to_string_lossy().into_owned());
            Some((kind, milli / 1000.0))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The board's thermal zones.
pub fn soc_temperatures() -> Vec<(String, f64)> {
    temperatures(Path::new("/sys/class/thermal"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_and_machine_figures_come_from_the_kernel() {
        let p = process().expect("/proc/self");
        assert!(p.resident_bytes > 1 << 20, "{p:?}");
        assert!(p.open_fds >= 3, "{p:?}");
        assert!(p.threads >= 1);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(p.start_time_seconds > now - 3600.0 && p.start_time_seconds <= now + 5.0);
        let (total, avail) = memory().unwrap();
        assert!(avail <= total && total > 0);
        let a = cpu_ticks().unwrap();
        // Burn a little CPU so the counters move.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let b = cpu_ticks().unwrap();
        let pct = cpu_percent(a, b).unwrap();
        assert!((0.0..=100.0).contains(&pct), "{pct}");
    }

    #[test]
    fn thermal_zones_are_read_in_celsius() {
        let d = std::env::temp_dir().join(format!("sidflow-thermal-{}", std::process::id()));
        let z = d.join("thermal_zone0");
        std::fs::create_dir_all(&z).unwrap();
        std::fs::write(z.join("temp"), "48312\n").unwrap();
        std::fs::write(z.join("type"), "cpu-thermal\n").unwrap();
        std::fs::create_dir_all(d.join("cooling_device0")).unwrap();
        let t = temperatures(&d);
        assert_eq!(t, vec![("cpu-thermal".to_string(), 48.312)]);
        assert!(temperatures(&d.join("missing")).is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
