//! Tokens: names, numbers, strings, operators, statement separators.

use super::syntax_error;
use crate::error::Result;

/// Two-character operators, tried before the one-character ones.
const OPERATORS_2: [&str; 8] = ["**", "//", "==", "!=", "<=", ">=", "<<", ">>"];
/// One-character operators and punctuation.
const OPERATORS_1: &str = "+-*/%@&|^~<>=()[],:.";

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    /// An identifier (including `True`, `False`, `None`).
    Name(String),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// An imaginary literal (`2j`, `1.5e3J`): its imaginary part.
    Imag(f64),
    /// A string literal, quotes removed.
    Str(String),
    /// An operator or punctuation, e.g. `"**"` or `"("`.
    Op(&'static str),
    /// `;` or a newline outside brackets.
    Sep,
    /// The end of the input.
    End,
}

/// A token and the 1-based column (in characters) where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) col: usize,
}

/// Splits `text` into tokens, ending with [`Tok::End`].
pub(super) fn lex(text: &str) -> Result<Vec<Token>> {
    let mut lexer = Lexer {
        chars: text.chars().collect(),
        pos: 0,
        brackets: 0,
    };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token()? {
        tokens.push(token);
    }
    tokens.push(Token {
        tok: Tok::End,
        col: lexer.chars.len() + 1,
    });
    Ok(tokens)
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    /// Open brackets: newlines inside them are whitespace, as in Python.
    brackets: usize,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn skip_blanks(&mut self) {
        while let Some(c) = self.peek(0) {
            match c {
                '#' => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                '\n' if self.brackets == 0 => return,
                c if c.is_whitespace() => self.pos += 1,
                _ => return,
            }
        }
    }

    fn next_token(&mut self) -> Result<Option<Token>> {
        self.skip_blanks();
        let Some(c) = self.peek(0) else {
            return Ok(None);
        };
        let col = self.pos + 1;
        let tok = match c {
            ';' | '\n' => {
                self.pos += 1;
                Tok::Sep
            }
            '\'' | '"' => self.string(c)?,
            c if c.is_ascii_digit() => self.number()?,
            '.' if self.peek(1).is_some_and(|d| d.is_ascii_digit()) => self.number()?,
            c if c.is_ascii_alphabetic() || c == '_' => self.name(),
            _ => self.operator()?,
        };
        Ok(Some(Token { tok, col }))
    }

    fn name(&mut self) -> Tok {
        let start = self.pos;
        while self
            .peek(0)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.pos += 1;
        }
        Tok::Name(self.chars[start..self.pos].iter().collect())
    }

    fn string(&mut self, quote: char) -> Result<Tok> {
        let col = self.pos + 1;
        let start = self.pos + 1;
        let len = self.chars[start..]
            .iter()
            .position(|&c| c == quote || c == '\n');
        match len {
            Some(n) if self.chars[start + n] == quote => {
                self.pos = start + n + 1;
                Ok(Tok::Str(self.chars[start..start + n].iter().collect()))
            }
            _ => Err(syntax_error(col, "unterminated string literal")),
        }
    }

    /// Digits with optional single underscores between them (`10_000`).
    fn digits(&mut self, out: &mut String) {
        while let Some(c) = self.peek(0) {
            if c.is_ascii_digit() {
                out.push(c);
            } else if !(c == '_' && self.peek(1).is_some_and(|d| d.is_ascii_digit())) {
                return;
            }
            self.pos += 1;
        }
    }

    fn number(&mut self) -> Result<Tok> {
        let col = self.pos + 1;
        let mut text = String::new();
        self.digits(&mut text);
        let mut float = false;
        if self.peek(0) == Some('.') {
            float = true;
            text.push('.');
            self.pos += 1;
            self.digits(&mut text);
        }
        if self.exponent_follows() {
            float = true;
            text.push('e');
            self.pos += 1;
            if let Some(sign @ ('+' | '-')) = self.peek(0) {
                text.push(sign);
                self.pos += 1;
            }
            self.digits(&mut text);
        }
        let imaginary = matches!(self.peek(0), Some('j' | 'J'));
        if imaginary {
            self.pos += 1;
        }
        if self
            .peek(0)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(syntax_error(self.pos + 1, "invalid number literal"));
        }
        if imaginary {
            text.parse::<f64>()
                .map(Tok::Imag)
                .map_err(|_| syntax_error(col, "invalid imaginary literal"))
        } else if float {
            let value = text.parse::<f64>();
            value
                .map(Tok::Float)
                .map_err(|_| syntax_error(col, "invalid float literal"))
        } else {
            let value = text.parse::<i64>();
            value
                .map(Tok::Int)
                .map_err(|_| syntax_error(col, "integer literal too large for int64"))
        }
    }

    /// `e`/`E` followed by digits, optionally signed.
    fn exponent_follows(&self) -> bool {
        let digit_at = |i: usize| self.peek(i).is_some_and(|d| d.is_ascii_digit());
        matches!(self.peek(0), Some('e' | 'E'))
            && (digit_at(1) || (matches!(self.peek(1), Some('+' | '-')) && digit_at(2)))
    }

    fn operator(&mut self) -> Result<Tok> {
        let col = self.pos + 1;
        let two: String = self.chars[self.pos..].iter().take(2).collect();
        if let Some(op) = OPERATORS_2.iter().find(|&&op| op == two) {
            self.pos += 2;
            return Ok(Tok::Op(op));
        }
        let c = self.chars[self.pos];
        let Some(i) = OPERATORS_1.find(c) else {
            return Err(syntax_error(col, format!("unexpected character {c:?}")));
        };
        self.pos += 1;
        match c {
            '(' | '[' => self.brackets += 1,
            ')' | ']' => self.brackets = self.brackets.saturating_sub(1),
            _ => {}
        }
        Ok(Tok::Op(&OPERATORS_1[i..i + 1]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        lex(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_names_and_operators() {
        assert_eq!(
            toks("x**2.5e-1 // .5"),
            vec![
                Tok::Name("x".into()),
                Tok::Op("**"),
                Tok::Float(0.25),
                Tok::Op("//"),
                Tok::Float(0.5),
                Tok::End
            ]
        );
        assert_eq!(
            toks("10_000 1."),
            vec![Tok::Int(10_000), Tok::Float(1.0), Tok::End]
        );
        assert_eq!(toks("'f4'"), vec![Tok::Str("f4".into()), Tok::End]);
    }

    #[test]
    fn newlines_separate_statements_outside_brackets() {
        assert_eq!(
            toks("a\n(b,\n c) # comment"),
            vec![
                Tok::Name("a".into()),
                Tok::Sep,
                Tok::Op("("),
                Tok::Name("b".into()),
                Tok::Op(","),
                Tok::Name("c".into()),
                Tok::Op(")"),
                Tok::End
            ]
        );
    }

    #[test]
    fn columns_and_errors() {
        let t = lex("ab + 1").unwrap();
        assert_eq!(
            t.iter().map(|t| t.col).collect::<Vec<_>>(),
            vec![1, 4, 6, 7]
        );
        for (bad, col) in [
            ("x ! 2", 3),
            ("'abc", 1),
            ("12abc", 3),
            ("99999999999999999999", 1),
        ] {
            match lex(bad) {
                Err(crate::Error::Parse { column, .. }) => assert_eq!(column, col, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
