//! Property tests: random input never panics the lexer, parser or executor.

use ferrocd_gotmpl::{ExecOptions, FuncMap, MissingKey, Template, Value, sprintf};
use proptest::prelude::*;

fn data() -> Value {
    Value::map([
        (
            "a",
            Value::map([(
                "b",
                Value::list([Value::Int(1), Value::Nil, Value::from("x")]),
            )]),
        ),
        ("n", Value::Float64(2.5)),
        ("s", Value::from("str")),
        ("l", Value::list([Value::Int(3), Value::Int(1)])),
        ("z", Value::Nil),
    ])
}

/// Fragments that make random templates likely to reach deep parser and executor paths.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{{".to_string()),
        Just("}}".to_string()),
        Just("{{- ".to_string()),
        Just(" -}}".to_string()),
        Just("{{/*".to_string()),
        Just("*/".to_string()),
        Just(".a.b".to_string()),
        Just("$x := ".to_string()),
        Just("$x".to_string()),
        Just("$".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(" | ".to_string()),
        Just("if ".to_string()),
        Just("else ".to_string()),
        Just("end".to_string()),
        Just("range ".to_string()),
        Just("with ".to_string()),
        Just("break".to_string()),
        Just("define \"d\"".to_string()),
        Just("template \"d\" .".to_string()),
        Just("block \"b\" .".to_string()),
        Just("printf \"%d %s %v %[2]*.*f %!\" ".to_string()),
        Just("index . \"a\" \"b\" 1 ".to_string()),
        Just("slice .l 0 1 ".to_string()),
        Just("eq 1 1.0 ".to_string()),
        Just("lt .s .n ".to_string()),
        Just("len .z ".to_string()),
        Just("and .z 1 ".to_string()),
        Just("html js urlquery print println ".to_string()),
        Just("'a' 0x1p4 1_0 -0b1 1e9 \"\\u00e9\" `raw` ".to_string()),
        Just("range 3".to_string()),
        "[ -~]{0,6}".prop_map(|s| s),
        "\\PC{0,3}".prop_map(|s| s),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
        let mut t = Template::new("p");
        if t.parse("t", &text).is_ok() {
            let _ = t.execute("t", &data(), &FuncMap::new(), &ExecOptions::default());
        }
    }

    #[test]
    fn template_like_text_never_panics(parts in proptest::collection::vec(fragment(), 0..24)) {
        let text: String = parts.concat();
        let mut t = Template::new("p");
        if t.parse("t", &text).is_ok() {
            for mk in [MissingKey::Default, MissingKey::Zero, MissingKey::Error] {
                let opts = ExecOptions { missing_key: mk, max_depth: 50 };
                let _ = t.execute("t", &data(), &FuncMap::new(), &opts);
            }
        }
    }

    #[test]
    fn sprintf_never_panics(format in "[%#+ 0-9.*\\[\\]a-zA-Z!-]{0,24}", n in 0usize..4) {
        let args: Vec<Value> = [Value::Int(-3), Value::from("é"), Value::Float64(1.5e-9), Value::Nil]
            .into_iter().take(n).collect();
        let _ = sprintf(&format, &args);
    }

    #[test]
    fn int_printing_matches_rust(i in any::<i64>()) {
        prop_assert_eq!(sprintf("%d", &[Value::Int(i)]), i.to_string());
        prop_assert_eq!(sprintf("%x", &[Value::Int(i)]), if i < 0 { format!("-{:x}", i.unsigned_abs()) } else { format!("{i:x}") });
    }

    #[test]
    fn float_v_round_trips(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
        let s = sprintf("%v", &[Value::Float64(x)]);
        let back: f64 = s.parse().expect("Go's %v of a finite float parses back");
        prop_assert_eq!(back, x);
    }
}
