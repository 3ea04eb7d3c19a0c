//! TLS on the front door: rustls with the `ring` provider, HTTP/2 and HTTP/1.1 offered by ALPN
//! on the same port, and a certificate that can be replaced while the server runs (SIGHUP reads
//! the files again; connections already open keep the certificate they were made with).

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The certificate chain and key files, and what was last read from them.
#[derive(Debug)]
pub struct TlsFiles {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

impl TlsFiles {
    /// Reads both files now; a missing, unreadable or mismatched pair stops the start.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<TlsFiles, String> {
        let key = read_pair(cert_path, key_path)?;
        Ok(TlsFiles {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            current: RwLock::new(Arc::new(key)),
        })
    }

    /// Reads the files again and, if they hold a valid pair, serves new connections with it.
    /// A bad pair changes nothing (the error says why).
    pub fn reload(&self) -> Result<(), String> {
        let fresh = Arc::new(read_pair(&self.cert_path, &self.key_path)?);
        match self.current.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }

    fn certified_key(&self) -> Arc<CertifiedKey> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The acceptor for the listener: TLS 1.2 and 1.3, `h2` preferred over `http/1.1`.
    pub fn acceptor(self: &Arc<Self>) -> Result<tokio_rustls::TlsAcceptor, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Resolver(self.clone())));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

#[derive(Debug)]
struct Resolver(Arc<TlsFiles>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.certified_key())
    }
}

/// A PEM certificate chain (leaf first) and its PEM private key (PKCS#8, PKCS#1 or SEC1).
fn read_pair(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| format!("--tls-cert {}: {e}", cert_path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--tls-cert {}: {e}", cert_path.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "--tls-cert {}: no PEM certificate in the file",
            cert_path.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| format!("--tls-key {}: {e}", key_path.display()))?;
    let provider = rustls::crypto::ring::default_provider();
    let certified = CertifiedKey::from_der(chain, key, &provider)
        .map_err(|e| format!("--tls-cert/--tls-key: {e}"))?;
    Ok(certified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_mismatched_pair_is_refused_and_reload_keeps_the_last_good_one() {
        let dir = std::env::temp_dir().join(format!("spate-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let err = TlsFiles::load(&cert, &key).unwrap_err();
        assert!(err.starts_with("--tls-cert"), "{err}");

        let one = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let two = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(&cert, one.cert.pem()).unwrap();
        std::fs::write(&key, two.signing_key.serialize_pem()).unwrap();
        let err = TlsFiles::load(&cert, &key).unwrap_err();
        assert!(err.contains("--tls-cert/--tls-key"), "{err}");

        std::fs::write(&key, one.signing_key.serialize_pem()).unwrap();
        let files = TlsFiles::load(&cert, &key).unwrap();
        let served = files.certified_key().cert[0].clone();
        assert_eq!(served.as_ref(), one.cert.der().as_ref());

        std::fs::write(&cert, "not a certificate").unwrap();
        assert!(files.reload().is_err());
        assert_eq!(
            files.certified_key().cert[0],
            served,
            "the last good pair stays"
        );

        std::fs::write(&cert, two.cert.pem()).unwrap();
        std::fs::write(&key, two.signing_key.serialize_pem()).unwrap();
        files.reload().unwrap();
        assert_eq!(
            files.certified_key().cert[0].as_ref(),
            two.cert.der().as_ref()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
