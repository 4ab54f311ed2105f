//! Kubernetes resource quantities (`500m`, `2`, `512Mi`, `1G`) as numbers, for scheduling.

/// Parses a CPU quantity into millicores.
pub fn cpu_millis(q: &str) -> Option<i64> {
    let q = q.trim();
    if let Some(m) = q.strip_suffix('m') {
        return m.parse::<f64>().ok().map(|v| v.ceil() as i64);
    }
    q.parse::<f64>().ok().map(|v| (v * 1000.0).ceil() as i64)
}

/// Parses a byte quantity (`Ki`, `Mi`, `Gi`, `Ti`, `k`, `M`, `G`, `T`, plain, or exponent form).
pub fn bytes(q: &str) -> Option<i64> {
    let q = q.trim();
    const SUFFIXES: [(&str, f64); 10] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
    ];
    for (s, mult) in SUFFIXES {
        if let Some(n) = q.strip_suffix(s) {
            return n.parse::<f64>().ok().map(|v| (v * mult).ceil() as i64);
        }
    }
    if let Some(n) = q.strip_suffix('m') {
        return n.parse::<f64>().ok().map(|v| (v / 1000.0).ceil() as i64);
    }
    q.parse::<f64>().ok().map(|v| v.ceil() as i64)
}

/// Parses a count (GPUs, pods).
pub fn count(q: &str) -> Option<i64> {
    q.trim().parse::<i64>().ok()
}

/// Reads a quantity that may be a JSON string or number.
pub fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(cpu_millis("500m"), Some(500));
        assert_eq!(cpu_millis("2"), Some(2000));
        assert_eq!(cpu_millis("0.5"), Some(500));
        assert_eq!(bytes("512Mi"), Some(512 * 1024 * 1024));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
        assert_eq!(bytes("1e3"), Some(1000));
        assert_eq!(count("4"), Some(4));
        assert_eq!(cpu_millis("lots"), None);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,12}") {
            let _ = cpu_millis(&s);
            let _ = bytes(&s);
            let _ = count(&s);
        }
    }
}
