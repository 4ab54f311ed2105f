//! Rendering a chart as `helm template` does: values, the template set of the
//! chart and its subcharts (named `<chart>/templates/x.yaml`,
//! `<chart>/charts/<sub>/templates/y.yaml`), execution with Helm's objects,
//! output split into documents and sorted in Helm's install order.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferrocd_gotmpl::{ExecError, ExecOptions, MissingKey, Template, Value};
use serde_json::{Map, Value as Json};

use crate::capabilities::{DEFAULT_KUBE_VERSION, KubeVersion, capabilities};
use crate::chart::{Chart, load_chart, parse_values_yaml};
use crate::convert::{json_to_value, json_to_value_typed};
use crate::error::HelmError;
use crate::files::Files;
use crate::funcs::{ERR_END, ERR_START, helm_funcs};
use crate::values::{
    SetKind, coalesce_chart, merge_maps, parse_set_into, process_dependencies, set_literal,
};

/// What to render, mirroring `helm template` flags.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// The release name (`helm template NAME`).
    pub release_name: String,
    /// `--namespace` (empty means `default`).
    pub namespace: String,
    /// `--values` files, in order.
    pub value_files: Vec<PathBuf>,
    /// `--set` expressions.
    pub set: Vec<String>,
    /// `--set-string` expressions.
    pub set_string: Vec<String>,
    /// `--set-json` expressions.
    pub set_json: Vec<String>,
    /// `--set-file` expressions (`key=path`).
    pub set_file: Vec<String>,
    /// `--kube-version` (empty means Helm's default).
    pub kube_version: String,
    /// `--api-versions`.
    pub api_versions: Vec<String>,
    /// `--include-crds`: print crds/ files first.
    pub include_crds: bool,
    /// `--skip-crds`: never print crds/ files.
    pub skip_crds: bool,
    /// `--skip-tests`: drop test hooks.
    pub skip_tests: bool,
}

/// One document of the output.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderedDoc {
    /// The template it came from (`mlflow/templates/deployment.yaml`).
    pub source: String,
    /// The document text as rendered.
    pub text: String,
    /// The document parsed (`null` for a document of comments only).
    pub object: Json,
}

impl RenderedDoc {
    /// The `helm.sh/hook` annotation, when the document is a hook.
    pub fn hook(&self) -> Option<&str> {
        self.object
            .pointer("/metadata/annotations/helm.sh~1hook")
            .and_then(Json::as_str)
    }
}

/// The documents as `helm template` prints them (`---`, `# Source:`).
pub fn to_helm_output(docs: &[RenderedDoc]) -> String {
    let mut out = String::new();
    for d in docs {
        out.push_str("---\n# Source: ");
        out.push_str(&d.source);
        out.push('\n');
        out.push_str(&d.text);
        out.push('\n');
    }
    out
}

/// Builds the user-supplied values (files, then `--set-json`, `--set`,
/// `--set-string`, `--set-file`), before chart defaults.
pub fn user_values(opts: &RenderOptions) -> Result<Map<String, Json>, HelmError> {
    let mut vals = Map::new();
    for f in &opts.value_files {
        let data = std::fs::read(f).map_err(|source| HelmError::Io {
            path: f.clone(),
            source,
        })?;
        if let Json::Object(m) = parse_values_yaml(&data, &f.display().to_string(), false)? {
            merge_maps(&mut vals, m);
        }
    }
    for s in &opts.set_json {
        parse_set_into(s, SetKind::Json, &mut vals)?;
    }
    for s in &opts.set {
        parse_set_into(s, SetKind::Typed, &mut vals)?;
    }
    for s in &opts.set_string {
        parse_set_into(s, SetKind::String, &mut vals)?;
    }
    for s in &opts.set_file {
        let Some((key, path)) = s.split_once('=') else {
            return Err(HelmError::Set {
                flag: "--set-file",
                message: format!("key {s:?} has no value"),
            });
        };
        let path = PathBuf::from(path);
        let text =
            std::fs::read_to_string(&path).map_err(|source| HelmError::Io { path, source })?;
        set_literal(key, text, &mut vals)?;
    }
    Ok(vals)
}

/// Renders the chart in `dir` like `helm template`.
pub fn render_chart(dir: &Path, opts: &RenderOptions) -> Result<Vec<RenderedDoc>, HelmError> {
    let chart = load_chart(dir)?;
    render_loaded(chart, opts)
}

struct Unit {
    name: String,
    text: String,
    data: Value,
    render: bool,
}

/// Helm's release name rule: a DNS-1123 subdomain of at most 53 characters.
fn check_release_name(name: &str) -> Result<(), HelmError> {
    const PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.is_empty() || (name.len() <= 53 && name.split('.').all(label_ok)) {
        return Ok(());
    }
    Err(HelmError::Invalid(format!(
        "release name check failed: release name {name:?}: invalid release name, must match regex {PATTERN} and the length must not be longer than 53"
    )))
}

/// The chart's `kubeVersion` constraint (Chart.yaml) must admit the version
/// rendered for; a constraint that does not parse admits nothing, as in Helm.
fn check_kube_version(chart: &Chart, kube: &KubeVersion) -> Result<(), HelmError> {
    let constraint = chart.metadata.kube_version.trim();
    if constraint.is_empty() {
        return Ok(());
    }
    let admitted = match (
        crate::sprig::semver::parse_constraint(constraint),
        crate::sprig::semver::parse_version(&kube.version),
    ) {
        (Some(c), Some(v)) => c.matches(&v),
        _ => false,
    };
    if admitted {
        return Ok(());
    }
    Err(HelmError::KubeVersion {
        constraint: constraint.to_string(),
        version: kube.version.clone(),
    })
}

/// Renders an already loaded chart.
pub fn render_loaded(
    mut chart: Chart,
    opts: &RenderOptions,
) -> Result<Vec<RenderedDoc>, HelmError> {
    check_release_name(&opts.release_name)?;
    let user = user_values(opts)?;
    process_dependencies(&mut chart, &user)?;
    let mut vals = user;
    coalesce_chart(&chart, &mut vals);
    crate::values_schema::validate_chart(&chart, &vals)?;
    let kube = KubeVersion::parse(if opts.kube_version.is_empty() {
        DEFAULT_KUBE_VERSION
    } else {
        &opts.kube_version
    })?;
    check_kube_version(&chart, &kube)?;
    let caps = capabilities(&kube, &opts.api_versions);
    let namespace = if opts.namespace.is_empty() {
        "default"
    } else {
        &opts.namespace
    };
    let release = Value::map([
        ("Name", Value::from(opts.release_name.as_str())),
        ("Namespace", Value::from(namespace)),
        ("Service", Value::from("Helm")),
        ("IsInstall", Value::Bool(true)),
        ("IsUpgrade", Value::Bool(false)),
        ("Revision", Value::Int(1)),
    ]);
    let mut units = Vec::new();
    let mut crds = Vec::new();
    collect(
        &chart,
        &chart.metadata.name.clone(),
        &Json::Object(vals),
        true,
        &release,
        &caps,
        &mut units,
        &mut crds,
    );

    let funcs = helm_funcs();
    let mut set = Template::with_funcs(chart.metadata.name.clone(), &funcs);
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| {
        let (na, nb) = (&units[a].name, &units[b].name);
        nb.matches('/')
            .count()
            .cmp(&na.matches('/').count())
            .then_with(|| nb.cmp(na))
    });
    for &i in &order {
        let u = &units[i];
        set.parse(&u.name, &u.text).map_err(|e| HelmError::Parse {
            location: format!("{}:{}", e.name, e.line),
            message: e.message.clone(),
        })?;
    }
    let exec = ExecOptions {
        missing_key: MissingKey::Zero,
        ..ExecOptions::default()
    };
    let mut rendered: Vec<(String, String)> = Vec::new();
    let mut names: Vec<&Unit> = units.iter().filter(|u| u.render).collect();
    names.sort_by(|a, b| a.name.cmp(&b.name));
    for u in names {
        let out = set
            .execute(&u.name, &u.data, &funcs, &exec)
            .map_err(|e| exec_error(&u.name, &e))?;
        rendered.push((u.name.clone(), out.replace("<no value>", "")));
    }

    let mut manifests = Vec::new();
    let mut hooks = Vec::new();
    for (source, text) in &rendered {
        for doc in split_documents(text) {
            let object = parse_doc(source, &doc)?;
            let d = RenderedDoc {
                source: source.clone(),
                text: doc,
                object,
            };
            match d.hook() {
                Some(h) => {
                    if opts.skip_tests
                        && h.split(',')
                            .any(|p| matches!(p.trim(), "test" | "test-success" | "test-failure"))
                    {
                        continue;
                    }
                    hooks.push(d);
                }
                None => manifests.push(d),
            }
        }
    }
    sort_by_kind(&mut manifests);
    sort_by_kind(&mut hooks);
    let mut out = Vec::new();
    if opts.include_crds && !opts.skip_crds {
        for (source, text) in crds {
            for doc in split_documents(&text) {
                let object = parse_doc(&source, &doc)?;
                out.push(RenderedDoc {
                    source: source.clone(),
                    text: doc,
                    object,
                });
            }
        }
    }
    out.extend(manifests);
    out.extend(hooks);
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn collect(
    chart: &Chart,
    path: &str,
    vals: &Json,
    is_root: bool,
    release: &Value,
    caps: &Value,
    units: &mut Vec<Unit>,
    crds: &mut Vec<(String, String)>,
) -> Value {
    let chart_value = chart_object(chart, is_root);
    let files = Value::Object(Arc::new(Files::new(
        chart
            .files
            .iter()
            .map(|f| (f.name.clone(), f.data.clone()))
            .collect(),
    )));
    let values = match vals {
        Json::Object(_) => json_to_value_typed_floats(vals),
        _ => Value::Map(ferrocd_gotmpl::Map::new()),
    };
    let base = format!("{path}/templates");
    // `.Subcharts`: each dependency's own context (its Values, Chart, Files, ...), by
    // name (alias applied), filled in once the dependencies are collected below.
    let subcharts = ferrocd_gotmpl::Map::new();
    let context = [
        ("Values", values),
        ("Release", release.clone()),
        ("Chart", chart_value),
        ("Capabilities", caps.clone()),
        ("Files", files),
        ("Subcharts", Value::Map(subcharts.clone())),
    ];
    for t in &chart.templates {
        let name = format!("{path}/{}", t.name);
        let file = t.name.rsplit('/').next().unwrap_or(&t.name);
        let render = !chart.metadata.is_library() && !file.starts_with('_') && file != "NOTES.txt";
        let data = Value::map(context.iter().cloned().chain([(
            "Template",
            Value::map([
                ("Name", Value::from(name.as_str())),
                ("BasePath", Value::from(base.as_str())),
            ]),
        )]));
        units.push(Unit {
            name,
            text: String::from_utf8_lossy(&t.data).into_owned(),
            data,
            render,
        });
    }
    for f in chart.crds() {
        crds.push((
            format!("{path}/{}", f.name),
            String::from_utf8_lossy(&f.data).into_owned(),
        ));
    }
    for sub in &chart.dependencies {
        let sub_vals = vals.get(&sub.metadata.name).cloned().unwrap_or(Json::Null);
        let sub_path = format!("{path}/charts/{}", sub.metadata.name);
        let sub_context = collect(sub, &sub_path, &sub_vals, false, release, caps, units, crds);
        subcharts.insert(sub.metadata.name.clone(), sub_context);
    }
    Value::map(context)
}

/// Values keep floats for YAML numbers and integers for `--set` integers.
fn json_to_value_typed_floats(v: &Json) -> Value {
    match v {
        Json::Number(n) if n.is_f64() => json_to_value(v),
        _ => json_to_value_typed(v),
    }
}

/// A list of Chart.yaml mappings as Helm exposes them to templates: Go structs,
/// whose fields have Go names (`.Name`, not `.name`).
fn go_structs(list: Option<&Json>, fields: &[(&str, &str)]) -> Value {
    let Some(Json::Array(items)) = list else {
        return Value::list([]);
    };
    Value::list(items.iter().map(|item| {
        let m = ferrocd_gotmpl::Map::new();
        for (go, yaml) in fields {
            let v = item.get(*yaml).map(json_to_value).unwrap_or(Value::Nil);
            let v = match (v, *go) {
                (Value::Nil, "Tags" | "ImportValues") => Value::list([]),
                (Value::Nil, "Enabled") => Value::Bool(false),
                (Value::Nil, _) => Value::from(""),
                (v, _) => v,
            };
            m.insert(go.to_string(), v);
        }
        Value::Map(m)
    }))
}

fn chart_object(chart: &Chart, is_root: bool) -> Value {
    let raw = &chart.metadata.raw;
    let s = |k: &str| Value::from(raw.get(k).and_then(Json::as_str).unwrap_or_default());
    let any = |k: &str, default: Value| raw.get(k).map(json_to_value).unwrap_or(default);
    Value::map([
        ("APIVersion", s("apiVersion")),
        ("Name", Value::from(chart.metadata.name.as_str())),
        ("Version", Value::from(chart.metadata.version.as_str())),
        (
            "AppVersion",
            Value::from(chart.metadata.app_version.as_str()),
        ),
        ("Description", s("description")),
        ("Home", s("home")),
        ("Icon", s("icon")),
        ("KubeVersion", s("kubeVersion")),
        ("Type", s("type")),
        ("Condition", s("condition")),
        ("Tags", s("tags")),
        (
            "Deprecated",
            Value::Bool(
                raw.get("deprecated")
                    .and_then(Json::as_bool)
                    .unwrap_or(false),
            ),
        ),
        (
            "Annotations",
            any("annotations", Value::Map(ferrocd_gotmpl::Map::new())),
        ),
        ("Keywords", any("keywords", Value::list([]))),
        ("Sources", any("sources", Value::list([]))),
        (
            "Maintainers",
            go_structs(
                raw.get("maintainers"),
                &[("Name", "name"), ("Email", "email"), ("URL", "url")],
            ),
        ),
        (
            "Dependencies",
            go_structs(
                raw.get("dependencies"),
                &[
                    ("Name", "name"),
                    ("Version", "version"),
                    ("Repository", "repository"),
                    ("Condition", "condition"),
                    ("Tags", "tags"),
                    ("Enabled", "enabled"),
                    ("ImportValues", "import-values"),
                    ("Alias", "alias"),
                ],
            ),
        ),
        ("IsRoot", Value::Bool(is_root)),
    ])
}

/// Helm's message for an execution error: `required`/`fail` messages as
/// `execution error at (<file>:<line>:<col>): <msg>`, others as Go prints them.
fn exec_error(file: &str, e: &ExecError) -> HelmError {
    let text = e.to_string();
    if let (Some(a), Some(b)) = (text.find(ERR_START), text.find(ERR_END))
        && a < b
    {
        let msg = &text[a + ERR_START.len()..b];
        let location = match e {
            ExecError::At {
                parse_name,
                line,
                col,
                ..
            } => format!("{parse_name}:{line}:{col}"),
            _ => file.to_string(),
        };
        return HelmError::Exec(format!("execution error at ({location}): {msg}"));
    }
    HelmError::Exec(reformat_exec_error(&text).unwrap_or(text))
}

/// Helm 4 prints a template execution error whose innermost cause is not a
/// function's own error as one block per template in the chain:
/// `NAME:LINE:COL`, `  executing "NAME" at <NODE>:`, `    CAUSE`. Errors
/// returned by a called function (`error calling index: ...`) keep Go's
/// one-line text. `None` when `text` is not in Go's form.
fn reformat_exec_error(text: &str) -> Option<String> {
    const PREFIX: &str = "template: ";
    let segments: Vec<&str> = text.strip_prefix(PREFIX)?.split(PREFIX).collect();
    let mut blocks = Vec::with_capacity(segments.len());
    for (i, seg) in segments.iter().enumerate() {
        let exec = seg.find(": executing \"")?;
        let location = &seg[..exec];
        let rest = &seg[exec + 2..];
        let at = rest.find(" at <")?;
        let node_end = at + rest[at..].find(">: ")?;
        let executing = &rest[..node_end + 1];
        let cause = rest[node_end + 3..].trim_end();
        let last = i + 1 == segments.len();
        if last && cause.starts_with("error calling ") {
            return None;
        }
        if !last && !cause.starts_with("error calling ") {
            return None;
        }
        blocks.push(format!("{location}\n  {executing}:\n    {cause}"));
    }
    Some(blocks.join("\n"))
}

/// Splits rendered text into documents at `---` lines, trimmed, empties dropped.
pub fn split_documents(text: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == "---" || (bare.starts_with("---") && bare[3..].starts_with([' ', '\t'])) {
            docs.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push_str(line);
    }
    docs.push(cur);
    docs.into_iter()
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect()
}

fn parse_doc(source: &str, doc: &str) -> Result<Json, HelmError> {
    if doc
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Json::Null);
    }
    ferrocd_manifest::parse_yaml_value(doc, source).map_err(|e| HelmError::Output {
        source_name: source.to_string(),
        message: e.to_string(),
    })
}

fn kind_of(d: &RenderedDoc) -> &str {
    d.object
        .get("kind")
        .and_then(Json::as_str)
        .unwrap_or_default()
}

/// The rank of a kind in Helm 4's install order: the shared install order of
/// [`ferrocd_schema::kind_order`], with `PriorityClass` before it and the
/// admission webhook configurations after it (Helm 4 knows these three too);
/// `None` for kinds Helm does not know.
fn helm_kind_rank(kind: &str) -> Option<i32> {
    let unknown = ferrocd_schema::kind_order("", "\0unknown");
    match kind {
        "PriorityClass" => Some(-1),
        "MutatingWebhookConfiguration" => Some(unknown),
        "ValidatingWebhookConfiguration" => Some(unknown + 1),
        _ => {
            let rank = ferrocd_schema::kind_order("", kind);
            (rank != unknown).then_some(rank)
        }
    }
}

/// Stable sort in Helm's install order: known kinds by their rank, then
/// unknown kinds by name.
fn sort_by_kind(docs: &mut [RenderedDoc]) {
    docs.sort_by(|a, b| {
        let (ka, kb) = (kind_of(a), kind_of(b));
        match (helm_kind_rank(ka), helm_kind_rank(kb)) {
            (Some(ra), Some(rb)) => ra.cmp(&rb),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => ka.cmp(kb),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_documents_like_helm() {
        let docs = split_documents("a: 1\n---\n\n--- \nb: 2\n---x: 3\n# c\n");
        assert_eq!(docs, vec!["a: 1", "b: 2\n---x: 3\n# c"]);
    }

    #[test]
    fn execution_errors_are_reformatted_like_helm_4() {
        let nested = "template: app/templates/cm.yaml:1:3: executing \"app/templates/cm.yaml\" at <include \"h\" .>: error calling include: template: app/templates/_h.tpl:1:26: executing \"h\" at <.x>: wrong type for value; expected string; got interface {}";
        assert_eq!(
            reformat_exec_error(nested).as_deref(),
            Some(
                "app/templates/cm.yaml:1:3\n  executing \"app/templates/cm.yaml\" at <include \"h\" .>:\n    error calling include:\napp/templates/_h.tpl:1:26\n  executing \"h\" at <.x>:\n    wrong type for value; expected string; got interface {}"
            )
        );
        // A function's own error keeps Go's one-line text.
        let call = "template: app/templates/cm.yaml:1:3: executing \"app/templates/cm.yaml\" at <index (list 1) 5>: error calling index: index out of range: 5";
        assert_eq!(reformat_exec_error(call), None);
        assert_eq!(reformat_exec_error("something else"), None);
    }
}
