//! Sprig math and conversion functions (integer results are Go `int64`).

use ferrocd_gotmpl::{FuncError, FuncMap, Value};

use super::args::{string, to_f64, to_i64};

/// Registers the math functions.
pub(crate) fn register(f: &mut FuncMap) {
    f.insert("add", |a| {
        Ok(Value::Int64(
            a.iter().map(to_i64).fold(0i64, i64::wrapping_add),
        ))
    });
    f.insert("add1", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::Int64(to_i64(&a[0]).wrapping_add(1)))
    });
    f.insert("sub", |a| {
        FuncError::check_arity(a, 2)?;
        Ok(Value::Int64(to_i64(&a[0]).wrapping_sub(to_i64(&a[1]))))
    });
    f.insert("mul", |a| {
        FuncError::check_min_arity(a, 1)?;
        Ok(Value::Int64(
            a.iter().map(to_i64).fold(1i64, i64::wrapping_mul),
        ))
    });
    f.insert("div", |a| {
        FuncError::check_arity(a, 2)?;
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err(FuncError::msg("runtime error: integer divide by zero"));
        }
        Ok(Value::Int64(to_i64(&a[0]).wrapping_div(d)))
    });
    f.insert("mod", |a| {
        FuncError::check_arity(a, 2)?;
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err(FuncError::msg("runtime error: integer divide by zero"));
        }
        Ok(Value::Int64(to_i64(&a[0]).wrapping_rem(d)))
    });
    f.insert("max", |a| {
        FuncError::check_min_arity(a, 1)?;
        Ok(Value::Int64(a.iter().map(to_i64).max().unwrap_or(0)))
    });
    f.insert("min", |a| {
        FuncError::check_min_arity(a, 1)?;
        Ok(Value::Int64(a.iter().map(to_i64).min().unwrap_or(0)))
    });
    f.insert("int", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::Int(to_i64(&a[0])))
    });
    f.insert("int64", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::Int64(to_i64(&a[0])))
    });
    f.insert("float64", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::Float64(to_f64(&a[0])))
    });
    f.insert("atoi", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::Int(string(&a[0])?.parse().unwrap_or(0)))
    });
    f.insert("floor", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::Float64(to_f64(&a[0]).floor()))
    });
    f.insert("ceil", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::Float64(to_f64(&a[0]).ceil()))
    });
}
