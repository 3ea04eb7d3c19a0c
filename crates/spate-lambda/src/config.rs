//! The Lambda service's configuration.

use crate::model::{FunctionTarget, Language};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct LambdaConfig {
    pub region: String,
    pub account_id: String,
    /// Where deployment packages are unpacked.
    pub code_root: PathBuf,
    /// Where the runners shipped in the binary are written at start-up (they are code, not
    /// data: a read-only data directory still runs functions).
    pub runners_dir: PathBuf,
    /// Functions declared in the configuration (`--function`, `[[functions]]`).
    pub functions: Vec<DeclaredFunction>,
    /// The `node` and `python3` executables the runners use.
    pub node: String,
    pub python: String,
    /// The authorities `https://` function URLs are verified against.
    pub trust: spate_outbound::Trust,
}

impl LambdaConfig {
    pub fn new(code_root: PathBuf) -> LambdaConfig {
        LambdaConfig {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            runners_dir: code_root.join(".runners"),
            code_root,
            functions: Vec::new(),
            node: "node".into(),
            python: "python3".into(),
            trust: spate_outbound::Trust::system(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredFunction {
    pub name: String,
    pub target: FunctionTarget,
    pub timeout_secs: u32,
    pub environment: BTreeMap<String, String>,
}

/// Lambda's default timeout, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u32 = 3;

impl DeclaredFunction {
    /// `--function NAME=TARGET` where TARGET is `http://...` / `https://...` (an HTTP URL),
    /// `exec:COMMAND ARGS...` (a line-protocol command), or `node:DIR/module.export` /
    /// `python:DIR/module.function` (a handler module).
    pub fn parse_flag(text: &str) -> Result<DeclaredFunction, String> {
        let (name, target) = text
            .split_once('=')
            .ok_or_else(|| format!("--function {text}: expected NAME=TARGET"))?;
        let target = if target.starts_with("http://") || target.starts_with("https://") {
            FunctionTarget::Url { url: target.into() }
        } else if let Some(command) = target.strip_prefix("exec:") {
            let argv: Vec<String> = command.split_whitespace().map(String::from).collect();
            if argv.is_empty() {
                return Err(format!("--function {text}: the command is empty"));
            }
            FunctionTarget::Command { argv, dir: None }
        } else {
            let (language, path) = match target.split_once(':') {
                Some(("node", path)) => (Language::Node, path),
                Some(("python", path)) => (Language::Python, path),
                _ => return Err(format!(
                    "--function {text}: TARGET is http(s)://URL, exec:COMMAND, node:DIR/module.export or python:DIR/module.function"
                )),
            };
            let path = PathBuf::from(path);
            let handler = path
                .file_name()
                .and_then(|h| h.to_str())
                .filter(|h| h.contains('.'))
                .ok_or_else(|| format!("--function {text}: the path must end in module.export"))?
                .to_string();
            let dir = path.parent().map(PathBuf::from).unwrap_or_default();
            FunctionTarget::Module {
                language,
                dir,
                handler,
            }
        };
        Ok(DeclaredFunction {
            name: name.into(),
            target,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            environment: BTreeMap::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_flags_name_urls_commands_and_modules() {
        let f = DeclaredFunction::parse_flag("a=http://127.0.0.1:9/x").unwrap();
        assert_eq!(
            f.target,
            FunctionTarget::Url {
                url: "http://127.0.0.1:9/x".into()
            }
        );
        let f = DeclaredFunction::parse_flag("b=exec:python3 h.py").unwrap();
        assert_eq!(
            f.target,
            FunctionTarget::Command {
                argv: vec!["python3".into(), "h.py".into()],
                dir: None
            }
        );
        let f = DeclaredFunction::parse_flag("c=node:/srv/fn/index.handler").unwrap();
        assert_eq!(
            f.target,
            FunctionTarget::Module {
                language: Language::Node,
                dir: "/srv/fn".into(),
                handler: "index.handler".into()
            }
        );
        assert!(DeclaredFunction::parse_flag("d").is_err());
        assert!(DeclaredFunction::parse_flag("d=ruby:/x/y.z").is_err());
        assert!(DeclaredFunction::parse_flag("d=node:/x/noexport").is_err());
    }
}
