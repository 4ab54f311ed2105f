//! Sprig's integer sequences (`until`, `untilStep`, `seq`), list slicing and
//! chunking, `pluck`, `all`/`any`, and the `must*` aliases of list and dict
//! functions (which already return errors instead of panicking here).

use ferrocd_gotmpl::{FuncError, FuncMap, Value};

use super::args::{int, is_empty, list, string, to_i64};

type R = Result<Value, FuncError>;

/// `untilStep`: from `start` towards `stop` (exclusive) by `step`.
fn until_step(start: i64, stop: i64, step: i64) -> Vec<i64> {
    let mut out = Vec::new();
    if step == 0 {
        return out;
    }
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        out.push(i);
        match i.checked_add(step) {
            Some(n) => i = n,
            None => break,
        }
        if out.len() > 1_000_000 {
            break;
        }
    }
    out
}

/// `seq` with GNU seq's argument forms: `LAST`, `FIRST LAST`, `FIRST INCR LAST`.
fn seq(a: &[Value]) -> R {
    let n: Vec<i64> = a.iter().map(int).collect::<Result<_, _>>()?;
    let (first, step, last) = match n.as_slice() {
        [] => return Ok(Value::from("")),
        [last] => (1, if *last >= 1 { 1 } else { -1 }, *last),
        [first, last] => (*first, if last >= first { 1 } else { -1 }, *last),
        [first, step, last] => (*first, *step, *last),
        _ => {
            return Err(FuncError::Arity {
                want: "at most 3".into(),
                got: a.len(),
            });
        }
    };
    let end = if step > 0 {
        last.saturating_add(1)
    } else {
        last.saturating_sub(1)
    };
    let items = until_step(first, end, step);
    Ok(Value::from(
        items
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(" "),
    ))
}

fn ints(v: Vec<i64>) -> Value {
    Value::list(v.into_iter().map(Value::Int))
}

fn slice(a: &[Value]) -> R {
    FuncError::check_min_arity(a, 1)?;
    let l = list(&a[0], "slice")?;
    let idx: Vec<i64> = a[1..].iter().map(to_i64).collect();
    let (from, to) = match idx.as_slice() {
        [] => (0, l.len() as i64),
        [from] => (*from, l.len() as i64),
        [from, to, ..] => (*from, *to),
    };
    if from < 0 || to < from || to > l.len() as i64 {
        return Err(FuncError::msg(format!(
            "runtime error: slice bounds out of range [{from}:{to}] with capacity {}",
            l.len()
        )));
    }
    Ok(Value::list(l[from as usize..to as usize].iter().cloned()))
}

fn chunk(a: &[Value]) -> R {
    FuncError::check_arity(a, 2)?;
    let size = int(&a[0])?;
    let l = list(&a[1], "chunk")?;
    if size <= 0 {
        return Err(FuncError::msg("runtime error: integer divide by zero"));
    }
    Ok(Value::list(
        l.chunks(size as usize)
            .map(|c| Value::list(c.iter().cloned())),
    ))
}

/// Registers the sequence and list-shaping functions, and `must*` aliases of
/// functions already registered in `f`.
pub(crate) fn register(f: &mut FuncMap) {
    f.insert("until", |a| {
        FuncError::check_arity(a, 1)?;
        let n = int(&a[0])?;
        Ok(ints(until_step(0, n, if n < 0 { -1 } else { 1 })))
    });
    f.insert("untilStep", |a| {
        FuncError::check_arity(a, 3)?;
        Ok(ints(until_step(int(&a[0])?, int(&a[1])?, int(&a[2])?)))
    });
    f.insert("seq", seq);
    f.insert("slice", slice);
    f.insert("chunk", chunk);
    f.insert("pluck", |a| {
        FuncError::check_min_arity(a, 1)?;
        let key = string(&a[0])?;
        let mut out = Vec::new();
        for d in &a[1..] {
            if let Some(v) = d.as_map().and_then(|m| m.get(key)) {
                out.push(v);
            }
        }
        Ok(Value::list(out))
    });
    f.insert("all", |a| Ok(Value::Bool(a.iter().all(|v| !is_empty(v)))));
    f.insert("any", |a| Ok(Value::Bool(a.iter().any(|v| !is_empty(v)))));
    for name in [
        "first",
        "last",
        "rest",
        "initial",
        "append",
        "push",
        "prepend",
        "reverse",
        "uniq",
        "without",
        "has",
        "compact",
        "slice",
        "chunk",
        "merge",
        "mergeOverwrite",
        "deepCopy",
        "regexReplaceAll",
    ] {
        if let Some(func) = f.get(name).cloned() {
            let must = format!("must{}{}", name[..1].to_uppercase(), &name[1..]);
            if !f.contains(&must) {
                f.insert_func(must, func);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_step_directions() {
        assert_eq!(until_step(0, 10, 3), [0, 3, 6, 9]);
        assert_eq!(until_step(5, 0, -2), [5, 3, 1]);
        assert!(until_step(0, 5, 0).is_empty());
        assert!(until_step(0, 5, -1).is_empty());
    }
}
