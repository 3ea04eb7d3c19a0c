//! `spate cert generate`: a development certificate authority and a server certificate it
//! signed, for `--tls-cert`/`--tls-key`. Clients trust the authority (`ca.pem`), never the
//! server certificate itself, as with mkcert: rustls and other WebPKI verifiers refuse a
//! self-signed leaf used as its own trust anchor.

use clap::{Args, Subcommand};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum CertCommand {
    /// Write ca.pem, ca-key.pem, cert.pem and key.pem for local TLS.
    Generate(GenerateArgs),
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Where the four files go (created if missing; existing files are replaced).
    #[arg(long, default_value = "spate-tls")]
    pub dir: PathBuf,
    /// Host names and IP addresses the server certificate is valid for, besides localhost,
    /// 127.0.0.1 and ::1 (repeatable).
    #[arg(long = "name")]
    pub names: Vec<String>,
    /// How long both certificates are valid, in days.
    #[arg(long, default_value_t = 365)]
    pub days: u16,
}

pub fn run(command: CertCommand) -> Result<(), String> {
    match command {
        CertCommand::Generate(args) => generate(&args),
    }
}

fn generate(args: &GenerateArgs) -> Result<(), String> {
    let fail = |e: rcgen::Error| format!("generating the certificates: {e}");

    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "Spate development CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    set_validity(&mut ca, args.days)?;
    let ca_key = KeyPair::generate().map_err(fail)?;
    let ca_key_pem = ca_key.serialize_pem();
    let authority = CertifiedIssuer::self_signed(ca, ca_key).map_err(fail)?;

    let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    names.extend(args.names.iter().cloned());
    let mut server = CertificateParams::new(names).map_err(fail)?;
    server
        .distinguished_name
        .push(DnType::CommonName, "Spate server");
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    set_validity(&mut server, args.days)?;
    let server_key = KeyPair::generate().map_err(fail)?;
    let certificate = server.signed_by(&server_key, &authority).map_err(fail)?;

    std::fs::create_dir_all(&args.dir).map_err(|e| format!("{}: {e}", args.dir.display()))?;
    write(&args.dir, "ca.pem", &authority.pem(), false)?;
    write(&args.dir, "ca-key.pem", &ca_key_pem, true)?;
    // The chain a server presents: leaf, then the authority (clients that trust the authority
    // find it either way).
    let chain = format!("{}{}", certificate.pem(), authority.pem());
    write(&args.dir, "cert.pem", &chain, false)?;
    write(&args.dir, "key.pem", &server_key.serialize_pem(), true)?;
    print_instructions(&args.dir);
    Ok(())
}

/// Valid from a day ago (clocks differ) to `days` from now.
fn set_validity(params: &mut CertificateParams, days: u16) -> Result<(), String> {
    let day = |offset: i64| -> Result<jiff::civil::Date, String> {
        Ok(jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_hours(offset * 24))
            .map_err(|e| e.to_string())?
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date())
    };
    let (from, to) = (day(-1)?, day(i64::from(days.max(1)))?);
    let ymd = |d: jiff::civil::Date| {
        rcgen::date_time_ymd(i32::from(d.year()), d.month() as u8, d.day() as u8)
    };
    params.not_before = ymd(from);
    params.not_after = ymd(to);
    Ok(())
}

fn write(dir: &Path, name: &str, text: &str, secret: bool) -> Result<(), String> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    Ok(())
}

fn print_instructions(dir: &Path) {
    let d = dir.display();
    println!(
        "wrote {d}/ca.pem, {d}/ca-key.pem, {d}/cert.pem, {d}/key.pem

serve:   spate serve --tls-cert {d}/cert.pem --tls-key {d}/key.pem
trust the authority, not the server certificate:
  AWS CLI / boto3:   export AWS_CA_BUNDLE={d}/ca.pem
  Node (JS SDK v3):  export NODE_EXTRA_CA_CERTS={d}/ca.pem
  Rust SDK:          add {d}/ca.pem to the HTTP client's trust store
  whole system (Debian/Ubuntu):
                     cp {d}/ca.pem /usr/local/share/ca-certificates/spate-dev-ca.crt && update-ca-certificates
keep ca-key.pem private: whoever holds it can impersonate any server to this machine."
    );
}
