//! API behaviour: template sets, redefinition, sharing across threads,
//! context functions (`include`/`tpl` style) and depth limits.

mod support;

use std::sync::Arc;

use ferrocd_gotmpl::{ExecError, ExecOptions, FuncError, FuncMap, MissingKey, Template, Value};

fn exec(t: &Template, name: &str, data: &Value) -> Result<String, ExecError> {
    t.execute(name, data, &support::test_funcs(), &ExecOptions::default())
}

#[test]
fn template_is_send_sync_and_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    assert_send_sync::<FuncMap>();
    assert_send_sync::<Value>();

    let mut t = Template::new("set");
    t.parse("deploy.yaml", "{{ .name }}-{{ .gpu }}").unwrap();
    let t = Arc::new(t);
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let t = Arc::clone(&t);
            std::thread::spawn(move || {
                let data = Value::map([("name", Value::from("serve")), ("gpu", Value::Int(i))]);
                t.execute(
                    "deploy.yaml",
                    &data,
                    &FuncMap::new(),
                    &ExecOptions::default(),
                )
                .unwrap()
            })
        })
        .collect();
    let outs: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(outs, ["serve-0", "serve-1", "serve-2", "serve-3"]);
}

#[test]
fn files_share_one_namespace_and_later_definitions_win() {
    let mut t = Template::new("chart");
    t.parse("_helpers.tpl", r#"{{ define "name" }}mlflow{{ end }}{{ define "labels" }}app: {{ template "name" }}{{ end }}"#)
        .unwrap();
    t.parse("a.yaml", r#"{{ template "labels" }}"#).unwrap();
    assert_eq!(exec(&t, "a.yaml", &Value::Nil).unwrap(), "app: mlflow");
    // A later non-empty definition replaces the earlier one ...
    t.parse("_override.tpl", r#"{{ define "name" }}airflow{{ end }}"#)
        .unwrap();
    assert_eq!(exec(&t, "a.yaml", &Value::Nil).unwrap(), "app: airflow");
    // ... but an empty one does not.
    t.parse("_empty.tpl", r#"{{ define "name" }}  {{ end }}"#)
        .unwrap();
    assert_eq!(exec(&t, "a.yaml", &Value::Nil).unwrap(), "app: airflow");
    let names: Vec<&str> = t.names().collect();
    assert_eq!(
        names,
        [
            "_empty.tpl",
            "_helpers.tpl",
            "_override.tpl",
            "a.yaml",
            "labels",
            "name"
        ]
    );
    assert!(t.has("labels"));
}

#[test]
fn missing_template_error() {
    let t = Template::new("chart");
    let err = exec(&t, "nope.yaml", &Value::Nil).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"template: no template "nope.yaml" associated with template "chart""#
    );
}

#[test]
fn parse_errors_carry_name_and_line() {
    let mut t = Template::new("chart");
    let err = t
        .parse("templates/svc.yaml", "kind: Service\nport: {{ .port ) }}\n")
        .unwrap_err();
    assert_eq!(err.name, "templates/svc.yaml");
    assert_eq!(err.line, 2);
    assert_eq!(
        err.to_string(),
        "template: templates/svc.yaml:2: unexpected right paren"
    );
}

#[test]
fn unknown_functions_without_parse_check_fail_at_execution() {
    let mut t = Template::new("chart");
    t.parse("t", "a{{ nope 1 }}").unwrap();
    let err = t
        .execute("t", &Value::Nil, &FuncMap::new(), &ExecOptions::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"template: t:1:4: executing "t" at <nope>: "nope" is not a defined function"#
    );
}

#[test]
fn user_functions_take_precedence_over_builtins() {
    let mut f = FuncMap::new();
    f.insert("len", |_| Ok(Value::from("mine")));
    let mut t = Template::with_funcs("s", &f);
    t.parse("t", "{{ len 1 2 3 }}").unwrap();
    assert_eq!(
        t.execute("t", &Value::Nil, &f, &ExecOptions::default())
            .unwrap(),
        "mine"
    );
}

#[test]
fn tpl_style_function_parses_into_a_clone() {
    let mut funcs = support::test_funcs();
    funcs.insert_with_context("tpl", |ctx, args| {
        FuncError::check_arity(args, 2)?;
        let text = args[0]
            .as_str()
            .ok_or_else(|| FuncError::msg("tpl text must be a string"))?;
        let mut set = ctx.template_set().clone();
        let name = ctx.current_template().to_string();
        set.parse(&name, text)
            .map_err(|e| FuncError::msg(e.to_string()))?;
        ctx.execute_in(&set, &name, &args[1], None)
            .map(Value::from)
            .map_err(|e| FuncError::msg(e.to_string()))
    });
    let mut t = Template::with_funcs("chart", &funcs);
    t.parse(
        "_h.tpl",
        r#"{{ define "img" }}{{ .repo }}:{{ .tag }}{{ end }}"#,
    )
    .unwrap();
    t.parse("cm.yaml", r#"value: {{ tpl .text . }}"#).unwrap();
    let data = Value::map([
        (
            "text",
            Value::from(r#"{{ include "img" . }}@{{ .digest }}"#),
        ),
        ("repo", Value::from("ghcr.io/mlflow/mlflow")),
        ("tag", Value::from("v2.9.2")),
        ("digest", Value::from("sha256:abc")),
    ]);
    let out = t
        .execute("cm.yaml", &data, &funcs, &ExecOptions::default())
        .unwrap();
    assert_eq!(out, "value: ghcr.io/mlflow/mlflow:v2.9.2@sha256:abc");
    // The original set is unchanged by tpl's parse.
    assert!(!t.names().any(|n| n.contains("text")));
}

#[test]
fn include_recursion_hits_the_depth_limit_not_the_stack() {
    let funcs = support::test_funcs();
    let mut t = Template::with_funcs("chart", &funcs);
    t.parse(
        "t",
        r#"{{ define "loop" }}{{ include "loop" . }}{{ end }}{{ include "loop" . }}"#,
    )
    .unwrap();
    // Run on a small stack to prove the limit triggers before the stack runs out.
    let h = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            let opts = ExecOptions {
                max_depth: 1000,
                ..ExecOptions::default()
            };
            t.execute("t", &Value::Nil, &funcs, &opts)
                .unwrap_err()
                .to_string()
        })
        .unwrap();
    let err = h.join().unwrap();
    assert!(
        err.contains("exceeded maximum template depth (1000)"),
        "{}",
        &err[..err.len().min(300)]
    );
}

#[test]
fn template_recursion_limit_on_small_stack() {
    let mut t = Template::new("s");
    t.parse(
        "t",
        r#"{{ define "r" }}x{{ template "r" . }}{{ end }}{{ template "r" . }}"#,
    )
    .unwrap();
    let h = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            t.execute("t", &Value::Nil, &FuncMap::new(), &ExecOptions::default())
                .unwrap_err()
        })
        .unwrap();
    let err = h.join().unwrap();
    assert_eq!(
        err.to_string(),
        r#"template: t:1:29: executing "r" at <{{template "r" .}}>: exceeded maximum template depth (1000)"#
    );
}

#[test]
fn deep_nesting_is_a_parse_error() {
    let text = format!(
        "{}1{}",
        "{{(".to_string() + &"(".repeat(500),
        ")".repeat(501) + "}}"
    );
    let mut t = Template::new("s");
    let err = t.parse("t", &text).unwrap_err();
    assert_eq!(err.message, "max expression depth exceeded");
    let nested_ifs = "{{if 1}}".repeat(400) + &"{{end}}".repeat(400);
    assert_eq!(
        t.parse("u", &nested_ifs).unwrap_err().message,
        "max expression depth exceeded"
    );
}

#[test]
fn helm_like_values_print_and_compare_as_float64() {
    // Helm decodes every number in .Values as float64.
    let values = Value::map([
        ("replicas", Value::Float64(3.0)),
        ("memory", Value::Float64(1_048_576.0)),
    ]);
    let mut t = Template::new("s");
    t.parse(
        "t",
        "{{ .replicas }} {{ .memory }} {{ printf \"%T\" .replicas }} {{ eq .replicas 3.0 }}",
    )
    .unwrap();
    let opts = ExecOptions {
        missing_key: MissingKey::Zero,
        ..ExecOptions::default()
    };
    let out = t.execute("t", &values, &FuncMap::new(), &opts).unwrap();
    assert_eq!(out, "3 1.048576e+06 float64 true");
}

#[test]
fn custom_delimiters() {
    let mut t = Template::new("s");
    t.set_delims("[[", "]]");
    t.parse("t", "{{ literal }} [[ .x ]] [[- .x -]] !").unwrap();
    let out = t
        .execute(
            "t",
            &Value::map([("x", Value::from("v"))]),
            &FuncMap::new(),
            &ExecOptions::default(),
        )
        .unwrap();
    assert_eq!(out, "{{ literal }} vv!");
}

#[test]
fn execute_twice_gives_same_output() {
    let mut t = Template::new("s");
    t.parse("t", "{{ range $i, $e := . }}{{ $i }}{{ $e }}{{ end }}")
        .unwrap();
    let data = Value::list([Value::from("a"), Value::from("b")]);
    let a = exec(&t, "t", &data).unwrap();
    let b = exec(&t, "t", &data).unwrap();
    assert_eq!(a, "0a1b");
    assert_eq!(a, b);
}

fn set_func() -> FuncMap {
    let mut f = FuncMap::new();
    // Sprig's `set`: mutates the map in place and returns it.
    f.insert("set", |args| {
        FuncError::check_arity(args, 3)?;
        let (Some(m), Some(k)) = (args[0].as_map(), args[1].as_str()) else {
            return Err(FuncError::msg("set needs a map and a string key"));
        };
        m.insert(k, args[2].clone());
        Ok(args[0].clone())
    });
    f
}

#[test]
fn maps_are_references_like_go_maps() {
    let f = set_func();
    let mut t = Template::with_funcs("s", &f);
    t.parse(
        "t",
        r#"{{ $d := .cfg }}{{ $_ := set $d "gpu" "a100" }}{{ .cfg.gpu }} {{ $d.gpu }}"#,
    )
    .unwrap();
    let cfg = Value::map([("cpu", Value::from("4"))]);
    let data = Value::map([("cfg", cfg.clone())]);
    assert_eq!(
        t.execute("t", &data, &f, &ExecOptions::default()).unwrap(),
        "a100 a100"
    );
    // The caller's handle sees the change too, as a Go caller would.
    assert_eq!(
        cfg.as_map().and_then(|m| m.get("gpu")),
        Some(Value::from("a100"))
    );
    // deep_clone breaks the sharing.
    let copy = cfg.deep_clone();
    copy.as_map().unwrap().insert("gpu", Value::from("h100"));
    assert_eq!(
        cfg.as_map().and_then(|m| m.get("gpu")),
        Some(Value::from("a100"))
    );
}

#[test]
fn self_referencing_map_prints_without_hanging() {
    let f = set_func();
    let mut t = Template::with_funcs("s", &f);
    t.parse(
        "u",
        r#"{{ $_ := set . "self" . }}{{ printf "%v" . | len | lt 10 }}"#,
    )
    .unwrap();
    let data = Value::map([("a", Value::Int(1))]);
    assert_eq!(
        t.execute("u", &data, &f, &ExecOptions::default()).unwrap(),
        "true"
    );
}

#[test]
fn range_over_map_sees_a_snapshot() {
    let f = set_func();
    let mut t = Template::with_funcs("s", &f);
    t.parse(
        "t",
        r#"{{ range $k, $v := . }}{{ $_ := set $ (print $k "x") 1 }}{{ $k }};{{ end }}{{ len . }}"#,
    )
    .unwrap();
    let data = Value::map([("a", Value::Int(1)), ("b", Value::Int(2))]);
    assert_eq!(
        t.execute("t", &data, &f, &ExecOptions::default()).unwrap(),
        "a;b;4"
    );
}
