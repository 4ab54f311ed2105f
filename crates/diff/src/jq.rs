//! `jqPathExpressions`: a real jq implementation (jaq) finds the paths an expression
//! selects, which are then removed from the object.
//!
//! Evaluations run on a worker thread (one per calling thread, keeping the compiled
//! programs) with a time limit. The worker checks the deadline between outputs and stops
//! after [`MAX_PATHS`] paths, so expressions that produce outputs forever end on time; an
//! expression that loops without producing any output cannot be interrupted: its worker
//! is abandoned (it ends when the expression does) and a fresh one takes over, and the
//! diff returns an error at the deadline.
//!
//! Compile errors are errors. A runtime error (`.spec.containers[]` on an object without
//! containers) ends the expression's paths for that object without failing the diff, so a
//! broad rule does not break the comparison of objects it does not fit.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde_json::Value;

use crate::DiffError;

/// At most this many paths are taken from one expression.
const MAX_PATHS: usize = 100_000;

/// One step of a path produced by jq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// A map key.
    Key(String),
    /// A list index (negative counts from the end).
    Index(i64),
}

/// A compiled `path(<expression>)` program.
type Program = jaq_core::compile::Filter<jaq_core::Native<data::JustLut<Val>>>;

/// Compiled programs a worker keeps before starting afresh.
const CACHE_LIMIT: usize = 256;

/// One evaluation request for a worker.
struct Job {
    program: String,
    input: Vec<u8>,
    deadline: Instant,
    reply: mpsc::Sender<Result<Vec<Vec<Step>>, Failure>>,
}

thread_local! {
    /// The jq worker of the calling thread: a thread of its own (so a runaway expression
    /// can be abandoned) that keeps compiled programs (jaq values are not `Send`).
    static WORKER: RefCell<Option<mpsc::Sender<Job>>> = const { RefCell::new(None) };
}

/// The paths `expression` selects in `value`.
pub(crate) fn paths(
    expression: &str,
    value: &Value,
    timeout: Duration,
) -> Result<Vec<Vec<Step>>, DiffError> {
    let jq_error = |message: String| DiffError::Jq {
        expression: expression.to_string(),
        message,
    };
    let input = serde_json::to_vec(value).map_err(|e| jq_error(e.to_string()))?;
    let (reply, answer) = mpsc::channel();
    let mut job = Job {
        program: format!("path({expression})"),
        input,
        deadline: Instant::now() + timeout,
        reply,
    };
    // A worker that died is replaced once.
    for _ in 0..2 {
        let sender = WORKER.with(|w| {
            let mut slot = w.borrow_mut();
            if slot.is_none() {
                *slot = spawn_worker();
            }
            slot.clone()
        });
        let Some(sender) = sender else {
            return Err(jq_error("starting the jq worker thread failed".to_string()));
        };
        match sender.send(job) {
            Ok(()) => break,
            Err(mpsc::SendError(returned)) => {
                job = returned;
                WORKER.with(|w| w.borrow_mut().take());
            }
        }
    }
    match answer.recv_timeout(timeout + Duration::from_millis(20)) {
        Ok(Ok(paths)) => Ok(paths),
        Ok(Err(Failure::Timeout)) => Err(DiffError::JqTimeout {
            expression: expression.to_string(),
            timeout,
        }),
        Err(mpsc::RecvTimeoutError::Timeout) => {
            // The worker is stuck in this expression: abandon it (it ends once it
            // finishes, as its queue is closed) and start a fresh one next time.
            WORKER.with(|w| w.borrow_mut().take());
            Err(DiffError::JqTimeout {
                expression: expression.to_string(),
                timeout,
            })
        }
        Ok(Err(Failure::Message(message))) => Err(jq_error(message)),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            WORKER.with(|w| w.borrow_mut().take());
            Err(jq_error("the jq worker ended without a result".to_string()))
        }
    }
}

fn spawn_worker() -> Option<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("ferrocd-jq".to_string())
        .spawn(move || {
            let mut cache: HashMap<String, Program> = HashMap::new();
            while let Ok(job) = rx.recv() {
                let result = run(&mut cache, &job);
                let _ = job.reply.send(result);
            }
        })
        .ok()?;
    Some(tx)
}

/// Checks that an expression compiles (for validating settings early).
pub(crate) fn check(expression: &str) -> Result<(), DiffError> {
    match paths(expression, &Value::Null, Duration::from_secs(1)) {
        Ok(_) | Err(DiffError::JqTimeout { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

enum Failure {
    Timeout,
    Message(String),
}

fn compile(program: &str) -> Result<Program, Failure> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let file = File {
        code: program,
        path: (),
    };
    let modules = loader
        .load(&arena, file)
        .map_err(|errs| Failure::Message(format!("compiling: {}", describe_load(&errs))))?;
    Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errs| {
            let names: Vec<String> = errs
                .iter()
                .flat_map(|(_, list)| list.iter().map(|(name, _)| format!("undefined {name}")))
                .collect();
            Failure::Message(format!("compiling: {}", names.join(", ")))
        })
}

fn run(cache: &mut HashMap<String, Program>, job: &Job) -> Result<Vec<Vec<Step>>, Failure> {
    let input = jaq_json::read::parse_single(&job.input)
        .map_err(|e| Failure::Message(format!("reading input: {e}")))?;
    if !cache.contains_key(&job.program) {
        let program = compile(&job.program)?;
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(job.program.clone(), program);
    }
    let Some(filter) = cache.get(&job.program) else {
        return Err(Failure::Message("compiled program vanished".to_string()));
    };
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut out = Vec::new();
    for result in filter.id.run((ctx, input)).map(unwrap_valr) {
        if Instant::now() > job.deadline {
            return Err(Failure::Timeout);
        }
        // A runtime error (say, iterating a field this object does not have) means the
        // expression selects nothing more here, as a rule written for other objects.
        let Ok(path) = result else {
            break;
        };
        out.push(to_steps(&path)?);
        if out.len() >= MAX_PATHS {
            break;
        }
    }
    Ok(out)
}

fn describe_load<P>(errs: &jaq_core::load::Errors<&str, P>) -> String {
    let parts: Vec<String> = errs
        .iter()
        .map(|(_, e)| match e {
            jaq_core::load::Error::Io(items) => format!("{} i/o error(s)", items.len()),
            jaq_core::load::Error::Lex(items) => items
                .iter()
                .map(|(expect, at)| format!("expected {} at {:?}", expect.as_str(), truncate(at)))
                .collect::<Vec<_>>()
                .join("; "),
            jaq_core::load::Error::Parse(items) => items
                .iter()
                .map(|(expect, at)| format!("expected {} at {:?}", expect.as_str(), truncate(at)))
                .collect::<Vec<_>>()
                .join("; "),
        })
        .collect();
    parts.join("; ")
}

fn truncate(s: &str) -> String {
    s.chars().take(20).collect()
}

fn to_steps(path: &Val) -> Result<Vec<Step>, Failure> {
    let text = path.to_string();
    let parsed: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::Message(format!("reading path {text}: {e}")))?;
    let Value::Array(items) = parsed else {
        return Err(Failure::Message(format!("path {text} is not a list")));
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(s) => Ok(Step::Key(s)),
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map(Step::Index)
                .ok_or_else(|| Failure::Message(format!("path step {n} is not an index"))),
            other => Err(Failure::Message(format!(
                "path step {other} is not a key or an index"
            ))),
        })
        .collect()
}

/// Removes the value at `path` from `value` (no-op when absent).
pub(crate) fn remove(value: &mut Value, path: &[Step]) {
    let Some((last, parents)) = path.split_last() else {
        *value = Value::Null;
        return;
    };
    let mut current = value;
    for step in parents {
        let next = match (step, current) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(k),
            (Step::Index(i), Value::Array(a)) => index(a.len(), *i).and_then(|i| a.get_mut(i)),
            _ => None,
        };
        match next {
            Some(n) => current = n,
            None => return,
        }
    }
    match (last, current) {
        (Step::Key(k), Value::Object(m)) => {
            m.remove(k);
        }
        (Step::Index(i), Value::Array(a)) => {
            if let Some(i) = index(a.len(), *i) {
                a.remove(i);
            }
        }
        _ => {}
    }
}

fn index(len: usize, i: i64) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// The value at `path`, if present.
pub(crate) fn get<'v>(value: &'v Value, path: &[Step]) -> Option<&'v Value> {
    let mut current = value;
    for step in path {
        current = match (step, current) {
            (Step::Key(k), Value::Object(m)) => m.get(k)?,
            (Step::Index(i), Value::Array(a)) => a.get(index(a.len(), *i)?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Replaces the value at `path` (which must exist).
pub(crate) fn replace(value: &mut Value, path: &[Step], new: Value) {
    let mut current = value;
    for step in path {
        let next = match (step, current) {
            (Step::Key(k), Value::Object(m)) => m.get_mut(k),
            (Step::Index(i), Value::Array(a)) => index(a.len(), *i).and_then(|i| a.get_mut(i)),
            _ => None,
        };
        match next {
            Some(n) => current = n,
            None => return,
        }
    }
    *current = new;
}

/// Removes every path, deepest and last list positions first so indexes stay valid.
pub(crate) fn remove_all(value: &mut Value, mut paths: Vec<Vec<Step>>) {
    paths.sort_by(|a, b| compare_paths(b, a));
    paths.dedup();
    for p in &paths {
        remove(value, p);
    }
}

fn compare_paths(a: &[Step], b: &[Step]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let ord = match (x, y) {
            (Step::Index(i), Step::Index(j)) => i.cmp(j),
            (Step::Key(i), Step::Key(j)) => i.cmp(j),
            (Step::Key(_), Step::Index(_)) => std::cmp::Ordering::Less,
            (Step::Index(_), Step::Key(_)) => std::cmp::Ordering::Greater,
        };
        if ord != std::cmp::Ordering::Equal {
            return ord;
        }
    }
    a.len().cmp(&b.len())
}
