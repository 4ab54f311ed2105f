//! The sandbox's certificate authority and serving certificate (for 127.0.0.1, ::1 and
//! localhost), generated at start or loaded from the data directory.

use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::SandboxError;

/// PEM-encoded CA certificate plus the serving certificate and key.
#[derive(Clone)]
pub struct TlsMaterial {
    /// CA certificate (PEM), for kubeconfigs.
    pub ca_pem: String,
    /// Serving certificate (PEM).
    pub cert_pem: String,
    /// Serving key (PEM, PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

fn gen_err(e: rcgen::Error) -> SandboxError {
    SandboxError::Tls(e.to_string())
}

impl TlsMaterial {
    /// Generates a fresh CA and a serving certificate signed by it.
    pub fn generate() -> Result<TlsMaterial, SandboxError> {
        let ca_key = KeyPair::generate().map_err(gen_err)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(gen_err)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ferrocd-sandbox-ca");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(gen_err)?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let key = KeyPair::generate().map_err(gen_err)?;
        let mut params = CertificateParams::new(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
            "kubernetes.default.svc".to_string(),
        ])
        .map_err(gen_err)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "ferrocd-sandbox");
        let cert = params.signed_by(&key, &issuer).map_err(gen_err)?;
        Ok(TlsMaterial {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Loads the material from `dir` if present, else generates and saves it there.
    pub fn load_or_generate(dir: &Path) -> Result<TlsMaterial, SandboxError> {
        let (ca, cert, key) = (dir.join("ca.crt"), dir.join("tls.crt"), dir.join("tls.key"));
        if ca.exists() && cert.exists() && key.exists() {
            let read = |p: &Path| {
                std::fs::read_to_string(p).map_err(|source| SandboxError::Io {
                    path: p.to_path_buf(),
                    source,
                })
            };
            return Ok(TlsMaterial {
                ca_pem: read(&ca)?,
                cert_pem: read(&cert)?,
                key_pem: read(&key)?,
            });
        }
        let m = TlsMaterial::generate()?;
        crate::persist::write_atomic(&ca, m.ca_pem.as_bytes())?;
        crate::persist::write_atomic(&cert, m.cert_pem.as_bytes())?;
        crate::persist::write_atomic(&key, m.key_pem.as_bytes())?;
        Ok(m)
    }

    /// A rustls server configuration (HTTP/1.1 over ALPN).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, SandboxError> {
        let certs = pem_blocks(&self.cert_pem, "CERTIFICATE")
            .into_iter()
            .map(CertificateDer::from)
            .collect::<Vec<_>>();
        let key = pem_blocks(&self.key_pem, "PRIVATE KEY")
            .into_iter()
            .next()
            .ok_or_else(|| SandboxError::Tls("no private key in the serving key PEM".into()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| SandboxError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)))
            .map_err(|e| SandboxError::Tls(e.to_string()))?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }
}

/// Decodes the PEM blocks with the given label.
fn pem_blocks(pem: &str, label: &str) -> Vec<Vec<u8>> {
    use base64::Engine;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let Some(stop) = after.find(&end) else { break };
        let b64: String = after[..stop]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(b64) {
            out.push(der);
        }
        rest = &after[stop + end.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_material_builds_a_server_config() {
        let m = TlsMaterial::generate().expect("generate");
        assert!(m.ca_pem.contains("BEGIN CERTIFICATE"));
        assert_eq!(pem_blocks(&m.cert_pem, "CERTIFICATE").len(), 1);
        let cfg = m.server_config().expect("config");
        assert_eq!(cfg.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}
