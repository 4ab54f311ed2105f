//! Jsonnet sources (Argo CD's `directory.jsonnet`): `extVars`, `tlas` (each a string or,
//! with `code: true`, Jsonnet code) and `libs` (library folders, relative to the
//! repository root). Evaluation uses the maintained `jrsonnet` implementation; ferrocd only
//! supplies an import resolver that keeps every `import` inside the repository.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ferrocd_manifest::{Manifest, Origin};
use jrsonnet_evaluator::tla::TlaArg;
use jrsonnet_evaluator::trace::{CompactFormat, PathResolver, TraceFormat};
use jrsonnet_evaluator::{
    AsPathLike, FileImportResolver, IStr, ImportResolver, SourcePath, State, Val, apply_tla,
};
use jrsonnet_gcmodule::Acyclic;
use jrsonnet_ir::SourceFile;
use serde_json::Value;

use crate::RenderError;
use crate::repo_path::RepoRoot;

/// A named Jsonnet input: an external variable or a top-level argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonnetVar {
    /// Variable name.
    pub name: String,
    /// Its value: a string, or Jsonnet code when `code` is set.
    pub value: String,
    /// Evaluate `value` as Jsonnet code.
    pub code: bool,
}

/// Jsonnet settings of a source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonnetOptions {
    /// `std.extVar` values.
    pub ext_vars: Vec<JsonnetVar>,
    /// Top-level arguments, passed when the file evaluates to a function.
    pub tlas: Vec<JsonnetVar>,
    /// Library folders searched by `import`, relative to the repository root.
    pub libs: Vec<String>,
}

impl JsonnetOptions {
    /// Reads the Jsonnet settings of an Application source.
    pub fn from_model(j: &ferrocd_model::JsonnetSource) -> Self {
        let vars = |list: &[ferrocd_model::JsonnetVar]| {
            list.iter()
                .map(|v| JsonnetVar {
                    name: v.name.clone(),
                    value: v.value.clone().unwrap_or_default(),
                    code: v.code.unwrap_or(false),
                })
                .collect()
        };
        Self {
            ext_vars: vars(&j.ext_vars),
            tlas: vars(&j.tlas),
            libs: j.libs.clone(),
        }
    }
}

/// Resolves imports like Jsonnet's file resolver (next to the importing file, then in
/// the library folders) but refuses anything whose real path is outside the repository.
#[derive(Acyclic)]
struct RepoImportResolver {
    inner: FileImportResolver,
    root: PathBuf,
}

impl ImportResolver for RepoImportResolver {
    fn resolve_from(
        &self,
        from: &SourcePath,
        path: &dyn AsPathLike,
    ) -> jrsonnet_evaluator::Result<SourcePath> {
        let resolved = self.inner.resolve_from(from, path)?;
        if let Some(file) = resolved.downcast_ref::<SourceFile>()
            && !file.path().starts_with(&self.root)
        {
            jrsonnet_evaluator::bail!(jrsonnet_evaluator::RuntimeError(
                format!(
                    "import \"{}\" resolves outside the repository: refusing to read it",
                    path.as_path().to_owned()
                )
                .into()
            ));
        }
        Ok(resolved)
    }

    fn load_file_contents(&self, resolved: &SourcePath) -> jrsonnet_evaluator::Result<Vec<u8>> {
        self.inner.load_file_contents(resolved)
    }
}

/// Evaluates one `.jsonnet` file (canonical path `file`, shown as `display`) and returns
/// the Kubernetes objects it produces: an object, or a list of objects (nested lists are
/// flattened, `kind: List` expanded).
pub fn render_jsonnet_file(
    repo: &RepoRoot,
    file: &Path,
    display: &str,
    opts: &JsonnetOptions,
) -> Result<Vec<Manifest>, RenderError> {
    let value = evaluate(repo, file, display, opts)?;
    let mut out = Vec::new();
    collect_objects(value, display, &mut out)?;
    Ok(out)
}

fn evaluate(
    repo: &RepoRoot,
    file: &Path,
    display: &str,
    opts: &JsonnetOptions,
) -> Result<Value, RenderError> {
    let mut lib_paths = Vec::new();
    for lib in &opts.libs {
        let lib_path = repo.resolve(repo.path(), lib, "jsonnet lib")?;
        lib_paths.push(lib_path);
    }
    let resolver = PathResolver::Relative(repo.path().to_path_buf());
    let context = jrsonnet_stdlib::ContextInitializer::new(resolver.clone());
    let jsonnet_err = |message: String| RenderError::Jsonnet {
        file: display.to_string(),
        message,
    };
    let format = CompactFormat {
        resolver,
        max_trace: 8,
        padding: 4,
    };
    // Traces may name files by absolute path (inside a cache snapshot); show them
    // relative to the repository like every other message.
    let root_prefix = format!("{}/", repo.path().display());
    let fmt_err = |e: &jrsonnet_evaluator::Error| {
        format
            .format(e)
            .unwrap_or_else(|_| e.to_string())
            .trim_end()
            .replace(&root_prefix, "")
    };
    for var in &opts.ext_vars {
        if var.code {
            context
                .add_ext_code(&var.name, &var.value)
                .map_err(|e| jsonnet_err(format!("extVar {}: {}", var.name, fmt_err(&e))))?;
        } else {
            context.add_ext_str(var.name.as_str().into(), var.value.as_str().into());
        }
    }
    let mut builder = State::builder();
    builder
        .import_resolver(RepoImportResolver {
            inner: FileImportResolver::new(lib_paths),
            root: repo.path().to_path_buf(),
        })
        .context_initializer(context);
    let state = builder.build();
    let _entered = state.enter();
    let val = state.import(file).map_err(|e| jsonnet_err(fmt_err(&e)))?;
    // IStr hashes by its interned pointer, which never changes: not a mutable key.
    #[allow(clippy::mutable_key_type)]
    let tlas: HashMap<IStr, TlaArg> = opts
        .tlas
        .iter()
        .map(|t| {
            let arg = if t.code {
                TlaArg::InlineCode(t.value.clone())
            } else {
                TlaArg::String(t.value.as_str().into())
            };
            (t.name.as_str().into(), arg)
        })
        .collect();
    let val: Val = apply_tla(&tlas, val).map_err(|e| jsonnet_err(fmt_err(&e)))?;
    // Evaluation is lazy: manifest the whole value first so that errors deep inside
    // come back as Jsonnet errors with their trace, then read the JSON.
    let json = val
        .manifest(jrsonnet_evaluator::manifest::JsonFormat::minify())
        .map_err(|e| jsonnet_err(fmt_err(&e)))?;
    serde_json::from_str(&json).map_err(|e| jsonnet_err(e.to_string()))
}

fn collect_objects(
    value: Value,
    display: &str,
    out: &mut Vec<Manifest>,
) -> Result<(), RenderError> {
    match value {
        Value::Array(items) => {
            for item in items {
                collect_objects(item, display, out)?;
            }
            Ok(())
        }
        Value::Object(_) => {
            // Reuse the manifest parser's checks (kind, apiVersion, List expansion) by
            // round-tripping through its JSON path.
            let text = serde_json::to_string(&value).map_err(|e| RenderError::JsonnetOutput {
                file: display.to_string(),
                message: e.to_string(),
            })?;
            let parsed = ferrocd_manifest::parse_documents(&text, display).map_err(|e| {
                RenderError::JsonnetOutput {
                    file: display.to_string(),
                    message: match e {
                        ferrocd_manifest::ParseError::NotAnObject { message, .. } => {
                            format!("is not a Kubernetes object: {message}")
                        }
                        other => other.to_string(),
                    },
                }
            })?;
            out.extend(parsed.into_iter().map(|m| Manifest {
                object: m.object,
                origin: Origin {
                    file: display.to_string(),
                    line: 1,
                },
            }));
            Ok(())
        }
        Value::Null => Ok(()),
        other => Err(RenderError::JsonnetOutput {
            file: display.to_string(),
            message: format!("must be an object or a list of objects, got {other}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    fn run(
        files: &[(&str, &str)],
        entry: &str,
        opts: &JsonnetOptions,
    ) -> Result<Vec<Manifest>, RenderError> {
        let dir = tempfile::tempdir().expect("tempdir");
        for (rel, text) in files {
            write(dir.path(), rel, text);
        }
        let repo = RepoRoot::new(dir.path()).expect("root");
        let file = repo.path().join(entry);
        render_jsonnet_file(&repo, &file, entry, opts)
    }

    #[test]
    fn ext_vars_tlas_and_libs() {
        let opts = JsonnetOptions {
            ext_vars: vec![
                JsonnetVar {
                    name: "env".into(),
                    value: "prod".into(),
                    code: false,
                },
                JsonnetVar {
                    name: "replicas".into(),
                    value: "1 + 2".into(),
                    code: true,
                },
            ],
            tlas: vec![JsonnetVar {
                name: "image".into(),
                value: "mlflow:2.9".into(),
                code: false,
            }],
            libs: vec!["vendor".into()],
        };
        let files = [
            (
                "vendor/k.libsonnet",
                "{ cm(name, data):: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name }, data: data } }",
            ),
            (
                "app/main.jsonnet",
                "local k = import 'k.libsonnet';\nfunction(image) [\n  k.cm('settings-' + std.extVar('env'), { image: image }),\n  { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'mlflow' }, spec: { replicas: std.extVar('replicas') } },\n]\n",
            ),
        ];
        let out = run(&files, "app/main.jsonnet", &opts).expect("renders");
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].name(), "settings-prod");
        assert_eq!(out[0].object["data"]["image"], "mlflow:2.9");
        assert_eq!(out[1].object["spec"]["replicas"], 3);
    }

    #[test]
    fn error_names_file_and_position() {
        let err = run(
            &[("app/bad.jsonnet", "{\n  a: std.extVar('missing'),\n}\n")],
            "app/bad.jsonnet",
            &JsonnetOptions::default(),
        )
        .expect_err("fails");
        let text = err.to_string();
        assert!(text.starts_with("app/bad.jsonnet: jsonnet:"), "{text}");
        assert!(
            text.contains("external variable is not defined: missing"),
            "{text}"
        );
        assert!(
            !text.contains("/tmp"),
            "paths are shown relative to the repository: {text}"
        );
        let err = run(
            &[("app/syntax.jsonnet", "{\n  a: 1,\n  b: ,\n}\n")],
            "app/syntax.jsonnet",
            &JsonnetOptions::default(),
        )
        .expect_err("fails");
        let text = err.to_string();
        assert!(text.contains("app/syntax.jsonnet:3:"), "{text}");
    }

    #[test]
    fn import_outside_repository_is_refused() {
        let outside = tempfile::tempdir().expect("tempdir");
        write(outside.path(), "secret.libsonnet", "{ a: 1 }");
        let entry = format!(
            "(import '{}') + {{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {{ name: 'x' }} }}",
            outside.path().join("secret.libsonnet").display()
        );
        let err = run(
            &[("app/x.jsonnet", &entry)],
            "app/x.jsonnet",
            &JsonnetOptions::default(),
        )
        .expect_err("refused");
        assert!(err.to_string().contains("outside the repository"), "{err}");
    }

    #[test]
    fn non_object_output_is_an_error() {
        let err = run(
            &[("a.jsonnet", "42")],
            "a.jsonnet",
            &JsonnetOptions::default(),
        )
        .expect_err("fails");
        assert_eq!(
            err.to_string(),
            "a.jsonnet: jsonnet output must be an object or a list of objects, got 42"
        );
    }
}
