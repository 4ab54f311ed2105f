//! The value model: Go values as `text/template` sees them.
//!
//! Helm hands templates data decoded from YAML through JSON (`map[string]interface{}`,
//! `[]interface{}`, `string`, `float64`, `bool`, `nil`; Helm 4 still decodes every
//! number in `.Values` as `float64`), plus Go-typed values returned by functions
//! (`int` from `len`, `int64` from Sprig arithmetic, structs such as `.Release`).
//! [`Value`] keeps the Go type because it is observable: `printf "%T"`, the
//! comparison rules of `eq`/`lt`, and error messages all depend on it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::func::FuncError;

/// A Go value as seen by a template.
#[derive(Clone, Default)]
pub enum Value {
    /// Go's untyped `nil` (a nil `interface{}`); also what a missing map key yields.
    #[default]
    Nil,
    /// Go `bool`.
    Bool(bool),
    /// Go `int` (what number constants, `len` and ranges over integers produce).
    Int(i64),
    /// Go `int64` (what Sprig arithmetic produces).
    Int64(i64),
    /// Go `uint64`.
    Uint64(u64),
    /// Go `float64` (every number decoded from JSON or from Helm values).
    Float64(f64),
    /// Go `string`.
    String(Arc<str>),
    /// Go `[]interface {}`.
    List(Arc<Vec<Value>>),
    /// Go `map[string]interface {}`: a shared reference, like a Go map, so
    /// functions such as Sprig's `set` change it for every holder. Iteration
    /// and printing use sorted keys, as Go does.
    Map(Map),
    /// A Go struct or other value with fields and methods (`.Release.Name`, `.Files.Get`).
    Object(Arc<dyn Object>),
    /// A Go function value, invocable with the `call` builtin.
    Func(NativeFn),
}

/// A function stored in data and invoked with the `call` builtin.
pub type NativeFn = Arc<dyn Fn(&[Value]) -> Result<Value, FuncError> + Send + Sync>;

/// A Go value with fields and methods, such as Helm's `.Release` or `.Capabilities`.
///
/// Field access `.Name` first asks [`Object::has_method`]; methods receive the
/// arguments written after them (`.Files.Get "a.txt"`).
pub trait Object: Send + Sync {
    /// The Go type name printed by `%T` and in error messages (`*chart.Metadata`).
    fn type_name(&self) -> String;
    /// The value of an exported field, or `None` when the type has no such field.
    fn field(&self, name: &str) -> Option<Value>;
    /// Whether the type has a method with this name.
    fn has_method(&self, _name: &str) -> bool {
        false
    }
    /// Calls a method that [`Object::has_method`] reported.
    fn call_method(&self, name: &str, _args: &[Value]) -> Result<Value, FuncError> {
        Err(FuncError::Failed(format!("no method {name}")))
    }
    /// How `%v` prints the value (Go prints structs as `{a b}`).
    fn display(&self) -> String;
    /// Go truthiness: structs are always true, nil pointers false.
    fn truthy(&self) -> bool {
        true
    }
    /// For a value whose Go type is a map (Helm's `chart.Files` is
    /// `map[string][]byte`): its entries in key order, so that `range` and
    /// `len` work on it. `None` for struct-like objects.
    fn map_entries(&self) -> Option<Vec<(String, Value)>> {
        None
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Int64(i) => write!(f, "Int64({i})"),
            Value::Uint64(u) => write!(f, "Uint64({u})"),
            Value::Float64(x) => write!(f, "Float64({x:?})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::List(l) => f.debug_list().entries(l.iter()).finish(),
            Value::Map(m) => f.debug_map().entries(m.entries()).finish(),
            Value::Object(o) => write!(f, "Object({})", o.type_name()),
            Value::Func(_) => f.write_str("Func"),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) | (Value::Int64(a), Value::Int64(b)) => a == b,
            (Value::Uint64(a), Value::Uint64(b)) => a == b,
            (Value::Float64(a), Value::Float64(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => Arc::ptr_eq(a, b),
            (Value::Func(a), Value::Func(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Value {
    /// A Go `string`.
    pub fn string(s: impl Into<Arc<str>>) -> Self {
        Value::String(s.into())
    }

    /// A `[]interface {}` from values.
    pub fn list(items: impl IntoIterator<Item = Value>) -> Self {
        Value::List(Arc::new(items.into_iter().collect()))
    }

    /// A `map[string]interface {}` from pairs.
    pub fn map<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Self {
        Value::Map(Map::from_entries(
            pairs.into_iter().map(|(k, v)| (k.into(), v)),
        ))
    }

    /// A function value for the `call` builtin.
    pub fn func(f: impl Fn(&[Value]) -> Result<Value, FuncError> + Send + Sync + 'static) -> Self {
        Value::Func(Arc::new(f))
    }

    /// A copy in which maps no longer share entries with this value.
    pub fn deep_clone(&self) -> Value {
        match self {
            Value::Map(m) => Value::Map(m.deep_clone()),
            Value::List(l) => Value::list(l.iter().map(Value::deep_clone)),
            other => other.clone(),
        }
    }

    /// The Go type name as `%T` prints it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Int64(_) => "int64".into(),
            Value::Uint64(_) => "uint64".into(),
            Value::Float64(_) => "float64".into(),
            Value::String(_) => "string".into(),
            Value::List(_) => "[]interface {}".into(),
            Value::Map(_) => "map[string]interface {}".into(),
            Value::Object(o) => o.type_name(),
            Value::Func(_) => "func(...interface {}) (interface {}, error)".into(),
        }
    }

    /// Go truthiness as `if`, `with`, `and`, `or` and `not` use it: false, 0,
    /// nil, and empty strings, slices and maps are false.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Uint64(u) => *u != 0,
            Value::Float64(x) => *x != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(o) => o.truthy(),
            Value::Func(_) => true,
        }
    }

    /// Whether this is `nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The string, when this is a Go `string`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, when this is any Go signed or unsigned integer that fits in `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            Value::Uint64(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }

    /// The float, when this is a Go `float64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float64(x) => Some(*x),
            _ => None,
        }
    }

    /// The elements, when this is a slice.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The map, when this is a map.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    /// Formats like Go's `fmt.Sprint(v)` (`%v`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::gofmt::sprint(std::slice::from_ref(self)))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int64(i)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<usize> for Value {
    fn from(i: usize) -> Self {
        i64::try_from(i).map_or(Value::Uint64(i as u64), Value::Int)
    }
}
impl From<u64> for Value {
    fn from(u: u64) -> Self {
        Value::Uint64(u)
    }
}
impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float64(x)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s.into())
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(Arc::new(v))
    }
}
impl From<BTreeMap<String, Value>> for Value {
    fn from(m: BTreeMap<String, Value>) -> Self {
        Value::Map(Map::from(m))
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Map(m)
    }
}

/// A Go `map[string]interface {}`: cloning shares the same entries, as
/// copying a Go map value does; [`Map::deep_clone`] copies them.
#[derive(Clone, Default)]
pub struct Map(Arc<RwLock<BTreeMap<String, Value>>>);

impl Map {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// A map with these entries (later duplicates win).
    pub fn from_entries(entries: impl IntoIterator<Item = (String, Value)>) -> Self {
        Map(Arc::new(RwLock::new(entries.into_iter().collect())))
    }

    /// The value at `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.0.read_recursive().get(key).cloned()
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.read_recursive().contains_key(key)
    }

    /// Sets `key`, returning the previous value; every holder of this map sees the change.
    pub fn insert(&self, key: impl Into<String>, value: Value) -> Option<Value> {
        self.0.write().insert(key.into(), value)
    }

    /// Removes `key`, returning its value; every holder of this map sees the change.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.0.write().remove(key)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.read_recursive().len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.read_recursive().is_empty()
    }

    /// The keys, sorted (a snapshot).
    pub fn keys(&self) -> Vec<String> {
        self.0.read_recursive().keys().cloned().collect()
    }

    /// The entries sorted by key (a snapshot).
    pub fn entries(&self) -> Vec<(String, Value)> {
        self.0
            .read_recursive()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Calls `f` with the entries, without copying them.
    pub fn with<T>(&self, f: impl FnOnce(&BTreeMap<String, Value>) -> T) -> T {
        f(&self.0.read_recursive())
    }

    /// Whether both handles refer to the same Go map.
    pub fn ptr_eq(a: &Map, b: &Map) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// A copy that shares nothing with this map (nested maps are copied too).
    pub fn deep_clone(&self) -> Map {
        Map::from_entries(self.entries().into_iter().map(|(k, v)| (k, v.deep_clone())))
    }
}

impl PartialEq for Map {
    fn eq(&self, other: &Self) -> bool {
        Map::ptr_eq(self, other) || *self.0.read_recursive() == *other.0.read_recursive()
    }
}

impl From<BTreeMap<String, Value>> for Map {
    fn from(m: BTreeMap<String, Value>) -> Self {
        Map(Arc::new(RwLock::new(m)))
    }
}

impl fmt::Debug for Map {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries()).finish()
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Nil, Into::into)
    }
}
