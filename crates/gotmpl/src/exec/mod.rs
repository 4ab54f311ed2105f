//! The executor: walks a parsed [`Tree`] with data and functions, producing text.
//!
//! Internally every value carries how Go's reflection would hold it ([`Slot`]):
//! a value read out of a map or slice sits in an `interface {}` (which decides
//! error wording and `nil` handling), a missing map key is Go's invalid value.

use std::sync::Arc;

use crate::ast::{Arg, Branch, Command, Node, Pipe, Tree};
use crate::error::ExecError;
use crate::func::FuncMap;
use crate::gofmt;
use crate::template::Template;
use crate::value::Value;

mod eval;

/// What a missing map key evaluates to (Go's `missingkey` option).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// `missingkey=default` / `invalid`: prints `<no value>`.
    #[default]
    Default,
    /// `missingkey=zero`: the map's zero value (`nil` for `interface {}` maps), as Helm uses.
    Zero,
    /// `missingkey=error`: execution stops with `map has no entry for key "x"`.
    Error,
}

impl std::str::FromStr for MissingKey {
    type Err = String;

    /// Parses Go's option values: `default`, `invalid`, `zero`, `error`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "default" | "invalid" => Ok(MissingKey::Default),
            "zero" => Ok(MissingKey::Zero),
            "error" => Ok(MissingKey::Error),
            other => Err(format!("unrecognized option: missingkey={other}")),
        }
    }
}

/// Options for one execution.
#[derive(Clone, Debug)]
pub struct ExecOptions {
    /// What a missing map key does.
    pub missing_key: MissingKey,
    /// How deeply templates may call templates (`template`, `include`) before
    /// execution stops with `exceeded maximum template depth`.
    pub max_depth: usize,
}

impl Default for ExecOptions {
    fn default() -> Self {
        Self {
            missing_key: MissingKey::Default,
            max_depth: 1000,
        }
    }
}

/// The running execution, given to functions registered with
/// [`FuncMap::insert_with_context`] so they can run other templates
/// (Helm's `include` and `tpl`).
pub struct ExecContext<'a> {
    set: &'a Template,
    funcs: &'a FuncMap,
    opts: &'a ExecOptions,
    depth: usize,
    name: &'a str,
}

impl ExecContext<'_> {
    /// The template set being executed.
    pub fn template_set(&self) -> &Template {
        self.set
    }

    /// The functions of this execution.
    pub fn funcs(&self) -> &FuncMap {
        self.funcs
    }

    /// The options of this execution.
    pub fn options(&self) -> &ExecOptions {
        self.opts
    }

    /// The name of the template currently executing.
    pub fn current_template(&self) -> &str {
        self.name
    }

    /// The current template nesting depth.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Executes template `name` of the running set with `data`, one level deeper.
    pub fn execute(&mut self, name: &str, data: &Value) -> Result<String, ExecError> {
        let set = self.set;
        self.execute_in(set, name, data, None)
    }

    /// Executes template `name` of another set (e.g. a clone with extra
    /// definitions, for `tpl`), one level deeper, with this execution's
    /// options and either `funcs` or this execution's functions.
    pub fn execute_in(
        &mut self,
        set: &Template,
        name: &str,
        data: &Value,
        funcs: Option<&FuncMap>,
    ) -> Result<String, ExecError> {
        let funcs = funcs.unwrap_or(self.funcs);
        if self.depth + 1 >= self.opts.max_depth {
            return Err(ExecError::Template {
                template: self.name.to_string(),
                message: format!("exceeded maximum template depth ({})", self.opts.max_depth),
            });
        }
        run(set, name, data, funcs, self.opts, self.depth + 1)
    }
}

/// Runs template `name` of `set`.
pub(crate) fn run(
    set: &Template,
    name: &str,
    data: &Value,
    funcs: &FuncMap,
    opts: &ExecOptions,
    depth: usize,
) -> Result<String, ExecError> {
    let Some(tree) = set.tree(name) else {
        return Err(ExecError::NoTemplate {
            name: name.to_string(),
            set: set.name().to_string(),
        });
    };
    let dot = if data.is_nil() {
        Slot::Missing
    } else {
        Slot::Direct(data.clone())
    };
    let mut st = State {
        set,
        funcs,
        opts,
        tree,
        vars: vec![("$".to_string(), dot.clone())],
        depth,
        at: At::None,
        out: String::new(),
    };
    st.walk(&dot, &tree.root)?;
    Ok(st.out)
}

/// A value as Go's reflection would hold it.
#[derive(Clone, Debug)]
enum Slot {
    /// Go's invalid value (a missing map key, an absent pipeline).
    Missing,
    /// A value of its own concrete type.
    Direct(Value),
    /// A value inside an `interface {}` (read from a map or slice).
    Boxed(Value),
}

impl Slot {
    fn value(&self) -> Value {
        match self {
            Slot::Missing => Value::Nil,
            Slot::Direct(v) | Slot::Boxed(v) => v.clone(),
        }
    }

    fn of(v: Value) -> Slot {
        if v.is_nil() {
            Slot::Missing
        } else {
            Slot::Direct(v)
        }
    }

    /// What a pipeline stage yields: Go unwraps `interface {}` values.
    fn dig(self) -> Slot {
        match self {
            Slot::Boxed(v) | Slot::Direct(v) => Slot::of(v),
            Slot::Missing => Slot::Missing,
        }
    }

    fn is_true(&self) -> bool {
        match self {
            Slot::Missing => false,
            Slot::Direct(v) | Slot::Boxed(v) => v.is_true(),
        }
    }
}

/// The node an error refers to.
#[derive(Clone, Copy)]
enum At<'a> {
    None,
    Node(&'a Node),
    Pipe(&'a Pipe),
    Cmd(&'a Command),
    Arg(&'a Arg),
}

enum Flow {
    Normal,
    Break,
    Continue,
}

type R<T> = Result<T, ExecError>;

struct State<'a> {
    set: &'a Template,
    funcs: &'a FuncMap,
    opts: &'a ExecOptions,
    tree: &'a Arc<Tree>,
    vars: Vec<(String, Slot)>,
    depth: usize,
    at: At<'a>,
    out: String,
}

impl<'a> State<'a> {
    fn at(&mut self, at: At<'a>) {
        self.at = at;
    }

    fn error(&self, message: impl Into<String>) -> ExecError {
        let message = message.into();
        let (pos, context) = match self.at {
            At::None => {
                return ExecError::Template {
                    template: self.tree.name.clone(),
                    message,
                };
            }
            At::Node(n) => (node_pos(n), n.to_string()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Arg(a) => (a.pos(), a.to_string()),
        };
        let (line, col) = self.tree.line_col(pos);
        ExecError::At {
            template: self.tree.name.clone(),
            parse_name: self.tree.parse_name.clone(),
            line,
            col,
            context,
            message,
        }
    }

    fn walk(&mut self, dot: &Slot, list: &'a [Node]) -> R<Flow> {
        grow(|| self.walk_list(dot, list))
    }

    fn walk_list(&mut self, dot: &Slot, list: &'a [Node]) -> R<Flow> {
        for node in list {
            match self.walk_node(dot, node)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_node(&mut self, dot: &Slot, node: &'a Node) -> R<Flow> {
        match node {
            Node::Text(t) => self.out.push_str(t),
            Node::Action { pipe, .. } => {
                self.at(At::Node(node));
                let val = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at(At::Node(node));
                    self.print_value(&val)?;
                }
            }
            Node::If(b) => return self.walk_if_or_with(dot, b, false),
            Node::With(b) => return self.walk_if_or_with(dot, b, true),
            Node::Range(b) => return self.walk_range(dot, node, b),
            Node::Template { name, pipe, .. } => {
                self.at(At::Node(node));
                let Some(tree) = self.set.tree(name) else {
                    return Err(self.error(format!("template {} not defined", gofmt::quote(name))));
                };
                if self.depth + 1 >= self.opts.max_depth {
                    return Err(self.error(format!(
                        "exceeded maximum template depth ({})",
                        self.opts.max_depth
                    )));
                }
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Slot::Missing,
                };
                let saved_vars =
                    std::mem::replace(&mut self.vars, vec![("$".to_string(), new_dot.clone())]);
                let saved_tree = std::mem::replace(&mut self.tree, tree);
                self.depth += 1;
                let r = self.walk(&new_dot, &tree.root);
                self.depth -= 1;
                self.tree = saved_tree;
                self.vars = saved_vars;
                r?;
            }
            Node::Break { .. } => return Ok(Flow::Break),
            Node::Continue { .. } => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn print_value(&mut self, v: &Slot) -> R<()> {
        match v {
            Slot::Missing => self.out.push_str("<no value>"),
            Slot::Direct(v) | Slot::Boxed(v) => match v {
                Value::Nil => self.out.push_str("<no value>"),
                Value::Func(_) => {
                    let msg = match self.at {
                        At::Node(n @ Node::Action { .. }) => {
                            format!("can't print {} of type {}", n, v.type_name())
                        }
                        _ => format!("can't print value of type {}", v.type_name()),
                    };
                    return Err(self.error(msg));
                }
                Value::String(s) => self.out.push_str(s),
                v => gofmt::print_arg(&mut self.out, v, 'v', &gofmt::Spec::default(), 0),
            },
        }
        Ok(())
    }

    fn walk_if_or_with(&mut self, dot: &Slot, b: &'a Branch, is_with: bool) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let r = if val.is_true() {
            if is_with {
                self.walk(&val, &b.list)
            } else {
                self.walk(dot, &b.list)
            }
        } else if let Some(e) = &b.else_list {
            self.walk(dot, e)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Slot, node: &'a Node, b: &'a Branch) -> R<Flow> {
        self.at(At::Node(node));
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let mut ran = false;
        let mut result = Ok(Flow::Normal);
        let value = val.value();
        match &value {
            Value::List(items) => {
                for (i, elem) in items.iter().enumerate() {
                    ran = true;
                    let idx = Slot::Direct(Value::Int(i64::try_from(i).unwrap_or(i64::MAX)));
                    match self.range_iteration(b, idx, Slot::Boxed(elem.clone())) {
                        Ok(Flow::Break) => break,
                        Ok(_) => {}
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
            }
            Value::Map(m) => {
                for (k, v) in m.entries() {
                    ran = true;
                    match self.range_iteration(
                        b,
                        Slot::Direct(Value::string(k.as_str())),
                        Slot::Boxed(v.clone()),
                    ) {
                        Ok(Flow::Break) => break,
                        Ok(_) => {}
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
            }
            Value::Int(_) | Value::Int64(_) | Value::Uint64(_) => {
                if b.pipe.decl.len() > 1 {
                    let msg = format!("can't use {value} to iterate over more than one variable");
                    self.vars.truncate(mark);
                    return Err(self.error(msg));
                }
                let n: u64 = match value {
                    Value::Int(i) | Value::Int64(i) => u64::try_from(i).unwrap_or(0),
                    Value::Uint64(u) => u,
                    _ => 0,
                };
                for i in 0..n {
                    ran = true;
                    let iv = match value {
                        Value::Int(_) => Value::Int(i as i64),
                        Value::Int64(_) => Value::Int64(i as i64),
                        _ => Value::Uint64(i),
                    };
                    match self.range_iteration(b, Slot::Direct(iv.clone()), Slot::Direct(iv)) {
                        Ok(Flow::Break) => break,
                        Ok(_) => {}
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
            }
            Value::Object(o) if o.map_entries().is_some() => {
                for (k, v) in o.map_entries().unwrap_or_default() {
                    ran = true;
                    match self.range_iteration(
                        b,
                        Slot::Direct(Value::string(k.as_str())),
                        Slot::Direct(v),
                    ) {
                        Ok(Flow::Break) => break,
                        Ok(_) => {}
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
            }
            Value::Nil => {}
            other => {
                let msg = format!("range can't iterate over {other}");
                self.vars.truncate(mark);
                return Err(self.error(msg));
            }
        }
        if result.is_ok()
            && !ran
            && let Some(e) = &b.else_list
        {
            result = self.walk(dot, e).map(|_| Flow::Normal);
        }
        self.vars.truncate(mark);
        result.map(|_| Flow::Normal)
    }

    fn range_iteration(&mut self, b: &'a Branch, index: Slot, elem: Slot) -> R<Flow> {
        let decl = &b.pipe.decl;
        if !decl.is_empty() {
            if b.pipe.is_assign {
                let v = if decl.len() > 1 {
                    index.clone()
                } else {
                    elem.clone()
                };
                self.set_var(&decl[0].name, v)?;
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if b.pipe.is_assign {
                self.set_var(&decl[1].name, elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let mark = self.vars.len();
        let r = self.walk(&elem, &b.list);
        self.vars.truncate(mark);
        r
    }

    fn set_top_var(&mut self, n: usize, v: Slot) {
        let len = self.vars.len();
        if n <= len {
            self.vars[len - n].1 = v;
        }
    }

    fn set_var(&mut self, name: &str, v: Slot) -> R<()> {
        for entry in self.vars.iter_mut().rev() {
            if entry.0 == name {
                entry.1 = v;
                return Ok(());
            }
        }
        Err(self.error(format!("undefined variable: {name}")))
    }

    fn var_value(&self, name: &str) -> R<Slot> {
        for (n, v) in self.vars.iter().rev() {
            if n == name {
                return Ok(v.clone());
            }
        }
        Err(self.error(format!("undefined variable: {name}")))
    }
}

/// Runs `f`, first moving to a fresh stack segment when little stack is left,
/// so that deep (but depth-limited) template recursion cannot overflow.
pub(crate) fn grow<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(256 * 1024, 4 * 1024 * 1024, f)
}

fn node_pos(n: &Node) -> usize {
    match n {
        Node::Text(_) => 0,
        Node::Action { pos, .. }
        | Node::Template { pos, .. }
        | Node::Break { pos }
        | Node::Continue { pos } => *pos,
        Node::If(b) | Node::With(b) | Node::Range(b) => b.pos,
    }
}
