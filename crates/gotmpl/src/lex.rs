//! The lexer: template text → tokens, following the lexical rules of Go's
//! `text/template` (delimiters, `{{-`/`-}}` trim markers, comments, numbers,
//! quoted, raw and character literals, fields, variables and keywords).

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    LeftDelim,
    RightDelim,
    Space,
    Eof,
    Error,
    Bool,
    Char,
    CharConstant,
    Number,
    String,
    RawString,
    Field,
    Variable,
    Identifier,
    Dot,
    Nil,
    Pipe,
    LeftParen,
    RightParen,
    Assign,
    Declare,
    Comment,
    // keywords
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

impl Kind {
    pub(crate) fn is_keyword(self) -> bool {
        matches!(
            self,
            Kind::Block
                | Kind::Break
                | Kind::Continue
                | Kind::Define
                | Kind::Else
                | Kind::End
                | Kind::If
                | Kind::Range
                | Kind::Template
                | Kind::With
                | Kind::Dot
                | Kind::Nil
        )
    }
}

/// One token: kind, byte offset, line and text (for errors, the message).
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub kind: Kind,
    pub pos: usize,
    pub line: usize,
    pub val: String,
}

impl Token {
    /// How Go prints a token in "unexpected ..." errors.
    pub(crate) fn describe(&self) -> String {
        match self.kind {
            Kind::Eof => "EOF".into(),
            Kind::Error => self.val.clone(),
            k if k.is_keyword() => format!("<{}>", self.val),
            _ => {
                let chars: Vec<char> = self.val.chars().collect();
                if chars.len() > 10 {
                    let head: String = chars[..10].iter().collect();
                    format!("{}...", crate::gofmt::quote(&head))
                } else {
                    crate::gofmt::quote(&self.val)
                }
            }
        }
    }
}

pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'a> {
    input: &'a str,
    left: &'a str,
    right: &'a str,
    pos: usize,
    start: usize,
    tokens: Vec<Token>,
    line_starts: Vec<usize>,
    paren_depth: usize,
    break_ok: bool,
    continue_ok: bool,
}

/// Splits `input` into tokens. The last token is `Eof` or `Error`.
pub(crate) fn lex(
    input: &str,
    left: &str,
    right: &str,
    break_ok: bool,
    continue_ok: bool,
) -> Vec<Token> {
    let mut line_starts = vec![0];
    for (i, b) in input.bytes().enumerate() {
        if b == b'\n' {
            line_starts.push(i + 1);
        }
    }
    let mut l = Lexer {
        input,
        left,
        right,
        pos: 0,
        start: 0,
        tokens: Vec::new(),
        line_starts,
        paren_depth: 0,
        break_ok,
        continue_ok,
    };
    l.run();
    l.tokens
}

impl<'a> Lexer<'a> {
    fn line_at(&self, pos: usize) -> usize {
        match self.line_starts.binary_search(&pos) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    fn emit_val(&mut self, kind: Kind, pos: usize, val: String) {
        let line = self.line_at(pos);
        self.tokens.push(Token {
            kind,
            pos,
            line,
            val,
        });
    }

    fn emit(&mut self, kind: Kind) {
        let val = self.input[self.start..self.pos].to_string();
        self.emit_val(kind, self.start, val);
        self.start = self.pos;
    }

    /// Emits an error token; lexing stops.
    fn error(&mut self, msg: String) -> bool {
        self.emit_val(Kind::Error, self.start, msg);
        false
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn run(&mut self) {
        loop {
            // Text up to the next left delimiter.
            match self.rest().find(self.left) {
                Some(off) => {
                    let delim_at = self.pos + off;
                    let after = &self.input[delim_at + self.left.len()..];
                    let trim = has_left_trim(after);
                    let mut text_end = delim_at;
                    if trim {
                        text_end = self.input[self.pos..delim_at]
                            .trim_end_matches(is_space)
                            .len()
                            + self.pos;
                    }
                    if text_end > self.pos {
                        self.pos = text_end;
                        self.emit(Kind::Text);
                    }
                    self.pos = delim_at;
                    self.start = delim_at;
                    self.pos += self.left.len();
                    let after_marker = if trim { 2 } else { 0 };
                    if self.input[self.pos + after_marker..].starts_with("/*") {
                        self.pos += after_marker;
                        self.start = self.pos;
                        if !self.lex_comment() {
                            return;
                        }
                        continue;
                    }
                    self.emit(Kind::LeftDelim);
                    self.pos += after_marker;
                    self.start = self.pos;
                    self.paren_depth = 0;
                    if !self.lex_inside_action() {
                        return;
                    }
                }
                None => {
                    self.pos = self.input.len();
                    if self.pos > self.start {
                        self.emit(Kind::Text);
                    }
                    self.emit(Kind::Eof);
                    return;
                }
            }
        }
    }

    /// At the right delimiter (optionally preceded by a trim marker)?
    /// Returns (is delimiter, trim).
    fn at_right_delim(&self) -> (bool, bool) {
        let r = self.rest();
        let mut it = r.chars();
        if let (Some(c0), Some('-')) = (it.next(), it.next())
            && is_space(c0)
            && r[c0.len_utf8() + 1..].starts_with(self.right)
        {
            return (true, true);
        }
        (r.starts_with(self.right), false)
    }

    fn finish_right_delim(&mut self, trim: bool) {
        if trim {
            // skip the space and '-'
            let c0 = self.peek().map_or(1, char::len_utf8);
            self.pos += c0 + 1;
            self.start = self.pos;
        }
        self.pos += self.right.len();
        self.emit(Kind::RightDelim);
        if trim {
            let skipped = self.rest().len() - self.rest().trim_start_matches(is_space).len();
            self.pos += skipped;
            self.start = self.pos;
        }
    }

    fn lex_comment(&mut self) -> bool {
        let Some(end) = self.rest().find("*/") else {
            return self.error("unclosed comment".into());
        };
        self.pos += end + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.error("comment ends before closing delimiter".into());
        }
        self.emit(Kind::Comment);
        if trim {
            let c0 = self.peek().map_or(1, char::len_utf8);
            self.pos += c0 + 1;
        }
        self.pos += self.right.len();
        self.start = self.pos;
        if trim {
            let skipped = self.rest().len() - self.rest().trim_start_matches(is_space).len();
            self.pos += skipped;
            self.start = self.pos;
        }
        true
    }

    /// Lexes one action up to and including its right delimiter.
    fn lex_inside_action(&mut self) -> bool {
        loop {
            let (delim, trim) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    self.finish_right_delim(trim);
                    return true;
                }
                return self.error("unclosed left paren".into());
            }
            let Some(c) = self.next() else {
                return self.error("unclosed action".into());
            };
            let ok = match c {
                c if is_space(c) => {
                    // A run of spaces, stopping before a trim-marked right delimiter.
                    loop {
                        let (d, _) = self.at_right_delim();
                        if d {
                            break;
                        }
                        match self.peek() {
                            Some(c) if is_space(c) => {
                                self.next();
                            }
                            _ => break,
                        }
                    }
                    self.emit(Kind::Space);
                    true
                }
                '=' => {
                    self.emit(Kind::Assign);
                    true
                }
                ':' => {
                    if self.next() != Some('=') {
                        return self.error("expected :=".into());
                    }
                    self.emit(Kind::Declare);
                    true
                }
                '|' => {
                    self.emit(Kind::Pipe);
                    true
                }
                '"' => self.lex_quote(),
                '`' => self.lex_raw_quote(),
                '$' => self.lex_field_or_variable(Kind::Variable),
                '\'' => self.lex_char(),
                '.' => {
                    if matches!(self.peek(), Some(d) if d.is_ascii_digit()) {
                        self.pos -= 1;
                        self.lex_number()
                    } else {
                        self.lex_field_or_variable(Kind::Field)
                    }
                }
                '+' | '-' | '0'..='9' => {
                    self.pos -= 1;
                    self.lex_number()
                }
                c if is_alnum(c) => {
                    self.pos -= c.len_utf8();
                    self.lex_identifier()
                }
                '(' => {
                    self.paren_depth += 1;
                    self.emit(Kind::LeftParen);
                    true
                }
                ')' => {
                    if self.paren_depth == 0 {
                        return self.error("unexpected right paren".into());
                    }
                    self.paren_depth -= 1;
                    self.emit(Kind::RightParen);
                    true
                }
                c if c.is_ascii() && !c.is_ascii_control() => {
                    self.emit(Kind::Char);
                    true
                }
                c => self.error(format!("unrecognized character in action: {}", sharp_u(c))),
            };
            if !ok {
                return false;
            }
        }
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(self.right),
        }
    }

    fn lex_field_or_variable(&mut self, kind: Kind) -> bool {
        if self.at_terminator() {
            if kind == Kind::Variable {
                self.emit(Kind::Variable);
            } else {
                self.emit(Kind::Dot);
            }
            return true;
        }
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.next();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            self.next();
            return self.error(format!("bad character {}", sharp_u(c)));
        }
        self.emit(kind);
        true
    }

    fn lex_identifier(&mut self) -> bool {
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.next();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            self.next();
            return self.error(format!("bad character {}", sharp_u(c)));
        }
        let word = &self.input[self.start..self.pos];
        let kind = match word {
            "block" => Kind::Block,
            "break" if self.break_ok => Kind::Break,
            "continue" if self.continue_ok => Kind::Continue,
            "define" => Kind::Define,
            "else" => Kind::Else,
            "end" => Kind::End,
            "if" => Kind::If,
            "range" => Kind::Range,
            "nil" => Kind::Nil,
            "template" => Kind::Template,
            "with" => Kind::With,
            "true" | "false" => Kind::Bool,
            _ => Kind::Identifier,
        };
        self.emit(kind);
        true
    }

    fn lex_quote(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(c) if c != '\n' => {}
                    _ => return self.error("unterminated quoted string".into()),
                },
                None | Some('\n') => return self.error("unterminated quoted string".into()),
                Some('"') => break,
                Some(_) => {}
            }
        }
        self.emit(Kind::String);
        true
    }

    fn lex_raw_quote(&mut self) -> bool {
        match self.rest().find('`') {
            Some(off) => {
                self.pos += off + 1;
                self.emit(Kind::RawString);
                true
            }
            None => self.error("unterminated raw quoted string".into()),
        }
    }

    fn lex_char(&mut self) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(c) if c != '\n' => {}
                    _ => return self.error("unterminated character constant".into()),
                },
                None | Some('\n') => return self.error("unterminated character constant".into()),
                Some('\'') => break,
                Some(_) => {}
            }
        }
        self.emit(Kind::CharConstant);
        true
    }

    fn accept(&mut self, set: &str) -> bool {
        match self.peek() {
            Some(c) if set.contains(c) => {
                self.next();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, set: &str) {
        while self.accept(set) {}
    }

    fn lex_number(&mut self) -> bool {
        if !self.scan_number() {
            return self.error(format!(
                "bad number syntax: {}",
                crate::gofmt::quote(&self.input[self.start..self.pos])
            ));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            // Complex constant like 1+2i.
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                return self.error(format!(
                    "bad number syntax: {}",
                    crate::gofmt::quote(&self.input[self.start..self.pos])
                ));
            }
        }
        self.emit(Kind::Number);
        true
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if matches!(self.peek(), Some(c) if is_alnum(c)) {
            self.next();
            return false;
        }
        true
    }
}

fn has_left_trim(s: &str) -> bool {
    let mut it = s.chars();
    matches!((it.next(), it.next()), (Some('-'), Some(c)) if is_space(c))
}

/// Go's `%#U` formatting of a character: `U+0023 '#'`.
pub(crate) fn sharp_u(c: char) -> String {
    if crate::gofmt::is_print(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Kind> {
        lex(s, "{{", "}}", true, true)
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn trims_and_comments() {
        let toks = lex("a  {{- .x -}}  b{{/* c */}}", "{{", "}}", true, true);
        let texts: Vec<&str> = toks
            .iter()
            .filter(|t| t.kind == Kind::Text)
            .map(|t| t.val.as_str())
            .collect();
        assert_eq!(texts, ["a", "b"]);
        assert!(toks.iter().any(|t| t.kind == Kind::Comment));
    }

    #[test]
    fn action_tokens() {
        use Kind::*;
        assert_eq!(
            kinds("{{$x := .a.b | printf \"%d\" 1}}"),
            [
                LeftDelim, Variable, Space, Declare, Space, Field, Field, Space, Pipe, Space,
                Identifier, Space, String, Space, Number, RightDelim, Eof
            ]
        );
    }

    #[test]
    fn errors() {
        let last = |s: &str| {
            lex(s, "{{", "}}", true, true)
                .pop()
                .map(|t| t.val)
                .unwrap_or_default()
        };
        assert_eq!(last("{{ \"abc }}"), "unterminated quoted string");
        assert_eq!(last("{{ .x"), "unclosed action");
        assert_eq!(last("{{ 3k }}"), "bad number syntax: \"3k\"");
        assert_eq!(last("{{ ) }}"), "unexpected right paren");
        assert_eq!(last("{{ ( }}"), "unclosed left paren");
        assert_eq!(last("{{/* x }}"), "unclosed comment");
        assert_eq!(
            last("{{/* x */ }}"),
            "comment ends before closing delimiter"
        );
        assert_eq!(last("{{ .x# }}"), "bad character U+0023 '#'");
    }
}
