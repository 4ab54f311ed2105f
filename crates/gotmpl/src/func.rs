//! Functions supplied by the embedder: [`FuncMap`], [`Func`] and [`FuncError`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::exec::ExecContext;
use crate::value::Value;

/// The error a function returns; the executor wraps it the way Go does
/// (`error calling NAME: ...`, `wrong number of args for NAME: ...`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FuncError {
    /// The function was called with the wrong number of arguments
    /// (`want` is Go's wording: `2` or `at least 1`).
    #[error("wrong number of args: want {want} got {got}")]
    Arity {
        /// The expected count, as Go words it.
        want: String,
        /// The count given.
        got: usize,
    },
    /// An argument had a type the function cannot take
    /// (Go: `wrong type for value; expected int; got string`).
    #[error("wrong type for value; expected {expected}; got {got}")]
    WrongType {
        /// The Go type expected.
        expected: String,
        /// The Go type given.
        got: String,
    },
    /// A nil value was given where a value of this type is required
    /// (Go: `invalid value; expected string`).
    #[error("invalid value; expected {expected}")]
    Invalid {
        /// The Go type expected.
        expected: String,
    },
    /// The function ran and failed with this message.
    #[error("{0}")]
    Failed(String),
}

impl FuncError {
    /// A failure with a message.
    pub fn msg(message: impl Into<String>) -> Self {
        FuncError::Failed(message.into())
    }

    /// Checks that exactly `want` arguments were given.
    pub fn check_arity(args: &[Value], want: usize) -> Result<(), FuncError> {
        if args.len() == want {
            Ok(())
        } else {
            Err(FuncError::Arity {
                want: want.to_string(),
                got: args.len(),
            })
        }
    }

    /// Checks that at least `want` arguments were given.
    pub fn check_min_arity(args: &[Value], want: usize) -> Result<(), FuncError> {
        if args.len() >= want {
            Ok(())
        } else {
            Err(FuncError::Arity {
                want: format!("at least {want}"),
                got: args.len(),
            })
        }
    }
}

/// A plain function: arguments in, value or error out.
pub type PlainFn = dyn Fn(&[Value]) -> Result<Value, FuncError> + Send + Sync;

/// A function that also sees the running execution (for Helm's `include` and `tpl`).
pub type ContextFn =
    dyn Fn(&mut ExecContext<'_>, &[Value]) -> Result<Value, FuncError> + Send + Sync;

/// A function callable from templates.
#[derive(Clone)]
pub enum Func {
    /// A pure function of its arguments.
    Plain(Arc<PlainFn>),
    /// A function that can execute other templates of the running set.
    WithContext(Arc<ContextFn>),
}

impl fmt::Debug for Func {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Func::Plain(_) => f.write_str("Func::Plain"),
            Func::WithContext(_) => f.write_str("Func::WithContext"),
        }
    }
}

/// Functions by name, like Go's `template.FuncMap`. Names here take
/// precedence over the builtins (`and`, `len`, `printf`, ...), as in Go.
#[derive(Clone, Default, Debug)]
pub struct FuncMap {
    funcs: HashMap<String, Func>,
}

impl FuncMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a plain function.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        f: impl Fn(&[Value]) -> Result<Value, FuncError> + Send + Sync + 'static,
    ) -> &mut Self {
        self.funcs.insert(name.into(), Func::Plain(Arc::new(f)));
        self
    }

    /// Adds (or replaces) a function that receives the execution context.
    pub fn insert_with_context(
        &mut self,
        name: impl Into<String>,
        f: impl Fn(&mut ExecContext<'_>, &[Value]) -> Result<Value, FuncError> + Send + Sync + 'static,
    ) -> &mut Self {
        self.funcs
            .insert(name.into(), Func::WithContext(Arc::new(f)));
        self
    }

    /// Adds an already built [`Func`].
    pub fn insert_func(&mut self, name: impl Into<String>, f: Func) -> &mut Self {
        self.funcs.insert(name.into(), f);
        self
    }

    /// Adds every function of `other`, replacing same-named ones.
    pub fn extend(&mut self, other: &FuncMap) -> &mut Self {
        for (k, v) in &other.funcs {
            self.funcs.insert(k.clone(), v.clone());
        }
        self
    }

    /// The function with this name.
    pub fn get(&self, name: &str) -> Option<&Func> {
        self.funcs.get(name)
    }

    /// Whether a function with this name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.funcs.contains_key(name)
    }

    /// The names, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.funcs.keys().map(String::as_str)
    }

    /// The number of functions.
    pub fn len(&self) -> usize {
        self.funcs.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.funcs.is_empty()
    }
}
