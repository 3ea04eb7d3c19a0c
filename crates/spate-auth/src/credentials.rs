//! The access keys Spate accepts, from a TOML file:
//!
//! ```toml
//! [[credentials]]
//! access_key_id = "AKIDEXAMPLE"
//! secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
//! principal = "arn:aws:iam::000000000000:user/alice"
//! # session_token = "…"          (temporary credentials: the request must carry it)
//! # policy = '{"Version": "2012-10-17", "Statement": [...]}'
//! ```

use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;

#[derive(Clone, Deserialize)]
pub struct Credential {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub principal: String,
    #[serde(default)]
    pub session_token: Option<String>,
    /// The principal's identity policy (JSON); without one the principal may do anything.
    #[serde(default)]
    pub policy: Option<String>,
    /// `policy`, parsed at load time.
    #[serde(skip)]
    pub policy_document: Option<serde_json::Value>,
}

impl Credential {
    /// The account of the principal's ARN (`arn:aws:iam::ACCOUNT:…`).
    pub fn account(&self) -> &str {
        self.principal.split(':').nth(4).unwrap_or_default()
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // Secrets never reach logs.
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    credentials: Vec<Credential>,
}

/// Access keys by id.
#[derive(Debug, Default, Clone)]
pub struct Credentials {
    by_key: HashMap<String, Credential>,
}

impl Credentials {
    pub fn from_toml(text: &str) -> Result<Credentials, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut by_key = HashMap::new();
        for mut c in file.credentials {
            if let Some(text) = &c.policy {
                let document: serde_json::Value = serde_json::from_str(text)
                    .map_err(|e| format!("the policy of {} is not JSON: {e}", c.access_key_id))?;
                c.policy_document = Some(document);
            }
            if c.access_key_id.is_empty() || c.secret_access_key.is_empty() {
                return Err(
                    "every credential needs an access_key_id and a secret_access_key".into(),
                );
            }
            if by_key.insert(c.access_key_id.clone(), c).is_some() {
                return Err("an access_key_id appears twice".into());
            }
        }
        if by_key.is_empty() {
            return Err("the file names no [[credentials]]".into());
        }
        Ok(Credentials { by_key })
    }

    pub fn load(path: &std::path::Path) -> Result<Credentials, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Credentials::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn get(&self, access_key_id: &str) -> Option<&Credential> {
        self.by_key.get(access_key_id)
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}
