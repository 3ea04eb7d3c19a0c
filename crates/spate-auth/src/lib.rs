//! Authentication for every service on Spate's port: AWS Signature Version 4, verified.
//!
//! * [`credentials`]: the access keys Spate accepts (`--credentials-file`, TOML), each naming a
//!   principal, an optional session token and identity policy;
//! * [`canonical`]: the canonical request and string to sign, built as the SDKs build them
//!   (path segments encoded again, as every AWS SDK does for services other than S3);
//! * [`verify`]: the checks AWS makes, in its order, with its exception names and wording.
//!
//! Spate builds its own verifier on the published algorithm rather than on `aws-sigv4`: that
//! crate signs outgoing requests from an `http::Request` and would need a request rebuilt from
//! what the front door already has, plus the AWS SDK's runtime crates on the server side, for
//! the same hundred lines of canonicalisation.

pub mod canonical;
pub mod credentials;
pub mod policy;
pub mod verify;

pub use credentials::{Credential, CredentialStore, Credentials};
pub use verify::{verify, AuthError, SignedRequest};
