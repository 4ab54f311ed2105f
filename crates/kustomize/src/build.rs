//! The build: accumulate resources of a kustomization and its bases and components, run
//! its generators and transformers, then finish at the top (hash suffixes, name references,
//! vars, local config, order).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::config::{ConfigFile, TransformerConfig};
use crate::error::KustomizeError;
use crate::generator::{GeneratedKind, content_hash, generate};
use crate::kustomization::{Kustomization, Label, PatchOptions, Var, find_file};
use crate::loader::Loader;
use crate::patch::{
    PatchBody, apply_json6902, apply_strategic, describe_patch, find_named, parse_patch_text,
    select,
};
use crate::resource::{Behavior, Resource, Source};
use crate::{AppOverrides, KustomizeOptions, Reorder, transform};

/// What a kustomization and everything below it produced so far.
#[derive(Debug, Default)]
pub(crate) struct Accumulator {
    pub resources: Vec<Resource>,
    pub config: TransformerConfig,
    pub vars: Vec<Var>,
}

impl Accumulator {
    fn append(&mut self, res: Resource, file: &Path) -> Result<(), KustomizeError> {
        let id = res.id();
        if self.resources.iter().any(|r| r.id() == id) {
            return Err(KustomizeError::DuplicateId {
                id: id.to_string(),
                file: file.to_path_buf(),
            });
        }
        self.resources.push(res);
        Ok(())
    }
}

/// Whether a resource entry is a remote (Git/HTTP) location.
pub(crate) fn is_remote(entry: &str) -> bool {
    crate::remote::parse_remote(entry).is_some()
}

pub(crate) struct Builder<'a> {
    pub opts: &'a KustomizeOptions,
    pub repo_root: Option<PathBuf>,
    pub stack: Vec<PathBuf>,
    pub overrides: Option<&'a AppOverrides>,
}

impl Builder<'_> {
    /// Builds the kustomization in `dir` into a finished list of objects.
    pub(crate) fn build(&mut self, dir: &Path) -> Result<Vec<Value>, KustomizeError> {
        let mut acc = Accumulator {
            config: TransformerConfig::builtin(),
            ..Default::default()
        };
        let root = self.accumulate(dir, &mut acc, false)?;
        let file = root.1;
        let kust = root.0;
        for res in acc.resources.iter_mut().filter(|r| r.needs_hash) {
            let hash = content_hash(&res.obj);
            let name = format!("{}-{hash}", res.name());
            res.set_name(&name);
        }
        crate::nameref::fix(&mut acc.resources, &acc.config);
        crate::vars::resolve(&mut acc.resources, &acc.vars, &acc.config, &file)?;
        acc.resources
            .retain(|r| r.annotation("config.kubernetes.io/local-config") != Some("true"));
        let order = kust.sort_options.as_ref().and_then(|s| s.order.clone());
        let legacy = match order.as_deref() {
            Some("fifo") => false,
            Some("legacy") => true,
            Some(other) => {
                return Err(KustomizeError::Invalid {
                    path: file,
                    message: format!("sortOptions.order must be legacy or fifo, got `{other}`"),
                });
            }
            None => self.opts.reorder == Reorder::Legacy,
        };
        if legacy {
            let custom = kust
                .sort_options
                .as_ref()
                .and_then(|s| s.legacy_sort_options.as_ref())
                .map(|l| (l.order_first.as_slice(), l.order_last.as_slice()));
            crate::sort::legacy_sort(&mut acc.resources, custom);
        }
        let root_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        crate::metadata::apply_build_metadata(
            &mut acc.resources,
            &kust.build_metadata,
            &file,
            &root_dir,
        )?;
        Ok(acc.resources.into_iter().map(|r| r.obj).collect())
    }

    fn load(&self, dir: &Path) -> Result<(Kustomization, PathBuf), KustomizeError> {
        let file = find_file(dir).ok_or_else(|| KustomizeError::NoKustomization {
            dir: dir.to_path_buf(),
        })?;
        let text = std::fs::read_to_string(&file).map_err(|source| KustomizeError::Read {
            path: file.clone(),
            source,
        })?;
        Ok((Kustomization::parse(&text, &file)?, file))
    }

    /// Accumulates the kustomization in `dir` into `acc` (`component` when it is included
    /// as a component). Returns the kustomization and its file.
    pub(crate) fn accumulate(
        &mut self,
        dir: &Path,
        acc: &mut Accumulator,
        component: bool,
    ) -> Result<(Kustomization, PathBuf), KustomizeError> {
        let dir = dir
            .canonicalize()
            .map_err(|_| KustomizeError::NoKustomization {
                dir: dir.to_path_buf(),
            })?;
        if self.stack.contains(&dir) {
            let chain = self
                .stack
                .iter()
                .chain(std::iter::once(&dir))
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" -> ");
            return Err(KustomizeError::Cycle { dir, chain });
        }
        let (mut kust, file) = self.load(&dir)?;
        let is_root = self.stack.is_empty();
        if is_root && let Some(o) = self.overrides {
            o.apply_to(&mut kust);
        }
        if component != kust.is_component() {
            let (want, got) = if component {
                ("Component", "Kustomization")
            } else {
                ("Kustomization", "Component")
            };
            return Err(KustomizeError::Invalid {
                path: file,
                message: format!("expected kind '{want}' but got '{got}'"),
            });
        }
        self.stack.push(dir.clone());
        let loader = Loader::new(
            dir.clone(),
            file.clone(),
            self.opts.load_restrictor,
            self.repo_root.clone(),
        );
        let result = self.accumulate_loaded(&kust, &loader, acc);
        self.stack.pop();
        result?;
        Ok((kust, file))
    }

    fn accumulate_loaded(
        &mut self,
        kust: &Kustomization,
        loader: &Loader,
        acc: &mut Accumulator,
    ) -> Result<(), KustomizeError> {
        let file = loader.file.clone();
        let unsupported = |feature: &str| KustomizeError::Unsupported {
            feature: feature.to_string(),
            file: file.clone(),
        };
        if !kust.helm_chart_inflation_generator.is_empty() {
            return Err(unsupported("helmChartInflationGenerator"));
        }
        for (field, list) in [
            ("transformers", &kust.transformers),
            ("generators", &kust.generators),
            ("validators", &kust.validators),
        ] {
            if !list.is_empty() {
                return Err(unsupported(field));
            }
        }
        for entry in kust.resources.iter().chain(&kust.bases) {
            if is_remote(entry) {
                let (root, dir) = crate::remote::fetch(entry, self.opts, &file)?;
                let saved = self.repo_root.replace(root);
                let result = self.accumulate_dir(&dir, acc, &file);
                self.repo_root = saved;
                result?;
                continue;
            }
            let path = loader.resolve_resource(entry)?;
            if path.is_dir() {
                self.accumulate_dir(&path, acc, &file)?;
            } else {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| KustomizeError::Read {
                        path: path.clone(),
                        source,
                    })?;
                for obj in crate::yaml::parse_objects(&text, &path)? {
                    let mut res = Resource::new(obj);
                    res.source = Some(Source::File(path.clone()));
                    acc.append(res, &file)?;
                }
            }
        }
        for cfg in &kust.configurations {
            let text = loader.read_string(cfg)?;
            let path = loader.resolve(cfg)?;
            let value = crate::yaml::parse_one(&text, &path)?;
            let parsed: ConfigFile = if value.is_null() {
                ConfigFile::default()
            } else {
                serde_json::from_value(value).map_err(|e| KustomizeError::Invalid {
                    path: path.clone(),
                    message: e.to_string(),
                })?
            };
            acc.config.merge(parsed);
        }
        for crd in &kust.crds {
            crate::crds::load(crd, loader, &mut acc.config)?;
        }
        self.run_generators(kust, loader, acc)?;
        // Components run after this kustomization's generators, before its transformers.
        for comp in &kust.components {
            if is_remote(comp) {
                return Err(unsupported("remote components"));
            }
            let path = loader.resolve_resource(comp)?;
            self.accumulate(&path, acc, true)?;
        }
        self.run_transformers(kust, loader, acc)?;
        for var in &kust.vars {
            if acc.vars.iter().any(|v| v.name == var.name) {
                return Err(KustomizeError::Transform {
                    message: format!("var '{}' already encountered", var.name),
                    file: file.clone(),
                });
            }
            acc.vars.push(var.clone());
        }
        Ok(())
    }

    fn accumulate_dir(
        &mut self,
        dir: &Path,
        acc: &mut Accumulator,
        file: &Path,
    ) -> Result<(), KustomizeError> {
        let mut sub = Accumulator {
            config: acc.config.clone(),
            ..Default::default()
        };
        self.accumulate(dir, &mut sub, false)?;
        for res in sub.resources {
            acc.append(res, file)?;
        }
        acc.config = sub.config;
        for var in sub.vars {
            if acc.vars.iter().any(|v| v.name == var.name) {
                return Err(KustomizeError::Transform {
                    message: format!("var '{}' already encountered", var.name),
                    file: file.to_path_buf(),
                });
            }
            acc.vars.push(var);
        }
        Ok(())
    }

    fn run_generators(
        &self,
        kust: &Kustomization,
        loader: &Loader,
        acc: &mut Accumulator,
    ) -> Result<(), KustomizeError> {
        let file = &loader.file;
        let gens = kust
            .config_map_generator
            .iter()
            .map(|g| (g, GeneratedKind::ConfigMap))
            .chain(
                kust.secret_generator
                    .iter()
                    .map(|g| (g, GeneratedKind::Secret)),
            );
        for (g, kind) in gens {
            let mut res = generate(g, kind, kust.generator_options.as_ref(), loader, file)?;
            res.source = Some(Source::Generated {
                kustomization: file.clone(),
                generator: match kind {
                    GeneratedKind::ConfigMap => "ConfigMapGenerator",
                    GeneratedKind::Secret => "SecretGenerator",
                },
            });
            let id = res.id();
            let existing = acc.resources.iter().position(|r| {
                r.kind() == res.kind()
                    && r.had_name(res.name())
                    && (r.had_namespace(res.namespace()) || res.namespace().is_empty())
            });
            match (res.behavior, existing) {
                (Behavior::Create, Some(_)) => {
                    return Err(KustomizeError::GeneratorCollision {
                        id: id.to_string(),
                        file: file.clone(),
                    });
                }
                (Behavior::Create, None) => acc.resources.push(res),
                (_, None) => {
                    return Err(KustomizeError::GeneratorNoBase {
                        id: id.to_string(),
                        file: file.clone(),
                    });
                }
                (Behavior::Merge, Some(i)) => merge_generated(&mut acc.resources[i], res),
                (Behavior::Replace, Some(i)) => {
                    let old = &acc.resources[i];
                    let mut new = res;
                    new.prev_names = old.prev_names.clone();
                    new.prev_namespaces = old.prev_namespaces.clone();
                    let (name, ns) = (old.name().to_string(), old.namespace().to_string());
                    new.metadata_mut()
                        .insert("name".into(), Value::String(name));
                    if !ns.is_empty() {
                        new.metadata_mut()
                            .insert("namespace".into(), Value::String(ns));
                    }
                    // Replace swaps the data but keeps the labels and annotations the
                    // base gave the object (the new generator's own win on conflicts).
                    for field in ["labels", "annotations"] {
                        let Some(Value::Object(from_base)) =
                            old.obj.pointer(&format!("/metadata/{field}")).cloned()
                        else {
                            continue;
                        };
                        let meta = new.metadata_mut();
                        let merged = meta
                            .entry(field.to_string())
                            .or_insert_with(|| Value::Object(Default::default()));
                        if let Value::Object(merged) = merged {
                            for (k, v) in from_base {
                                merged.entry(k).or_insert(v);
                            }
                        }
                    }
                    acc.resources[i] = new;
                }
            }
        }
        // Charts inflate after the ConfigMap and Secret generators, before transformers.
        for res in crate::helm::inflate(kust, loader, self.opts.enable_helm)? {
            acc.append(res, file)?;
        }
        Ok(())
    }

    fn run_transformers(
        &self,
        kust: &Kustomization,
        loader: &Loader,
        acc: &mut Accumulator,
    ) -> Result<(), KustomizeError> {
        let file = loader.file.clone();
        for entry in &kust.patches_strategic_merge {
            let bodies = self.load_patch(entry, loader, true)?;
            for body in bodies {
                self.apply_untargeted(body, &PatchOptions::default(), acc, &file)?;
            }
        }
        for p in &kust.patches {
            let bodies = match (&p.path, &p.patch) {
                (Some(path), _) => self.load_patch(path, loader, false)?,
                (None, Some(inline)) => parse_patch_text(inline, &file)?,
                (None, None) => {
                    return Err(KustomizeError::Invalid {
                        path: file.clone(),
                        message: "patch must have either path or patch".into(),
                    });
                }
            };
            for body in bodies {
                match &p.target {
                    None => self.apply_untargeted(body, &p.options, acc, &file)?,
                    Some(target) => {
                        let hits = select(&acc.resources, target, &file)?;
                        let mut deleted = Vec::new();
                        for i in hits {
                            match &body {
                                PatchBody::Strategic(v) => {
                                    if !apply_strategic(
                                        &mut acc.resources[i],
                                        v,
                                        &p.options,
                                        &file,
                                    )? {
                                        deleted.push(i);
                                    }
                                }
                                PatchBody::Json6902(v) => {
                                    apply_json6902(&mut acc.resources[i], v, &p.options, &file)?
                                }
                            }
                        }
                        for i in deleted.into_iter().rev() {
                            acc.resources.remove(i);
                        }
                    }
                }
            }
        }
        if let Some(ns) = kust.namespace.as_deref().filter(|n| !n.is_empty()) {
            transform::apply_namespace(&mut acc.resources, &acc.config, ns);
        }
        transform::apply_prefix_suffix(
            &mut acc.resources,
            &acc.config,
            kust.name_prefix.as_deref().unwrap_or(""),
            kust.name_suffix.as_deref().unwrap_or(""),
        );
        if !kust.common_labels.is_empty() {
            let label = Label {
                pairs: kust.common_labels.clone(),
                include_selectors: true,
                include_templates: false,
                fields: Vec::new(),
            };
            transform::apply_labels(&mut acc.resources, &acc.config, &label);
        }
        for label in &kust.labels {
            transform::apply_labels(&mut acc.resources, &acc.config, label);
        }
        transform::add_map_entries(
            &mut acc.resources,
            &acc.config.common_annotations,
            &kust.common_annotations,
        );
        for p in &kust.patches_json6902 {
            let Some(target) = &p.target else {
                return Err(KustomizeError::Invalid {
                    path: file.clone(),
                    message: "patchesJson6902 entry must have a target".into(),
                });
            };
            let bodies = match (&p.path, &p.patch) {
                (Some(path), _) => self.load_patch(path, loader, false)?,
                (None, Some(inline)) => parse_patch_text(inline, &file)?,
                (None, None) => Vec::new(),
            };
            let hits = select(&acc.resources, target, &file)?;
            for body in bodies {
                let ops = match body {
                    PatchBody::Json6902(v) => v,
                    PatchBody::Strategic(v) => v,
                };
                for &i in &hits {
                    apply_json6902(&mut acc.resources[i], &ops, &p.options, &file)?;
                }
            }
        }
        transform::apply_replicas(&mut acc.resources, &acc.config, &kust.replicas);
        transform::apply_images(&mut acc.resources, &acc.config, &kust.images);
        for r in &kust.replacements {
            crate::replacement::apply(r, loader, &mut acc.resources)?;
        }
        Ok(())
    }

    fn load_patch(
        &self,
        entry: &str,
        loader: &Loader,
        inline_ok: bool,
    ) -> Result<Vec<PatchBody>, KustomizeError> {
        let looks_inline = entry.contains('\n') || entry.trim_start().starts_with(['{', '[']);
        if inline_ok && looks_inline {
            return parse_patch_text(entry, &loader.file);
        }
        let text = loader.read_string(entry)?;
        let path = loader.resolve(entry)?;
        parse_patch_text(&text, &path)
    }

    fn apply_untargeted(
        &self,
        body: PatchBody,
        options: &PatchOptions,
        acc: &mut Accumulator,
        file: &Path,
    ) -> Result<(), KustomizeError> {
        let PatchBody::Strategic(patch) = body else {
            return Err(KustomizeError::Invalid {
                path: file.to_path_buf(),
                message: "a JSON 6902 patch needs a target".into(),
            });
        };
        let hits = find_named(&acc.resources, &patch);
        if hits.is_empty() {
            return Err(KustomizeError::PatchTargetNotFound {
                target: describe_patch(&patch),
                file: file.to_path_buf(),
            });
        }
        let mut deleted = Vec::new();
        for i in hits {
            let keep_name = PatchOptions {
                allow_name_change: false,
                allow_kind_change: false,
            };
            let opts = if options.allow_name_change || options.allow_kind_change {
                options
            } else {
                &keep_name
            };
            if !apply_strategic(&mut acc.resources[i], &patch, opts, file)? {
                deleted.push(i);
            }
        }
        for i in deleted.into_iter().rev() {
            acc.resources.remove(i);
        }
        Ok(())
    }
}

/// Merges a generated object into an existing one (behavior `merge`).
fn merge_generated(existing: &mut Resource, new: Resource) {
    for field in ["data", "binaryData"] {
        if let Some(Value::Object(add)) = new.obj.get(field) {
            let target = crate::resource::object_mut(&mut existing.obj);
            let entry = target
                .entry(field)
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            let m = crate::resource::object_mut(entry);
            for (k, v) in add {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    for field in ["labels", "annotations"] {
        if let Some(Value::Object(add)) = new.obj.get("metadata").and_then(|m| m.get(field)) {
            let meta = existing.metadata_mut();
            let entry = meta
                .entry(field)
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            let m = crate::resource::object_mut(entry);
            for (k, v) in add {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    // The merged object keeps a hash suffix only if both sides asked for one.
    existing.needs_hash = existing.needs_hash && new.needs_hash;
    if let Some(Value::Bool(true)) = new.obj.get("immutable") {
        crate::resource::object_mut(&mut existing.obj)
            .insert("immutable".into(), Value::Bool(true));
    }
}
