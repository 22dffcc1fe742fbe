//! TLS trust roots without Apple frameworks: Mozilla's bundle (webpki-roots), the
//! OS store where reading it is pure Rust (Linux, Windows), and PEM files named by
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` everywhere (macOS included).

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Every extra root certificate: the OS store (not on Apple) and SSL_CERT_FILE/DIR.
/// Read once per process: the OS store is a few hundred files.
pub fn extra_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: std::sync::OnceLock<Vec<CertificateDer<'static>>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(read_extra_roots)
}

fn read_extra_roots() -> Vec<CertificateDer<'static>> {
    let mut out = Vec::new();
    #[cfg(not(target_vendor = "apple"))]
    {
        // Also honours SSL_CERT_FILE / SSL_CERT_DIR itself.
        out.extend(rustls_native_certs::load_native_certs().certs);
    }
    #[cfg(target_vendor = "apple")]
    {
        if let Some(file) = std::env::var_os("SSL_CERT_FILE") {
            out.extend(pem_file(std::path::Path::new(&file)));
        }
        if let Some(dirs) = std::env::var_os("SSL_CERT_DIR") {
            for dir in std::env::split_paths(&dirs) {
                if let Ok(entries) = std::fs::read_dir(&dir) {
                    for e in entries.flatten() {
                        out.extend(pem_file(&e.path()));
                    }
                }
            }
        }
    }
    out
}

#[cfg(target_vendor = "apple")]
fn pem_file(path: &std::path::Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path)
        .map(|it| it.filter_map(|c| c.ok()).collect())
        .unwrap_or_default()
}

/// `ca_pem` (a private CA) replaces the defaults, as before.
pub fn client_config(ca_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("bad CA PEM: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("bad CA certificate: {e}"))?;
            }
        }
        None => {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            roots.add_parsable_certificates(extra_roots().iter().cloned());
        }
    }
    install_crypto_provider();
    Ok(Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

/// rustls needs one process-wide crypto provider, for `rediss://` here and for
/// downloads (reqwest is built without a provider of its own). Installing it
/// explicitly keeps TLS working whatever other crates enable. It is *ring*: about
/// half the size of aws-lc, which matters because the whole addon is loaded on
/// every `require` (and ring builds for more targets without their C toolchains).
pub(crate) fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // An error only means a provider is already installed, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
