//! `.Files`: the chart's non-template files (Helm's `chart.Files`) with
//! `Get`, `GetBytes`, `Glob`, `Lines`, `AsConfig` and `AsSecrets`.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferrocd_gotmpl::{FuncError, Map, Object, Value};

use crate::yaml::to_yaml;

/// A set of chart files as templates see them.
#[derive(Debug, Clone, Default)]
pub struct Files {
    files: Arc<Vec<(String, Vec<u8>)>>,
}

impl Files {
    /// Files by path inside the chart.
    pub fn new(files: Vec<(String, Vec<u8>)>) -> Self {
        Self {
            files: Arc::new(files),
        }
    }

    fn get(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.as_slice())
    }

    fn by_basename(&self, f: impl Fn(&[u8]) -> String) -> Value {
        let m = Map::new();
        for (name, data) in self.files.iter() {
            let base = name.rsplit('/').next().unwrap_or(name);
            m.insert(base.to_string(), Value::from(f(data)));
        }
        Value::Map(m)
    }
}

fn name_arg(args: &[Value]) -> Result<&str, FuncError> {
    FuncError::check_arity(args, 1)?;
    match &args[0] {
        Value::String(s) => Ok(s),
        other => Err(FuncError::WrongType {
            expected: "string".into(),
            got: other.type_name(),
        }),
    }
}

impl Object for Files {
    fn type_name(&self) -> String {
        "chart.Files".into()
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Get" | "GetBytes" | "Glob" | "Lines" | "AsConfig" | "AsSecrets"
        )
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, FuncError> {
        match name {
            "Get" => {
                let n = name_arg(args)?;
                Ok(Value::from(
                    self.get(n)
                        .map(|d| String::from_utf8_lossy(d).into_owned())
                        .unwrap_or_default(),
                ))
            }
            "GetBytes" => {
                let n = name_arg(args)?;
                Ok(Value::list(
                    self.get(n)
                        .unwrap_or_default()
                        .iter()
                        .map(|b| Value::Uint64(u64::from(*b))),
                ))
            }
            "Lines" => {
                let n = name_arg(args)?;
                let text = self
                    .get(n)
                    .map(|d| String::from_utf8_lossy(d).into_owned())
                    .unwrap_or_default();
                if text.is_empty() {
                    return Ok(Value::list([]));
                }
                let text = text.strip_suffix('\n').unwrap_or(&text);
                Ok(Value::list(text.split('\n').map(Value::from)))
            }
            "Glob" => {
                let pattern = name_arg(args)?;
                let glob = glob_regex(pattern).map_err(FuncError::msg)?;
                let picked = self
                    .files
                    .iter()
                    .filter(|(n, _)| glob.is_match(n))
                    .cloned()
                    .collect();
                Ok(Value::Object(Arc::new(Files::new(picked))))
            }
            "AsConfig" => {
                FuncError::check_arity(args, 0)?;
                if self.files.is_empty() {
                    return Ok(Value::from(""));
                }
                Ok(Value::from(to_yaml(
                    &self.by_basename(|d| String::from_utf8_lossy(d).into_owned()),
                )))
            }
            "AsSecrets" => {
                FuncError::check_arity(args, 0)?;
                if self.files.is_empty() {
                    return Ok(Value::from(""));
                }
                Ok(Value::from(to_yaml(
                    &self.by_basename(|d| STANDARD.encode(d)),
                )))
            }
            other => Err(FuncError::msg(format!("no method {other}"))),
        }
    }

    fn map_entries(&self) -> Option<Vec<(String, Value)>> {
        let mut entries: Vec<(String, Value)> = self
            .files
            .iter()
            .map(|(n, d)| {
                let bytes = Value::list(d.iter().map(|b| Value::Uint64(u64::from(*b))));
                (n.clone(), bytes)
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Some(entries)
    }

    fn display(&self) -> String {
        let names: Vec<String> = self
            .files
            .iter()
            .map(|(n, d)| format!("{n}:{:?}", d))
            .collect();
        format!("map[{}]", names.join(" "))
    }
}

/// A glob as Helm's `.Files.Glob` reads it (gobwas/glob with `/` as the
/// separator): `*` any run of characters but `/`, `**` any run including `/`,
/// `?` one character but `/`, `[abc]`/`[a-z]`/`[!x]` classes, `{a,b}`
/// alternatives, `\\x` a literal `x`. Translated to an anchored regex.
fn glob_regex(pattern: &str) -> Result<regex::Regex, String> {
    let mut re = String::from("^");
    let mut chars = pattern.chars().peekable();
    let mut depth = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                re.push_str(".*");
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '\\' => match chars.next() {
                Some(x) => re.push_str(&regex::escape(&x.to_string())),
                None => return Err(format!("unexpected end of glob {pattern:?}")),
            },
            '[' => {
                re.push('[');
                if matches!(chars.peek(), Some('!') | Some('^')) {
                    chars.next();
                    re.push('^');
                }
                let mut closed = false;
                for x in chars.by_ref() {
                    if x == ']' {
                        closed = true;
                        break;
                    }
                    if matches!(x, '\\' | '[' | '&' | '~' | '^') {
                        re.push('\\');
                    }
                    re.push(x);
                }
                if !closed {
                    return Err(format!("unclosed character class in glob {pattern:?}"));
                }
                re.push(']');
            }
            '{' => {
                depth += 1;
                re.push_str("(?:");
            }
            ',' if depth > 0 => re.push('|'),
            '}' if depth > 0 => {
                depth -= 1;
                re.push(')');
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    if depth > 0 {
        return Err(format!("unclosed alternatives in glob {pattern:?}"));
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Files {
        Files::new(vec![
            (
                "config/airflow.cfg".into(),
                b"[core]\nexecutor = KubernetesExecutor\n".to_vec(),
            ),
            ("config/webserver.py".into(), b"AUTH = 1".to_vec()),
            ("dags/etl.py".into(), b"print(1)".to_vec()),
        ])
    }

    #[test]
    fn get_lines_glob_as_config() {
        let f = files();
        assert_eq!(
            f.call_method("Get", &[Value::from("dags/etl.py")]).unwrap(),
            Value::from("print(1)")
        );
        assert_eq!(
            f.call_method("Get", &[Value::from("nope")]).unwrap(),
            Value::from("")
        );
        assert_eq!(
            f.call_method("Lines", &[Value::from("config/airflow.cfg")])
                .unwrap(),
            Value::list([
                Value::from("[core]"),
                Value::from("executor = KubernetesExecutor")
            ])
        );
        let Value::Object(g) = f.call_method("Glob", &[Value::from("config/*")]).unwrap() else {
            panic!("glob must return files")
        };
        assert_eq!(
            g.call_method("AsConfig", &[]).unwrap(),
            Value::from(
                "airflow.cfg: |\n  [core]\n  executor = KubernetesExecutor\nwebserver.py: AUTH = 1"
            )
        );
        assert_eq!(
            g.call_method("AsSecrets", &[]).unwrap(),
            Value::from(
                "airflow.cfg: W2NvcmVdCmV4ZWN1dG9yID0gS3ViZXJuZXRlc0V4ZWN1dG9yCg==\nwebserver.py: QVVUSCA9IDE="
            )
        );
    }

    #[test]
    fn glob_results_range_and_len_like_go_maps() {
        use ferrocd_gotmpl::{ExecOptions, Template};
        let funcs = crate::sprig::funcs();
        let mut t = Template::with_funcs("chart", &funcs);
        t.parse(
            "t",
            r#"{{ range $p, $b := .Files.Glob "config/*" }}{{ $p }}={{ len $b }};{{ end }}{{ len (.Files.Glob "dags/*") }}"#,
        )
        .unwrap();
        let data = Value::map([("Files", Value::Object(Arc::new(files())))]);
        let out = t
            .execute("t", &data, &funcs, &ExecOptions::default())
            .unwrap();
        assert_eq!(out, "config/airflow.cfg=37;config/webserver.py=8;1");
    }

    #[test]
    fn globs_follow_helm() {
        let m = |p: &str, n: &str| glob_regex(p).unwrap().is_match(n);
        assert!(m("dags/**.py", "dags/training/retrain.py"));
        assert!(m("dags/**.py", "dags/daily.py"));
        assert!(!m("dags/*.py", "dags/training/retrain.py"));
        assert!(m("dags/*.py", "dags/daily.py"));
        assert!(m("config/{a,b}.cfg", "config/b.cfg"));
        assert!(!m("config/{a,b}.cfg", "config/c.cfg"));
        assert!(m("f?le[0-9].txt", "file7.txt"));
        assert!(!m("f?le[!0-9].txt", "file7.txt"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(glob_regex("[abc").is_err());
        assert!(glob_regex("{a,b").is_err());
    }
}
