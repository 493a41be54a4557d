//! Award conditions: the small expression language a badge program's rules are written in
//! (`score >= 80`, `course == "py-101" and score / max_score >= 0.8`).
//!
//! Owns the whole language: the grammar (a hand-written lexer and recursive-descent parser),
//! the static type check against the fields an event may carry (done while parsing, so a
//! [`Condition`] that exists is well typed), and evaluation against an event's JSON fields.
//!
//! Why it is safe to accept conditions from program authors:
//! - Nothing is executed. A condition is data: an AST of literals, field reads, arithmetic,
//!   comparisons, list membership and boolean connectives. There are no function calls, no
//!   loops, no assignment, no access to anything but the event's declared fields.
//! - Bounded time and memory. The source is at most 1000 bytes and 200 tokens, so the AST
//!   has fewer than 200 nodes, and evaluation visits each node at most once (list membership
//!   scans lists of literals that count against the same token budget). Parser recursion is
//!   bounded by 32 levels of parentheses, `not` and unary minus; evaluation recursion by the
//!   AST's size.
//! - Evaluation is total. A missing field, a JSON value of another type than declared, a
//!   division by zero or a non-finite result makes the affected part *unknown*, and an unknown
//!   condition is false: `evaluate` never panics and never errors. Unknown propagates like SQL's
//!   NULL (`not unknown` is unknown, `false and unknown` is false, `true or unknown` is true), so
//!   `not (score >= 80)` is not satisfied by an event that lacks `score`.

use serde_json::{Map, Value};

/// The longest accepted source, in bytes.
const MAX_SOURCE_BYTES: usize = 1000;
/// The deepest accepted nesting of parentheses, `not` and unary minus.
const MAX_DEPTH: usize = 32;
/// The most tokens a condition may have.
const MAX_TOKENS: usize = 200;

/// The type of an event field a condition may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Number,
    String,
    Bool,
}

impl FieldType {
    /// "a number", as in "expected a number".
    fn expected(self) -> &'static str {
        match self {
            FieldType::Number => "a number",
            FieldType::String => "a string",
            FieldType::Bool => "a condition (true or false)",
        }
    }

    /// "a number", as in "the field score (a number)".
    fn noun(self) -> &'static str {
        match self {
            FieldType::Number => "a number",
            FieldType::String => "a string",
            FieldType::Bool => "true or false",
        }
    }
}

/// A parsed, type-checked condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    source: String,
    expr: Expr,
}

/// Why a condition was refused: where (0-based character offset into the source) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at column {}: {message}", .position + 1)]
pub struct ConditionError {
    pub position: usize,
    pub message: String,
}

impl ConditionError {
    fn new(position: usize, message: impl Into<String>) -> Self {
        ConditionError { position, message: message.into() }
    }
}

type Result<T> = std::result::Result<T, ConditionError>;

impl Condition {
    /// Parses and type-checks `source` against the fields an event may carry. Unknown fields,
    /// syntax errors and type errors (e.g. `score >= "80"`, `course + 1`, `score and true`,
    /// a condition that is not boolean) are refused with the position of the offending token.
    pub fn parse(source: &str, fields: &[(&str, FieldType)]) -> Result<Condition> {
        if source.len() > MAX_SOURCE_BYTES {
            return Err(ConditionError::new(
                MAX_SOURCE_BYTES,
                format!("the condition is longer than {MAX_SOURCE_BYTES} bytes; split it into simpler rules"),
            ));
        }
        let tokens = lex(source)?;
        let mut parser = Parser { tokens, at: 0, depth: 0, fields };
        let top = parser.parse_or()?;
        let next = parser.peek();
        match next.kind {
            Kind::End => {}
            Kind::RParen => return Err(ConditionError::new(next.pos, "this \")\" has no matching \"(\"")),
            _ => {
                return Err(ConditionError::new(
                    next.pos,
                    format!(
                        "expected an operator, \"and\", \"or\" or the end of the condition, found {}",
                        next.describe()
                    ),
                ))
            }
        }
        if top.ty != FieldType::Bool {
            return Err(ConditionError::new(
                top.pos,
                format!("the whole condition must be true or false, but this is {}", top.desc),
            ));
        }
        Ok(Condition { source: source.to_owned(), expr: top.expr })
    }

    /// Evaluates against an event's fields. A field the event lacks, or whose JSON value has
    /// another type than declared, makes the condition false (never a panic, never an error);
    /// division by zero is false too.
    pub fn evaluate(&self, event: &Map<String, Value>) -> bool {
        eval_bool(&self.expr, event) == Some(true)
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The fields the condition reads (for reports: "score was 79"), each once, in the order
    /// they first appear.
    pub fn fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_fields(&self.expr, &mut out);
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Num(f64),
    Str(String),
    Ident(String),
    True,
    False,
    And,
    Or,
    Not,
    In,
    Plus,
    Minus,
    Star,
    Slash,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    /// 0-based character offset of the token's first character.
    pos: usize,
    /// The token as written (for messages).
    text: String,
}

impl Token {
    fn describe(&self) -> String {
        match &self.kind {
            Kind::Num(_) => format!("the number {}", self.text),
            Kind::Str(_) => format!("the string {}", self.text),
            Kind::Ident(name) => format!("the name {name}"),
            Kind::End => "the end of the condition".to_owned(),
            _ => format!("\"{}\"", self.text),
        }
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn lex(source: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if tokens.len() == MAX_TOKENS {
            return Err(ConditionError::new(
                i,
                format!("the condition has more than {MAX_TOKENS} tokens; split it into simpler rules"),
            ));
        }
        let start = i;
        let next = chars.get(i + 1).copied();
        let (kind, len) = match c {
            '(' => (Kind::LParen, 1),
            ')' => (Kind::RParen, 1),
            '[' => (Kind::LBracket, 1),
            ']' => (Kind::RBracket, 1),
            ',' => (Kind::Comma, 1),
            '+' => (Kind::Plus, 1),
            '-' => (Kind::Minus, 1),
            '*' => (Kind::Star, 1),
            '/' => (Kind::Slash, 1),
            '=' if next == Some('=') => (Kind::Eq, 2),
            '=' => return Err(ConditionError::new(start, "\"=\" is not an operator; did you mean \"==\"?")),
            '!' if next == Some('=') => (Kind::Ne, 2),
            '!' => {
                return Err(ConditionError::new(
                    start,
                    "\"!\" is not an operator; did you mean \"!=\" or \"not\"?",
                ))
            }
            '<' if next == Some('=') => (Kind::Le, 2),
            '<' => (Kind::Lt, 1),
            '>' if next == Some('=') => (Kind::Ge, 2),
            '>' => (Kind::Gt, 1),
            '&' => {
                return Err(ConditionError::new(
                    start,
                    format!("\"{}\" is not an operator; did you mean \"and\"?", run(&chars, start, '&')),
                ))
            }
            '|' => {
                return Err(ConditionError::new(
                    start,
                    format!("\"{}\" is not an operator; did you mean \"or\"?", run(&chars, start, '|')),
                ))
            }
            '"' | '\'' => lex_string(&chars, start)?,
            c if c.is_ascii_digit() => lex_number(&chars, start)?,
            c if is_ident_start(c) => lex_ident(&chars, start)?,
            '.' if next.is_some_and(|n| n.is_ascii_digit()) => {
                return Err(ConditionError::new(start, "a number must start with a digit; write 0.5, not .5"))
            }
            other => {
                return Err(ConditionError::new(start, format!("unexpected character {}", quote_char(other))))
            }
        };
        let text: String = chars[start..start + len].iter().collect();
        tokens.push(Token { kind, pos: start, text });
        i = start + len;
    }
    tokens.push(Token { kind: Kind::End, pos: chars.len(), text: String::new() });
    Ok(tokens)
}

/// The run of `c` starting at `start` (for "&&" and "||").
fn run(chars: &[char], start: usize, c: char) -> String {
    chars[start..].iter().take_while(|&&x| x == c).collect()
}

fn quote_char(c: char) -> String {
    if c.is_control() || c == char::REPLACEMENT_CHARACTER {
        format!("U+{:04X}", c as u32)
    } else {
        format!("\"{c}\"")
    }
}

fn lex_string(chars: &[char], start: usize) -> Result<(Kind, usize)> {
    let quote = chars[start];
    let mut value = String::new();
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => {
                return Err(ConditionError::new(
                    start,
                    format!("this string is never closed; add a {quote} at its end"),
                ))
            }
            Some(&c) if c == quote => return Ok((Kind::Str(value), i + 1 - start)),
            Some('\\') => match chars.get(i + 1) {
                Some(&e) if e == '"' || e == '\'' || e == '\\' => {
                    value.push(e);
                    i += 2;
                }
                Some(&e) => {
                    return Err(ConditionError::new(
                        i,
                        format!("unknown escape \"\\{e}\" in a string; only \\\", \\' and \\\\ are allowed"),
                    ))
                }
                None => {
                    return Err(ConditionError::new(
                        start,
                        format!("this string is never closed; add a {quote} at its end"),
                    ))
                }
            },
            Some(&c) => {
                value.push(c);
                i += 1;
            }
        }
    }
}

fn lex_number(chars: &[char], start: usize) -> Result<(Kind, usize)> {
    let digits = |mut i: usize| {
        while chars.get(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
        i
    };
    let mut i = digits(start);
    if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
        i = digits(i + 1);
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('+' | '-')) {
            j += 1;
        }
        if chars.get(j).is_some_and(|c| c.is_ascii_digit()) {
            i = digits(j);
        }
    }
    if chars.get(i).is_some_and(|&c| is_ident_char(c) || c == '.') {
        let mut end = i;
        while chars.get(end).is_some_and(|&c| is_ident_char(c) || c == '.') {
            end += 1;
        }
        let text: String = chars[start..end].iter().collect();
        return Err(ConditionError::new(
            start,
            format!("\"{text}\" is not a number; write numbers in decimal, like 80, 0.8 or 1e3"),
        ));
    }
    let text: String = chars[start..i].iter().collect();
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok((Kind::Num(v), i - start)),
        _ => Err(ConditionError::new(start, format!("the number {text} is too large"))),
    }
}

fn lex_ident(chars: &[char], start: usize) -> Result<(Kind, usize)> {
    let mut i = start;
    loop {
        while chars.get(i).is_some_and(|&c| is_ident_char(c)) {
            i += 1;
        }
        if chars.get(i) != Some(&'.') {
            break;
        }
        if !chars.get(i + 1).is_some_and(|&c| is_ident_start(c)) {
            return Err(ConditionError::new(i, "expected a field name after \".\" (like learner.email)"));
        }
        i += 1;
    }
    let text: String = chars[start..i].iter().collect();
    let kind = match text.as_str() {
        "true" => Kind::True,
        "false" => Kind::False,
        "and" => Kind::And,
        "or" => Kind::Or,
        "not" => Kind::Not,
        "in" => Kind::In,
        _ => Kind::Ident(text),
    };
    Ok((kind, i - start))
}

// ---------------------------------------------------------------------------------------------
// AST and parser (with the type check)

/// Builds a binary expression from its two operands.
type BinaryExpr = fn(Box<Expr>, Box<Expr>) -> Expr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum List {
    Numbers(Vec<f64>),
    Strings(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Num(f64),
    Str(String),
    Bool(bool),
    Field(String, FieldType),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Arith(Arith, Box<Expr>, Box<Expr>),
    Cmp(Cmp, Box<Expr>, Box<Expr>),
    In { value: Box<Expr>, list: List, negated: bool },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// An expression with its static type, where it starts and how to name it in a message.
struct Typed {
    expr: Expr,
    ty: FieldType,
    pos: usize,
    desc: String,
}

fn compound(expr: Expr, ty: FieldType, pos: usize) -> Typed {
    let desc = match ty {
        FieldType::Number => "a number expression",
        FieldType::String => "a string expression",
        FieldType::Bool => "a condition",
    };
    Typed { expr, ty, pos, desc: desc.to_owned() }
}

struct Parser<'f> {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    fields: &'f [(&'f str, FieldType)],
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn peek_kind_at(&self, offset: usize) -> &Kind {
        &self.tokens[(self.at + offset).min(self.tokens.len() - 1)].kind
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        token
    }

    fn enter(&mut self, pos: usize) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ConditionError::new(
                pos,
                format!("the condition is nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn parse_or(&mut self) -> Result<Typed> {
        self.parse_left_assoc(Self::parse_and, FieldType::Bool, &[(Kind::Or, |l, r| Expr::Or(l, r))])
    }

    fn parse_and(&mut self) -> Result<Typed> {
        self.parse_left_assoc(Self::parse_not, FieldType::Bool, &[(Kind::And, |l, r| Expr::And(l, r))])
    }

    fn parse_not(&mut self) -> Result<Typed> {
        if self.peek().kind == Kind::Not && *self.peek_kind_at(1) != Kind::In {
            let op = self.bump();
            self.enter(op.pos)?;
            let inner = self.parse_not()?;
            need(&inner, FieldType::Bool, "after", &op)?;
            self.leave();
            return Ok(compound(Expr::Not(Box::new(inner.expr)), FieldType::Bool, op.pos));
        }
        self.parse_cmp()
    }

    fn parse_cmp(&mut self) -> Result<Typed> {
        let left = self.parse_sum()?;
        let op = self.peek().clone();
        let result = match op.kind {
            Kind::Eq | Kind::Ne | Kind::Lt | Kind::Le | Kind::Gt | Kind::Ge => {
                self.bump();
                let cmp = match op.kind {
                    Kind::Eq => Cmp::Eq,
                    Kind::Ne => Cmp::Ne,
                    Kind::Lt => Cmp::Lt,
                    Kind::Le => Cmp::Le,
                    Kind::Gt => Cmp::Gt,
                    _ => Cmp::Ge,
                };
                if !matches!(cmp, Cmp::Eq | Cmp::Ne) && left.ty == FieldType::Bool {
                    return Err(ConditionError::new(
                        left.pos,
                        format!(
                            "expected a number or a string before {}, found {}",
                            op.describe(),
                            left.desc
                        ),
                    ));
                }
                let right = self.parse_sum()?;
                need(&right, left.ty, "after", &op)?;
                let pos = left.pos;
                compound(Expr::Cmp(cmp, Box::new(left.expr), Box::new(right.expr)), FieldType::Bool, pos)
            }
            Kind::In | Kind::Not if *self.peek_kind_at(usize::from(op.kind == Kind::Not)) == Kind::In => {
                let negated = op.kind == Kind::Not;
                self.bump();
                if negated {
                    self.bump();
                }
                let op_name = if negated { "\"not in\"" } else { "\"in\"" };
                if left.ty == FieldType::Bool {
                    return Err(ConditionError::new(
                        left.pos,
                        format!("expected a number or a string before {op_name}, found {}", left.desc),
                    ));
                }
                let list = self.parse_list(left.ty, op_name)?;
                let pos = left.pos;
                compound(Expr::In { value: Box::new(left.expr), list, negated }, FieldType::Bool, pos)
            }
            _ => return Ok(left),
        };
        let next = self.peek();
        let chained =
            matches!(next.kind, Kind::Eq | Kind::Ne | Kind::Lt | Kind::Le | Kind::Gt | Kind::Ge | Kind::In)
                || (next.kind == Kind::Not && *self.peek_kind_at(1) == Kind::In);
        if chained {
            return Err(ConditionError::new(
                next.pos,
                format!(
                    "comparisons cannot be chained; join them with \"and\" (found {} after a comparison)",
                    next.describe()
                ),
            ));
        }
        Ok(result)
    }

    fn parse_list(&mut self, ty: FieldType, op_name: &str) -> Result<List> {
        let open = self.bump();
        if open.kind != Kind::LBracket {
            return Err(ConditionError::new(
                open.pos,
                format!("expected a list like [\"a\", \"b\"] after {op_name}, found {}", open.describe()),
            ));
        }
        let mut numbers = Vec::new();
        let mut strings = Vec::new();
        loop {
            let mut item = self.bump();
            let negative = item.kind == Kind::Minus;
            if negative {
                item = self.bump();
            }
            match (&item.kind, ty) {
                (Kind::Num(v), FieldType::Number) => numbers.push(if negative { -v } else { *v }),
                (Kind::Str(s), FieldType::String) if !negative => strings.push(s.clone()),
                (Kind::End, _) => return Err(ConditionError::new(open.pos, "this \"[\" is never closed")),
                (Kind::RBracket, _) if !negative && numbers.is_empty() && strings.is_empty() => {
                    return Err(ConditionError::new(item.pos, format!("the list after {op_name} is empty")))
                }
                _ => {
                    return Err(ConditionError::new(
                        item.pos,
                        format!(
                            "expected {} in the list (the left side of {op_name} is {}), found {}",
                            ty.expected(),
                            ty.noun(),
                            item.describe()
                        ),
                    ))
                }
            }
            let sep = self.bump();
            match sep.kind {
                Kind::Comma => {}
                Kind::RBracket => break,
                Kind::End => return Err(ConditionError::new(open.pos, "this \"[\" is never closed")),
                _ => {
                    return Err(ConditionError::new(
                        sep.pos,
                        format!("expected \",\" or \"]\" in the list, found {}", sep.describe()),
                    ))
                }
            }
        }
        Ok(match ty {
            FieldType::Number => List::Numbers(numbers),
            _ => List::Strings(strings),
        })
    }

    fn parse_sum(&mut self) -> Result<Typed> {
        self.parse_left_assoc(
            Self::parse_product,
            FieldType::Number,
            &[
                (Kind::Plus, |l, r| Expr::Arith(Arith::Add, l, r)),
                (Kind::Minus, |l, r| Expr::Arith(Arith::Sub, l, r)),
            ],
        )
    }

    fn parse_product(&mut self) -> Result<Typed> {
        self.parse_left_assoc(
            Self::parse_unary,
            FieldType::Number,
            &[
                (Kind::Star, |l, r| Expr::Arith(Arith::Mul, l, r)),
                (Kind::Slash, |l, r| Expr::Arith(Arith::Div, l, r)),
            ],
        )
    }

    /// One left-associative level, `operand (op operand)*`, whose operands and result are all
    /// of type `ty` (booleans for and/or, numbers for arithmetic).
    fn parse_left_assoc(
        &mut self,
        operand: fn(&mut Self) -> Result<Typed>,
        ty: FieldType,
        ops: &[(Kind, BinaryExpr)],
    ) -> Result<Typed> {
        let mut left = operand(self)?;
        while let Some(&(_, make)) = ops.iter().find(|(kind, _)| self.peek().kind == *kind) {
            let op = self.bump();
            need(&left, ty, "before", &op)?;
            let right = operand(self)?;
            need(&right, ty, "after", &op)?;
            let pos = left.pos;
            left = compound(make(Box::new(left.expr), Box::new(right.expr)), ty, pos);
        }
        Ok(left)
    }

    fn parse_unary(&mut self) -> Result<Typed> {
        if self.peek().kind == Kind::Minus {
            let op = self.bump();
            self.enter(op.pos)?;
            let inner = self.parse_unary()?;
            need(&inner, FieldType::Number, "after", &op)?;
            self.leave();
            let desc = match inner.desc.strip_prefix("the number ") {
                Some(n) if !n.starts_with('-') => format!("the number -{n}"),
                _ => "a number expression".to_owned(),
            };
            return Ok(Typed {
                expr: Expr::Neg(Box::new(inner.expr)),
                ty: FieldType::Number,
                pos: op.pos,
                desc,
            });
        }
        self.parse_primary()
    }

    fn parse_primary(&mut self) -> Result<Typed> {
        let token = self.bump();
        let pos = token.pos;
        let (expr, ty, desc) = match &token.kind {
            Kind::Num(v) => (Expr::Num(*v), FieldType::Number, token.describe()),
            Kind::Str(s) => (Expr::Str(s.clone()), FieldType::String, token.describe()),
            Kind::True => (Expr::Bool(true), FieldType::Bool, "true".to_owned()),
            Kind::False => (Expr::Bool(false), FieldType::Bool, "false".to_owned()),
            Kind::Ident(name) => {
                let ty = self.lookup(name, pos)?;
                (Expr::Field(name.clone(), ty), ty, format!("the field {name} ({})", ty.noun()))
            }
            Kind::LParen => {
                self.enter(pos)?;
                let inner = self.parse_or()?;
                let close = self.bump();
                match close.kind {
                    Kind::RParen => {}
                    Kind::End => return Err(ConditionError::new(pos, "this \"(\" is never closed")),
                    _ => {
                        return Err(ConditionError::new(
                            close.pos,
                            format!(
                                "expected \")\" to close the \"(\" at column {}, found {}",
                                pos + 1,
                                close.describe()
                            ),
                        ))
                    }
                }
                self.leave();
                return Ok(Typed { pos, ..inner });
            }
            Kind::End => {
                return Err(ConditionError::new(pos, "unexpected end of the condition"));
            }
            _ => {
                return Err(ConditionError::new(
                    pos,
                    format!(
                        "expected a value (a number, a string, true, false, a field or \"(\"), found {}",
                        token.describe()
                    ),
                ))
            }
        };
        Ok(Typed { expr, ty, pos, desc })
    }

    fn lookup(&self, name: &str, pos: usize) -> Result<FieldType> {
        if let Some((_, ty)) = self.fields.iter().find(|(n, _)| *n == name) {
            return Ok(*ty);
        }
        const SHOWN: usize = 12;
        let known = if self.fields.is_empty() {
            "this program declares no fields".to_owned()
        } else {
            let mut names: Vec<&str> = self.fields.iter().take(SHOWN).map(|(n, _)| *n).collect();
            if self.fields.len() > SHOWN {
                names.push("...");
            }
            format!("known: {}", names.join(", "))
        };
        let lower = name.to_ascii_lowercase();
        let hint = if ["and", "or", "not", "in", "true", "false"].contains(&lower.as_str()) {
            format!("; keywords are lowercase: did you mean \"{lower}\"?")
        } else {
            String::new()
        };
        Err(ConditionError::new(pos, format!("unknown field \"{name}\" ({known}){hint}")))
    }
}

/// Refuses `operand` unless it has type `ty`; `side` is "before" or "after" `op`.
fn need(operand: &Typed, ty: FieldType, side: &str, op: &Token) -> Result<()> {
    if operand.ty == ty {
        return Ok(());
    }
    Err(ConditionError::new(
        operand.pos,
        format!("expected {} {side} {}, found {}", ty.expected(), op.describe(), operand.desc),
    ))
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/// A runtime value; strings borrow from the condition or the event.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Val<'a> {
    Num(f64),
    Str(&'a str),
    Bool(bool),
}

/// A field's value: the literal key first (`"learner.email": ...`), then a walk through nested
/// objects (`"learner": {"email": ...}`).
fn lookup_field<'a>(event: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = event.get(name) {
        return Some(v);
    }
    if !name.contains('.') {
        return None;
    }
    let mut segments = name.split('.');
    let mut current = event.get(segments.next()?)?;
    for segment in segments {
        current = current.as_object()?.get(segment)?;
    }
    Some(current)
}

/// `None` is "unknown": a missing or mistyped field, a division by zero, a non-finite result.
fn eval<'a>(expr: &'a Expr, event: &'a Map<String, Value>) -> Option<Val<'a>> {
    match expr {
        Expr::Num(v) => Some(Val::Num(*v)),
        Expr::Str(s) => Some(Val::Str(s)),
        Expr::Bool(b) => Some(Val::Bool(*b)),
        Expr::Field(name, ty) => {
            let value = lookup_field(event, name)?;
            match ty {
                FieldType::Number => value.as_f64().filter(|v| v.is_finite()).map(Val::Num),
                FieldType::String => value.as_str().map(Val::Str),
                FieldType::Bool => value.as_bool().map(Val::Bool),
            }
        }
        Expr::Neg(inner) => Some(Val::Num(-eval_num(inner, event)?)),
        Expr::Arith(op, l, r) => {
            let a = eval_num(l, event)?;
            let b = eval_num(r, event)?;
            let v = match op {
                Arith::Add => a + b,
                Arith::Sub => a - b,
                Arith::Mul => a * b,
                Arith::Div if b == 0.0 => return None,
                Arith::Div => a / b,
            };
            v.is_finite().then_some(Val::Num(v))
        }
        Expr::Cmp(op, l, r) => {
            let a = eval(l, event)?;
            let b = eval(r, event)?;
            let ordering = match (a, b) {
                (Val::Num(x), Val::Num(y)) => x.partial_cmp(&y)?,
                (Val::Str(x), Val::Str(y)) => x.cmp(y),
                (Val::Bool(x), Val::Bool(y)) => x.cmp(&y),
                _ => return None,
            };
            use std::cmp::Ordering::*;
            let result = match op {
                Cmp::Eq => ordering == Equal,
                Cmp::Ne => ordering != Equal,
                Cmp::Lt => ordering == Less,
                Cmp::Le => ordering != Greater,
                Cmp::Gt => ordering == Greater,
                Cmp::Ge => ordering != Less,
            };
            Some(Val::Bool(result))
        }
        Expr::In { value, list, negated } => {
            let found = match (eval(value, event)?, list) {
                (Val::Num(x), List::Numbers(items)) => items.contains(&x),
                (Val::Str(x), List::Strings(items)) => items.iter().any(|s| s == x),
                _ => return None,
            };
            Some(Val::Bool(found != *negated))
        }
        Expr::Not(inner) => Some(Val::Bool(!eval_bool(inner, event)?)),
        Expr::And(l, r) => {
            let a = eval_bool(l, event);
            if a == Some(false) {
                return Some(Val::Bool(false));
            }
            match (a, eval_bool(r, event)) {
                (_, Some(false)) => Some(Val::Bool(false)),
                (Some(true), Some(true)) => Some(Val::Bool(true)),
                _ => None,
            }
        }
        Expr::Or(l, r) => {
            let a = eval_bool(l, event);
            if a == Some(true) {
                return Some(Val::Bool(true));
            }
            match (a, eval_bool(r, event)) {
                (_, Some(true)) => Some(Val::Bool(true)),
                (Some(false), Some(false)) => Some(Val::Bool(false)),
                _ => None,
            }
        }
    }
}

fn eval_num(expr: &Expr, event: &Map<String, Value>) -> Option<f64> {
    match eval(expr, event)? {
        Val::Num(v) => Some(v),
        _ => None,
    }
}

fn eval_bool(expr: &Expr, event: &Map<String, Value>) -> Option<bool> {
    match eval(expr, event)? {
        Val::Bool(b) => Some(b),
        _ => None,
    }
}

fn collect_fields(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::Num(_) | Expr::Str(_) | Expr::Bool(_) => {}
        Expr::Field(name, _) => {
            if !out.iter().any(|n| n == name) {
                out.push(name.clone());
            }
        }
        Expr::Neg(inner) | Expr::Not(inner) => collect_fields(inner, out),
        Expr::In { value, .. } => collect_fields(value, out),
        Expr::Arith(_, l, r) | Expr::Cmp(_, l, r) | Expr::And(l, r) | Expr::Or(l, r) => {
            collect_fields(l, out);
            collect_fields(r, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: &[(&str, FieldType)] = &[
        ("score", FieldType::Number),
        ("max_score", FieldType::Number),
        ("course", FieldType::String),
        ("assessment", FieldType::String),
        ("type", FieldType::String),
        ("attempt", FieldType::Number),
        ("learner.email", FieldType::String),
        ("passed", FieldType::Bool),
    ];

    fn event(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    fn sample() -> Map<String, Value> {
        event(json!({
            "score": 85,
            "max_score": 100,
            "course": "py-101",
            "assessment": "final",
            "type": "exam",
            "attempt": 2,
            "learner": {"email": "ada@example.org"},
            "passed": true
        }))
    }

    fn check(source: &str, e: &Map<String, Value>) -> bool {
        Condition::parse(source, FIELDS).unwrap_or_else(|err| panic!("{source}: {err}")).evaluate(e)
    }

    fn refused(source: &str) -> ConditionError {
        match Condition::parse(source, FIELDS) {
            Ok(c) => panic!("{source} was accepted: {c:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn the_two_examples() {
        let good = sample();
        let low = event(json!({"score": 79, "max_score": 100, "course": "py-101"}));
        let other = event(json!({"score": 95, "max_score": 100, "course": "js-101"}));
        assert!(check("score >= 80", &good));
        assert!(!check("score >= 80", &low));
        let rule = r#"course == "py-101" and score / max_score >= 0.8"#;
        assert!(check(rule, &good));
        assert!(!check(rule, &low));
        assert!(!check(rule, &other));
        let c = Condition::parse(rule, FIELDS).unwrap();
        assert_eq!(c.source(), rule);
        assert_eq!(c.fields(), vec!["course", "score", "max_score"]);
    }

    #[test]
    fn every_operator() {
        let e = sample();
        let cases: &[(&str, bool)] = &[
            ("score == 85", true),
            ("score == 85.0", true),
            ("score != 85", false),
            ("score < 85", false),
            ("score <= 85", true),
            ("score > 84.5", true),
            ("score >= 86", false),
            ("score + 15 == max_score", true),
            ("max_score - score == 15", true),
            ("attempt * 2 == 4", true),
            ("score / 5 == 17", true),
            ("-score == -85", true),
            ("- -score == 85", true),
            ("1e3 == 1000", true),
            ("0.1 + 0.2 == 0.3", false),
            ("passed", true),
            ("not passed", false),
            ("passed == true", true),
            ("passed != false", true),
            ("true and false", false),
            ("true and true", true),
            ("false or true", true),
            ("false or false", false),
            ("not not true", true),
            ("score > 80 and not (attempt > 3)", true),
            (r#"course == "py-101""#, true),
            ("course == 'py-101'", true),
            (r#"course != "py-101""#, false),
            (r#"learner.email == "ada@example.org""#, true),
            (r#"type in ["exam", "quiz"]"#, true),
            (r#"type not in ["exam", "quiz"]"#, false),
            ("attempt in [1, 2, 3]", true),
            ("attempt not in [1, 3]", true),
            ("score in [-85, 85.5]", false),
            ("-score in [-85]", true),
        ];
        for (source, expected) in cases {
            assert_eq!(check(source, &e), *expected, "{source}");
        }
    }

    #[test]
    fn precedence() {
        let e = sample();
        // `a or b and c` is `a or (b and c)`.
        assert!(check("true or false and false", &e));
        assert!(!check("(true or false) and false", &e));
        assert!(check("not false and true", &e));
        assert!(!check("not (true and true) or false", &e));
        assert!(check("2 + 3 * 4 == 14", &e));
        assert!(check("(2 + 3) * 4 == 20", &e));
        assert!(check("10 - 4 - 3 == 3", &e));
        assert!(check("24 / 4 / 2 == 3", &e));
        assert!(check("-2 * 3 == -6", &e));
        assert!(check("score - 5 * 2 > 74 and attempt == 2", &e));
    }

    #[test]
    fn string_comparison_and_escapes() {
        let e = sample();
        assert!(check(r#"course < "py-102""#, &e));
        assert!(check(r#"course > "js-999""#, &e));
        assert!(check(r#"course >= "py-101" and course <= "py-101""#, &e));
        assert!(check(r#""B" < "a""#, &e));
        assert!(check(r#""a\"b" == 'a"b'"#, &e));
        assert!(check(r#""a\\b" != "a\\\\b""#, &e));
        let quoted = event(json!({"course": "it's"}));
        assert!(check(r"course == 'it\'s'", &quoted));
        assert!(check(r#"course == "it's""#, &quoted));
    }

    #[test]
    fn missing_and_mistyped_fields_are_false() {
        let empty = Map::new();
        assert!(!check("score >= 80", &empty));
        assert!(!check("not (score >= 80)", &empty));
        assert!(!check("score < 80", &empty));
        assert!(!check(r#"course not in ["x"]"#, &empty));
        assert!(!check("passed", &empty));
        assert!(!check("not passed", &empty));
        // Unknown does not poison a decided `or`/`and`.
        assert!(check("passed or true", &empty));
        assert!(!check("passed and false", &empty));
        assert!(check("not (passed and false)", &empty));

        let wrong = event(json!({"score": "85", "course": 101, "passed": "yes", "learner": "x"}));
        assert!(!check("score >= 80", &wrong));
        assert!(!check("score != 1", &wrong));
        assert!(!check(r#"course != "py-101""#, &wrong));
        assert!(!check("passed", &wrong));
        assert!(!check(r#"learner.email != "x""#, &wrong));
        let null = event(json!({"score": null}));
        assert!(!check("score != 0", &null));
    }

    #[test]
    fn dotted_names() {
        let flat = event(json!({"learner.email": "a@b.c"}));
        let nested = event(json!({"learner": {"email": "a@b.c"}}));
        let rule = r#"learner.email == "a@b.c""#;
        assert!(check(rule, &flat));
        assert!(check(rule, &nested));
        let c = Condition::parse(rule, FIELDS).unwrap();
        assert_eq!(c.fields(), vec!["learner.email"]);
    }

    #[test]
    fn division_by_zero_is_false() {
        let e = event(json!({"score": 5, "max_score": 0}));
        assert!(!check("score / max_score >= 0", &e));
        assert!(!check("score / max_score < 0", &e));
        assert!(!check("not (score / max_score > 1)", &e));
        assert!(!check("0 / 0 != 1", &e));
        assert!(!check("1e308 * 10 > 0", &e));
    }

    fn assert_refused(source: &str, position: usize, message: &str) {
        let err = refused(source);
        assert_eq!((err.position, err.message.as_str()), (position, message), "{source}");
    }

    #[test]
    fn refusals_with_positions() {
        assert_refused(
            "scor >= 80",
            0,
            "unknown field \"scor\" (known: score, max_score, course, assessment, type, attempt, learner.email, passed)",
        );
        assert_refused(
            "score >= 80 AND passed",
            12,
            "expected an operator, \"and\", \"or\" or the end of the condition, found the name AND",
        );
        assert!(refused("AND").message.contains("did you mean \"and\"?"));
        assert_refused("score >= \"80\"", 9, "expected a number after \">=\", found the string \"80\"");
        assert_eq!(
            refused("score >= \"80\"").to_string(),
            "at column 10: expected a number after \">=\", found the string \"80\""
        );
        assert_refused("course + 1", 0, "expected a number before \"+\", found the field course (a string)");
        assert_refused(
            "score and true",
            0,
            "expected a condition (true or false) before \"and\", found the field score (a number)",
        );
        assert_refused(
            "passed or 1",
            10,
            "expected a condition (true or false) after \"or\", found the number 1",
        );
        assert_refused(
            "not score",
            4,
            "expected a condition (true or false) after \"not\", found the field score (a number)",
        );
        assert_refused(
            "score + 1",
            0,
            "the whole condition must be true or false, but this is a number expression",
        );
        assert_refused(
            "passed < true",
            0,
            "expected a number or a string before \"<\", found the field passed (true or false)",
        );
        assert_refused("course == -1", 10, "expected a string after \"==\", found the number -1");
        assert_refused(
            "passed in [1]",
            0,
            "expected a number or a string before \"in\", found the field passed (true or false)",
        );
        assert_refused(
            "type in [\"exam\", 2]",
            17,
            "expected a string in the list (the left side of \"in\" is a string), found the number 2",
        );
        assert_refused("type not in []", 13, "the list after \"not in\" is empty");
        assert_refused(
            "score in 1",
            9,
            "expected a list like [\"a\", \"b\"] after \"in\", found the number 1",
        );
        assert_refused("score in [1, 2", 9, "this \"[\" is never closed");
        // Unbalanced parentheses.
        assert_refused("(score >= 80", 0, "this \"(\" is never closed");
        assert_refused("score >= 80)", 11, "this \")\" has no matching \"(\"");
        assert_refused(
            "(score >= 80 80)",
            13,
            "expected \")\" to close the \"(\" at column 1, found the number 80",
        );
        // Trailing garbage.
        assert_refused(
            "score >= 80 80",
            12,
            "expected an operator, \"and\", \"or\" or the end of the condition, found the number 80",
        );
        assert_refused("score >= 80 and passed #", 23, "unexpected character \"#\"");
        // `=` and friends.
        assert_refused("score = 80", 6, "\"=\" is not an operator; did you mean \"==\"?");
        assert_eq!(
            refused("score = 80").to_string(),
            "at column 7: \"=\" is not an operator; did you mean \"==\"?"
        );
        assert_refused("passed && true", 7, "\"&&\" is not an operator; did you mean \"and\"?");
        assert_refused("passed || true", 7, "\"||\" is not an operator; did you mean \"or\"?");
        assert_refused("!passed", 0, "\"!\" is not an operator; did you mean \"!=\" or \"not\"?");
        // End of input.
        assert_refused("score >= 80 or", 14, "unexpected end of the condition");
        assert_eq!(refused("score >= 80 or").to_string(), "at column 15: unexpected end of the condition");
        assert_refused("", 0, "unexpected end of the condition");
        // Chained comparisons, bad numbers and strings.
        assert_refused(
            "1 < score < 100",
            10,
            "comparisons cannot be chained; join them with \"and\" (found \"<\" after a comparison)",
        );
        assert_refused(
            "score >= 0x50",
            9,
            "\"0x50\" is not a number; write numbers in decimal, like 80, 0.8 or 1e3",
        );
        assert_refused("score >= 1e999", 9, "the number 1e999 is too large");
        assert_refused("course == \"py-101", 10, "this string is never closed; add a \" at its end");
        assert_refused(
            "course == \"a\\nb\"",
            12,
            "unknown escape \"\\n\" in a string; only \\\", \\' and \\\\ are allowed",
        );
        assert_refused("learner. == 1", 7, "expected a field name after \".\" (like learner.email)");
        assert_refused("score >= ", 9, "unexpected end of the condition");
        assert_refused(
            "score >= >",
            9,
            "expected a value (a number, a string, true, false, a field or \"(\"), found \">\"",
        );
    }

    #[test]
    fn too_long() {
        let long = format!("score >= 80{}", " ".repeat(990));
        assert_eq!(long.len(), 1001);
        assert_refused(&long, 1000, "the condition is longer than 1000 bytes; split it into simpler rules");
        let exactly = format!("score >= 80{}", " ".repeat(989));
        assert!(Condition::parse(&exactly, FIELDS).is_ok());
    }

    #[test]
    fn too_deep() {
        let ok = format!("{}passed{}", "(".repeat(32), ")".repeat(32));
        assert!(check(&ok, &sample()));
        let deep = format!("{}passed{}", "(".repeat(33), ")".repeat(33));
        assert_refused(&deep, 32, "the condition is nested more than 32 levels deep");
        let nots = format!("{}passed", "not ".repeat(33));
        assert_refused(&nots, 128, "the condition is nested more than 32 levels deep");
        let negs = format!("{}score > 0", "-".repeat(33));
        assert_refused(&negs, 32, "the condition is nested more than 32 levels deep");
        // Mixed: 16 parentheses + 17 nots.
        let mixed = format!("{}{}passed{}", "(".repeat(16), "not ".repeat(17), ")".repeat(16));
        assert_refused(&mixed, 16 + 4 * 16, "the condition is nested more than 32 levels deep");
    }

    #[test]
    fn too_many_tokens() {
        // "score == 0" is 3 tokens and each "+1" two more: 3 + 2 * 98 = 199 tokens.
        let ok = format!("score == 0{}", "+1".repeat(98));
        assert!(!check(&ok, &sample()));
        let long = format!("score == 0{}", "+1".repeat(99));
        // The 201st token is the final "1".
        assert_refused(
            &long,
            long.len() - 1,
            "the condition has more than 200 tokens; split it into simpler rules",
        );
    }

    #[test]
    fn unknown_field_list_is_truncated() {
        let many: Vec<(String, FieldType)> = (0..20).map(|i| (format!("f{i}"), FieldType::Number)).collect();
        let fields: Vec<(&str, FieldType)> = many.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        let err = Condition::parse("x > 1", &fields).unwrap_err();
        assert_eq!(
            err.message,
            "unknown field \"x\" (known: f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, ...)"
        );
        let err = Condition::parse("x > 1", &[]).unwrap_err();
        assert_eq!(err.message, "unknown field \"x\" (this program declares no fields)");
    }

    /// A deterministic linear congruential generator (Knuth's MMIX constants).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            self.0 >> 33
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn random_condition(rng: &mut Lcg, depth: usize) -> String {
        let choice = if depth > 3 { 0 } else { rng.below(5) };
        match choice {
            0 => {
                let comparisons = [
                    "score >= 80",
                    "score / max_score >= 0.8",
                    "-attempt * 2 + score != 3",
                    "course == \"py-101\"",
                    "type in [\"exam\", \"quiz\"]",
                    "attempt not in [1, 2]",
                    "learner.email < 'm'",
                    "passed",
                    "true",
                    "score / 0 > 1",
                ];
                comparisons[rng.below(comparisons.len())].to_owned()
            }
            1 => format!("not {}", random_condition(rng, depth + 1)),
            2 => format!("({})", random_condition(rng, depth + 1)),
            3 => format!("{} and {}", random_condition(rng, depth + 1), random_condition(rng, depth + 1)),
            _ => format!("{} or {}", random_condition(rng, depth + 1), random_condition(rng, depth + 1)),
        }
    }

    #[test]
    fn random_input_never_panics() {
        let mut rng = Lcg(0x1a2b_3c4d);
        let events =
            [sample(), Map::new(), event(json!({"score": 0, "max_score": 0, "course": 1, "passed": null}))];
        let alphabet = b"score max_score course passed learner.email and or not in true false \
            ()[],+-*/=!<>\"'\\0123456789.eE_ \t#&|";
        let vocabulary = [
            "score",
            "max_score",
            "course",
            "passed",
            "learner.email",
            "attempt",
            "and",
            "or",
            "not",
            "in",
            "true",
            "false",
            "(",
            ")",
            "[",
            "]",
            ",",
            "+",
            "-",
            "*",
            "/",
            "==",
            "!=",
            "<",
            "<=",
            ">",
            ">=",
            "0",
            "80",
            "0.8",
            "1e3",
            "\"py-101\"",
            "'x'",
        ];
        let mut accepted = 0;
        for round in 0..600 {
            let source = match round % 3 {
                // Raw bytes, possibly invalid UTF-8.
                0 => {
                    let len = rng.below(40);
                    let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                // Bytes from the language's own alphabet.
                1 => {
                    let len = rng.below(60);
                    let bytes: Vec<u8> = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                // Well-formed conditions, sometimes with one character changed.
                2 if round % 2 == 0 => {
                    let mut text = random_condition(&mut rng, 0).into_bytes();
                    if rng.below(2) == 0 && !text.is_empty() {
                        let at = rng.below(text.len());
                        text[at] = alphabet[rng.below(alphabet.len())];
                    }
                    String::from_utf8_lossy(&text).into_owned()
                }
                // Token soup.
                _ => {
                    let len = 1 + rng.below(12);
                    (0..len).map(|_| vocabulary[rng.below(vocabulary.len())]).collect::<Vec<_>>().join(" ")
                }
            };
            match Condition::parse(&source, FIELDS) {
                Ok(condition) => {
                    accepted += 1;
                    for e in &events {
                        let _ = condition.evaluate(e);
                    }
                    let _ = condition.fields();
                }
                Err(err) => {
                    assert!(err.position <= source.chars().count().max(MAX_SOURCE_BYTES));
                    assert!(!err.message.is_empty());
                    let _ = err.to_string();
                }
            }
        }
        // The soup should produce at least a few valid conditions.
        assert!(accepted > 0);
    }
}
