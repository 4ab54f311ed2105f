//! The executor: walks a parsed [`Tree`] with data and functions, producing text.
//!
//! Internally every value carries how Go's reflection would hold it ([`Slot`]):
//! a value read out of a map or slice sits in an `interface {}` (which decides
//! error wording and `nil` handling), a missing map key is Go's invalid value.

use std::sync::Arc;

use crate::ast::{Arg, Branch, Command, Node, Pipe, Tree};
use crate::builtin;
use crate::error::ExecError;
use crate::func::{Func, FuncError, FuncMap};
use crate::gofmt;
use crate::template::Template;
use crate::value::Value;

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

    fn eval_pipeline(&mut self, dot: &Slot, pipe: &'a Pipe) -> R<Slot> {
        grow(|| self.eval_pipeline_inner(dot, pipe))
    }

    fn eval_pipeline_inner(&mut self, dot: &Slot, pipe: &'a Pipe) -> R<Slot> {
        self.at(At::Pipe(pipe));
        let mut value: Option<Slot> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(v.dig());
        }
        let value = value.unwrap_or(Slot::Missing);
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(&var.name, value.clone())?;
            } else {
                self.vars.push((var.name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], fin: &Option<Slot>) -> R<()> {
        if args.len() > 1 || fin.is_some() {
            return Err(self.error(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Slot, cmd: &'a Command, fin: Option<Slot>) -> R<Slot> {
        let first = &cmd.args[0];
        match first {
            Arg::Field { idents, .. } => {
                self.at(At::Arg(first));
                return self.eval_field_chain(dot, dot.clone(), first, idents, &cmd.args, fin);
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, &cmd.args, fin),
            Arg::Identifier { name, .. } => {
                return self.eval_function(dot, name, first, At::Cmd(cmd), &cmd.args, fin);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &fin)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable { .. } => return self.eval_variable(dot, first, &cmd.args, fin),
            _ => {}
        }
        self.at(At::Arg(first));
        self.not_a_function(&cmd.args, &fin)?;
        match first {
            Arg::Bool { value, .. } => Ok(Slot::Direct(Value::Bool(*value))),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Err(self.error("nil is not a command")),
            Arg::Number { .. } => self.ideal_constant(first),
            Arg::String { value, .. } => Ok(Slot::Direct(value.clone())),
            _ => Err(self.error(format!(
                "can't evaluate command {}",
                gofmt::quote(&first.to_string())
            ))),
        }
    }

    fn ideal_constant(&mut self, arg: &'a Arg) -> R<Slot> {
        self.at(At::Arg(arg));
        let Arg::Number { num, .. } = arg else {
            return Ok(Slot::Missing);
        };
        let t = &num.text;
        if num.is_complex {
            return Err(self.error(format!("complex constant {t} is not supported")));
        }
        let is_hex_int = t.len() > 2
            && t.starts_with('0')
            && matches!(t.as_bytes()[1], b'x' | b'X')
            && !t.contains(['p', 'P']);
        let is_rune = t.starts_with('\'');
        if let Some(f) = num.float
            && !is_hex_int
            && !is_rune
            && t.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Slot::Direct(Value::Float64(f)));
        }
        if let Some(i) = num.int {
            return Ok(Slot::Direct(Value::Int(i)));
        }
        if num.uint.is_some() {
            return Err(self.error(format!("{t} overflows int")));
        }
        Ok(Slot::Missing)
    }

    fn eval_variable(
        &mut self,
        dot: &Slot,
        arg: &'a Arg,
        args: &'a [Arg],
        fin: Option<Slot>,
    ) -> R<Slot> {
        self.at(At::Arg(arg));
        let Arg::Variable { idents, .. } = arg else {
            return Ok(Slot::Missing);
        };
        let value = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            self.not_a_function(args, &fin)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, arg, &idents[1..], args, fin)
    }

    fn eval_chain(
        &mut self,
        dot: &Slot,
        arg: &'a Arg,
        args: &'a [Arg],
        fin: Option<Slot>,
    ) -> R<Slot> {
        self.at(At::Arg(arg));
        let Arg::Chain { node, fields, .. } = arg else {
            return Ok(Slot::Missing);
        };
        if matches!(node.as_ref(), Arg::Nil { .. }) {
            return Err(self.error(format!("indirection through explicit nil in {arg}")));
        }
        let recv = self.eval_arg(dot, node)?;
        self.eval_field_chain(dot, recv.dig(), arg, fields, args, fin)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Slot,
        mut recv: Slot,
        node: &'a Arg,
        idents: &[String],
        args: &'a [Arg],
        fin: Option<Slot>,
    ) -> R<Slot> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            recv = self.eval_field(dot, ident, node, &[], None, recv)?;
        }
        self.eval_field(dot, &idents[n - 1], node, args, fin, recv)
    }

    fn eval_field(
        &mut self,
        dot: &Slot,
        name: &str,
        node: &'a Arg,
        args: &'a [Arg],
        fin: Option<Slot>,
        recv: Slot,
    ) -> R<Slot> {
        let (v, boxed) = match recv {
            Slot::Missing => {
                if self.opts.missing_key == MissingKey::Error {
                    return Err(
                        self.error(format!("nil data; no entry for key {}", gofmt::quote(name)))
                    );
                }
                return Ok(Slot::Missing);
            }
            Slot::Boxed(Value::Nil) => {
                return Err(self.error(format!("nil pointer evaluating interface {{}}.{name}")));
            }
            Slot::Direct(Value::Nil) => return Ok(Slot::Missing),
            Slot::Direct(v) => (v, false),
            Slot::Boxed(v) => (v, true),
        };
        let has_args = args.len() > 1 || fin.is_some();
        match &v {
            Value::Object(o) => {
                if o.has_method(name) {
                    let mut argv = Vec::new();
                    for a in args.iter().skip(1) {
                        argv.push(self.eval_arg(dot, a)?.value());
                    }
                    if let Some(f) = fin {
                        argv.push(f.value());
                    }
                    self.at(At::Arg(node));
                    return match o.call_method(name, &argv) {
                        Ok(v) => Ok(Slot::of(v)),
                        Err(e) => Err(self.func_error(name, e)),
                    };
                }
                if has_args {
                    return Err(self.error(format!(
                        "{name} has arguments but cannot be invoked as function"
                    )));
                }
                match o.field(name) {
                    Some(v) => Ok(Slot::Direct(v)),
                    None => Err(self.error(format!(
                        "can't evaluate field {name} in type {}",
                        o.type_name()
                    ))),
                }
            }
            Value::Map(m) => {
                if has_args {
                    return Err(self.error(format!("{name} is not a method but has arguments")));
                }
                match m.get(name) {
                    Some(v) => Ok(Slot::Boxed(v)),
                    None => {
                        match self.opts.missing_key {
                            MissingKey::Default => Ok(Slot::Missing),
                            MissingKey::Zero => Ok(Slot::Boxed(Value::Nil)),
                            MissingKey::Error => Err(self
                                .error(format!("map has no entry for key {}", gofmt::quote(name)))),
                        }
                    }
                }
            }
            other => {
                let tn = if boxed {
                    "interface {}".to_string()
                } else {
                    other.type_name()
                };
                Err(self.error(format!("can't evaluate field {name} in type {tn}")))
            }
        }
    }

    fn func_error(&self, name: &str, e: FuncError) -> ExecError {
        match e {
            FuncError::Arity { want, got } => self.error(format!(
                "wrong number of args for {name}: want {want} got {got}"
            )),
            FuncError::Failed(m) => self.error(format!("error calling {name}: {m}")),
            other => self.error(other.to_string()),
        }
    }

    fn eval_arg(&mut self, dot: &Slot, arg: &'a Arg) -> R<Slot> {
        self.at(At::Arg(arg));
        let one = std::slice::from_ref(arg);
        match arg {
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Ok(Slot::Missing),
            Arg::Field { idents, .. } => {
                self.eval_field_chain(dot, dot.clone(), arg, idents, one, None)
            }
            Arg::Variable { .. } => self.eval_variable(dot, arg, one, None),
            Arg::Pipe(p) => self.eval_pipeline(dot, p),
            Arg::Identifier { name, .. } => {
                self.eval_function(dot, name, arg, At::Arg(arg), one, None)
            }
            Arg::Chain { .. } => self.eval_chain(dot, arg, one, None),
            Arg::Bool { value, .. } => Ok(Slot::Direct(Value::Bool(*value))),
            Arg::Number { .. } => self.ideal_constant(arg),
            Arg::String { value, .. } => Ok(Slot::Direct(value.clone())),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Slot,
        name: &str,
        ident: &'a Arg,
        call_node: At<'a>,
        args: &'a [Arg],
        fin: Option<Slot>,
    ) -> R<Slot> {
        self.at(At::Arg(ident));
        let nargs = args.len() - 1 + usize::from(fin.is_some());
        if let Some(f) = self.funcs.get(name) {
            let f = f.clone();
            let mut argv = Vec::with_capacity(nargs);
            for a in &args[1..] {
                argv.push(self.eval_arg(dot, a)?.value());
            }
            if let Some(v) = fin {
                argv.push(v.value());
            }
            let r = match &f {
                Func::Plain(f) => f(&argv),
                Func::WithContext(f) => {
                    let mut ctx = ExecContext {
                        set: self.set,
                        funcs: self.funcs,
                        opts: self.opts,
                        depth: self.depth,
                        name: &self.tree.name,
                    };
                    f(&mut ctx, &argv)
                }
            };
            return match r {
                Ok(v) => Ok(Slot::of(v)),
                Err(FuncError::Arity { want, got }) => {
                    self.at(At::Arg(ident));
                    Err(self.error(format!(
                        "wrong number of args for {name}: want {want} got {got}"
                    )))
                }
                Err(FuncError::Failed(m)) => {
                    self.at(call_node);
                    Err(self.error(format!("error calling {name}: {m}")))
                }
                Err(other) => Err(self.error(other.to_string())),
            };
        }
        if !builtin::is_builtin(name) {
            return Err(self.error(format!("{} is not a defined function", gofmt::quote(name))));
        }
        let (min, max) = builtin::arity(name);
        if nargs < min || max.is_some_and(|m| nargs > m) {
            let want = match max {
                Some(m) if m == min => m.to_string(),
                _ => format!("at least {min}"),
            };
            return Err(self.error(format!(
                "wrong number of args for {name}: want {want} got {nargs}"
            )));
        }
        if name == "and" || name == "or" {
            let want_truth = name == "or";
            let mut v = Slot::Missing;
            for a in &args[1..] {
                v = self.eval_arg(dot, a)?;
                if v.is_true() == want_truth {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(nargs);
        for a in &args[1..] {
            if name == "printf" && argv.is_empty() {
                // printf's format is a Go string parameter: constants of other kinds are rejected as written.
                match a {
                    Arg::Number { .. } | Arg::Bool { .. } => {
                        self.at(At::Arg(a));
                        return Err(self.error(format!("expected string; found {a}")));
                    }
                    Arg::Nil { .. } => {
                        self.at(At::Arg(a));
                        return Err(self.error("cannot assign nil to string"));
                    }
                    _ => {}
                }
            }
            let v = self.eval_arg(dot, a)?;
            if name == "printf" && argv.is_empty() {
                if let Slot::Boxed(Value::Nil) = v {
                    return Err(
                        self.error("wrong type for value; expected string; got interface {}")
                    );
                }
                match v.value() {
                    Value::String(_) => {}
                    Value::Nil => return Err(self.error("invalid value; expected string")),
                    other => {
                        return Err(self.error(format!(
                            "wrong type for value; expected string; got {}",
                            other.type_name()
                        )));
                    }
                }
            }
            argv.push(v.value());
        }
        if let Some(v) = fin {
            argv.push(v.value());
        }
        let callee = args.get(1).map(ToString::to_string).unwrap_or_default();
        match builtin::call_builtin(name, &argv, &callee) {
            Ok(v) => Ok(Slot::of(v)),
            Err(FuncError::Failed(m)) => {
                self.at(call_node);
                Err(self.error(format!("error calling {name}: {m}")))
            }
            Err(other) => {
                self.at(call_node);
                Err(self.error(other.to_string()))
            }
        }
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
