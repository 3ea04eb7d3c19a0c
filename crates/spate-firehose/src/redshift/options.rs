//! CopyCommand.CopyOptions: the Redshift COPY parameters Firehose users write, parsed into
//! what the PostgreSQL load does with them (Redshift Database Developer Guide, "COPY
//! parameters"). Options Spate cannot honour are refused when the stream is created, naming
//! them, rather than ignored.

/// How the intermediate objects' bytes become rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataFormat {
    /// Character-delimited UTF-8 text (the default: `|`); backslashes are not special.
    Text { delimiter: char },
    /// CSV with a quote character (default `"`) and delimiter (default `,`).
    Csv { delimiter: char, quote: char },
    /// JSON objects back to back; keys matched to column names.
    JsonAuto { ignore_case: bool },
    /// JSON objects, columns taken by a JSONPaths file (an `s3://bucket/key` URL).
    JsonPaths { url: String },
}

/// TIMEFORMAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// As written (PostgreSQL's input parser stands in for Redshift's `auto` recognition).
    Auto,
    EpochSecs,
    EpochMillis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOptions {
    pub format: DataFormat,
    pub gzip: bool,
    pub null_as: Option<String>,
    pub ignore_header: usize,
    pub empty_as_null: bool,
    pub blanks_as_null: bool,
    pub time_format: TimeFormat,
    /// MAXERROR: rows that cannot be parsed are skipped up to this many.
    pub max_errors: usize,
}

/// Options Redshift has and Spate does not honour yet.
const UNSUPPORTED: [&str; 14] = [
    "FIXEDWIDTH",
    "AVRO",
    "PARQUET",
    "ORC",
    "SHAPEFILE",
    "BZIP2",
    "LZOP",
    "ZSTD",
    "ESCAPE",
    "REMOVEQUOTES",
    "ACCEPTINVCHARS",
    "TRUNCATECOLUMNS",
    "FILLRECORD",
    "ENCRYPTED",
];
/// Options that change nothing here (statistics, compression analysis, region, ...).
const IGNORED_FLAGS: [&str; 4] = ["ACCEPTANYDATE", "IGNOREBLANKLINES", "TRIMBLANKS", "ROUNDEC"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() || c == ';' || c == ',' {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut quoted = String::new();
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        quoted.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => quoted.push(c),
                    None => return Err("a quoted value is not closed".into()),
                }
            }
            out.push(Token::Quoted(quoted));
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '\'' || c == ';' || c == ',' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push(Token::Word(word.to_ascii_uppercase()));
        }
    }
    Ok(out)
}

/// A delimiter or quote: one character, `'\t'`, or octal `'\ddd'`.
fn single_char(text: &str, what: &str) -> Result<char, String> {
    let c = match text {
        "\\t" => '\t',
        t if t.len() == 4 && t.starts_with('\\') => u32::from_str_radix(&t[1..], 8)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| format!("{what} '{t}' is not a character"))?,
        t if t.chars().count() == 1 => t.chars().next().unwrap_or('|'),
        t => return Err(format!("{what} '{t}' must be a single character here")),
    };
    Ok(c)
}

struct Parser {
    tokens: std::iter::Peekable<std::vec::IntoIter<Token>>,
}

impl Parser {
    /// The quoted value after an optional `AS`.
    fn quoted(&mut self, option: &str) -> Result<String, String> {
        if self.tokens.peek() == Some(&Token::Word("AS".into())) {
            self.tokens.next();
        }
        match self.tokens.next() {
            Some(Token::Quoted(q)) => Ok(q),
            _ => Err(format!("{option} needs a quoted value")),
        }
    }

    /// A number after an optional `AS`.
    fn number(&mut self, option: &str) -> Result<usize, String> {
        if self.tokens.peek() == Some(&Token::Word("AS".into())) {
            self.tokens.next();
        }
        match self.tokens.next() {
            Some(Token::Word(n)) => n.parse().map_err(|_| format!("{option} needs a number")),
            _ => Err(format!("{option} needs a number")),
        }
    }

    fn next_is_quoted(&mut self) -> bool {
        matches!(self.tokens.peek(), Some(Token::Quoted(_)))
    }
}

fn json_format(argument: &str) -> Result<DataFormat, String> {
    match argument.to_ascii_lowercase().as_str() {
        "auto" => Ok(DataFormat::JsonAuto { ignore_case: false }),
        "auto ignorecase" => Ok(DataFormat::JsonAuto { ignore_case: true }),
        _ if argument.starts_with("s3://") => Ok(DataFormat::JsonPaths {
            url: argument.to_string(),
        }),
        other => Err(format!(
            "JSON '{other}' is not 'auto', 'auto ignorecase' or an s3:// JSONPaths file"
        )),
    }
}

/// What the format options said, settled once every option is read.
#[derive(Default)]
struct Pending {
    quote: Option<char>,
    delimiter: Option<char>,
    format_word: Option<String>,
}

/// `FORMAT [AS] JSON ['arg'] | CSV`.
fn format_option(p: &mut Parser, o: &mut CopyOptions, pending: &mut Pending) -> Result<(), String> {
    if p.tokens.peek() == Some(&Token::Word("AS".into())) {
        p.tokens.next();
    }
    match p.tokens.next() {
        Some(Token::Word(w)) if w == "JSON" => json_option(p, o, pending),
        Some(Token::Word(w)) if w == "CSV" => {
            pending.format_word = Some(w);
            Ok(())
        }
        Some(Token::Word(w)) => Err(format!("FORMAT AS {w} is not supported by Spate")),
        _ => Err("FORMAT needs a format".into()),
    }
}

/// `JSON [[AS] 'auto' | 'auto ignorecase' | 's3://jsonpaths']`.
fn json_option(p: &mut Parser, o: &mut CopyOptions, pending: &mut Pending) -> Result<(), String> {
    pending.format_word = Some("JSON".into());
    let given = p.next_is_quoted() || p.tokens.peek() == Some(&Token::Word("AS".into()));
    let argument = if given {
        p.quoted("JSON")?
    } else {
        "auto".into()
    };
    o.format = json_format(&argument)?;
    Ok(())
}

fn time_format(text: &str) -> Result<TimeFormat, String> {
    match text {
        "auto" | "YYYY-MM-DD HH:MI:SS" => Ok(TimeFormat::Auto),
        "epochsecs" => Ok(TimeFormat::EpochSecs),
        "epochmillisecs" => Ok(TimeFormat::EpochMillis),
        other => Err(format!("TIMEFORMAT '{other}' is not supported by Spate (give 'auto', 'epochsecs' or 'epochmillisecs')")),
    }
}

/// Applies one option (its keyword already read).
fn option(
    p: &mut Parser,
    o: &mut CopyOptions,
    pending: &mut Pending,
    word: &str,
) -> Result<(), String> {
    match word {
        "FORMAT" => format_option(p, o, pending)?,
        "JSON" => json_option(p, o, pending)?,
        "CSV" => {
            pending.format_word = Some(word.to_string());
            if p.tokens.peek() == Some(&Token::Word("QUOTE".into())) {
                p.tokens.next();
                pending.quote = Some(single_char(&p.quoted("QUOTE")?, "QUOTE")?);
            }
        }
        "QUOTE" => pending.quote = Some(single_char(&p.quoted("QUOTE")?, "QUOTE")?),
        "DELIMITER" => pending.delimiter = Some(single_char(&p.quoted("DELIMITER")?, "DELIMITER")?),
        "GZIP" => o.gzip = true,
        "NULL" => o.null_as = Some(p.quoted("NULL AS")?),
        "IGNOREHEADER" => o.ignore_header = p.number("IGNOREHEADER")?,
        "EMPTYASNULL" => o.empty_as_null = true,
        "BLANKSASNULL" => o.blanks_as_null = true,
        "MAXERROR" => o.max_errors = p.number("MAXERROR")?.min(100_000),
        "TIMEFORMAT" => o.time_format = time_format(&p.quoted("TIMEFORMAT")?)?,
        "DATEFORMAT" => match p.quoted("DATEFORMAT")?.as_str() {
            "auto" | "YYYY-MM-DD" => {}
            other => {
                return Err(format!(
                    "DATEFORMAT '{other}' is not supported by Spate (give 'auto')"
                ))
            }
        },
        "REGION" => {
            p.quoted("REGION")?;
        }
        "COMPUPDATE" | "STATUPDATE" => {
            let setting = |w: &str| matches!(w, "ON" | "OFF" | "TRUE" | "FALSE" | "PRESET");
            if matches!(p.tokens.peek(), Some(Token::Word(w)) if setting(w)) {
                p.tokens.next();
            }
        }
        w if IGNORED_FLAGS.contains(&w) => {}
        w if UNSUPPORTED.contains(&w) => return Err(format!("{w} is not supported by Spate")),
        w => return Err(format!("{w} is not a COPY option Spate knows")),
    }
    Ok(())
}

/// Parses CopyOptions. Errors name the option (they become InvalidArgumentException).
pub fn parse(text: &str) -> Result<CopyOptions, String> {
    let mut p = Parser {
        tokens: tokens(text)?.into_iter().peekable(),
    };
    let mut o = CopyOptions {
        format: DataFormat::Text { delimiter: '|' },
        gzip: false,
        null_as: None,
        ignore_header: 0,
        empty_as_null: false,
        blanks_as_null: false,
        time_format: TimeFormat::Auto,
        max_errors: 0,
    };
    let mut pending = Pending::default();
    while let Some(token) = p.tokens.next() {
        let Token::Word(word) = token else {
            return Err("a quoted value without an option before it".into());
        };
        option(&mut p, &mut o, &mut pending, &word)?;
    }
    finish_format(
        &mut o,
        pending.format_word.as_deref(),
        pending.quote,
        pending.delimiter,
    )?;
    Ok(o)
}

/// The format with its delimiter and quote, and the combinations Redshift refuses.
fn finish_format(
    o: &mut CopyOptions,
    format_word: Option<&str>,
    quote: Option<char>,
    delimiter: Option<char>,
) -> Result<(), String> {
    match format_word {
        Some("JSON") => {
            if delimiter.is_some() || quote.is_some() || o.null_as.is_some() {
                return Err("JSON cannot be used with CSV, DELIMITER, NULL AS or QUOTE".into());
            }
        }
        Some("CSV") => {
            o.format = DataFormat::Csv {
                delimiter: delimiter.unwrap_or(','),
                quote: quote.unwrap_or('"'),
            }
        }
        _ => {
            if quote.is_some() {
                return Err("QUOTE is only for CSV".into());
            }
            o.format = DataFormat::Text {
                delimiter: delimiter.unwrap_or('|'),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_firehose_users_write_are_understood() {
        let o = parse("JSON 'auto' GZIP TIMEFORMAT 'epochmillisecs';").unwrap();
        assert_eq!(o.format, DataFormat::JsonAuto { ignore_case: false });
        assert!(o.gzip);
        assert_eq!(o.time_format, TimeFormat::EpochMillis);
        let o = parse("format as json 'auto ignorecase'").unwrap();
        assert_eq!(o.format, DataFormat::JsonAuto { ignore_case: true });
        let o = parse("json 's3://cfg/paths.json' maxerror as 5").unwrap();
        assert_eq!(
            o.format,
            DataFormat::JsonPaths {
                url: "s3://cfg/paths.json".into()
            }
        );
        assert_eq!(o.max_errors, 5);
        let o = parse("CSV QUOTE AS '''' DELIMITER ';' IGNOREHEADER 1 EMPTYASNULL").unwrap();
        assert_eq!(
            o.format,
            DataFormat::Csv {
                delimiter: ';',
                quote: '\''
            }
        );
        assert_eq!((o.ignore_header, o.empty_as_null), (1, true));
        let o = parse("delimiter '\\t' NULL AS 'nil' region 'us-west-2'").unwrap();
        assert_eq!(o.format, DataFormat::Text { delimiter: '\t' });
        assert_eq!(o.null_as.as_deref(), Some("nil"));
        assert_eq!(
            parse("").unwrap().format,
            DataFormat::Text { delimiter: '|' }
        );
    }

    #[test]
    fn unsupported_and_conflicting_options_are_named() {
        assert!(parse("delimiter '\\t' lzop;").unwrap_err().contains("LZOP"));
        assert!(parse("fixedwidth 'a:1'")
            .unwrap_err()
            .contains("FIXEDWIDTH"));
        assert!(parse("JSON 'auto' DELIMITER ','")
            .unwrap_err()
            .contains("JSON cannot"));
        assert!(parse("BOGUS").unwrap_err().contains("BOGUS"));
        assert!(parse("TIMEFORMAT 'MM/DD/YYYY'")
            .unwrap_err()
            .contains("TIMEFORMAT"));
    }
}
