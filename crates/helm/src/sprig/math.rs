//! Sprig math and conversion functions (integer results are Go `int64`).

use ferrocd_gotmpl::{FuncError, FuncMap, Value};

use super::args::{int, string, to_f64, to_i64};

/// Drops binary floating-point noise the way Sprig's decimal arithmetic
/// never produces it (`0.1 + 0.2` is `0.3`).
fn decimal(f: f64) -> f64 {
    if !f.is_finite() {
        return f;
    }
    format!("{f:.14e}").parse().unwrap_or(f)
}

fn fold_f(a: &[Value], init: Option<f64>, op: fn(f64, f64) -> f64) -> Result<Value, FuncError> {
    FuncError::check_min_arity(a, 1)?;
    let mut it = a.iter().map(to_f64);
    let first = match init {
        Some(v) => v,
        None => it.next().unwrap_or(0.0),
    };
    Ok(Value::Float64(decimal(it.fold(first, op))))
}

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
    f.insert("biggest", |a| {
        FuncError::check_min_arity(a, 1)?;
        Ok(Value::Int64(a.iter().map(to_i64).max().unwrap_or(0)))
    });
    f.insert("addf", |a| fold_f(a, Some(0.0), |x, y| x + y));
    f.insert("add1f", |a| {
        FuncError::check_arity(a, 1)?;
        Ok(Value::Float64(decimal(to_f64(&a[0]) + 1.0)))
    });
    f.insert("subf", |a| fold_f(a, None, |x, y| x - y));
    f.insert("mulf", |a| fold_f(a, Some(1.0), |x, y| x * y));
    f.insert("divf", |a| fold_f(a, None, |x, y| x / y));
    f.insert("maxf", |a| fold_f(a, None, f64::max));
    f.insert("minf", |a| fold_f(a, None, f64::min));
    f.insert("round", |a| {
        FuncError::check_min_arity(a, 2)?;
        let round_on = match a.get(2) {
            Some(Value::Float64(r)) => *r,
            Some(other) => {
                return Err(FuncError::WrongType {
                    expected: "float64".into(),
                    got: other.type_name(),
                });
            }
            None => 0.5,
        };
        let pow = 10f64.powi(int(&a[1])?.clamp(-300, 300) as i32);
        let digit = pow * to_f64(&a[0]);
        let rounded = if digit.fract() >= round_on {
            digit.ceil()
        } else {
            digit.floor()
        };
        Ok(Value::Float64(rounded / pow))
    });
    f.insert("toDecimal", |a| {
        FuncError::check_arity(a, 1)?;
        let s = super::args::strval(&a[0]);
        Ok(Value::Int64(i64::from_str_radix(&s, 8).unwrap_or(0)))
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
