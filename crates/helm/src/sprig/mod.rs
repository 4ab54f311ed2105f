//! The Sprig function library as Helm ships it (minus `env`/`expandenv`).
//!
//! Functions keep Sprig's conventions: typed parameters reject other Go types
//! with Go's `wrong type for value` error, arithmetic yields `int64`, and
//! lenient conversions (`toString`, `int`, `default`) follow Sprig's rules.

mod args;
mod collections;
mod crypto;
mod date;
mod encoding;
mod math;
mod paths;
pub(crate) mod semver;
mod sequences;
mod strings;
mod text;

use ferrocd_gotmpl::{FuncError, FuncMap, Value};

pub(crate) use encoding::json_float;
pub use encoding::to_json;

use args::{boolean, is_empty, string};

/// All Sprig functions implemented so far.
pub fn funcs() -> FuncMap {
    let mut f = FuncMap::new();
    strings::register(&mut f);
    collections::register_lists(&mut f);
    collections::register_dicts(&mut f);
    math::register(&mut f);
    encoding::register(&mut f);
    register_defaults(&mut f);
    register_types(&mut f);
    text::register(&mut f);
    paths::register(&mut f);
    sequences::register(&mut f);
    semver::register(&mut f);
    date::register(&mut f);
    crypto::register(&mut f);
    f
}

fn register_defaults(f: &mut FuncMap) {
    f.insert("default", |a| {
        FuncError::check_min_arity(a, 1)?;
        Ok(match a.get(1) {
            Some(v) if !is_empty(v) => v.clone(),
            _ => a[0].clone(),
        })
    });
    f.insert("empty", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::Bool(is_empty(&a[0])))
    });
    f.insert("coalesce", |a| {
        Ok(a.iter().find(|v| !is_empty(v)).cloned().unwrap_or_default())
    });
    f.insert("ternary", |a| {
        FuncError::check_arity(a, 3)?;
        Ok(if boolean(&a[2])? {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    f.insert("fail", |a| {
        FuncError::check_arity(a, 1)?;
        Err(FuncError::msg(string(&a[0])?))
    });
}

/// Go's `reflect.Kind` name of a value.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Int64(_) => "int64",
        Value::Uint64(_) => "uint64",
        Value::Float64(_) => "float64",
        Value::String(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        Value::Object(_) => "ptr",
        Value::Func(_) => "func",
    }
}

fn register_types(f: &mut FuncMap) {
    f.insert("kindOf", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(kind_of(&a[0])))
    });
    f.insert("kindIs", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(Value::Bool(string(&a[0])? == kind_of(&a[1])))
    });
    f.insert("typeOf", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::from(a[0].type_name()))
    });
    f.insert("typeIs", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(Value::Bool(string(&a[0])? == a[1].type_name()))
    });
    f.insert("deepEqual", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(Value::Bool(collections::deep_equal(&a[0], &a[1])))
    });
    f.insert("regexMatch", |a| {
        FuncError::check_arity(a, 2)?;
        let re = regex::Regex::new(string(&a[0])?);
        Ok(Value::Bool(
            re.is_ok_and(|re| re.is_match(string(&a[1]).unwrap_or(""))),
        ))
    });
    f.insert("regexReplaceAll", |a| {
        FuncError::check_arity(a, 3)?;
        let re = regex::Regex::new(string(&a[0])?).map_err(|e| FuncError::msg(e.to_string()))?;
        Ok(Value::from(
            re.replace_all(string(&a[1])?, string(&a[2])?).into_owned(),
        ))
    });
    f.insert("regexFind", |a| {
        FuncError::check_arity(a, 2)?;
        let re = regex::Regex::new(string(&a[0])?).map_err(|e| FuncError::msg(e.to_string()))?;
        Ok(Value::from(
            re.find(string(&a[1])?).map_or("", |m| m.as_str()),
        ))
    });
}
