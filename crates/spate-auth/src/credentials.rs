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

/// The credentials in force, replaced whole when their file is read again (SIGHUP): a request
/// is verified against one consistent set, and a file that no longer parses changes nothing.
#[derive(Debug)]
pub struct CredentialStore {
    path: Option<std::path::PathBuf>,
    current: std::sync::RwLock<std::sync::Arc<Credentials>>,
}

impl CredentialStore {
    /// Reads `path` now; [`CredentialStore::reload`] reads it again.
    pub fn load(path: &std::path::Path) -> Result<CredentialStore, String> {
        Ok(CredentialStore {
            current: std::sync::RwLock::new(std::sync::Arc::new(Credentials::load(path)?)),
            path: Some(path.to_path_buf()),
        })
    }

    /// A fixed set (tests, embedding): reloading keeps it.
    pub fn fixed(credentials: Credentials) -> CredentialStore {
        CredentialStore {
            current: std::sync::RwLock::new(std::sync::Arc::new(credentials)),
            path: None,
        }
    }

    pub fn current(&self) -> std::sync::Arc<Credentials> {
        // A poisoned lock still holds a complete set: it is only ever replaced whole.
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the file again and, if it parses, puts it in force; answers how many keys it holds.
    pub fn reload(&self) -> Result<usize, String> {
        let Some(path) = &self.path else {
            return Ok(self.current().len());
        };
        let fresh = std::sync::Arc::new(Credentials::load(path)?);
        let keys = fresh.len();
        match self.current.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> String {
        format!(
            "[[credentials]]\naccess_key_id = \"{id}\"\nsecret_access_key = \"s\"\nprincipal = \"arn:aws:iam::111122223333:user/u\"\n"
        )
    }

    #[test]
    fn reload_replaces_the_set_and_a_broken_file_changes_nothing() {
        let dir = std::env::temp_dir().join(format!("spate-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials.toml");
        std::fs::write(&path, key("AKIDOLD")).unwrap();
        let store = CredentialStore::load(&path).unwrap();
        assert!(store.current().get("AKIDOLD").is_some());

        std::fs::write(&path, key("AKIDNEW") + &key("AKIDTWO")).unwrap();
        assert_eq!(store.reload(), Ok(2));
        assert!(store.current().get("AKIDOLD").is_none());
        assert!(store.current().get("AKIDNEW").is_some());

        std::fs::write(&path, "[[credentials]]\naccess_key_id = ").unwrap();
        assert!(store.reload().is_err());
        assert!(
            store.current().get("AKIDNEW").is_some(),
            "the last good set stays"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
