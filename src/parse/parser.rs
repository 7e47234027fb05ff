//! Recursive descent over the tokens, one function per precedence level.

use super::ast::{Assignment, Expr, ExprKind, Keyword, Program, Subscript, UnaryOperator};
use super::lexer::{Tok, Token};
use super::{MAX_DEPTH, syntax_error};
use crate::error::{Error, Result};
use crate::expr::BinaryOp;

const COMPARISONS: [(&str, BinaryOp); 6] = [
    ("==", BinaryOp::Eq),
    ("!=", BinaryOp::Ne),
    ("<", BinaryOp::Lt),
    ("<=", BinaryOp::Le),
    (">", BinaryOp::Gt),
    (">=", BinaryOp::Ge),
];
const TERMS: [(&str, BinaryOp); 4] = [
    ("*", BinaryOp::Mul),
    ("/", BinaryOp::Div),
    ("//", BinaryOp::FloorDiv),
    ("%", BinaryOp::Rem),
];
const UNARY: [(&str, UnaryOperator); 3] = [
    ("-", UnaryOperator::Neg),
    ("+", UnaryOperator::Pos),
    ("~", UnaryOperator::Invert),
];

/// Parses a token list (ending with [`Tok::End`]) into a program.
pub(super) fn parse(tokens: Vec<Token>) -> Result<Program> {
    Parser {
        tokens,
        pos: 0,
        nesting: 0,
    }
    .program()
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Current recursion depth through [`Parser::factor`], bounded by [`MAX_DEPTH`].
    nesting: usize,
}

/// How a token reads in an error message.
fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Name(n) => format!("name '{n}'"),
        Tok::Int(i) => format!("number {i}"),
        Tok::Float(x) => format!("number {x:?}"),
        Tok::Imag(x) => format!("number {x:?}j"),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Op(op) => format!("'{op}'"),
        Tok::Sep => "end of statement".into(),
        Tok::End => "end of input".into(),
    }
}

fn too_deep(col: usize) -> Error {
    syntax_error(
        col,
        format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
    )
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos]
    }

    fn peek_second(&self) -> &Tok {
        self.tokens.get(self.pos + 1).map_or(&Tok::End, |t| &t.tok)
    }

    fn advance(&mut self) -> Token {
        let token = self.tokens[self.pos].clone();
        if token.tok != Tok::End {
            self.pos += 1;
        }
        token
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek().tok, Tok::Op(o) if o == op)
    }

    fn eat(&mut self, op: &str) -> bool {
        let found = self.is_op(op);
        if found {
            self.pos += 1;
        }
        found
    }

    fn error_here(&self, expected: &str) -> Error {
        let t = self.peek();
        syntax_error(
            t.col,
            format!("expected {expected}, found {}", describe(&t.tok)),
        )
    }

    fn expect(&mut self, op: &str) -> Result<()> {
        if self.eat(op) {
            Ok(())
        } else {
            Err(self.error_here(&format!("'{op}'")))
        }
    }

    fn node(&self, kind: ExprKind, col: usize) -> Result<Expr> {
        let e = Expr::new(kind, col);
        if e.depth > MAX_DEPTH {
            return Err(too_deep(col));
        }
        Ok(e)
    }

    fn skip_separators(&mut self) {
        while self.peek().tok == Tok::Sep {
            self.pos += 1;
        }
    }

    fn program(mut self) -> Result<Program> {
        let mut assignments = Vec::new();
        loop {
            self.skip_separators();
            let start = self.peek().col;
            if self.peek().tok == Tok::End {
                return Err(self.error_here("an expression"));
            }
            let target = self.assignment_target()?;
            let value = self.expressions()?;
            if !matches!(self.peek().tok, Tok::Sep | Tok::End) {
                return Err(self.error_here("an operator or the end of the statement"));
            }
            self.skip_separators();
            let at_end = self.peek().tok == Tok::End;
            match (target, at_end) {
                (None, true) => {
                    return Ok(Program {
                        assignments,
                        result: value,
                    });
                }
                (Some(name), false) => assignments.push(Assignment { name, value }),
                (Some(_), true) => {
                    return Err(syntax_error(
                        start,
                        "the program must end with an expression (its result), not an assignment",
                    ));
                }
                (None, false) => {
                    return Err(syntax_error(
                        start,
                        "only the last statement may be a bare expression; assign this one with `name = ...`",
                    ));
                }
            }
        }
    }

    /// `name =` at the start of a statement, consumed.
    fn assignment_target(&mut self) -> Result<Option<String>> {
        let Tok::Name(name) = &self.peek().tok else {
            return Ok(None);
        };
        if *self.peek_second() != Tok::Op("=") {
            return Ok(None);
        }
        if matches!(name.as_str(), "True" | "False" | "None") {
            return Err(syntax_error(
                self.peek().col,
                format!("cannot assign to {name}"),
            ));
        }
        let name = name.clone();
        self.pos += 2;
        Ok(Some(name))
    }

    /// A statement's value: an expression, or several separated by commas, a tuple without
    /// parentheses as in Python's `a, b` (a trailing comma makes a tuple of one: `a,`). The
    /// tuple's column is its first item's.
    fn expressions(&mut self) -> Result<Expr> {
        let first = self.expr()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let col = first.col;
        let mut items = vec![first];
        while self.eat(",") && !matches!(self.peek().tok, Tok::Sep | Tok::End) {
            items.push(self.expr()?);
        }
        self.node(ExprKind::Tuple(items), col)
    }

    fn expr(&mut self) -> Result<Expr> {
        let lhs = self.bit_or()?;
        let Some(op) = self.comparison_op() else {
            return Ok(lhs);
        };
        let col = self.advance().col;
        let rhs = self.bit_or()?;
        if self.comparison_op().is_some() {
            return Err(syntax_error(
                self.peek().col,
                "chained comparisons are not supported; use (a < b) & (b < c)",
            ));
        }
        self.node(ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), col)
    }

    fn comparison_op(&self) -> Option<BinaryOp> {
        COMPARISONS
            .iter()
            .find(|(s, _)| self.is_op(s))
            .map(|&(_, op)| op)
    }

    /// A left-associative level: `next (op next)*`.
    fn binary_level(
        &mut self,
        ops: &[(&str, BinaryOp)],
        next: fn(&mut Self) -> Result<Expr>,
    ) -> Result<Expr> {
        let mut lhs = next(self)?;
        while let Some(&(_, op)) = ops.iter().find(|(s, _)| self.is_op(s)) {
            let col = self.advance().col;
            let rhs = next(self)?;
            lhs = self.node(ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), col)?;
        }
        Ok(lhs)
    }

    fn bit_or(&mut self) -> Result<Expr> {
        self.binary_level(&[("|", BinaryOp::Or)], Self::bit_xor)
    }

    fn bit_xor(&mut self) -> Result<Expr> {
        self.binary_level(&[("^", BinaryOp::Xor)], Self::bit_and)
    }

    fn bit_and(&mut self) -> Result<Expr> {
        self.binary_level(&[("&", BinaryOp::And)], Self::shift)
    }

    fn shift(&mut self) -> Result<Expr> {
        self.binary_level(&[("<<", BinaryOp::Shl), (">>", BinaryOp::Shr)], Self::arith)
    }

    fn arith(&mut self) -> Result<Expr> {
        self.binary_level(&[("+", BinaryOp::Add), ("-", BinaryOp::Sub)], Self::term)
    }

    /// `* / // % @`, left-associative at one level as in Python; `a @ b` is `matmul(a, b)`.
    fn term(&mut self) -> Result<Expr> {
        let mut lhs = self.factor()?;
        loop {
            if let Some(&(_, op)) = TERMS.iter().find(|(s, _)| self.is_op(s)) {
                let col = self.advance().col;
                let rhs = self.factor()?;
                lhs = self.node(ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), col)?;
            } else if self.is_op("@") {
                let col = self.advance().col;
                let rhs = self.factor()?;
                let callee = Box::new(Expr::new(ExprKind::Name("matmul".into()), col));
                let call = ExprKind::Call {
                    callee,
                    args: vec![lhs, rhs],
                    keywords: Vec::new(),
                };
                lhs = self.node(call, col)?;
            } else {
                return Ok(lhs);
            }
        }
    }

    /// Unary operators and everything tighter; the one recursion every nesting goes through.
    fn factor(&mut self) -> Result<Expr> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(too_deep(self.peek().col));
        }
        let e = self.unary();
        self.nesting -= 1;
        e
    }

    fn unary(&mut self) -> Result<Expr> {
        let Some(&(_, op)) = UNARY.iter().find(|(s, _)| self.is_op(s)) else {
            return self.power();
        };
        let col = self.advance().col;
        let operand = self.factor()?;
        self.node(ExprKind::Unary(op, Box::new(operand)), col)
    }

    fn power(&mut self) -> Result<Expr> {
        let base = self.postfix()?;
        if !self.is_op("**") {
            return Ok(base);
        }
        let col = self.advance().col;
        let exponent = self.factor()?;
        self.node(
            ExprKind::Binary(BinaryOp::Pow, Box::new(base), Box::new(exponent)),
            col,
        )
    }

    fn postfix(&mut self) -> Result<Expr> {
        let mut e = self.atom()?;
        loop {
            let mut col = self.peek().col;
            let kind = if self.eat(".") {
                col = self.peek().col;
                ExprKind::Attribute(Box::new(e), self.attribute_name()?)
            } else if self.eat("[") {
                ExprKind::Index(Box::new(e), self.subscripts()?)
            } else if self.eat("(") {
                let (args, keywords) = self.arguments()?;
                ExprKind::Call {
                    callee: Box::new(e),
                    args,
                    keywords,
                }
            } else {
                return Ok(e);
            };
            e = self.node(kind, col)?;
        }
    }

    fn attribute_name(&mut self) -> Result<String> {
        match self.peek().tok.clone() {
            Tok::Name(name) => {
                self.pos += 1;
                Ok(name)
            }
            _ => Err(self.error_here("an attribute or method name after '.'")),
        }
    }

    fn atom(&mut self) -> Result<Expr> {
        let Token { tok, col } = self.peek().clone();
        let kind = match tok {
            Tok::Name(n) => match n.as_str() {
                "True" => ExprKind::Bool(true),
                "False" => ExprKind::Bool(false),
                "None" => ExprKind::None,
                _ => ExprKind::Name(n),
            },
            Tok::Int(i) => ExprKind::Int(i),
            Tok::Float(x) => ExprKind::Float(x),
            Tok::Imag(x) => ExprKind::Imag(x),
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Op("(") => {
                self.pos += 1;
                return self.parenthesized(col);
            }
            Tok::Op("[") => {
                self.pos += 1;
                return self.list(col);
            }
            _ => return Err(self.error_here("an expression")),
        };
        self.pos += 1;
        self.node(kind, col)
    }

    /// After `(`: a parenthesized expression or a tuple.
    fn parenthesized(&mut self, col: usize) -> Result<Expr> {
        if self.eat(")") {
            return self.node(ExprKind::Tuple(Vec::new()), col);
        }
        let first = self.expr()?;
        if self.eat(")") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat(",") && !self.is_op(")") {
            items.push(self.expr()?);
        }
        self.expect(")")?;
        self.node(ExprKind::Tuple(items), col)
    }

    /// After `[` where an expression starts: a list literal up to `]`.
    fn list(&mut self, col: usize) -> Result<Expr> {
        let mut items = Vec::new();
        while !self.eat("]") {
            items.push(self.expr()?);
            if !self.eat(",") {
                self.expect("]")?;
                break;
            }
        }
        self.node(ExprKind::List(items), col)
    }

    /// After `[`: comma-separated subscripts up to `]`.
    fn subscripts(&mut self) -> Result<Vec<Subscript>> {
        let mut subs = vec![self.subscript()?];
        while self.eat(",") && !self.is_op("]") {
            subs.push(self.subscript()?);
        }
        self.expect("]")?;
        Ok(subs)
    }

    fn subscript(&mut self) -> Result<Subscript> {
        let start = self.optional_expr()?;
        if !self.eat(":") {
            return start
                .map(Subscript::Index)
                .ok_or_else(|| self.error_here("an index or slice"));
        }
        let stop = self.optional_expr()?;
        let step = if self.eat(":") {
            self.optional_expr()?
        } else {
            None
        };
        Ok(Subscript::Slice([start, stop, step]))
    }

    /// An expression, or nothing before `:`, `,` or `]`.
    fn optional_expr(&mut self) -> Result<Option<Expr>> {
        if [":", ",", "]"].iter().any(|op| self.is_op(op)) {
            Ok(None)
        } else {
            self.expr().map(Some)
        }
    }

    /// After `(`: positional arguments, then keyword arguments, up to `)`.
    fn arguments(&mut self) -> Result<(Vec<Expr>, Vec<Keyword>)> {
        let (mut args, mut keywords) = (Vec::new(), Vec::new());
        while !self.eat(")") {
            if let Some(name) = self.assignment_target()? {
                let col = self.tokens[self.pos - 2].col;
                let value = self.expr()?;
                keywords.push(Keyword { name, value, col });
            } else if let Some(k) = keywords.first() {
                return Err(syntax_error(
                    self.peek().col,
                    format!("positional argument follows keyword argument {}=", k.name),
                ));
            } else {
                args.push(self.expr()?);
            }
            if !self.eat(",") {
                self.expect(")")?;
                break;
            }
        }
        Ok((args, keywords))
    }
}
