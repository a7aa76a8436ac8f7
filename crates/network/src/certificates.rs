//! `blindfold certs`: a test CA and a certificate per party and operator,
//! for trying the workers out. Production deployments use their own PKI:
//! anything that issues each party a certificate for its name under one CA.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

use crate::error::{NetworkError, Result};

fn rcgen_error(error: rcgen::Error) -> NetworkError {
    NetworkError::Tls(format!("making certificates: {error}"))
}

fn write(path: &Path, text: &str, secret: bool) -> Result<()> {
    let io = |e: std::io::Error| NetworkError::Io(format!("{}: {e}", path.display()));
    std::fs::write(path, text).map_err(io)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    Ok(())
}

/// Makes a CA named `ca_name` and, for each of `names`, a certificate valid
/// for that DNS name (server and client use) and its key, written to
/// `out` as `ca.pem`, `ca.key`, `NAME.pem`, `NAME.key`. Returns the files.
pub fn generate(names: &[String], ca_name: &str, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(|e| NetworkError::Io(format!("{}: {e}", out.display())))?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, ca_name);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().map_err(rcgen_error)?;
    let ca_key_pem = ca_key.serialize_pem();
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(rcgen_error)?;
    let mut files = vec![out.join("ca.pem"), out.join("ca.key")];
    write(&files[0], &ca.pem(), false)?;
    write(&files[1], &ca_key_pem, true)?;
    for name in names {
        let mut params = CertificateParams::new(vec![name.clone()]).map_err(rcgen_error)?;
        params.distinguished_name.push(DnType::CommonName, name.as_str());
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().map_err(rcgen_error)?;
        let certificate = params.signed_by(&key, &ca).map_err(rcgen_error)?;
        let (certificate_path, key_path) = (out.join(format!("{name}.pem")), out.join(format!("{name}.key")));
        write(&certificate_path, &certificate.pem(), false)?;
        write(&key_path, &key.serialize_pem(), true)?;
        files.extend([certificate_path, key_path]);
    }
    Ok(files)
}
