//! The parser: tokens → [`Tree`]s, with Go's parse errors
//! (`template: NAME:LINE: unexpected "}" in operand`).

use std::sync::Arc;

use crate::ast::{Arg, Branch, Command, Node, Pipe, Tree, Var};
use crate::error::ParseError;
use crate::lex::{Kind, Token, lex};
use crate::literal::{parse_number, unquote};

/// How deeply pipelines and control structures may nest; deeper input is
/// rejected instead of risking a stack overflow.
const MAX_DEPTH: usize = 200;

/// What the parse of one text produced: its own body and the `define`/`block` trees.
pub(crate) struct Parsed {
    pub main: Tree,
    pub defines: Vec<Tree>,
}

/// Options for one parse.
pub(crate) struct ParseConfig<'a> {
    pub left: &'a str,
    pub right: &'a str,
    /// When set, identifiers must name a known function (Go's default);
    /// when `None`, unknown functions are reported at execution.
    pub has_func: Option<&'a dyn Fn(&str) -> bool>,
}

enum Item {
    Node(Node),
    End,
    Else { pos: usize },
    Skip,
}

struct Parser<'a> {
    tokens: Vec<Token>,
    i: usize,
    last_line: usize,
    parse_name: String,
    text: Arc<str>,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    action_line: usize,
    cfg: &'a ParseConfig<'a>,
    defines: Vec<Tree>,
}

type PResult<T> = Result<T, ParseError>;

/// Parses `text` as template `name`.
pub(crate) fn parse(name: &str, text: &str, cfg: &ParseConfig<'_>) -> PResult<Parsed> {
    let break_ok = cfg.has_func.is_none_or(|f| !f("break"));
    let continue_ok = cfg.has_func.is_none_or(|f| !f("continue"));
    let tokens = lex(text, cfg.left, cfg.right, break_ok, continue_ok);
    let text: Arc<str> = Arc::from(text);
    let mut p = Parser {
        tokens,
        i: 0,
        last_line: 1,
        parse_name: name.to_string(),
        text: text.clone(),
        vars: vec!["$".into()],
        range_depth: 0,
        depth: 0,
        action_line: 0,
        cfg,
        defines: Vec::new(),
    };
    let mut root = Vec::new();
    loop {
        if p.peek().kind == Kind::Eof {
            break;
        }
        if p.peek().kind == Kind::LeftDelim {
            let save = p.i;
            let delim = p.next();
            if p.next_non_space().kind == Kind::Define {
                p.action_line = delim.line;
                p.parse_definition()?;
                p.action_line = 0;
                continue;
            }
            p.i = save;
        }
        match p.text_or_action()? {
            Item::Node(n) => root.push(n),
            Item::End => return Err(p.error("unexpected {{end}}")),
            Item::Else { .. } => return Err(p.error("unexpected {{else}}")),
            Item::Skip => {}
        }
    }
    let main = Tree {
        name: name.to_string(),
        parse_name: name.to_string(),
        text,
        root,
    };
    if let Some(def) = p.defines.iter().find(|d| d.name == main.name)
        && !def.is_empty()
        && !main.is_empty()
    {
        return Err(p.error(&format!(
            "template: multiple definition of template {}",
            crate::gofmt::quote(&main.name)
        )));
    }
    Ok(Parsed {
        main,
        defines: p.defines,
    })
}

fn is_operand_start(k: Kind) -> bool {
    matches!(
        k,
        Kind::Bool
            | Kind::CharConstant
            | Kind::Dot
            | Kind::Field
            | Kind::Identifier
            | Kind::Number
            | Kind::Nil
            | Kind::RawString
            | Kind::String
            | Kind::Variable
            | Kind::LeftParen
    )
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        let idx = self.i.min(self.tokens.len().saturating_sub(1));
        &self.tokens[idx]
    }

    fn next(&mut self) -> Token {
        let idx = self.i.min(self.tokens.len().saturating_sub(1));
        let t = self.tokens[idx].clone();
        if self.i < self.tokens.len() {
            self.i += 1;
        }
        self.last_line = t.line;
        t
    }

    fn backup(&mut self) {
        self.i = self.i.saturating_sub(1);
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.kind != Kind::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn error(&self, msg: &str) -> ParseError {
        ParseError {
            name: self.parse_name.clone(),
            line: self.last_line,
            message: msg.to_string(),
        }
    }

    fn unexpected(&self, tok: &Token, context: &str) -> ParseError {
        if tok.kind == Kind::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != tok.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.parse_name, self.action_line
                );
                if tok.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return ParseError {
                name: self.parse_name.clone(),
                line: tok.line,
                message: format!("{}{}", tok.val, extra),
            };
        }
        ParseError {
            name: self.parse_name.clone(),
            line: tok.line,
            message: format!("unexpected {} in {}", tok.describe(), context),
        }
    }

    fn expect(&mut self, kind: Kind, context: &str) -> PResult<Token> {
        let t = self.next_non_space();
        if t.kind != kind {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("max expression depth exceeded"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let tok = self.next_non_space();
        if tok.kind != Kind::String && tok.kind != Kind::RawString {
            return Err(self.unexpected(&tok, CONTEXT));
        }
        let name = unquote(&tok.val).ok_or_else(|| self.error("invalid syntax"))?;
        self.expect(Kind::RightDelim, CONTEXT)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (root, end) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        match end {
            Item::End => {}
            _ => return Err(self.error(&format!("unexpected {{{{else}}}} in {CONTEXT}"))),
        }
        self.add_tree(Tree {
            name,
            parse_name: self.parse_name.clone(),
            text: self.text.clone(),
            root,
        })
    }

    fn add_tree(&mut self, tree: Tree) -> PResult<()> {
        if let Some(existing) = self.defines.iter_mut().find(|d| d.name == tree.name) {
            if existing.is_empty() {
                *existing = tree;
                return Ok(());
            }
            if !tree.is_empty() {
                return Err(self.error(&format!(
                    "template: multiple definition of template {}",
                    crate::gofmt::quote(&tree.name)
                )));
            }
            return Ok(());
        }
        self.defines.push(tree);
        Ok(())
    }

    /// Parses nodes up to `{{end}}` or `{{else}}`, which is returned.
    fn item_list(&mut self) -> PResult<(Vec<Node>, Item)> {
        crate::exec::grow(|| self.item_list_inner())
    }

    fn item_list_inner(&mut self) -> PResult<(Vec<Node>, Item)> {
        self.enter()?;
        let mut list = Vec::new();
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                Item::Skip => {}
                end => {
                    self.leave();
                    return Ok((list, end));
                }
            }
        }
        Err(self.error("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> PResult<Item> {
        let tok = self.next_non_space();
        match tok.kind {
            Kind::Text => Ok(Item::Node(Node::Text(tok.val))),
            Kind::Comment => Ok(Item::Skip),
            Kind::LeftDelim => {
                self.action_line = tok.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&tok, "input")),
        }
    }

    fn action(&mut self) -> PResult<Item> {
        let tok = self.next_non_space();
        match tok.kind {
            Kind::Block => return self.block_control().map(Item::Node),
            Kind::Break => return self.loop_control(tok.pos, true).map(Item::Node),
            Kind::Continue => return self.loop_control(tok.pos, false).map(Item::Node),
            Kind::Else => return self.else_control(tok.pos),
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Item::End);
            }
            Kind::If => return self.control("if").map(|b| Item::Node(Node::If(b))),
            Kind::Range => return self.control("range").map(|b| Item::Node(Node::Range(b))),
            Kind::With => return self.control("with").map(|b| Item::Node(Node::With(b))),
            Kind::Template => return self.template_control().map(Item::Node),
            _ => {}
        }
        self.backup();
        let pos = self.peek().pos;
        let pipe = self.pipeline("command", Kind::RightDelim)?;
        Ok(Item::Node(Node::Action { pos, pipe }))
    }

    fn loop_control(&mut self, pos: usize, is_break: bool) -> PResult<Node> {
        let word = if is_break {
            "{{break}}"
        } else {
            "{{continue}}"
        };
        let tok = self.next_non_space();
        if tok.kind != Kind::RightDelim {
            return Err(self.unexpected(&tok, word));
        }
        if self.range_depth == 0 {
            return Err(self.error(&format!("{word} outside {{{{range}}}}")));
        }
        Ok(if is_break {
            Node::Break { pos }
        } else {
            Node::Continue { pos }
        })
    }

    fn else_control(&mut self, pos: usize) -> PResult<Item> {
        let peek = self.peek_non_space();
        if peek.kind == Kind::If || peek.kind == Kind::With {
            // "else if" / "else with": the keyword is consumed by the enclosing control.
            self.next_non_space();
            self.backup();
            return Ok(Item::Else { pos: peek.pos });
        }
        self.expect(Kind::RightDelim, "else")?;
        Ok(Item::Else { pos })
    }

    fn control(&mut self, context: &str) -> PResult<Branch> {
        let mark = self.vars.len();
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        match next {
            Item::End => {}
            Item::Else { pos } => {
                let chained = (context == "if" && self.peek().kind == Kind::If)
                    || (context == "with" && self.peek().kind == Kind::With);
                if chained {
                    self.next();
                    let b = self.control(context)?;
                    let node = if context == "if" {
                        Node::If(b)
                    } else {
                        Node::With(b)
                    };
                    let _ = pos;
                    else_list = Some(vec![node]);
                } else {
                    let (l, next2) = self.item_list()?;
                    match next2 {
                        Item::End => {}
                        _ => return Err(self.error("expected end; found {{else}}")),
                    }
                    else_list = Some(l);
                }
            }
            _ => {}
        }
        self.vars.truncate(mark);
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, tok: &Token, context: &str) -> PResult<String> {
        match tok.kind {
            Kind::String | Kind::RawString => {
                unquote(&tok.val).ok_or_else(|| self.error("invalid syntax"))
            }
            _ => Err(self.unexpected(tok, context)),
        }
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let tok = self.next_non_space();
        let name = self.template_name(&tok, CONTEXT)?;
        let pipe = if self.next_non_space().kind != Kind::RightDelim {
            self.backup();
            Some(self.pipeline(CONTEXT, Kind::RightDelim)?)
        } else {
            None
        };
        Ok(Node::Template {
            pos: tok.pos,
            name,
            pipe,
        })
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let tok = self.next_non_space();
        let name = self.template_name(&tok, CONTEXT)?;
        let pipe = if self.next_non_space().kind != Kind::RightDelim {
            self.backup();
            Some(self.pipeline(CONTEXT, Kind::RightDelim)?)
        } else {
            None
        };
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (root, end) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        if !matches!(end, Item::End) {
            return Err(self.error(&format!("unexpected {{{{else}}}} in {CONTEXT}")));
        }
        self.add_tree(Tree {
            name: name.clone(),
            parse_name: self.parse_name.clone(),
            text: self.text.clone(),
            root,
        })?;
        Ok(Node::Template {
            pos: tok.pos,
            name,
            pipe,
        })
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> PResult<Pipe> {
        crate::exec::grow(|| self.pipeline_inner(context, end))
    }

    fn pipeline_inner(&mut self, context: &str, end: Kind) -> PResult<Pipe> {
        self.enter()?;
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations: "$x :=", "$x =", "$i, $v :=".
        loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                break;
            }
            let save = self.i;
            self.next_non_space();
            let next = self.peek_non_space();
            match next.kind {
                Kind::Assign | Kind::Declare => {
                    pipe.is_assign = next.kind == Kind::Assign;
                    self.next_non_space();
                    pipe.decl.push(Var {
                        name: v.val.clone(),
                    });
                    self.vars.push(v.val);
                    break;
                }
                Kind::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(Var {
                        name: v.val.clone(),
                    });
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        let k = self.peek_non_space().kind;
                        if matches!(k, Kind::Variable | Kind::RightDelim | Kind::RightParen) {
                            continue;
                        }
                        return Err(self.error("range can only initialize variables"));
                    }
                    return Err(self.error(&format!("too many declarations in {context}")));
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        loop {
            let tok = self.next_non_space();
            if tok.kind == end {
                if pipe.cmds.is_empty() {
                    return Err(self.error(&format!("missing value for {context}")));
                }
                for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                    if matches!(
                        c.args.first(),
                        Some(
                            Arg::Bool { .. }
                                | Arg::Dot { .. }
                                | Arg::Nil { .. }
                                | Arg::Number { .. }
                                | Arg::String { .. }
                        )
                    ) {
                        return Err(self.error(&format!(
                            "non executable command in pipeline stage {}",
                            i + 1
                        )));
                    }
                }
                self.leave();
                return Ok(pipe);
            }
            if is_operand_start(tok.kind) {
                self.backup();
                let cmd = self.command()?;
                pipe.cmds.push(cmd);
            } else {
                return Err(self.unexpected(&tok, context));
            }
        }
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                args.push(op);
            }
            let tok = self.next();
            match tok.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return Err(self.unexpected(&tok, "operand")),
            }
            break;
        }
        if args.is_empty() {
            return Err(self.error("empty command"));
        }
        Ok(Command { pos, args })
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            let t = self.next();
            fields.push(t.val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                idents.extend(fields);
                Arg::Field { pos, idents }
            }
            Arg::Variable { mut idents, .. } => {
                idents.extend(fields);
                Arg::Variable { pos, idents }
            }
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number { .. }
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return Err(self.error(&format!(
                    "unexpected . after term {}",
                    crate::gofmt::quote(&node.to_string())
                )));
            }
            other => Arg::Chain {
                pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let tok = self.next_non_space();
        let pos = tok.pos;
        Ok(Some(match tok.kind {
            Kind::Identifier => {
                if let Some(has) = self.cfg.has_func
                    && !has(&tok.val)
                    && !crate::builtin::is_builtin(&tok.val)
                {
                    return Err(self.error(&format!(
                        "function {} not defined",
                        crate::gofmt::quote(&tok.val)
                    )));
                }
                Arg::Identifier { pos, name: tok.val }
            }
            Kind::Dot => Arg::Dot { pos },
            Kind::Nil => Arg::Nil { pos },
            Kind::Variable => {
                if !self.vars.contains(&tok.val) {
                    return Err(self.error(&format!(
                        "undefined variable {}",
                        crate::gofmt::quote(&tok.val)
                    )));
                }
                Arg::Variable {
                    pos,
                    idents: vec![tok.val],
                }
            }
            Kind::Field => Arg::Field {
                pos,
                idents: vec![tok.val[1..].to_string()],
            },
            Kind::Bool => Arg::Bool {
                pos,
                value: tok.val == "true",
            },
            Kind::CharConstant | Kind::Number => {
                let num = parse_number(&tok.val, tok.kind == Kind::CharConstant)
                    .map_err(|m| self.error(&m))?;
                Arg::Number { pos, num }
            }
            Kind::LeftParen => {
                let p = self.pipeline("parenthesized pipeline", Kind::RightParen)?;
                Arg::Pipe(Box::new(p))
            }
            Kind::String | Kind::RawString => {
                let value = unquote(&tok.val).ok_or_else(|| self.error("invalid syntax"))?;
                Arg::String {
                    pos,
                    quoted: tok.val,
                    value: crate::value::Value::from(value),
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}
