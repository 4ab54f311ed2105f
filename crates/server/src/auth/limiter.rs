//! Login rate limiting: failed logins are counted per user name and per client address; after
//! `max_failures` failures within `window`, further attempts for that name or from that
//! client are refused until the window has passed since the last failure. A successful login
//! clears the name's count.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Limits of the login rate limiter.
#[derive(Debug, Clone)]
pub struct LimiterOptions {
    /// Failures allowed within the window before attempts are refused.
    pub max_failures: u32,
    /// How long failures are remembered and how long a refusal lasts.
    pub window: Duration,
    /// How many names and clients are tracked at most (the oldest are forgotten first).
    pub max_entries: usize,
}

impl Default for LimiterOptions {
    fn default() -> Self {
        LimiterOptions {
            max_failures: 5,
            window: Duration::from_secs(300),
            max_entries: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Counts failed logins.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    options: LimiterOptions,
    users: Mutex<HashMap<String, Failures>>,
    clients: Mutex<HashMap<String, Failures>>,
}

impl LoginLimiter {
    /// A limiter with the given limits.
    pub fn new(options: LimiterOptions) -> LoginLimiter {
        LoginLimiter {
            options,
            users: Mutex::default(),
            clients: Mutex::default(),
        }
    }

    /// How long the caller must wait before trying again, when it must.
    pub fn retry_after(&self, user: &str, client: &str) -> Option<Duration> {
        let now = Instant::now();
        let wait = |map: &Mutex<HashMap<String, Failures>>, key: &str| {
            let map = map.lock();
            let f = map.get(key)?;
            let elapsed = now.duration_since(f.last);
            (f.count >= self.options.max_failures && elapsed < self.options.window)
                .then(|| self.options.window - elapsed)
        };
        match (wait(&self.users, user), wait(&self.clients, client)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Records a failed attempt.
    pub fn failed(&self, user: &str, client: &str) {
        let now = Instant::now();
        for (map, key) in [(&self.users, user), (&self.clients, client)] {
            let mut map = map.lock();
            if map.len() >= self.options.max_entries && !map.contains_key(key) {
                let window = self.options.window;
                map.retain(|_, f| now.duration_since(f.last) < window);
                if map.len() >= self.options.max_entries
                    && let Some(oldest) = map
                        .iter()
                        .min_by_key(|(_, f)| f.last)
                        .map(|(k, _)| k.clone())
                {
                    map.remove(&oldest);
                }
            }
            let entry = map.entry(key.to_string()).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.duration_since(entry.last) >= self.options.window {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        }
    }

    /// Records a successful login: the name's failures are forgotten.
    pub fn succeeded(&self, user: &str) {
        self.users.lock().remove(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_max_failures_per_user_and_per_client() {
        let limiter = LoginLimiter::new(LimiterOptions {
            max_failures: 3,
            window: Duration::from_secs(60),
            max_entries: 100,
        });
        for _ in 0..3 {
            assert!(limiter.retry_after("alice", "10.0.0.1").is_none());
            limiter.failed("alice", "10.0.0.1");
        }
        assert!(
            limiter.retry_after("alice", "10.0.0.9").is_some(),
            "per user"
        );
        assert!(
            limiter.retry_after("bob", "10.0.0.1").is_some(),
            "per client"
        );
        assert!(limiter.retry_after("bob", "10.0.0.2").is_none());
        limiter.succeeded("alice");
        assert!(limiter.retry_after("alice", "10.0.0.9").is_none());
    }

    #[test]
    fn window_expires() {
        let limiter = LoginLimiter::new(LimiterOptions {
            max_failures: 1,
            window: Duration::from_millis(30),
            max_entries: 100,
        });
        limiter.failed("alice", "c");
        assert!(limiter.retry_after("alice", "c").is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(limiter.retry_after("alice", "c").is_none());
    }

    #[test]
    fn bounded_memory() {
        let limiter = LoginLimiter::new(LimiterOptions {
            max_failures: 5,
            window: Duration::from_secs(60),
            max_entries: 10,
        });
        for i in 0..100 {
            limiter.failed(&format!("user-{i}"), &format!("client-{i}"));
        }
        assert!(limiter.users.lock().len() <= 10);
        assert!(limiter.clients.lock().len() <= 10);
    }
}
