//! [`Template`]: a set of named templates sharing one namespace, like Go's
//! `*template.Template`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use crate::ast::Tree;
use crate::error::{ExecError, ParseError};
use crate::exec::{ExecOptions, run};
use crate::func::FuncMap;
use crate::parse::{ParseConfig, parse};
use crate::value::Value;

/// A set of parsed templates. Parse once, execute many times; cheap to
/// clone (trees are shared) and safe to share across threads.
#[derive(Clone, Debug)]
pub struct Template {
    name: String,
    trees: BTreeMap<String, Arc<Tree>>,
    known_funcs: Option<Arc<HashSet<String>>>,
    left: String,
    right: String,
}

impl Template {
    /// An empty set named `name`. Unknown functions are reported when executed.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            trees: BTreeMap::new(),
            known_funcs: None,
            left: "{{".into(),
            right: "}}".into(),
        }
    }

    /// An empty set whose parser, like Go's, rejects calls to functions that are
    /// neither builtins nor in `funcs` (`function "foo" not defined`).
    pub fn with_funcs(name: impl Into<String>, funcs: &FuncMap) -> Self {
        let mut t = Self::new(name);
        t.set_funcs(funcs);
        t
    }

    /// Declares the functions later parses may call (Go's `Funcs` before `Parse`).
    pub fn set_funcs(&mut self, funcs: &FuncMap) -> &mut Self {
        let mut names: HashSet<String> = self.known_funcs.as_deref().cloned().unwrap_or_default();
        names.extend(funcs.names().map(str::to_string));
        self.known_funcs = Some(Arc::new(names));
        self
    }

    /// Sets the action delimiters for later parses (Go's `Delims`); empty means the default.
    pub fn set_delims(&mut self, left: &str, right: &str) -> &mut Self {
        self.left = if left.is_empty() {
            "{{".into()
        } else {
            left.into()
        };
        self.right = if right.is_empty() {
            "}}".into()
        } else {
            right.into()
        };
        self
    }

    /// The name of the set.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses `text` as template `name`, adding it and its `define`/`block`
    /// templates to the set. Like Go, a later definition replaces an earlier
    /// one unless the later one is empty.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), ParseError> {
        let known = self.known_funcs.clone();
        let has = |n: &str| known.as_ref().is_some_and(|k| k.contains(n));
        let cfg = ParseConfig {
            left: &self.left,
            right: &self.right,
            has_func: if self.known_funcs.is_some() {
                Some(&has)
            } else {
                None
            },
        };
        let parsed = parse(name, text, &cfg)?;
        let main_is_define = parsed.defines.iter().any(|d| d.name == name);
        if !main_is_define || !parsed.main.is_empty() {
            self.add(parsed.main);
        }
        for d in parsed.defines {
            self.add(d);
        }
        Ok(())
    }

    fn add(&mut self, tree: Tree) {
        if let Some(old) = self.trees.get(&tree.name)
            && tree.is_empty()
            && !old.root.is_empty()
        {
            return;
        }
        self.trees.insert(tree.name.clone(), Arc::new(tree));
    }

    /// Executes template `name` with `data` as dot.
    pub fn execute(
        &self,
        name: &str,
        data: &Value,
        funcs: &FuncMap,
        opts: &ExecOptions,
    ) -> Result<String, ExecError> {
        run(self, name, data, funcs, opts, 0)
    }

    /// The names of all templates in the set, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.trees.keys().map(String::as_str)
    }

    /// Whether the set has a template with this name.
    pub fn has(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    pub(crate) fn tree(&self, name: &str) -> Option<&Arc<Tree>> {
        self.trees.get(name)
    }
}
