//! The node's CPU over a phase's measured seconds, read from Linux `/proc` (`--node-pid`):
//! what one request costs the node, whatever the machine's neighbours do to the throughput.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

/// Clock ticks per second of the CPU times in `/proc/PID/stat` (`USER_HZ`, what `getconf
/// CLK_TCK` prints): fixed at 100 in the kernel's interface to user space on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// A process's CPU per request over one phase's measured seconds.
#[derive(Debug, Clone, Serialize)]
pub struct NodeCpu {
    /// `ping` or `mix`.
    pub phase: &'static str,
    /// `node` (with `--node-pid` given once), `node PID` for each of several, `nodes` for
    /// their sum, or the name given with `--pid NAME=PID` or `postgres` (`--pg-pid`).
    pub process: String,
    /// Requests sent and answered in the measured seconds (errors included).
    pub requests: u64,
    /// The whole process's user and system CPU, in microseconds per request.
    pub us_per_request: f64,
    /// The same by thread name (a number at its end left out, so that pools add up), for the
    /// threads alive at both ends of the measure: a blocking thread that ended between them
    /// counts in the whole only.
    pub by_thread: BTreeMap<String, f64>,
}

/// The process's and its threads' CPU ticks at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    total: u64,
    /// Thread id → (name, ticks).
    threads: HashMap<u32, (String, u64)>,
}

impl Snapshot {
    /// A process and its children, with their threads unnamed: PostgreSQL's postmaster and
    /// its backends. A backend that ended and was reaped counts in the postmaster's
    /// `cutime` and `cstime`, so connections that come and go are counted too.
    pub fn read_tree(pid: u32) -> Result<Snapshot, String> {
        let mut total = ticks_with_children(&format!("/proc/{pid}/stat"))?;
        let processes = std::fs::read_dir("/proc").map_err(|e| e.to_string())?;
        for entry in processes.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|t| t.parse::<u32>().ok())
            else {
                continue;
            };
            let path = format!("/proc/{child}/stat");
            // A process may end between the listing and the reading: it is left out.
            if parent(&path).is_ok_and(|ppid| ppid == pid) {
                total += ticks_with_children(&path).unwrap_or(0);
            }
        }
        Ok(Snapshot {
            total,
            threads: HashMap::new(),
        })
    }

    /// Reads `/proc/PID/stat` and every `/proc/PID/task/TID/{stat,comm}`.
    pub fn read(pid: u32) -> Result<Snapshot, String> {
        let total = ticks(&format!("/proc/{pid}/stat"))?;
        let mut threads = HashMap::new();
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|e| e.to_string())?;
        for task in tasks.flatten() {
            let Some(tid) = task
                .file_name()
                .to_str()
                .and_then(|t| t.parse::<u32>().ok())
            else {
                continue;
            };
            // A thread may end between the listing and the reading: it is left out.
            let dir = task.path();
            let (Ok(name), Ok(used)) = (
                std::fs::read_to_string(dir.join("comm")),
                ticks(&dir.join("stat").to_string_lossy()),
            ) else {
                continue;
            };
            let name = name
                .trim_end()
                .trim_end_matches(|c: char| c.is_ascii_digit());
            threads.insert(tid, (name.to_owned(), used));
        }
        Ok(Snapshot { total, threads })
    }

    /// The CPU from `self` to `later`, per request.
    pub fn per_request(
        &self,
        later: &Snapshot,
        phase: &'static str,
        process: &str,
        requests: u64,
    ) -> NodeCpu {
        let per_request = |ticks: u64| {
            let us = ticks as f64 / TICKS_PER_SECOND * 1e6;
            if requests == 0 {
                0.0
            } else {
                us / requests as f64
            }
        };
        let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
        for (tid, (name, after)) in &later.threads {
            if let Some((_, before)) = self.threads.get(tid) {
                *by_name.entry(name.clone()).or_default() += after.saturating_sub(*before);
            }
        }
        NodeCpu {
            phase,
            process: process.to_owned(),
            requests,
            us_per_request: per_request(later.total.saturating_sub(self.total)),
            by_thread: by_name
                .into_iter()
                .map(|(name, used)| (name, per_request(used)))
                .collect(),
        }
    }
}

/// Fields `numbers` of a `stat` file, counted after the name in parentheses (which may itself
/// hold spaces and parentheses).
fn stat_fields<const N: usize>(path: &str, numbers: [usize; N]) -> Result<[u64; N], String> {
    let stat = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| format!("{path}: no name field"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `after_name` begins at field 3 (the state).
    let mut values = [0; N];
    for (value, n) in values.iter_mut().zip(numbers) {
        *value = fields
            .get(n - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| format!("{path}: no field {n}"))?;
    }
    Ok(values)
}

/// User plus system ticks: fields 14 (utime) and 15 (stime).
fn ticks(path: &str) -> Result<u64, String> {
    Ok(stat_fields(path, [14, 15])?.iter().sum())
}

/// [`ticks`] plus those of the reaped children: fields 16 (cutime) and 17 (cstime).
fn ticks_with_children(path: &str) -> Result<u64, String> {
    Ok(stat_fields(path, [14, 15, 16, 17])?.iter().sum())
}

/// The parent's pid: field 4.
fn parent(path: &str) -> Result<u32, String> {
    let [ppid] = stat_fields(path, [4])?;
    u32::try_from(ppid).map_err(|e| e.to_string())
}

/// The report for people: the whole, then the threads by what they took.
pub fn print(cpu: &NodeCpu) {
    let mut threads: Vec<(&String, &f64)> =
        cpu.by_thread.iter().filter(|(_, us)| **us >= 1.0).collect();
    threads.sort_by(|a, b| b.1.total_cmp(a.1));
    let threads: Vec<String> = threads
        .iter()
        .map(|(name, us)| format!("{name} {us:.0}"))
        .collect();
    let threads = match threads.is_empty() {
        true => String::new(),
        false => format!(" ({})", threads.join(", ")),
    };
    println!(
        "{} CPU, {} phase: {:.0} µs per request over {} requests{threads}",
        cpu.process, cpu.phase, cpu.us_per_request, cpu.requests,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_read_and_its_work_shows() {
        let pid = std::process::id();
        let before = Snapshot::read(pid).unwrap();
        // At least 60 ms of CPU on this thread (six ticks), however busy the machine is: the
        // loop runs until the process has been given them, not for 60 ms of wall time.
        let started = std::time::Instant::now();
        let mut x = 0u64;
        let after = loop {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            let now = Snapshot::read(pid).unwrap();
            let mine = before.per_request(&now, "mix", "node", 10).by_thread;
            if mine.values().copied().fold(0.0, f64::max) >= 6_000.0
                || started.elapsed() > std::time::Duration::from_secs(20)
            {
                break now;
            }
        };
        let cpu = before.per_request(&after, "mix", "node", 10);
        // 10 requests: at least 3 ms each for the process, and for this thread's name.
        assert!(cpu.us_per_request >= 3_000.0, "{cpu:?}");
        let busiest = cpu.by_thread.values().copied().fold(0.0, f64::max);
        assert!(busiest >= 3_000.0, "{cpu:?}");
        assert_eq!(cpu.requests, 10);
    }

    #[test]
    fn a_process_tree_counts_its_children() {
        // A child that burns CPU and is still running at the second reading.
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; sleep 5",
            ])
            .spawn()
            .unwrap();
        let pid = std::process::id();
        let before = Snapshot::read_tree(pid).unwrap();
        let started = std::time::Instant::now();
        let after = loop {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let now = Snapshot::read_tree(pid).unwrap();
            let own = Snapshot::read(pid).unwrap();
            // The tree grew by more than this process alone did.
            if now.total.saturating_sub(before.total) >= own.total.saturating_sub(before.total) + 5
                || started.elapsed() > std::time::Duration::from_secs(20)
            {
                break now;
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        let cpu = before.per_request(&after, "mix", "postgres", 1);
        assert!(cpu.us_per_request >= 50_000.0, "{cpu:?}");
        assert!(cpu.by_thread.is_empty());
    }

    #[test]
    fn a_missing_process_is_named() {
        let error = Snapshot::read(0).unwrap_err();
        assert!(error.contains("/proc/0/stat"), "{error}");
    }

    #[test]
    fn no_requests_costs_nothing_per_request() {
        let snapshot = Snapshot::default();
        assert_eq!(
            snapshot
                .per_request(&snapshot, "ping", "node", 0)
                .us_per_request,
            0.0
        );
    }
}
