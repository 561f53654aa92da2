//! The HTTPS listener's TLS (`listen_tls`): a server certificate chain and its key, and the
//! handshake of one accepted connection. It exists so that a client configured for an https
//! gateway URL (Alipay's `https://openapi.alipay.com/gateway.do`, SDKs that dial 443 whatever
//! the URL's port) reaches hongbao unchanged: a hosts-file entry and the sandbox CA in its trust
//! store are all it takes.

use openssl::pkey::PKey;
use openssl::ssl::{Ssl, SslAcceptor, SslMethod};
use openssl::x509::X509;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

/// Why a certificate and key cannot serve TLS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// No PEM certificate in the certificate file.
    #[error("no PEM certificate (-----BEGIN CERTIFICATE-----) in the certificate file")]
    NoCertificate,
    /// The key file is not a PEM private key.
    #[error("the key file is not a PEM private key")]
    BadKey,
    /// The key is not the certificate's.
    #[error("the private key does not belong to the certificate")]
    KeyMismatch,
    /// OpenSSL refused the configuration.
    #[error("TLS set-up failed: {0}")]
    Openssl(#[from] openssl::error::ErrorStack),
}

/// A TLS server configuration: Mozilla's "intermediate" profile (TLS 1.2 and 1.3, what every
/// SDK's HTTP stack speaks), the certificate first and its chain after it.
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: Arc<SslAcceptor>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// From a PEM certificate file (the server certificate, then any intermediates) and a PEM
    /// private key (PKCS#1 or PKCS#8).
    pub fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<TlsConfig, TlsError> {
        let mut chain =
            X509::stack_from_pem(cert_chain_pem).map_err(|_| TlsError::NoCertificate)?.into_iter();
        let leaf = chain.next().ok_or(TlsError::NoCertificate)?;
        let key = PKey::private_key_from_pem(key_pem).map_err(|_| TlsError::BadKey)?;
        if !leaf.public_key()?.public_eq(&key) {
            return Err(TlsError::KeyMismatch);
        }
        let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
        builder.set_private_key(&key)?;
        builder.set_certificate(&leaf)?;
        for extra in chain {
            builder.add_extra_chain_cert(extra)?;
        }
        builder.check_private_key()?;
        Ok(TlsConfig { acceptor: Arc::new(builder.build()) })
    }

    /// The server side of the handshake on an accepted connection. The caller bounds its time
    /// (a client that connects and says nothing must not hold the connection).
    pub async fn accept(&self, stream: TcpStream) -> std::io::Result<SslStream<TcpStream>> {
        let ssl = Ssl::new(self.acceptor.context()).map_err(std::io::Error::other)?;
        let mut stream = SslStream::new(ssl, stream).map_err(std::io::Error::other)?;
        Pin::new(&mut stream).accept().await.map_err(std::io::Error::other)?;
        Ok(stream)
    }
}
