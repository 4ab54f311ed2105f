//! Fault injection: added latency, error rates per verb, forced conflicts and dropped watches,
//! configurable at start (flags) and changeable at run time (in-process handle).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use tokio::sync::watch;

/// The verbs faults can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    /// GET one object.
    Get,
    /// GET a collection.
    List,
    /// GET with `watch=true`.
    Watch,
    /// POST.
    Create,
    /// PUT.
    Update,
    /// PATCH (including server-side apply).
    Patch,
    /// DELETE one object.
    Delete,
    /// DELETE a collection.
    DeleteCollection,
}

impl Verb {
    /// Parses the Kubernetes verb name.
    pub fn parse(s: &str) -> Option<Verb> {
        Some(match s {
            "get" => Verb::Get,
            "list" => Verb::List,
            "watch" => Verb::Watch,
            "create" => Verb::Create,
            "update" => Verb::Update,
            "patch" => Verb::Patch,
            "delete" => Verb::Delete,
            "deletecollection" => Verb::DeleteCollection,
            _ => return None,
        })
    }
}

/// Fault settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Latency added before every API request is handled.
    pub latency: Duration,
    /// Probability (0..=1) that a request of a verb fails with `error_code`.
    pub error_rate: BTreeMap<Verb, f64>,
    /// The HTTP code of injected errors (500, 503 or 504).
    pub error_code: u16,
    /// Probability (0..=1) that an update or patch fails with a 409 Conflict.
    pub conflict_rate: f64,
    /// Close every watch after this long (`None`: never).
    pub drop_watches_after: Option<Duration>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            latency: Duration::ZERO,
            error_rate: BTreeMap::new(),
            error_code: 500,
            conflict_rate: 0.0,
            drop_watches_after: None,
        }
    }
}

/// A shared handle to change faults while the sandbox runs.
#[derive(Debug, Clone)]
pub struct FaultHandle {
    config: Arc<RwLock<FaultConfig>>,
    forced_conflicts: Arc<RwLock<u32>>,
    drop_tx: Arc<watch::Sender<u64>>,
}

impl FaultHandle {
    /// A handle starting from `config`.
    pub fn new(config: FaultConfig) -> FaultHandle {
        let (tx, _) = watch::channel(0);
        FaultHandle {
            config: Arc::new(RwLock::new(config)),
            forced_conflicts: Arc::new(RwLock::new(0)),
            drop_tx: Arc::new(tx),
        }
    }

    /// The current settings.
    pub fn config(&self) -> FaultConfig {
        self.config.read().clone()
    }

    /// Replaces all settings.
    pub fn set(&self, config: FaultConfig) {
        *self.config.write() = config;
    }

    /// Sets the added latency.
    pub fn set_latency(&self, latency: Duration) {
        self.config.write().latency = latency;
    }

    /// Sets the error rate of one verb.
    pub fn set_error_rate(&self, verb: Verb, rate: f64) {
        self.config
            .write()
            .error_rate
            .insert(verb, rate.clamp(0.0, 1.0));
    }

    /// Sets the code of injected errors.
    pub fn set_error_code(&self, code: u16) {
        self.config.write().error_code = code;
    }

    /// Sets the probability of a forced conflict on updates and patches.
    pub fn set_conflict_rate(&self, rate: f64) {
        self.config.write().conflict_rate = rate.clamp(0.0, 1.0);
    }

    /// Makes the next `n` updates or patches fail with 409 Conflict.
    pub fn force_conflicts(&self, n: u32) {
        *self.forced_conflicts.write() += n;
    }

    /// Closes every open watch now.
    pub fn drop_watches(&self) {
        self.drop_tx.send_modify(|v| *v += 1);
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.set(FaultConfig::default());
        *self.forced_conflicts.write() = 0;
    }

    /// A receiver that changes whenever watches must be dropped.
    pub fn drop_signal(&self) -> watch::Receiver<u64> {
        self.drop_tx.subscribe()
    }

    /// Decides whether a request of `verb` fails with an injected error; returns its code.
    pub fn injected_error(&self, verb: Verb) -> Option<u16> {
        let cfg = self.config.read();
        let rate = cfg.error_rate.get(&verb).copied().unwrap_or(0.0);
        (rate > 0.0 && rand::random::<f64>() < rate).then_some(cfg.error_code)
    }

    /// Decides whether a write gets a forced conflict.
    pub fn injected_conflict(&self) -> bool {
        {
            let mut n = self.forced_conflicts.write();
            if *n > 0 {
                *n -= 1;
                return true;
            }
        }
        let rate = self.config.read().conflict_rate;
        rate > 0.0 && rand::random::<f64>() < rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_conflicts_count_down() {
        let h = FaultHandle::new(FaultConfig::default());
        h.force_conflicts(2);
        assert!(h.injected_conflict());
        assert!(h.injected_conflict());
        assert!(!h.injected_conflict());
    }

    #[test]
    fn error_rate_one_always_fails() {
        let h = FaultHandle::new(FaultConfig::default());
        h.set_error_rate(Verb::Get, 1.0);
        h.set_error_code(503);
        assert_eq!(h.injected_error(Verb::Get), Some(503));
        assert_eq!(h.injected_error(Verb::List), None);
        h.clear();
        assert_eq!(h.injected_error(Verb::Get), None);
    }
}
