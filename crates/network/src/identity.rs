//! Who is who: TLS configurations from the parties file, and the name a
//! verified peer certificate belongs to. Every connection is TLS 1.3 with
//! certificates on both sides, chained to the file's single CA; the dialer
//! checks the listener's certificate against the party it meant to reach,
//! and the listener checks the dialer's against the names the file lists.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::config::Config;
use crate::error::{NetworkError, Result};

/// One party's or operator's TLS configurations.
#[derive(Clone)]
pub struct Identity {
    /// Its name (the certificate's DNS name).
    pub name: String,
    /// For accepting connections (peers' certificates required).
    pub server: Arc<ServerConfig>,
    /// For dialing (presents its own certificate).
    pub client: Arc<ClientConfig>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.name)
    }
}

/// TLS 1.3 with AES-128-GCM only: 128-bit security, as the protocols', and
/// a third cheaper per byte than AES-256 (gigabytes of producer material).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: vec![rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256],
        ..rustls::crypto::ring::default_provider()
    })
}

fn tls_error(path: &Path, error: impl std::fmt::Display) -> NetworkError {
    NetworkError::Tls(format!("{}: {error}", path.display()))
}

/// The certificates in a PEM file (a chain: the party's first).
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| tls_error(path, e))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| tls_error(path, e))?;
    if certificates.is_empty() {
        return Err(tls_error(path, "no certificate in the file"));
    }
    Ok(certificates)
}

impl Identity {
    /// The TLS identity of party or operator `name` in `config`.
    pub fn load(config: &Config, name: &str) -> Result<Identity> {
        let (certificate_path, key_path) = config.credentials(name)?;
        let chain = read_certificates(&certificate_path)?;
        let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| tls_error(&key_path, e))?;
        let mut roots = RootCertStore::empty();
        for ca in read_certificates(&config.ca)? {
            roots.add(ca).map_err(|e| tls_error(&config.ca, e))?;
        }
        let roots = Arc::new(roots);
        // The party's own certificate must be valid for its name under the
        // CA, or every peer would refuse it: say so now, not at connection.
        check_own_certificate(&roots, &chain, name).map_err(|e| tls_error(&certificate_path, e))?;
        let versions = &[&rustls::version::TLS13];
        let client_verifier = WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), provider())
            .build()
            .map_err(|e| NetworkError::Tls(e.to_string()))?;
        let mut server = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .map_err(|e| NetworkError::Tls(e.to_string()))?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(|e| tls_error(&key_path, e))?;
        // Connections are long-lived and never resumed.
        server.send_tls13_tickets = 0;
        let client = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .map_err(|e| NetworkError::Tls(e.to_string()))?
            .with_root_certificates(Arc::clone(&roots))
            .with_client_auth_cert(chain, key)
            .map_err(|e| tls_error(&key_path, e))?;
        Ok(Identity { name: name.to_string(), server: Arc::new(server), client: Arc::new(client) })
    }
}

/// Checks that `chain` chains to `roots` and names `name`.
fn check_own_certificate(
    roots: &Arc<RootCertStore>,
    chain: &[CertificateDer<'static>],
    name: &str,
) -> std::result::Result<(), String> {
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::clone(roots), provider())
        .build()
        .map_err(|e| e.to_string())?;
    let server_name = ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
    verifier
        .verify_server_cert(&chain[0], &chain[1..], &server_name, &[], rustls::pki_types::UnixTime::now())
        .map(|_| ())
        .map_err(|e| format!("the certificate is not valid for '{name}' under the CA: {e}"))
}

/// The name among `names` that a (CA-verified) peer certificate is valid
/// for, if any.
pub fn certificate_name<'n>(
    certificate: &CertificateDer<'_>,
    names: impl IntoIterator<Item = &'n String>,
) -> Option<String> {
    let certificate = webpki::EndEntityCert::try_from(certificate).ok()?;
    names.into_iter().find_map(|name| {
        let server_name = ServerName::try_from(name.as_str()).ok()?;
        certificate.verify_is_valid_for_subject_name(&server_name).ok().map(|_| name.clone())
    })
}
