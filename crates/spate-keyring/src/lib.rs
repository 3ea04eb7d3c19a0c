//! Encryption at rest for streams with server-side encryption (StartStreamEncryption).
//!
//! * The **master key** (256 bits, from a file or the environment) only wraps data keys; it never
//!   touches a record, so the data directory holds nothing readable without it.
//! * Each encrypted stream has **data keys** (AES-256-GCM) numbered by version; the catalog keeps
//!   them wrapped. A fresh data key is made at every server start and every StartStreamEncryption,
//!   and only a fresh key seals: its nonces are a random 32-bit prefix and a 64-bit counter, so a
//!   nonce never repeats under one key (random 96-bit nonces would start to risk that after 2^32
//!   records, which a busy server writes in an hour).
//! * A **sealed record** is `version u32 | nonce 12 | ciphertext | tag 16`; the plaintext is
//!   `key length u16 | partition key | data`, so the partition key is encrypted too. Associated
//!   data (the stream's identity) binds the envelope to its stream.
//! * **KMS key ids** in every AWS form (key id, key ARN, alias name, alias ARN) reduce to one
//!   canonical id, looked up among the keys the server knows.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

pub const KEY_BYTES: usize = 32;
pub const NONCE_BYTES: usize = 12;
pub const TAG_BYTES: usize = 16;
/// Bytes a sealed record adds to its partition key and data.
pub const ENVELOPE_OVERHEAD: usize = 4 + NONCE_BYTES + TAG_BYTES + 2;

/// The AWS-managed key every account has.
pub const AWS_MANAGED_KEY: &str = "alias/aws/kinesis";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("a wrapped data key does not open with this master key (is it the right master key?)")]
    Unwrap,
    #[error("a sealed record is damaged or was sealed with another key")]
    Open,
    #[error("this data key only opens records; a fresh key must seal")]
    NotSealing,
    #[error("no randomness available: {0}")]
    Random(String),
}

fn random<const N: usize>() -> Result<[u8; N], KeyringError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| KeyringError::Random(e.to_string()))?;
    Ok(bytes)
}

fn cipher(key: &[u8; KEY_BYTES]) -> Aes256Gcm {
    // A 32-byte slice is always a valid AES-256 key.
    Aes256Gcm::new(key.into())
}

/// The key that wraps data keys.
pub struct MasterKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; KEY_BYTES]) -> MasterKey {
        MasterKey {
            cipher: cipher(bytes),
        }
    }

    /// A key given as base64 text (the key file's content, or `SPATE_MASTER_KEY`).
    pub fn from_base64(text: &str) -> Result<MasterKey, KeyringError> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|e| KeyringError::MasterKey(format!("not base64: {e}")))?;
        let bytes: [u8; KEY_BYTES] = bytes.try_into().map_err(|b: Vec<u8>| {
            KeyringError::MasterKey(format!("{} bytes, expected {KEY_BYTES}", b.len()))
        })?;
        Ok(MasterKey::from_bytes(&bytes))
    }

    /// A new random key, for in-memory servers.
    pub fn generate() -> Result<MasterKey, KeyringError> {
        Ok(MasterKey::from_bytes(&random::<KEY_BYTES>()?))
    }

    /// Reads the key file, or creates it with a new key (readable by its owner only). Returns
    /// whether it was created.
    pub fn load_or_create(path: &Path) -> Result<(MasterKey, bool), KeyringError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok((MasterKey::from_base64(&text)?, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bytes = random::<KEY_BYTES>()?;
                write_private(path, format!("{}\n", BASE64.encode(bytes)).as_bytes())
                    .map_err(|e| KeyringError::MasterKey(format!("{}: {e}", path.display())))?;
                Ok((MasterKey::from_bytes(&bytes), true))
            }
            Err(e) => Err(KeyringError::MasterKey(format!("{}: {e}", path.display()))),
        }
    }

    /// Wraps a data key; `context` (the stream and key version) must be given again to unwrap.
    pub fn wrap(
        &self,
        data_key: &[u8; KEY_BYTES],
        context: &str,
    ) -> Result<WrappedKey, KeyringError> {
        let nonce = random::<NONCE_BYTES>()?;
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: data_key,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| KeyringError::Unwrap)?;
        Ok(WrappedKey { nonce, ciphertext })
    }

    pub fn unwrap(
        &self,
        wrapped: &WrappedKey,
        context: &str,
    ) -> Result<[u8; KEY_BYTES], KeyringError> {
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(&wrapped.nonce),
                Payload {
                    msg: &wrapped.ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| KeyringError::Unwrap)?;
        plain.try_into().map_err(|_| KeyringError::Unwrap)
    }
}

/// Creates a file readable and writable by its owner only, durably.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// A data key encrypted under the master key, as the catalog stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub nonce: [u8; NONCE_BYTES],
    pub ciphertext: Vec<u8>,
}

impl WrappedKey {
    pub fn to_text(&self) -> String {
        let mut bytes = self.nonce.to_vec();
        bytes.extend_from_slice(&self.ciphertext);
        BASE64.encode(bytes)
    }

    pub fn from_text(text: &str) -> Result<WrappedKey, KeyringError> {
        let bytes = BASE64.decode(text).map_err(|_| KeyringError::Unwrap)?;
        if bytes.len() <= NONCE_BYTES {
            return Err(KeyringError::Unwrap);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        Ok(WrappedKey {
            nonce: nonce.try_into().map_err(|_| KeyringError::Unwrap)?,
            ciphertext: ciphertext.to_vec(),
        })
    }
}

/// A stream's data key of one version.
pub struct DataKey {
    version: u32,
    cipher: Aes256Gcm,
    /// Present on a key made in this process: only such a key seals.
    sealing: Option<([u8; 4], AtomicU64)>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey(v{})", self.version)
    }
}

impl DataKey {
    /// A fresh key that may seal; returns its raw bytes too, for wrapping.
    pub fn generate(version: u32) -> Result<(DataKey, [u8; KEY_BYTES]), KeyringError> {
        let raw = random::<KEY_BYTES>()?;
        let key = DataKey {
            version,
            cipher: cipher(&raw),
            sealing: Some((random::<4>()?, AtomicU64::new(0))),
        };
        Ok((key, raw))
    }

    /// A key read back from the catalog: opens records, never seals.
    pub fn for_opening(raw: &[u8; KEY_BYTES], version: u32) -> DataKey {
        DataKey {
            version,
            cipher: cipher(raw),
            sealing: None,
        }
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// Encrypts a record's partition key and data into one envelope.
    pub fn seal(
        &self,
        context: &[u8],
        partition_key: &str,
        data: &[u8],
    ) -> Result<Vec<u8>, KeyringError> {
        let (prefix, counter) = self.sealing.as_ref().ok_or(KeyringError::NotSealing)?;
        let mut nonce = [0u8; NONCE_BYTES];
        nonce[..4].copy_from_slice(prefix);
        nonce[4..].copy_from_slice(&counter.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        let key = partition_key.as_bytes();
        let mut plain = Vec::with_capacity(2 + key.len() + data.len());
        plain.extend_from_slice(&(key.len() as u16).to_be_bytes());
        plain.extend_from_slice(key);
        plain.extend_from_slice(data);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plain,
                    aad: context,
                },
            )
            .map_err(|_| KeyringError::Open)?;
        let mut envelope = Vec::with_capacity(4 + NONCE_BYTES + sealed.len());
        envelope.extend_from_slice(&self.version.to_be_bytes());
        envelope.extend_from_slice(&nonce);
        envelope.extend_from_slice(&sealed);
        Ok(envelope)
    }

    /// Decrypts an envelope sealed with this key: (partition key, data).
    pub fn open(&self, context: &[u8], envelope: &[u8]) -> Result<(String, Vec<u8>), KeyringError> {
        if envelope_version(envelope) != Some(self.version)
            || envelope.len() < 4 + NONCE_BYTES + TAG_BYTES
        {
            return Err(KeyringError::Open);
        }
        let nonce = &envelope[4..4 + NONCE_BYTES];
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: &envelope[4 + NONCE_BYTES..],
                    aad: context,
                },
            )
            .map_err(|_| KeyringError::Open)?;
        if plain.len() < 2 {
            return Err(KeyringError::Open);
        }
        let key_len = u16::from_be_bytes([plain[0], plain[1]]) as usize;
        if plain.len() < 2 + key_len {
            return Err(KeyringError::Open);
        }
        let key =
            String::from_utf8(plain[2..2 + key_len].to_vec()).map_err(|_| KeyringError::Open)?;
        Ok((key, plain[2 + key_len..].to_vec()))
    }
}

/// The data key version an envelope names.
pub fn envelope_version(envelope: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(envelope.get(..4)?.try_into().ok()?))
}

/// A KMS key id in any AWS form, reduced to `GUID` or `alias/NAME`; `None` if it is no key id.
pub fn canonical_kms_key(id: &str) -> Option<String> {
    let resource = if let Some(rest) = id.strip_prefix("arn:") {
        // arn:PARTITION:kms:REGION:ACCOUNT:RESOURCE
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        match parts.as_slice() {
            [partition, "kms", region, account, resource]
                if partition.starts_with("aws")
                    && !region.is_empty()
                    && account.len() == 12
                    && account.bytes().all(|b| b.is_ascii_digit()) =>
            {
                match resource.strip_prefix("key/") {
                    Some(key) if is_key_guid(key) => return Some(key.to_ascii_lowercase()),
                    Some(_) => return None,
                    None => *resource,
                }
            }
            _ => return None,
        }
    } else {
        id
    };
    if let Some(name) = resource.strip_prefix("alias/") {
        let ok = !name.is_empty()
            && name.len() <= 256
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b));
        return ok.then(|| resource.to_string());
    }
    is_key_guid(resource).then(|| resource.to_ascii_lowercase())
}

fn is_key_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_records_open_only_with_their_key_and_context() {
        let (key, raw) = DataKey::generate(3).unwrap();
        let envelope = key.seal(b"stream-a", "pk", b"secret payload").unwrap();
        assert_eq!(envelope_version(&envelope), Some(3));
        assert_eq!(envelope.len(), ENVELOPE_OVERHEAD + 2 + 14);
        assert!(!envelope.windows(6).any(|w| w == b"secret"));
        let reopened = DataKey::for_opening(&raw, 3);
        assert_eq!(
            reopened.open(b"stream-a", &envelope).unwrap(),
            ("pk".to_string(), b"secret payload".to_vec())
        );
        assert!(reopened.open(b"stream-b", &envelope).is_err());
        let mut flipped = envelope.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(reopened.open(b"stream-a", &flipped).is_err());
        assert!(matches!(
            reopened.seal(b"stream-a", "pk", b"x"),
            Err(KeyringError::NotSealing)
        ));
    }

    #[test]
    fn nonces_never_repeat_under_one_key() {
        let (key, _) = DataKey::generate(1).unwrap();
        let a = key.seal(b"s", "k", b"same").unwrap();
        let b = key.seal(b"s", "k", b"same").unwrap();
        assert_ne!(a[4..16], b[4..16]);
        assert_ne!(a, b);
    }

    #[test]
    fn data_keys_wrap_under_the_master_key() {
        let master = MasterKey::generate().unwrap();
        let (_, raw) = DataKey::generate(1).unwrap();
        let wrapped = master.wrap(&raw, "orders/1").unwrap();
        let text = wrapped.to_text();
        let back = WrappedKey::from_text(&text).unwrap();
        assert_eq!(master.unwrap(&back, "orders/1").unwrap(), raw);
        assert!(master.unwrap(&back, "orders/2").is_err());
        assert!(MasterKey::generate()
            .unwrap()
            .unwrap(&back, "orders/1")
            .is_err());
    }

    #[test]
    fn master_key_file_is_created_once() {
        let dir = std::env::temp_dir().join(format!("spate-keyring-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("master.key");
        let _ = std::fs::remove_file(&path);
        let (first, created) = MasterKey::load_or_create(&path).unwrap();
        assert!(created);
        let wrapped = first.wrap(&[9u8; KEY_BYTES], "c").unwrap();
        let (second, created) = MasterKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(second.unwrap(&wrapped, "c").unwrap(), [9u8; KEY_BYTES]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn kms_key_ids_in_every_form() {
        let guid = "1234abcd-12ab-34cd-56ef-1234567890ab";
        let arn = format!("arn:aws:kms:us-east-1:123456789012:key/{guid}");
        assert_eq!(canonical_kms_key(guid).as_deref(), Some(guid));
        assert_eq!(canonical_kms_key(&arn).as_deref(), Some(guid));
        assert_eq!(
            canonical_kms_key("alias/MyKey").as_deref(),
            Some("alias/MyKey")
        );
        assert_eq!(
            canonical_kms_key("arn:aws:kms:us-east-1:123456789012:alias/MyKey").as_deref(),
            Some("alias/MyKey")
        );
        assert_eq!(
            canonical_kms_key(AWS_MANAGED_KEY).as_deref(),
            Some(AWS_MANAGED_KEY)
        );
        for bad in ["", "not-a-key", "arn:aws:kms:us-east-1:1:key/x", "alias/"] {
            assert_eq!(canonical_kms_key(bad), None, "{bad}");
        }
    }
}
