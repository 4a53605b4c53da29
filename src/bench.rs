//! `siis bench`: the load generator that ships with the node. It calls a running node as an
//! agency would (mutual TLS with an agreement's certificate, keep-alive), first the empty
//! authenticated endpoint alone (the baseline), then a mix of operations over sample RUNs, and
//! reports each operation's throughput, its ratio to the baseline, latency percentiles (HDR
//! histogram) and errors by kind, for people and as JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::domain::Run;

mod cpu;
pub use cpu::NodeCpu;

/// One kind of request the benchmark sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Ping,
    Ficha,
    FichaSoap,
    Lote,
    Identidad,
    Elegibilidad,
}

impl Op {
    pub const MIX: [Op; 5] = [
        Op::Ficha,
        Op::FichaSoap,
        Op::Lote,
        Op::Identidad,
        Op::Elegibilidad,
    ];

    pub fn parse(name: &str) -> Option<Op> {
        [Op::Ping]
            .into_iter()
            .chain(Op::MIX)
            .find(|op| op.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Op::Ping => "ping",
            Op::Ficha => "ficha",
            Op::FichaSoap => "ficha_soap",
            Op::Lote => "lote",
            Op::Identidad => "identidad",
            Op::Elegibilidad => "elegibilidad",
        }
    }
}

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Base URL of the agency listener, e.g. `https://localhost:8443`.
    pub target: String,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CSV from `siis seed --sample` (`categoria,run`); `con_ficha` RUNs are used.
    pub sample: PathBuf,
    /// Measured time per phase.
    pub duration: Duration,
    /// Unmeasured time at the start of each phase (same load).
    pub warmup: Duration,
    pub concurrency: usize,
    /// Requests per second for an open (fixed arrival rate) run; closed loop when `None`.
    pub rate: Option<u32>,
    /// Operations and their weights in the mix.
    pub mix: Vec<(Op, u32)>,
    /// Eligibility program asked about.
    pub programa: String,
    /// The node's process id, when it runs on this machine: its memory is sampled during the
    /// run, and its CPU over each phase's measured seconds (Linux `/proc`). Several nodes
    /// behind a balancer: each one's CPU, and their sum (memory: the first one's).
    pub node_pids: Vec<u32>,
    /// Other processes whose CPU per request is reported: a balancer (`--pid NAME=PID`), or
    /// PostgreSQL's postmaster with its backends (`--pg-pid`, `tree`).
    pub others: Vec<Proceso>,
    /// Whether each request carries a message id of its own (`X-Request-Id`, `bench-` and a
    /// UUID), so that the node's replay check (shared by the nodes with `cluster.nodo`) is
    /// paid as agencies that send ids make it pay.
    pub message_ids: bool,
    /// Whether the ping baseline runs before the mix (`--no-baseline` skips it).
    pub baseline: bool,
}

/// A process measured besides the nodes.
#[derive(Debug, Clone)]
pub struct Proceso {
    pub name: String,
    pub pid: u32,
    /// Its children too (PostgreSQL's backends).
    pub tree: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OpReport {
    pub op: Op,
    pub requests: u64,
    pub ok: u64,
    pub per_second: f64,
    /// Throughput relative to the ping baseline measured in the same run.
    pub ratio_to_ping: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Errors by kind: HTTP status codes, or `transport` for failed connections.
    pub errors: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub target: String,
    pub concurrency: usize,
    pub rate: Option<u32>,
    pub seconds_per_phase: f64,
    pub warmup_seconds: f64,
    pub baseline: OpReport,
    pub mix: Vec<OpReport>,
    /// The node's memory during the run, with `--node-pid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_memory: Option<Vec<MemorySample>>,
    /// CPU per request in each phase, with `--node-pid` (each node, and with several their
    /// sum), `--pid` and `--pg-pid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_cpu: Option<Vec<NodeCpu>>,
}

/// The node's private memory at one moment of the run.
#[derive(Debug, Clone, Serialize)]
pub struct MemorySample {
    /// Seconds since the run began (warm-ups included).
    pub seconds: f64,
    /// `ping` or `mix`. The moment one phase ends and the next begins is sampled once for each.
    pub phase: &'static str,
    /// `RssAnon`: the memory the node allocated itself, without the mapped database files
    /// (`VmRSS` counts each connection's map of the registry as the node touches it).
    pub rss_anon_kib: u64,
    pub threads: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{0}: {1}")]
    File(PathBuf, String),
    #[error("the sample file has no con_ficha RUNs")]
    NoRuns,
    #[error("TLS client: {0}")]
    Tls(String),
    #[error("runtime: {0}")]
    Runtime(#[from] std::io::Error),
    #[error("--node-pid {0}: cannot read the process's memory ({1})")]
    Node(u32, String),
}

/// Per-operation tallies while running.
struct Tally {
    latency: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            // 1 µs to 60 s, 3 significant figures.
            latency: Histogram::new_with_bounds(1, 60_000_000, 3)
                .expect("1 µs to 60 s at 3 significant figures is a valid histogram"),
            ok: 0,
            errors: BTreeMap::new(),
        }
    }

    fn merge(&mut self, other: &Tally) {
        let _ = self.latency.add(&other.latency);
        self.ok += other.ok;
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }
}

/// What every worker shares.
struct Shared {
    client: reqwest::Client,
    target: String,
    runs: Vec<Run>,
    programa: String,
    message_ids: bool,
}

pub fn run(options: &BenchOptions) -> Result<BenchReport, BenchError> {
    // First, so that a node pid that cannot be read is named before anything else is done.
    let sampler = match options.node_pids.first() {
        Some(pid) => Some(Sampler::start(*pid, options)?),
        None => None,
    };
    for proceso in &options.others {
        cpu::Snapshot::read(proceso.pid).map_err(|e| BenchError::Node(proceso.pid, e))?;
    }
    let runs = sample_runs(&options.sample)?;
    let client = client(options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let shared = Arc::new(Shared {
        client,
        target: options.target.trim_end_matches('/').to_owned(),
        runs,
        programa: options.programa.clone(),
        message_ids: options.message_ids,
    });
    let report = runtime.block_on(async {
        let ping: &[(Op, u32)] = if options.baseline {
            &[(Op::Ping, 1)]
        } else {
            &[]
        };
        let (baseline, ping_cpu) = phase(&shared, options, ping, "ping").await;
        if let Some(sampler) = &sampler {
            sampler.phase("mix");
        }
        let (mix, mix_cpu) = phase(&shared, options, &options.mix, "mix").await;
        let seconds = options.duration.as_secs_f64();
        let ping_rate = baseline
            .get(&Op::Ping)
            .map_or(0.0, |t| t.ok as f64 / seconds);
        let report = |op: Op, t: &Tally| {
            let ms = |q: f64| t.latency.value_at_quantile(q) as f64 / 1000.0;
            let per_second = t.ok as f64 / seconds;
            OpReport {
                op,
                requests: t.ok + t.errors.values().sum::<u64>(),
                ok: t.ok,
                per_second,
                ratio_to_ping: if ping_rate > 0.0 {
                    per_second / ping_rate
                } else {
                    0.0
                },
                p50_ms: ms(0.5),
                p90_ms: ms(0.9),
                p99_ms: ms(0.99),
                p999_ms: ms(0.999),
                max_ms: t.latency.max() as f64 / 1000.0,
                errors: t.errors.clone(),
            }
        };
        let empty = Tally::new();
        Ok(BenchReport {
            target: options.target.clone(),
            concurrency: options.concurrency,
            rate: options.rate,
            seconds_per_phase: seconds,
            warmup_seconds: options.warmup.as_secs_f64(),
            baseline: report(Op::Ping, baseline.get(&Op::Ping).unwrap_or(&empty)),
            mix: mix.iter().map(|(op, t)| report(*op, t)).collect(),
            node_memory: None,
            node_cpu: (!options.node_pids.is_empty() || !options.others.is_empty())
                .then(|| ping_cpu.into_iter().chain(mix_cpu).collect()),
        })
    });
    report.map(|mut report: BenchReport| {
        report.node_memory = sampler.map(Sampler::finish);
        report
    })
}

/// Samples the node's memory on a thread of its own: every tenth of a phase (1 to 30 s), at
/// each change of phase and at the end.
struct Sampler {
    events: std::sync::mpsc::Sender<&'static str>,
    thread: std::thread::JoinHandle<Vec<MemorySample>>,
}

impl Sampler {
    fn start(pid: u32, options: &BenchOptions) -> Result<Sampler, BenchError> {
        let first = read_memory(pid).map_err(|e| BenchError::Node(pid, e))?;
        let every = (options.duration + options.warmup)
            .div_f64(10.0)
            .clamp(Duration::from_secs(1), Duration::from_secs(30));
        let (events, inbox) = std::sync::mpsc::channel::<&'static str>();
        let began = Instant::now();
        let thread = std::thread::spawn(move || {
            let mut phase = "ping";
            let mut samples = Vec::new();
            let mut push = |phase: &'static str, (rss_anon_kib, threads): (u64, u64)| {
                samples.push(MemorySample {
                    seconds: began.elapsed().as_secs_f64(),
                    phase,
                    rss_anon_kib,
                    threads,
                });
            };
            push(phase, first);
            loop {
                let event = inbox.recv_timeout(every);
                // The node may have gone away: the samples so far are what there is.
                let Ok(now) = read_memory(pid) else {
                    break;
                };
                match event {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => push(phase, now),
                    Ok(next) => {
                        push(phase, now);
                        phase = next;
                        push(phase, now);
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                        push(phase, now);
                        break;
                    }
                }
            }
            samples
        });
        Ok(Sampler { events, thread })
    }

    fn phase(&self, name: &'static str) {
        let _ = self.events.send(name);
    }

    fn finish(self) -> Vec<MemorySample> {
        drop(self.events);
        self.thread.join().unwrap_or_default()
    }
}

/// `RssAnon` (KiB) and thread count of a process, from `/proc/PID/status`.
fn read_memory(pid: u32) -> Result<(u64, u64), String> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("RssAnon:")?, field("Threads:")?))
}

/// The send times of an open (fixed arrival rate) run, evenly spaced, handed out by a thread
/// of its own. A tokio timer fires on the next millisecond tick, so workers that slept until
/// their own send times added up to a millisecond of the client's lateness to every figure;
/// this thread wakes within tens of microseconds of each time. A time is sent when it comes;
/// if every worker is busy it waits in the queue, and its latency still counts from it
/// (no coordinated omission).
fn pace(rate: u32, deadline: Instant) -> tokio::sync::mpsc::UnboundedReceiver<Instant> {
    let (send, times) = tokio::sync::mpsc::unbounded_channel();
    let every = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    std::thread::spawn(move || {
        let mut next = Instant::now();
        while next < deadline {
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
            if send.send(next).is_err() {
                return;
            }
            next += every;
        }
    });
    times
}

/// Runs one phase for the configured duration and returns the merged tallies and, with
/// `--node-pid`, `--pid` or `--pg-pid`, each process's CPU per request over the measured
/// seconds.
async fn phase(
    shared: &Arc<Shared>,
    options: &BenchOptions,
    mix: &[(Op, u32)],
    name: &'static str,
) -> (BTreeMap<Op, Tally>, Vec<NodeCpu>) {
    let measured_from = Instant::now() + options.warmup;
    let deadline = measured_from + options.duration;
    let ops: Vec<Op> = mix.iter().map(|m| m.0).collect();
    let weights: Vec<u32> = mix.iter().map(|m| m.1).collect();
    let Ok(choice) = WeightedIndex::new(&weights) else {
        return (BTreeMap::new(), Vec::new());
    };
    // Read on a thread of its own at both ends of the measured seconds. A node that cannot be
    // read any more (it stopped) gives no figure rather than a wrong one.
    let mut measured: Vec<Proceso> = options
        .node_pids
        .iter()
        .map(|pid| Proceso {
            name: match options.node_pids.len() {
                1 => "node".to_owned(),
                _ => format!("node {pid}"),
            },
            pid: *pid,
            tree: false,
        })
        .collect();
    measured.extend(options.others.iter().cloned());
    let cpu = (!measured.is_empty()).then(|| {
        std::thread::spawn(move || {
            let read = |p: &Proceso| match p.tree {
                true => cpu::Snapshot::read_tree(p.pid),
                false => cpu::Snapshot::read(p.pid),
            };
            std::thread::sleep(measured_from.saturating_duration_since(Instant::now()));
            let first: Vec<_> = measured.iter().map(|p| read(p).ok()).collect();
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            let last: Vec<_> = measured.iter().map(|p| read(p).ok()).collect();
            measured
                .into_iter()
                .zip(first.into_iter().zip(last))
                .filter_map(|(p, (a, b))| Some((p, a?, b?)))
                .collect::<Vec<_>>()
        })
    });
    // Open run: workers take send times from the pacer; closed loop: each sends again as soon
    // as its previous answer is in.
    let times = options
        .rate
        .map(|rate| Arc::new(tokio::sync::Mutex::new(pace(rate, deadline))));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..options.concurrency.max(1) {
        let (shared, ops, choice) = (shared.clone(), ops.clone(), choice.clone());
        let times = times.clone();
        tasks.spawn(async move {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(worker as u64);
            let mut tallies: BTreeMap<Op, Tally> = BTreeMap::new();
            loop {
                let started = match &times {
                    Some(times) => match times.lock().await.recv().await {
                        Some(scheduled) => scheduled,
                        None => break,
                    },
                    None => Instant::now(),
                };
                if started >= deadline {
                    break;
                }
                let op = ops[choice.sample(&mut rng)];
                let outcome = send(&shared, op, &mut rng).await;
                let micros = started.elapsed().as_micros().max(1) as u64;
                if started < measured_from {
                    continue;
                }
                let tally = tallies.entry(op).or_insert_with(Tally::new);
                match outcome {
                    Ok(()) => {
                        tally.ok += 1;
                        let _ = tally.latency.record(micros.min(60_000_000));
                    }
                    Err(kind) => *tally.errors.entry(kind).or_default() += 1,
                }
            }
            tallies
        });
    }
    let mut merged: BTreeMap<Op, Tally> = BTreeMap::new();
    for tallies in tasks.join_all().await {
        for (op, t) in tallies {
            merged.entry(op).or_insert_with(Tally::new).merge(&t);
        }
    }
    let requests = merged
        .values()
        .map(|t| t.ok + t.errors.values().sum::<u64>())
        .sum();
    let readings = cpu
        .and_then(|reader| reader.join().ok())
        .unwrap_or_default();
    let mut cpu: Vec<NodeCpu> = readings
        .iter()
        .map(|(p, first, last)| first.per_request(last, name, &p.name, requests))
        .collect();
    if options.node_pids.len() > 1 {
        let nodes: Vec<&NodeCpu> = cpu
            .iter()
            .filter(|c| c.process.starts_with("node "))
            .collect();
        let together = NodeCpu {
            phase: name,
            process: "nodes".to_owned(),
            requests,
            us_per_request: nodes.iter().map(|c| c.us_per_request).sum(),
            by_thread: BTreeMap::new(),
        };
        cpu.push(together);
    }
    (merged, cpu)
}

/// Sends one request; `Err` names the kind of failure.
async fn send(shared: &Shared, op: Op, rng: &mut impl Rng) -> Result<(), String> {
    let run = *shared
        .runs
        .choose(rng)
        .expect("sample_runs never returns an empty list");
    let base = &shared.target;
    let request = match op {
        Op::Ping => shared.client.get(format!("{base}/api/v1/ping")),
        Op::Ficha => shared
            .client
            .get(format!("{base}/api/v1/personas/{run}/ficha")),
        Op::Elegibilidad => shared.client.get(format!(
            "{base}/api/v1/personas/{run}/elegibilidad/{}",
            shared.programa
        )),
        Op::Identidad => shared
            .client
            .post(format!("{base}/api/v1/identidad/validaciones"))
            .json(&serde_json::json!({ "run": run.to_string() })),
        Op::Lote => {
            let runs: Vec<String> = (0..500)
                .filter_map(|_| shared.runs.choose(rng).map(|r| r.to_string()))
                .collect();
            shared
                .client
                .post(format!("{base}/api/v1/fichas/consultas"))
                .json(&serde_json::json!({ "runs": runs }))
        }
        Op::FichaSoap => shared
            .client
            .post(format!("{base}/soap/ConsultaFichaFPS"))
            .header("content-type", "text/xml; charset=utf-8")
            .body(soap_ficha(run)),
    };
    let request = match shared.message_ids {
        // Named as the benchmark's in the audit.
        true => request.header("X-Request-Id", format!("bench-{}", uuid::Uuid::new_v4())),
        false => request,
    };
    let response = request.send().await.map_err(|_| "transport".to_owned())?;
    let status = response.status();
    // Read the whole answer, as a client would.
    let body = response.bytes().await.map_err(|_| "transport".to_owned())?;
    if !status.is_success() {
        return Err(status.as_u16().to_string());
    }
    if op == Op::FichaSoap && !contains(&body, b"<s:estadoSobre>00</s:estadoSobre>") {
        return Err("soap_estado".to_owned());
    }
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn soap_ficha(run: Run) -> String {
    format!(
        "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:t=\"http://www.siis.gob.cl/esquemas/tipos/v1\" \
         xmlns:f=\"http://www.siis.gob.cl/esquemas/fichafps/v1\"><soapenv:Body>\
         <f:ConsultarFichaFPS><f:cuerpo><f:run><t:numero>{}</t:numero><t:dv>{}</t:dv></f:run>\
         </f:cuerpo></f:ConsultarFichaFPS></soapenv:Body></soapenv:Envelope>",
        run.numero(),
        run.dv()
    )
}

/// The `con_ficha` RUNs of a sample file.
pub fn sample_runs(path: &Path) -> Result<Vec<Run>, BenchError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BenchError::File(path.to_owned(), e.to_string()))?;
    let runs: Vec<Run> = text
        .lines()
        .filter_map(|l| l.split_once(','))
        .filter(|(c, _)| *c == "con_ficha")
        .filter_map(|(_, r)| Run::parse(r).ok())
        .collect();
    if runs.is_empty() {
        return Err(BenchError::NoRuns);
    }
    Ok(runs)
}

/// How long the bench keeps an idle connection for reuse: less than the node's keep-alive.
const IDLE_CONNECTIONS_KEPT: Duration = Duration::from_secs(3);

/// A keep-alive client presenting the agreement's certificate and trusting only `ca`.
fn client(options: &BenchOptions) -> Result<reqwest::Client, BenchError> {
    let tls = crate::tls::client_config(&options.ca, &options.cert, &options.key)
        .map_err(|e| BenchError::Tls(e.to_string()))?;
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .pool_max_idle_per_host(options.concurrency.max(1))
        // The node closes a keep-alive connection idle for 5 s (actix-web's default). A
        // request sent on one just as the node closes it fails in transit, and that would
        // count as the node's error: the bench lets idle connections go first.
        .pool_idle_timeout(IDLE_CONNECTIONS_KEPT)
        .build()
        .map_err(|e| BenchError::Tls(e.to_string()))
}

/// The report for people.
pub fn print(report: &BenchReport) {
    println!(
        "{} — {} connections{}, {:.0} s per phase{}",
        report.target,
        report.concurrency,
        report
            .rate
            .map(|r| format!(", fixed rate {r}/s"))
            .unwrap_or_default(),
        report.seconds_per_phase,
        if report.warmup_seconds > 0.0 {
            format!(" after {:.0} s of warm-up", report.warmup_seconds)
        } else {
            String::new()
        }
    );
    println!(
        "{:<13} {:>9} {:>10} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8}  errors",
        "operation", "ok", "req/s", "×ping", "p50 ms", "p90 ms", "p99 ms", "p99.9", "max ms"
    );
    for r in std::iter::once(&report.baseline).chain(&report.mix) {
        let errors: Vec<String> = r.errors.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        println!(
            "{:<13} {:>9} {:>10.0} {:>7.3} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}  {}",
            r.op.name(),
            r.ok,
            r.per_second,
            r.ratio_to_ping,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.p999_ms,
            r.max_ms,
            if errors.is_empty() {
                "-".to_owned()
            } else {
                errors.join(" ")
            }
        );
    }
    if let Some(samples) = &report.node_memory {
        print_memory(samples);
    }
    for phase in report.node_cpu.iter().flatten() {
        cpu::print(phase);
    }
}

/// The node's memory per phase: first and last sample, and over the phase's last half.
fn print_memory(samples: &[MemorySample]) {
    let mib = |kib: u64| kib as f64 / 1024.0;
    for phase in ["ping", "mix"] {
        let own: Vec<&MemorySample> = samples.iter().filter(|s| s.phase == phase).collect();
        let (Some(first), Some(last)) = (own.first(), own.last()) else {
            continue;
        };
        let middle = (first.seconds + last.seconds) / 2.0;
        let half = own
            .iter()
            .find(|s| s.seconds >= middle)
            .copied()
            .unwrap_or(last);
        let peak = own.iter().map(|s| s.rss_anon_kib).max().unwrap_or(0);
        println!(
            "node memory, {phase} phase (RssAnon): {:.1} -> {:.1} MiB ({:.1} -> {:.1} over its last half, peak {:.1}), {} threads at the end",
            mib(first.rss_anon_kib),
            mib(last.rss_anon_kib),
            mib(half.rss_anon_kib),
            mib(last.rss_anon_kib),
            mib(peak),
            last.threads
        );
    }
}
