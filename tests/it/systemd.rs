//! `siis serve` under systemd (`Type=notify`, packaging/siis.service): READY=1 once it serves,
//! WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM, sent to NOTIFY_SOCKET, here a
//! datagram socket of the test's own.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::cli::{blocking_get, siis, wait_with_timeout};

/// The next message whose lines include `line`, with every message read before it.
fn wait_for(socket: &UnixDatagram, line: &str, limit: Duration) -> (String, Vec<String>) {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no {line:?} within {limit:?}; got {seen:?}"
        );
        socket.set_read_timeout(Some(left)).unwrap();
        match socket.recv(&mut buf) {
            Ok(n) => {
                let message = String::from_utf8_lossy(&buf[..n]).into_owned();
                if message.lines().any(|l| l == line) {
                    return (message, seen);
                }
                seen.push(message);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("notify socket: {e}"),
        }
    }
}

#[test]
fn serve_tells_systemd_it_is_ready_alive_and_stopping() {
    let dir = TempDir::new().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    let mut child = siis(dir.path())
        .args(["serve", "--demo"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "2000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // The demo seeds its registry first: nothing is ready before that.
    let (ready, before) = wait_for(&socket, "READY=1", Duration::from_secs(180));
    assert!(before.is_empty(), "nothing before READY=1: {before:?}");
    // The status line names the bound addresses; the admin listener answers at once.
    let status = ready
        .lines()
        .find_map(|l| l.strip_prefix("STATUS="))
        .unwrap_or_else(|| panic!("no STATUS= in {ready:?}"));
    let admin = status
        .split("admin ")
        .nth(1)
        .unwrap_or_else(|| panic!("{status}"))
        .trim();
    let ca = dir.path().join("var/pki/ca.pem");
    assert_eq!(blocking_get(&ca, &format!("http://{admin}/healthz")), 200);

    // The container image's HEALTHCHECK command, against this node's admin port.
    let dockerfile = std::fs::read_to_string(crate::support::repo_path("Dockerfile")).unwrap();
    let check = healthcheck_script(&dockerfile).replace("8480", admin.rsplit(':').next().unwrap());
    let probe = Command::new("bash").args(["-c", &check]).status().unwrap();
    assert!(probe.success(), "{check}");

    // Petted at once, then every second (half of 2 s) while /healthz answers: over 4 s, a few
    // times, neither never nor in a loop.
    wait_for(&socket, "WATCHDOG=1", Duration::from_secs(5));
    std::thread::sleep(Duration::from_secs(4));
    socket.set_nonblocking(true).unwrap();
    let mut pets = 0;
    let mut buf = vec![0u8; 4096];
    while let Ok(n) = socket.recv(&mut buf) {
        pets += String::from_utf8_lossy(&buf[..n])
            .lines()
            .filter(|l| *l == "WATCHDOG=1")
            .count();
    }
    socket.set_nonblocking(false).unwrap();
    assert!((2..=6).contains(&pets), "{pets} WATCHDOG=1 in 4 s");

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    wait_for(&socket, "STOPPING=1", Duration::from_secs(20));
    assert!(wait_with_timeout(&mut child, Duration::from_secs(20)).success());
    // The probe fails once nothing answers.
    let probe = Command::new("bash")
        .args(["-c", &check])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!probe.success(), "{check}");
}

/// The shell command of the Dockerfile's `HEALTHCHECK ... CMD ["bash", "-c", "..."]`.
pub fn healthcheck_script(dockerfile: &str) -> String {
    let at = dockerfile
        .find("CMD [\"bash\", \"-c\", \"")
        .expect("HEALTHCHECK CMD [\"bash\", \"-c\", ...]");
    let rest = &dockerfile[at + "CMD [\"bash\", \"-c\", \"".len()..];
    let end = rest
        .find("\"]")
        .expect("the end of the HEALTHCHECK command");
    rest[..end].replace("\\\\", "\\")
}
