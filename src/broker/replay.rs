//! Replay protection: a message id seen from the same agreement within the window is refused.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::ConvenioId;

pub struct ReplayGuard {
    window: Duration,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    at: HashMap<(ConvenioId, String), Instant>,
    order: VecDeque<(Instant, ConvenioId, String)>,
}

impl ReplayGuard {
    pub fn new(window: Duration) -> ReplayGuard {
        ReplayGuard {
            window,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// Records the id and returns true if it is new within the window (check and insert are
    /// one step under the lock).
    pub fn first_use(&self, convenio: &ConvenioId, id: &str) -> bool {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((t, _, _)) = seen.order.front() {
            if now.duration_since(*t) < self.window {
                break;
            }
            if let Some((t, a, m)) = seen.order.pop_front() {
                let key = (a, m);
                if seen.at.get(&key) == Some(&t) {
                    seen.at.remove(&key);
                }
            }
        }
        let key = (convenio.clone(), id.to_owned());
        if let Some(t) = seen.at.get(&key)
            && now.duration_since(*t) < self.window
        {
            return false;
        }
        seen.at.insert(key, now);
        seen.order.push_back((now, convenio.clone(), id.to_owned()));
        true
    }

    /// Gives the id back: its request was not answered (503), so the caller may send it again.
    pub fn forget(&self, convenio: &ConvenioId, id: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.at.remove(&(convenio.clone(), id.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_id_is_refused_within_the_window_and_accepted_after() {
        let guard = ReplayGuard::new(Duration::from_millis(200));
        let a = ConvenioId::parse("minvu").unwrap();
        let b = ConvenioId::parse("ips").unwrap();
        assert!(guard.first_use(&a, "m-1"));
        assert!(!guard.first_use(&a, "m-1"));
        assert!(guard.first_use(&b, "m-1"), "ids are per agreement");
        std::thread::sleep(Duration::from_millis(250));
        assert!(guard.first_use(&a, "m-1"));
        guard.forget(&a, "m-1");
        assert!(
            guard.first_use(&a, "m-1"),
            "a forgotten id may be used again"
        );
    }

    #[test]
    fn concurrent_uses_of_one_id_admit_exactly_one() {
        let guard = std::sync::Arc::new(ReplayGuard::new(Duration::from_secs(60)));
        let a = ConvenioId::parse("minvu").unwrap();
        let admitted: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let (guard, a) = (guard.clone(), a.clone());
                    s.spawn(move || guard.first_use(&a, "same") as usize)
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(admitted, 1);
    }
}
