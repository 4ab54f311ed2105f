//! The state machine of one sync operation, apart from the I/O that drives it.
//!
//! ```text
//!            Failed (retry allowed) ──► Running (after a backoff delay)
//! Running ──► Succeeded | Failed | Error
//!    │
//!    └─ terminate ──► Terminating ──► Failed ("operation terminated") | Error
//! ```
//!
//! The executor feeds [`OperationEvent`]s in and acts on the returned [`Transition`]:
//! keep going, wait and start another attempt, or stop. Retries follow the application's
//! [`RetryStrategy`] (limit, backoff duration, factor, maxDuration).

use std::time::Duration;

use ferrocd_model::{OperationPhase, OperationState, RetryStrategy};

/// What happened to the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperationEvent {
    /// The attempt finished: every task synced and every hook succeeded.
    Succeeded {
        /// Summary, e.g. "successfully synced (all tasks run)".
        message: String,
    },
    /// The attempt failed (a resource failed to sync, a hook failed, a wave timed out);
    /// retried when the retry strategy allows it.
    Failed {
        /// What failed.
        message: String,
    },
    /// The operation cannot run at all (invalid manifests, rendering failed, cluster
    /// unreachable after retries); never retried.
    Errored {
        /// What went wrong.
        message: String,
    },
    /// A user asked to stop the operation.
    TerminateRequested,
    /// The executor stopped its work after a termination request.
    Terminated,
}

impl OperationEvent {
    fn name(&self) -> &'static str {
        match self {
            OperationEvent::Succeeded { .. } => "succeeded",
            OperationEvent::Failed { .. } => "failed",
            OperationEvent::Errored { .. } => "errored",
            OperationEvent::TerminateRequested => "terminate requested",
            OperationEvent::Terminated => "terminated",
        }
    }
}

/// What the executor does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Nothing changes for the executor: keep running (or keep stopping).
    Continue,
    /// Wait `delay`, then start attempt number `attempt` (1 for the first retry).
    RetryAfter {
        /// Backoff delay.
        delay: Duration,
        /// Retry number.
        attempt: u32,
    },
    /// The operation ended in this phase.
    Completed(OperationPhase),
}

/// An event that the current state cannot accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperationError {
    /// The operation already ended.
    #[error("operation already completed with phase {phase}; event {event:?} not accepted")]
    AlreadyCompleted {
        /// The final phase.
        phase: OperationPhase,
        /// The rejected event.
        event: &'static str,
    },
}

/// The state of one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationMachine {
    phase: OperationPhase,
    message: String,
    retry: Option<RetryStrategy>,
    retries: u32,
}

impl OperationMachine {
    /// A running operation with an optional retry strategy.
    pub fn new(retry: Option<RetryStrategy>) -> Self {
        Self {
            phase: OperationPhase::Running,
            message: String::new(),
            retry,
            retries: 0,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> OperationPhase {
        self.phase
    }

    /// The latest message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Retries started so far.
    pub fn retry_count(&self) -> u32 {
        self.retries
    }

    /// Feeds one event in.
    pub fn handle(&mut self, event: OperationEvent) -> Result<Transition, OperationError> {
        if self.phase.is_completed() {
            return Err(OperationError::AlreadyCompleted {
                phase: self.phase,
                event: event.name(),
            });
        }
        let terminating = self.phase == OperationPhase::Terminating;
        Ok(match event {
            OperationEvent::TerminateRequested => {
                self.phase = OperationPhase::Terminating;
                self.message = "operation is terminating".into();
                Transition::Continue
            }
            OperationEvent::Errored { message } => self.complete(OperationPhase::Error, message),
            OperationEvent::Terminated | OperationEvent::Succeeded { .. } if terminating => {
                self.complete(OperationPhase::Failed, "operation terminated".into())
            }
            OperationEvent::Failed { message } if terminating => self.complete(
                OperationPhase::Failed,
                format!("operation terminated: {message}"),
            ),
            OperationEvent::Terminated => Transition::Continue,
            OperationEvent::Succeeded { message } => {
                self.complete(OperationPhase::Succeeded, message)
            }
            OperationEvent::Failed { message } => self.fail(message),
        })
    }

    fn complete(&mut self, phase: OperationPhase, message: String) -> Transition {
        self.phase = phase;
        self.message = message;
        Transition::Completed(phase)
    }

    fn fail(&mut self, message: String) -> Transition {
        let Some(retry) = self.retry.as_ref().filter(|r| r.allows_retry(self.retries)) else {
            let message = if self.retries > 0 {
                format!("{message} (retried {} times)", self.retries)
            } else {
                message
            };
            return self.complete(OperationPhase::Failed, message);
        };
        match retry.delay(self.retries) {
            Ok(delay) => {
                self.retries += 1;
                self.message = format!(
                    "{message}; retry attempt #{} in {}s",
                    self.retries,
                    delay.as_secs_f64()
                );
                Transition::RetryAfter {
                    delay,
                    attempt: self.retries,
                }
            }
            Err(err) => self.complete(
                OperationPhase::Error,
                format!("{message}; cannot retry: invalid retry backoff: {err}"),
            ),
        }
    }

    /// Writes phase, message and retry count into `status.operationState`.
    pub fn write_to(&self, state: &mut OperationState) {
        state.phase = Some(self.phase);
        state.message = (!self.message.is_empty()).then(|| self.message.clone());
        state.retry_count = Some(i64::from(self.retries));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocd_model::Backoff;

    fn strategy(limit: i64, duration: &str, factor: i64, max: &str) -> RetryStrategy {
        RetryStrategy {
            limit: Some(limit),
            backoff: Some(Backoff {
                duration: Some(duration.into()),
                factor: Some(factor),
                max_duration: Some(max.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn failed(m: &str) -> OperationEvent {
        OperationEvent::Failed { message: m.into() }
    }

    #[test]
    fn success_completes() {
        let mut op = OperationMachine::new(None);
        assert_eq!(op.phase(), OperationPhase::Running);
        let t = op.handle(OperationEvent::Succeeded {
            message: "successfully synced".into(),
        });
        assert_eq!(t, Ok(Transition::Completed(OperationPhase::Succeeded)));
        assert_eq!(op.message(), "successfully synced");
        assert!(matches!(
            op.handle(failed("late")),
            Err(OperationError::AlreadyCompleted {
                phase: OperationPhase::Succeeded,
                ..
            })
        ));
    }

    #[test]
    fn failure_without_retry_fails() {
        let mut op = OperationMachine::new(None);
        assert_eq!(
            op.handle(failed("one or more objects failed to apply")),
            Ok(Transition::Completed(OperationPhase::Failed))
        );
        // An unset limit means no retries, as in Argo CD.
        let mut op = OperationMachine::new(Some(RetryStrategy::default()));
        assert_eq!(
            op.handle(failed("x")),
            Ok(Transition::Completed(OperationPhase::Failed))
        );
    }

    #[test]
    fn retries_back_off_up_to_the_limit() {
        let mut op = OperationMachine::new(Some(strategy(3, "5s", 2, "15s")));
        let mut delays = Vec::new();
        loop {
            match op.handle(failed("apply conflict")) {
                Ok(Transition::RetryAfter { delay, attempt }) => {
                    assert_eq!(attempt, op.retry_count());
                    assert_eq!(op.phase(), OperationPhase::Running);
                    delays.push(delay.as_secs());
                }
                Ok(Transition::Completed(phase)) => {
                    assert_eq!(phase, OperationPhase::Failed);
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(delays, [5, 10, 15]);
        assert_eq!(op.message(), "apply conflict (retried 3 times)");
        let mut state = OperationState::default();
        op.write_to(&mut state);
        assert_eq!(state.retry_count, Some(3));
        assert_eq!(state.phase, Some(OperationPhase::Failed));
    }

    #[test]
    fn retry_then_success() {
        let mut op = OperationMachine::new(Some(strategy(-1, "1s", 3, "1m")));
        assert!(matches!(
            op.handle(failed("a")),
            Ok(Transition::RetryAfter { .. })
        ));
        assert_eq!(
            op.handle(failed("b")),
            Ok(Transition::RetryAfter {
                delay: Duration::from_secs(3),
                attempt: 2
            })
        );
        assert_eq!(
            op.handle(OperationEvent::Succeeded {
                message: "ok".into()
            }),
            Ok(Transition::Completed(OperationPhase::Succeeded))
        );
    }

    #[test]
    fn errors_are_never_retried() {
        let mut op = OperationMachine::new(Some(strategy(5, "1s", 2, "1m")));
        assert_eq!(
            op.handle(OperationEvent::Errored {
                message: "rendering failed".into()
            }),
            Ok(Transition::Completed(OperationPhase::Error))
        );
    }

    #[test]
    fn bad_backoff_is_an_error() {
        let mut op = OperationMachine::new(Some(strategy(2, "soon", 2, "1m")));
        assert_eq!(
            op.handle(failed("x")),
            Ok(Transition::Completed(OperationPhase::Error))
        );
        assert!(op.message().contains("invalid retry backoff"));
    }

    #[test]
    fn termination() {
        let mut op = OperationMachine::new(Some(strategy(5, "1s", 2, "1m")));
        assert_eq!(
            op.handle(OperationEvent::TerminateRequested),
            Ok(Transition::Continue)
        );
        assert_eq!(op.phase(), OperationPhase::Terminating);
        // A failure while terminating is not retried.
        assert_eq!(
            op.handle(failed("wave 2 interrupted")),
            Ok(Transition::Completed(OperationPhase::Failed))
        );
        assert_eq!(op.message(), "operation terminated: wave 2 interrupted");

        let mut op = OperationMachine::new(None);
        op.handle(OperationEvent::TerminateRequested).ok();
        assert_eq!(
            op.handle(OperationEvent::Terminated),
            Ok(Transition::Completed(OperationPhase::Failed))
        );
        assert_eq!(op.message(), "operation terminated");
    }
}
