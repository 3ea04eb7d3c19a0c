//! Trust for every connection Spate makes (HTTP endpoint destinations, S3, function URLs): the
//! system's root certificates plus, with `--ca-bundle FILE`, the certificates of a PEM bundle, as
//! the AWS CLI's `--ca-bundle` / `AWS_CA_BUNDLE` add a private authority. One rustls
//! configuration (the `ring` provider, TLS 1.2 and 1.3) for all of them.

use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::Path;
use std::sync::Arc;

/// A connector for `http://` and `https://` URLs (see [`Trust::connector`]).
pub type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// The authorities outgoing TLS connections accept.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// The bundle's PEM text, as read (the AWS SDK's trust store takes PEM).
    bundle_pem: Option<Arc<Vec<u8>>>,
}

impl Trust {
    /// The system's roots only.
    pub fn system() -> Trust {
        Trust::default()
    }

    /// The system's roots and every certificate of the PEM file at `path`; a file that cannot be
    /// read or holds no certificate is an error (a typo must not silently mean "system only").
    pub fn with_bundle(path: &Path) -> Result<Trust, String> {
        let pem =
            std::fs::read(path).map_err(|e| format!("--ca-bundle {}: {e}", path.display()))?;
        let count = certificates(&pem)
            .map_err(|e| format!("--ca-bundle {}: {e}", path.display()))?
            .len();
        if count == 0 {
            return Err(format!(
                "--ca-bundle {}: no PEM certificate in the file",
                path.display()
            ));
        }
        Ok(Trust {
            bundle_pem: Some(Arc::new(pem)),
        })
    }

    /// The bundle's PEM text, if one was given.
    pub fn bundle_pem(&self) -> Option<&[u8]> {
        self.bundle_pem.as_deref().map(Vec::as_slice)
    }

    /// A rustls client configuration trusting the system's roots and the bundle. System roots
    /// that fail to load are skipped (a container may have none); the bundle's never are.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, String> {
        let mut roots = rustls::RootCertStore::empty();
        let system = rustls_native_certs::load_native_certs();
        let (_added, _ignored) = roots.add_parsable_certificates(system.certs);
        if let Some(pem) = self.bundle_pem() {
            for certificate in certificates(pem)? {
                roots
                    .add(certificate)
                    .map_err(|e| format!("--ca-bundle: {e}"))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }

    /// A connector for `https://` URLs with this trust that also speaks plain `http://`
    /// (HTTP/1.1; callers decide whether plain URLs are allowed).
    pub fn connector(&self) -> Result<Connector, String> {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        // Requests are small and answered at once: Nagle's delay would only add latency.
        tcp.set_nodelay(true);
        Ok(hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(self.client_config()?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp))
    }
}

/// An error with its causes (`client error (Connect): invalid peer certificate: UnknownIssuer`):
/// the HTTP client's own text names only the stage that failed.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let more = e.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = e.source();
    }
    text
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_must_hold_certificates() {
        let dir = std::env::temp_dir().join(format!("spate-outbound-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ca.pem");
        assert!(Trust::with_bundle(&path)
            .unwrap_err()
            .contains("--ca-bundle"));
        std::fs::write(&path, "no certificates here").unwrap();
        let err = Trust::with_bundle(&path).unwrap_err();
        assert!(err.contains("no PEM certificate"), "{err}");

        let ca = rcgen::generate_simple_self_signed(vec!["ca".into()]).unwrap();
        std::fs::write(&path, ca.cert.pem()).unwrap();
        let trust = Trust::with_bundle(&path).unwrap();
        assert_eq!(trust.bundle_pem(), Some(ca.cert.pem().as_bytes()));
        trust.client_config().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn descriptions_name_the_causes_once() {
        let inner = std::io::Error::other("invalid peer certificate: UnknownIssuer");
        let outer = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, inner);
        assert_eq!(describe(&outer), "invalid peer certificate: UnknownIssuer");
        #[derive(Debug)]
        struct Connect(std::io::Error);
        impl std::fmt::Display for Connect {
            fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl std::error::Error for Connect {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let chained = Connect(std::io::Error::other("UnknownIssuer"));
        assert_eq!(describe(&chained), "client error (Connect): UnknownIssuer");
    }
}
