//! Hive column types as a Glue table's `StorageDescriptor.Columns[].Type` writes them
//! (`int`, `decimal(10,2)`, `array<string>`, `map<string,int>`, `struct<a:int,b:string>`),
//! parsed once per delivery into the tree the JSON reader and the Parquet writer walk.

/// A column type. `varchar(n)` and `char(n)` are strings: Firehose writes them as strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HiveType {
    Boolean,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    Decimal { precision: u8, scale: u8 },
    String,
    Binary,
    Timestamp,
    Date,
    Array(Box<HiveType>),
    Map(Box<HiveType>, Box<HiveType>),
    Struct(Vec<(String, HiveType)>),
}

/// Decimal precision Hive allows at most, in digits.
pub const DECIMAL_PRECISION_MAX: u8 = 38;
/// Nesting of arrays, maps and structs one type may have at most, in levels.
const NESTING_MAX: usize = 32;

impl HiveType {
    /// Parses a type; the error names what is wrong.
    pub fn parse(text: &str) -> Result<HiveType, String> {
        let mut p = Parser {
            text,
            at: 0,
            depth: 0,
        };
        let ty = p.ty()?;
        p.skip_space();
        if p.at != text.len() {
            return Err(format!("unexpected text after the type in {text:?}"));
        }
        Ok(ty)
    }

    /// Whether values of this type are single values (not arrays, maps or structs).
    pub fn is_primitive(&self) -> bool {
        !matches!(
            self,
            HiveType::Array(_) | HiveType::Map(..) | HiveType::Struct(_)
        )
    }
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        let rest = &self.text[self.at..];
        self.at += rest.len() - rest.trim_start().len();
    }

    /// A name: letters, digits and underscores (lower-cased, as Hive folds names).
    fn word(&mut self) -> Result<String, String> {
        self.skip_space();
        let rest = &self.text[self.at..];
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 {
            return Err(format!(
                "expected a name at position {} of {:?}",
                self.at, self.text
            ));
        }
        self.at += len;
        Ok(rest[..len].to_ascii_lowercase())
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.text[self.at..].starts_with(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn require(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!(
                "expected '{c}' at position {} of {:?}",
                self.at, self.text
            ))
        }
    }

    fn number(&mut self) -> Result<u32, String> {
        let word = self.word()?;
        word.parse()
            .map_err(|_| format!("expected a number, found {word:?} in {:?}", self.text))
    }

    fn ty(&mut self) -> Result<HiveType, String> {
        self.depth += 1;
        if self.depth > NESTING_MAX {
            return Err(format!("types nest deeper than {NESTING_MAX} levels"));
        }
        let name = self.word()?;
        let ty = match name.as_str() {
            "boolean" => HiveType::Boolean,
            "tinyint" => HiveType::TinyInt,
            "smallint" => HiveType::SmallInt,
            "int" | "integer" => HiveType::Int,
            "bigint" => HiveType::BigInt,
            "float" => HiveType::Float,
            "double" => HiveType::Double,
            "string" => HiveType::String,
            "varchar" | "char" => {
                self.require('(')?;
                self.number()?;
                self.require(')')?;
                HiveType::String
            }
            "binary" => HiveType::Binary,
            "timestamp" => HiveType::Timestamp,
            "date" => HiveType::Date,
            "decimal" => self.decimal()?,
            "array" => {
                self.require('<')?;
                let element = self.ty()?;
                self.require('>')?;
                HiveType::Array(Box::new(element))
            }
            "map" => self.map()?,
            "struct" => self.structure()?,
            other => return Err(format!("unsupported column type {other:?}")),
        };
        self.depth -= 1;
        Ok(ty)
    }

    /// `decimal`, `decimal(p)` or `decimal(p,s)` (Hive's default is (10,0)).
    fn decimal(&mut self) -> Result<HiveType, String> {
        let (mut precision, mut scale) = (10, 0);
        if self.eat('(') {
            precision = self.number()?;
            if self.eat(',') {
                scale = self.number()?;
            }
            self.require(')')?;
        }
        if precision == 0 || precision > u32::from(DECIMAL_PRECISION_MAX) || scale > precision {
            return Err(format!(
                "decimal({precision},{scale}) is out of range: precision 1-{DECIMAL_PRECISION_MAX}, scale at most the precision"
            ));
        }
        Ok(HiveType::Decimal {
            precision: precision as u8,
            scale: scale as u8,
        })
    }

    fn map(&mut self) -> Result<HiveType, String> {
        self.require('<')?;
        let key = self.ty()?;
        if !key.is_primitive() {
            return Err("map keys must be of a primitive type".into());
        }
        self.require(',')?;
        let value = self.ty()?;
        self.require('>')?;
        Ok(HiveType::Map(Box::new(key), Box::new(value)))
    }

    fn structure(&mut self) -> Result<HiveType, String> {
        self.require('<')?;
        let mut fields = Vec::new();
        loop {
            let name = self.word()?;
            self.require(':')?;
            fields.push((name, self.ty()?));
            if !self.eat(',') {
                break;
            }
        }
        self.require('>')?;
        Ok(HiveType::Struct(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::HiveType::*;
    use super::*;

    #[test]
    fn primitive_and_nested_types_parse() {
        assert_eq!(HiveType::parse("INT").unwrap(), Int);
        assert_eq!(HiveType::parse(" varchar(20) ").unwrap(), String);
        assert_eq!(
            HiveType::parse("decimal(12, 3)").unwrap(),
            Decimal {
                precision: 12,
                scale: 3
            }
        );
        assert_eq!(
            HiveType::parse("decimal").unwrap(),
            Decimal {
                precision: 10,
                scale: 0
            }
        );
        assert_eq!(
            HiveType::parse("struct<A:int, tags:array<string>, m:map<string,double>>").unwrap(),
            Struct(vec![
                ("a".into(), Int),
                ("tags".into(), Array(Box::new(String))),
                ("m".into(), Map(Box::new(String), Box::new(Double))),
            ])
        );
    }

    #[test]
    fn bad_types_are_named() {
        for (text, wanted) in [
            ("uniontype<int,string>", "unsupported column type"),
            ("array<int", "expected '>'"),
            ("decimal(40,2)", "out of range"),
            ("decimal(5,6)", "out of range"),
            ("map<array<int>,int>", "primitive"),
            ("int int", "unexpected text"),
        ] {
            let e = HiveType::parse(text).unwrap_err();
            assert!(e.contains(wanted), "{text}: {e}");
        }
        let deep = "array<".repeat(40) + "int" + &">".repeat(40);
        assert!(HiveType::parse(&deep).unwrap_err().contains("deeper"));
    }
}
