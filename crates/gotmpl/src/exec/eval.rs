//! Expression evaluation: pipelines, commands, fields, variables, constants
//! and function calls (including the short-circuit `and`/`or`).

use super::{At, MissingKey, R, Slot, State, grow};
use crate::ast::{Arg, Command, Pipe};
use crate::builtin;
use crate::error::ExecError;
use crate::func::{Func, FuncError};
use crate::gofmt;
use crate::value::Value;

use super::ExecContext;

impl<'a> State<'a> {
    pub(super) fn eval_pipeline(&mut self, dot: &Slot, pipe: &'a Pipe) -> R<Slot> {
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
