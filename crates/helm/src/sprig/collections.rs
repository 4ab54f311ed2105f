//! Sprig list and dict functions.

use ferrocd_gotmpl::{FuncError, FuncMap, Map, Value};

use super::args::{list, string, strval};

type R = Result<Value, FuncError>;

fn one_list<'a>(a: &'a [Value], name: &str) -> Result<&'a [Value], FuncError> {
    FuncError::check_arity(a, 1)?;
    list(&a[0], name)
}

/// Go's `reflect.DeepEqual` on template values.
pub(crate) fn deep_equal(a: &Value, b: &Value) -> bool {
    a == b
}

/// Registers the list functions.
pub(crate) fn register_lists(f: &mut FuncMap) {
    f.insert("list", |a| Ok(Value::list(a.iter().cloned())));
    f.insert("tuple", |a| Ok(Value::list(a.iter().cloned())));
    f.insert("first", |a| {
        Ok(one_list(a, "find first")?
            .first()
            .cloned()
            .unwrap_or_default())
    });
    f.insert("last", |a| {
        Ok(one_list(a, "find last")?
            .last()
            .cloned()
            .unwrap_or_default())
    });
    f.insert("rest", |a| {
        let l = one_list(a, "find rest")?;
        Ok(if l.is_empty() {
            Value::Nil
        } else {
            Value::list(l[1..].iter().cloned())
        })
    });
    f.insert("initial", |a| {
        let l = one_list(a, "find initial")?;
        Ok(if l.is_empty() {
            Value::Nil
        } else {
            Value::list(l[..l.len() - 1].iter().cloned())
        })
    });
    f.insert("reverse", |a| {
        Ok(Value::list(
            one_list(a, "find reverse")?.iter().rev().cloned(),
        ))
    });
    f.insert("compact", |a| {
        Ok(Value::list(
            one_list(a, "compact")?
                .iter()
                .filter(|v| !super::args::is_empty(v))
                .cloned(),
        ))
    });
    f.insert("uniq", |a| {
        let mut out: Vec<Value> = Vec::new();
        for v in one_list(a, "uniq")? {
            if !out.iter().any(|o| deep_equal(o, v)) {
                out.push(v.clone());
            }
        }
        Ok(Value::list(out))
    });
    let append: fn(&[Value]) -> R = |a| {
        FuncError::check_arity(a, 2)?;
        let l = list(&a[0], "append")?;
        Ok(Value::list(
            l.iter().cloned().chain(std::iter::once(a[1].clone())),
        ))
    };
    f.insert("append", append);
    f.insert("push", append);
    f.insert("prepend", |a| {
        FuncError::check_arity(a, 2)?;
        let l = list(&a[0], "prepend")?;
        Ok(Value::list(
            std::iter::once(a[1].clone()).chain(l.iter().cloned()),
        ))
    });
    f.insert("concat", |a| {
        let mut out = Vec::new();
        for l in a {
            out.extend(list(l, "concat")?.iter().cloned());
        }
        Ok(Value::list(out))
    });
    f.insert("has", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(Value::Bool(match &a[1] {
            Value::List(l) => l.iter().any(|v| deep_equal(v, &a[0])),
            Value::Nil => false,
            other => {
                return Err(FuncError::msg(format!(
                    "Cannot find has on type {}",
                    other.type_name()
                )));
            }
        }))
    });
    f.insert("without", |a| {
        FuncError::check_min_arity(a, 1)?;
        let l = list(&a[0], "find without")?;
        Ok(Value::list(
            l.iter()
                .filter(|v| !a[1..].iter().any(|x| deep_equal(x, v)))
                .cloned(),
        ))
    });
}

fn one_map(v: &Value) -> Result<&Map, FuncError> {
    match v {
        Value::Map(m) => Ok(m),
        Value::Nil => Err(FuncError::Invalid {
            expected: "map[string]interface {}".into(),
        }),
        other => Err(FuncError::WrongType {
            expected: "map[string]interface {}".into(),
            got: other.type_name(),
        }),
    }
}

/// Mergo-style merge of `src` into `dst`: missing (or, with `overwrite`, all)
/// keys are copied; nested maps merge recursively.
fn merge_into(dst: &Map, src: &Map, overwrite: bool) {
    for (k, v) in src.entries() {
        match (dst.get(&k), &v) {
            (Some(Value::Map(d)), Value::Map(s)) => merge_into(&d, s, overwrite),
            (Some(existing), _) if !overwrite && !super::args::is_empty(&existing) => {}
            (Some(_), _) if !overwrite => {
                dst.insert(k, v);
            }
            (None, _) => {
                dst.insert(k, v);
            }
            (Some(_), _) => {
                dst.insert(k, v);
            }
        }
    }
}

/// Registers the dict functions.
pub(crate) fn register_dicts(f: &mut FuncMap) {
    f.insert("dict", |a| {
        let m = Map::new();
        for pair in a.chunks(2) {
            let v = pair.get(1).cloned().unwrap_or_else(|| Value::from(""));
            m.insert(strval(&pair[0]), v);
        }
        Ok(Value::Map(m))
    });
    f.insert("get", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(one_map(&a[0])?
            .get(string(&a[1])?)
            .unwrap_or_else(|| Value::from("")))
    });
    f.insert("set", |a| {
        FuncError::check_arity(a, 3)?;
        one_map(&a[0])?.insert(string(&a[1])?, a[2].clone());
        Ok(a[0].clone())
    });
    f.insert("unset", |a| {
        FuncError::check_arity(a, 2)?;
        one_map(&a[0])?.remove(string(&a[1])?);
        Ok(a[0].clone())
    });
    f.insert("hasKey", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(Value::Bool(one_map(&a[0])?.contains_key(string(&a[1])?)))
    });
    f.insert("keys", |a| {
        let mut keys = Vec::new();
        for m in a {
            keys.extend(one_map(m)?.keys());
        }
        Ok(Value::list(keys.into_iter().map(Value::from)))
    });
    f.insert("values", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::list(
            one_map(&a[0])?.entries().into_iter().map(|(_, v)| v),
        ))
    });
    f.insert("pick", |a| {
        FuncError::check_min_arity(a, 1)?;
        let m = one_map(&a[0])?;
        let out = Map::new();
        for k in &a[1..] {
            let k = string(k)?;
            if let Some(v) = m.get(k) {
                out.insert(k, v);
            }
        }
        Ok(Value::Map(out))
    });
    f.insert("omit", |a| {
        FuncError::check_min_arity(a, 1)?;
        let m = one_map(&a[0])?;
        let drop: Vec<&str> = a[1..].iter().map(string).collect::<Result<_, _>>()?;
        Ok(Value::Map(Map::from_entries(
            m.entries()
                .into_iter()
                .filter(|(k, _)| !drop.contains(&k.as_str())),
        )))
    });
    f.insert("merge", |a| {
        FuncError::check_min_arity(a, 1)?;
        let dst = one_map(&a[0])?;
        for src in &a[1..] {
            merge_into(dst, one_map(src)?, false);
        }
        Ok(a[0].clone())
    });
    f.insert("mergeOverwrite", |a| {
        FuncError::check_min_arity(a, 1)?;
        let dst = one_map(&a[0])?;
        for src in &a[1..] {
            merge_into(dst, one_map(src)?, true);
        }
        Ok(a[0].clone())
    });
    f.insert("deepCopy", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(a[0].deep_clone())
    });
    f.insert("dig", |a| {
        FuncError::check_min_arity(a, 3)?;
        let (keys, default, dict) = (&a[..a.len() - 2], &a[a.len() - 2], &a[a.len() - 1]);
        let mut cur = dict.clone();
        for k in keys {
            let k = string(k)?;
            cur = match one_map(&cur)?.get(k) {
                Some(v) => v,
                None => return Ok(default.clone()),
            };
        }
        Ok(cur)
    });
}
