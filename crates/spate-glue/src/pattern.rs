//! GetTables' `Expression`. Glue documents it as "a regular expression pattern"; what clients
//! send are Hive metastore table patterns (`orders*`, `sales_*|returns_*`), which Hive matches
//! by turning `*` into `.*` and matching the whole name, ignoring case. Spate serves that
//! subset exactly: `*` and `.*` (any characters), `.` (any one character), `|` (alternatives),
//! and refuses any other regular expression syntax rather than guess at its meaning.

/// One step of an alternative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// `*` or `.*`: any run of characters, possibly empty.
    Any,
    /// `.`: exactly one character.
    One,
    Char(char),
}

/// A parsed `Expression`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    alternatives: Vec<Vec<Token>>,
}

/// Regular expression syntax beyond the Hive subset.
const UNSUPPORTED: &[char] = &['\\', '(', ')', '[', ']', '{', '}', '+', '?', '^', '$'];

impl Pattern {
    /// Parses `expression`, or says which syntax Spate does not serve.
    pub fn parse(expression: &str) -> Result<Pattern, String> {
        if let Some(c) = expression.chars().find(|c| UNSUPPORTED.contains(c)) {
            return Err(format!(
                "Spate matches Expression as Hive table patterns: * and .* (any characters), . (any character) and | (alternatives); '{c}' is not supported"
            ));
        }
        let alternatives = expression
            .to_lowercase()
            .split('|')
            .map(|alternative| {
                let mut tokens = Vec::new();
                let mut chars = alternative.chars().peekable();
                while let Some(c) = chars.next() {
                    let token = match c {
                        '*' => Token::Any,
                        '.' if chars.peek() == Some(&'*') => {
                            chars.next();
                            Token::Any
                        }
                        '.' => Token::One,
                        c => Token::Char(c),
                    };
                    // `**` means what `*` means; one is enough for matching.
                    if !(token == Token::Any && tokens.last() == Some(&Token::Any)) {
                        tokens.push(token);
                    }
                }
                tokens
            })
            .collect();
        Ok(Pattern { alternatives })
    }

    /// Whether the whole of `name` matches one of the alternatives, ignoring case.
    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.to_lowercase().chars().collect();
        self.alternatives.iter().any(|a| matches_tokens(a, &name))
    }
}

/// Wildcard matching without recursion: on a mismatch, the most recent `Any` takes one more
/// character. At most |tokens| × |name| steps, so a hostile pattern cannot blow up.
fn matches_tokens(tokens: &[Token], name: &[char]) -> bool {
    let (mut t, mut n) = (0, 0);
    let mut retry: Option<(usize, usize)> = None;
    while n < name.len() {
        match tokens.get(t) {
            Some(Token::Any) => {
                retry = Some((t, n));
                t += 1;
            }
            Some(Token::One) => (t, n) = (t + 1, n + 1),
            Some(Token::Char(c)) if *c == name[n] => (t, n) = (t + 1, n + 1),
            _ => match retry {
                Some((star, from)) => {
                    retry = Some((star, from + 1));
                    (t, n) = (star + 1, from + 1);
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(|token| *token == Token::Any)
}
