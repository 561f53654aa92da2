//! CPU time from /proc: of a process (utime + stime), of a PostgreSQL cluster (the postmaster
//! and every process it started), of the whole machine (busy, idle, stolen), and of the calling
//! thread (for the RSA floor). CPU time is what the server controls: unlike throughput it does
//! not move with the share of the cores the virtual machine's host hands out.

use std::collections::HashMap;

/// USER_HZ: the unit of /proc's utime and stime (100 on every Linux this runs on; getconf would
/// need a subprocess).
const TICKS_PER_S: f64 = 100.0;

/// The fields of /proc/PID/stat after the command name (which may hold spaces).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// utime + stime of a process, in seconds (0 when it cannot be read).
pub fn process_s(pid: u32) -> f64 {
    let Some(fields) = stat_fields(pid) else { return 0.0 };
    // After the name: state(0) ppid(1) … utime(11) stime(12).
    let ticks: f64 =
        [11, 12].iter().filter_map(|&at| fields.get(at).and_then(|v| v.parse::<f64>().ok())).sum();
    ticks / TICKS_PER_S
}

/// CPU seconds of `root` and of every process whose parent it is, by pid.
pub fn tree_s(root: u32) -> HashMap<u32, f64> {
    let mut found = HashMap::new();
    found.insert(root, process_s(root));
    let Ok(entries) = std::fs::read_dir("/proc") else { return found };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
            continue;
        };
        let Some(fields) = stat_fields(pid) else { continue };
        if fields.get(1).and_then(|ppid| ppid.parse::<u32>().ok()) == Some(root) {
            found.insert(pid, process_s(pid));
        }
    }
    found
}

/// CPU seconds the processes of `after` used since `before` (a process started meanwhile counts
/// from zero; one that ended meanwhile is lost: the cluster's backends live as long as the
/// pool's connections).
pub fn tree_delta_s(before: &HashMap<u32, f64>, after: &HashMap<u32, f64>) -> f64 {
    after.iter().map(|(pid, s)| s - before.get(pid).copied().unwrap_or(0.0)).sum()
}

/// The machine's CPU time so far, from the `cpu` line of /proc/stat, in ticks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Machine {
    pub total: f64,
    pub idle: f64,
    pub steal: f64,
}

pub fn machine() -> Machine {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|line| line.starts_with("cpu ")) else {
        return Machine::default();
    };
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let values: Vec<f64> =
        line.split_whitespace().skip(1).take(8).filter_map(|v| v.parse().ok()).collect();
    if values.len() < 8 {
        return Machine::default();
    }
    Machine { total: values.iter().sum(), idle: values[3] + values[4], steal: values[7] }
}

impl Machine {
    /// (idle share, stolen share) of the machine's CPU time between `self` and `later`.
    pub fn shares_until(&self, later: &Machine) -> (f64, f64) {
        let total = (later.total - self.total).max(1.0);
        ((later.idle - self.idle) / total, (later.steal - self.steal) / total)
    }
}

/// The calling thread's CPU time in seconds: the scheduler's nanosecond count
/// (/proc/thread-self/schedstat), else utime + stime in ticks.
pub fn thread_s() -> f64 {
    if let Some(ns) = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()))
    {
        return ns / 1e9;
    }
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else { return 0.0 };
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 =
        [11, 12].iter().filter_map(|&at| fields.get(at).and_then(|v| v.parse::<f64>().ok())).sum();
    ticks / TICKS_PER_S
}

/// The postmaster of a cluster folder made by scripts/pg-cluster.sh (`DIR/data/postmaster.pid`,
/// first line).
pub fn postmaster_pid(cluster_dir: &std::path::Path) -> Option<u32> {
    let text = std::fs::read_to_string(cluster_dir.join("data/postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}
