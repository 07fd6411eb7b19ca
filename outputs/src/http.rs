//! Falco's `http_output`: every alert POSTed as JSON (what falcosidekick
//! and every collector Ferret targets read; Falco posts text when
//! `json_output` is false, Ferret always JSON) over HTTP or HTTPS, with
//! Falco's TLS settings (`insecure`, `ca_cert`/`ca_bundle`, `ca_path`,
//! `mtls` with `client_cert`/`client_key`), `compress_uploads` (gzip),
//! `keep_alive` and `user_agent`. Each request is bounded by the output
//! timeout; 5xx, 408, 429 and connection failures are retried, other 4xx
//! are not. The HTTP client is ureq with rustls.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};

use crate::queue::{Failure, Payload, Transport};
use crate::SinkError;

/// `http_output` settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpConfig {
    /// `http://` or `https://` URL.
    pub url: String,
    /// `User-Agent` (Falco's default `falcosecurity/falco`).
    pub user_agent: Option<String>,
    /// Do not verify the server's certificate.
    pub insecure: bool,
    /// CA certificate file (`ca_cert`, or the bundle `ca_bundle`).
    pub ca_cert: Option<PathBuf>,
    /// Directory of CA certificates (`ca_path`).
    pub ca_path: Option<PathBuf>,
    /// Send a client certificate (`mtls`).
    pub mtls: bool,
    /// Client certificate (PEM).
    pub client_cert: Option<PathBuf>,
    /// Client key (PEM).
    pub client_key: Option<PathBuf>,
    /// Gzip request bodies (`compress_uploads`).
    pub compress_uploads: bool,
    /// Reuse connections (`keep_alive`).
    pub keep_alive: bool,
}

/// Posts alerts to a URL.
pub struct HttpTransport {
    url: String,
    agent: ureq::Agent,
    compress: bool,
}

fn config_err(what: &Path, reason: impl std::fmt::Display) -> SinkError {
    SinkError::Config {
        url: what.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Every certificate in a PEM file.
fn certs_in(path: &Path) -> Result<Vec<Certificate<'static>>, SinkError> {
    let pem = std::fs::read(path).map_err(|e| config_err(path, e))?;
    let mut out = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let PemItem::Certificate(c) = item.map_err(|e| config_err(path, e))? {
            out.push(c);
        }
    }
    if out.is_empty() {
        return Err(config_err(path, "no PEM certificate in the file"));
    }
    Ok(out)
}

/// Checks that rustls accepts the client certificate and key, given as
/// PEM (ureq would only find out at the first connection, and panic).
fn check_client_cert(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| e.to_string())?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_client_auth_cert(certs, key)
        .map(|_| ())
        .map_err(|e| format!("the client certificate or key is not usable: {e}"))
}

impl HttpTransport {
    /// Checks the settings and reads the certificates; `timeout` bounds
    /// each request (connection included).
    pub fn new(cfg: &HttpConfig, timeout: Duration) -> Result<HttpTransport, SinkError> {
        let bad = |reason: &str| SinkError::Config {
            url: cfg.url.clone(),
            reason: reason.into(),
        };
        let rest = cfg
            .url
            .strip_prefix("http://")
            .or_else(|| cfg.url.strip_prefix("https://"))
            .ok_or_else(|| bad("only http:// and https:// URLs are supported"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(bad("missing host"));
        }
        let mut tls = TlsConfig::builder().disable_verification(cfg.insecure);
        let mut roots = Vec::new();
        if let Some(p) = &cfg.ca_cert {
            roots.extend(certs_in(p)?);
        }
        if let Some(dir) = &cfg.ca_path {
            let entries = std::fs::read_dir(dir).map_err(|e| config_err(dir, e))?;
            let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            files.sort();
            for f in files.iter().filter(|f| f.is_file()) {
                // Other files (hash links' targets, READMEs) are skipped.
                if let Ok(c) = certs_in(f) {
                    roots.extend(c);
                }
            }
        }
        if !roots.is_empty() {
            tls = tls.root_certs(RootCerts::new_with_certs(&roots));
        }
        if cfg.mtls {
            let (Some(cert), Some(key)) = (&cfg.client_cert, &cfg.client_key) else {
                return Err(bad("mtls needs client_cert and client_key"));
            };
            let chain = certs_in(cert)?;
            let pem = std::fs::read(key).map_err(|e| config_err(key, e))?;
            let parsed = PrivateKey::from_pem(&pem).map_err(|e| config_err(key, e))?;
            let cert_pem = std::fs::read(cert).map_err(|e| config_err(cert, e))?;
            check_client_cert(&cert_pem, &pem).map_err(|e| config_err(cert, e))?;
            tls = tls.client_cert(Some(ClientCert::new_with_certs(&chain, parsed)));
        }
        let mut agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout))
            .user_agent(
                cfg.user_agent
                    .clone()
                    .unwrap_or_else(|| concat!("ferret/", env!("CARGO_PKG_VERSION")).into()),
            )
            .tls_config(tls.build());
        if !cfg.keep_alive {
            agent = agent
                .max_idle_connections(0)
                .max_idle_connections_per_host(0);
        }
        Ok(HttpTransport {
            url: cfg.url.clone(),
            agent: agent.build().into(),
            compress: cfg.compress_uploads,
        })
    }
}

impl Transport for HttpTransport {
    fn deliver(&mut self, p: &Payload) -> Result<(), Failure> {
        let req = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json");
        let res = if self.compress {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(p.json.as_bytes())
                .map_err(|e| Failure::Permanent(e.to_string()))?;
            let body = gz.finish().map_err(|e| Failure::Permanent(e.to_string()))?;
            req.header("Content-Encoding", "gzip").send(&body[..])
        } else {
            req.send(p.json.as_bytes())
        };
        match res {
            Ok(r) => {
                let code = r.status().as_u16();
                match code {
                    200..=299 => Ok(()),
                    408 | 429 | 500..=599 => Err(Failure::Retry(format!("HTTP status {code}"))),
                    _ => Err(Failure::Permanent(format!("HTTP status {code}"))),
                }
            }
            Err(ureq::Error::Timeout(t)) => Err(Failure::Timeout(format!("timed out ({t})"))),
            Err(ureq::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) =>
            {
                Err(Failure::Timeout(format!("timed out ({e})")))
            }
            Err(e @ (ureq::Error::BadUri(_) | ureq::Error::Http(_))) => {
                Err(Failure::Permanent(e.to_string()))
            }
            Err(e) => Err(Failure::Retry(e.to_string())),
        }
    }
}
