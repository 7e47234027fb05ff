//! The syntax tree the parser builds and the evaluator walks.

use crate::expr::BinaryOp;

/// A parsed program: assignments, then the result expression.
#[derive(Debug)]
pub(super) struct Program {
    pub(super) assignments: Vec<Assignment>,
    pub(super) result: Expr,
}

/// `name = value`.
#[derive(Debug)]
pub(super) struct Assignment {
    pub(super) name: String,
    pub(super) value: Expr,
}

/// An expression and the column of its first token (of its operator, for operators).
#[derive(Debug)]
pub(super) struct Expr {
    pub(super) kind: ExprKind,
    pub(super) col: usize,
    /// Height of the tree below this node (a leaf is 1); bounded by the parser.
    pub(super) depth: usize,
}

/// A unary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum UnaryOperator {
    /// `-x`
    Neg,
    /// `+x`
    Pos,
    /// `~x`
    Invert,
}

/// `start:stop:step` or a single index expression.
#[derive(Debug)]
pub(super) enum Subscript {
    /// An integer index.
    Index(Expr),
    /// A slice; absent parts are defaults.
    Slice([Option<Expr>; 3]),
}

/// `name=value` in a call.
#[derive(Debug)]
pub(super) struct Keyword {
    pub(super) name: String,
    pub(super) value: Expr,
    pub(super) col: usize,
}

/// The kinds of expression.
#[derive(Debug)]
pub(super) enum ExprKind {
    /// A variable or input.
    Name(String),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// An imaginary literal (`2j`): its imaginary part.
    Imag(f64),
    /// `True` / `False`.
    Bool(bool),
    /// `None`.
    None,
    /// A string literal (dtype names).
    Str(String),
    /// `(a, b)`, `(a,)`, `()`.
    Tuple(Vec<Expr>),
    /// `[a, b]`, `[]`: a tuple, except as an index, where it is an index array.
    List(Vec<Expr>),
    /// `-x`, `+x`, `~x`.
    Unary(UnaryOperator, Box<Expr>),
    /// `a op b`.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `x.name` (outside a call: only `.T`).
    Attribute(Box<Expr>, String),
    /// `f(args, key=value)` or `x.method(…)`.
    Call {
        callee: Box<Expr>,
        args: Vec<Expr>,
        keywords: Vec<Keyword>,
    },
    /// `x[…]`.
    Index(Box<Expr>, Vec<Subscript>),
}

impl ExprKind {
    /// The largest depth among the direct children (0 for a leaf).
    fn child_depth(&self) -> usize {
        let max = |it: &mut dyn Iterator<Item = &Expr>| it.map(|e| e.depth).max().unwrap_or(0);
        match self {
            ExprKind::Tuple(items) | ExprKind::List(items) => max(&mut items.iter()),
            ExprKind::Unary(_, e) | ExprKind::Attribute(e, _) => e.depth,
            ExprKind::Binary(_, a, b) => a.depth.max(b.depth),
            ExprKind::Call {
                callee,
                args,
                keywords,
            } => max(&mut std::iter::once(&**callee)
                .chain(args)
                .chain(keywords.iter().map(|k| &k.value))),
            ExprKind::Index(e, subs) => {
                max(&mut std::iter::once(&**e).chain(subs.iter().flat_map(Subscript::exprs)))
            }
            _ => 0,
        }
    }
}

impl Subscript {
    fn exprs(&self) -> Vec<&Expr> {
        match self {
            Subscript::Index(e) => vec![e],
            Subscript::Slice(parts) => parts.iter().flatten().collect(),
        }
    }
}

impl Expr {
    /// A node at `col`, its depth computed from its children.
    pub(super) fn new(kind: ExprKind, col: usize) -> Expr {
        let depth = kind.child_depth() + 1;
        Expr { kind, col, depth }
    }
}
