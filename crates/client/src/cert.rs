//! Certificate mode (公钥证书模式), as Alipay's Java SDK does it (`certificateExecute`): requests
//! carry `app_cert_sn` and `alipay_root_cert_sn` (signed like every parameter); every answer must
//! name the certificate whose key signed it (`alipay_cert_sn`), and an SN the client does not
//! know is fetched with `alipay.open.app.alipaycert.download`, checked against the root bundle
//! (chain and validity), and only then trusted and kept. That is how Alipay renews its
//! certificate without breaking its merchants.

use crate::error::{Error, SignatureFailure};
use hongbao_sign::{Certificate, PublicKey, RootBundle};
use std::collections::HashMap;
use std::sync::Mutex;

/// The three certificate files of certificate mode: the app's public key certificate
/// (`appCertPublicKey_<app_id>.crt`), Alipay's public key certificate
/// (`alipayCertPublicKey_RSA2.crt`) and Alipay's root bundle (`alipayRootCert.crt`).
///
/// ```
/// # use hongbao_test_support::{app_c_cert, gateway_cert, root_bundle_pem};
/// # let (app_cert_pem, alipay_cert_pem) = (app_c_cert().to_pem()?, gateway_cert().to_pem()?);
/// # let alipay_root_cert_pem = root_bundle_pem();
/// use hongbao_client::Certificates;
/// // The texts of the three files:
/// let certs = Certificates::from_pem(&app_cert_pem, &alipay_cert_pem, &alipay_root_cert_pem)?;
/// assert_eq!(certs.app_cert_sn().len(), 32); // lowercase hex MD5
/// assert!(Certificates::from_pem(&app_cert_pem, &alipay_cert_pem, "not a bundle").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Certificates {
    app_cert: Certificate,
    alipay_cert: Certificate,
    root: RootBundle,
}

impl Certificates {
    /// Loads the three PEM texts. Alipay's certificate must chain to the root bundle (checked
    /// when the client is built).
    pub fn from_pem(
        app_cert: &str,
        alipay_cert: &str,
        alipay_root_cert: &str,
    ) -> Result<Certificates, Error> {
        let load = |what: &str, text: &str| {
            Certificate::from_pem(text)
                .map_err(|err| Error::invalid(format!("{what}: {err}")).with_source(err))
        };
        let app_cert = load("the app certificate", app_cert)?;
        let alipay_cert = load("the Alipay certificate", alipay_cert)?;
        let root = RootBundle::from_pem(alipay_root_cert).map_err(|err| {
            Error::invalid(format!("the Alipay root bundle: {err}")).with_source(err)
        })?;
        Ok(Certificates { app_cert, alipay_cert, root })
    }

    /// Reads the three files Alipay's console hands out (`appCertPublicKey_<app_id>.crt`,
    /// `alipayCertPublicKey_RSA2.crt`, `alipayRootCert.crt`; hongbao's demo: `certs/`), as the
    /// official SDKs' `appCertPath`, `alipayPublicCertPath` and `rootCertPath` do.
    ///
    /// ```
    /// # use hongbao_test_support::{app_c_cert, gateway_cert, root_bundle_pem};
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::write(dir.path().join("appCertPublicKey.crt"), app_c_cert().to_pem()?)?;
    /// # std::fs::write(dir.path().join("alipayCertPublicKey_RSA2.crt"), gateway_cert().to_pem()?)?;
    /// # std::fs::write(dir.path().join("alipayRootCert.crt"), root_bundle_pem())?;
    /// use hongbao_client::{Certificates, ErrorKind};
    /// let certs = Certificates::from_files(
    ///     dir.path().join("appCertPublicKey.crt"),
    ///     dir.path().join("alipayCertPublicKey_RSA2.crt"),
    ///     dir.path().join("alipayRootCert.crt"),
    /// )?;
    /// assert_eq!(certs.alipay_cert_sn(), gateway_cert().sn());
    /// let missing = Certificates::from_files("nope.crt", "nope.crt", "nope.crt").unwrap_err();
    /// assert!(matches!(missing.kind(), ErrorKind::Invalid { .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_files(
        app_cert: impl AsRef<std::path::Path>,
        alipay_cert: impl AsRef<std::path::Path>,
        alipay_root_cert: impl AsRef<std::path::Path>,
    ) -> Result<Certificates, Error> {
        let read = |path: &std::path::Path| {
            std::fs::read_to_string(path).map_err(|err| {
                Error::invalid(format!("cannot read {}: {err}", path.display())).with_source(err)
            })
        };
        Certificates::from_pem(
            &read(app_cert.as_ref())?,
            &read(alipay_cert.as_ref())?,
            &read(alipay_root_cert.as_ref())?,
        )
    }

    /// `app_cert_sn`, sent with every request.
    ///
    /// ```
    /// # use hongbao_test_support::{app_c_cert, gateway_cert, root_bundle_pem};
    /// # let certs = hongbao_client::Certificates::from_pem(&app_c_cert().to_pem()?, &gateway_cert().to_pem()?, root_bundle_pem())?;
    /// assert_eq!(certs.app_cert_sn(), app_c_cert().sn());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn app_cert_sn(&self) -> &str {
        self.app_cert.sn()
    }

    /// The SN of the configured Alipay certificate (answers name it as `alipay_cert_sn`).
    ///
    /// ```
    /// # use hongbao_test_support::{app_c_cert, gateway_cert, root_bundle_pem};
    /// # let certs = hongbao_client::Certificates::from_pem(&app_c_cert().to_pem()?, &gateway_cert().to_pem()?, root_bundle_pem())?;
    /// assert_eq!(certs.alipay_cert_sn(), gateway_cert().sn());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn alipay_cert_sn(&self) -> &str {
        self.alipay_cert.sn()
    }

    /// `alipay_root_cert_sn`, sent with every request: the SNs of the bundle's RSA-signed roots
    /// joined with `_`.
    ///
    /// ```
    /// # use hongbao_test_support::{app_c_cert, gateway_cert, root_bundle_pem, test_ca};
    /// # let certs = hongbao_client::Certificates::from_pem(&app_c_cert().to_pem()?, &gateway_cert().to_pem()?, root_bundle_pem())?;
    /// // The test bundle holds one RSA root and one EC root; the EC root does not count.
    /// assert_eq!(certs.alipay_root_cert_sn(), test_ca().certificate().sn());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn alipay_root_cert_sn(&self) -> &str {
        self.root.sn()
    }

    pub(crate) fn app_cert(&self) -> &Certificate {
        &self.app_cert
    }
}

/// A client's certificate-mode state: the configured files and the Alipay keys trusted so far,
/// by SN.
pub(crate) struct CertState {
    pub certificates: Certificates,
    known: Mutex<HashMap<String, PublicKey>>,
}

impl CertState {
    /// Checks the configuration (the Alipay certificate chains to the root, valid at `now_s`).
    pub fn new(certificates: Certificates, now_s: i64) -> Result<CertState, Error> {
        certificates.root.verify(&certificates.alipay_cert, now_s).map_err(|err| {
            Error::invalid(format!(
                "the Alipay certificate does not verify against the root bundle: {err}"
            ))
        })?;
        let key = certificates.alipay_cert.public_key().map_err(|err| {
            Error::invalid(format!("the Alipay certificate: {err}")).with_source(err)
        })?;
        let known = HashMap::from([(certificates.alipay_cert.sn().to_owned(), key)]);
        Ok(CertState { certificates, known: Mutex::new(known) })
    }

    /// The key of a known SN.
    pub fn key(&self, sn: &str) -> Option<PublicKey> {
        self.known.lock().ok().and_then(|known| known.get(sn).cloned())
    }

    /// The SNs trusted so far.
    pub fn sns(&self) -> Vec<String> {
        let mut sns: Vec<String> =
            self.known.lock().map(|known| known.keys().cloned().collect()).unwrap_or_default();
        sns.sort();
        sns
    }

    /// The configured Alipay certificate's key.
    pub fn configured_key(&self) -> Result<PublicKey, Error> {
        let sn = self.certificates.alipay_cert.sn();
        self.key(sn).ok_or_else(|| Error::invalid("the Alipay certificate's key is not loaded"))
    }

    /// Checks a downloaded certificate: its SN must be the one asked for, and it must chain to
    /// the root bundle, valid at `now_s`. Returns its key (not kept yet: see `keep`).
    pub fn check(&self, sn: &str, pem: &str, now_s: i64) -> Result<PublicKey, Error> {
        let untrusted = |reason: String| {
            Error::signature(SignatureFailure::UntrustedCertificate { sn: sn.to_owned(), reason })
        };
        let cert = Certificate::from_pem(pem).map_err(|err| untrusted(err.to_string()))?;
        if cert.sn() != sn {
            return Err(untrusted(format!("the certificate downloaded has SN {}", cert.sn())));
        }
        self.certificates.root.verify(&cert, now_s).map_err(|err| untrusted(err.to_string()))?;
        cert.public_key().map_err(|err| untrusted(err.to_string()))
    }

    /// Trusts a checked certificate's key from now on.
    pub fn keep(&self, sn: &str, key: PublicKey) {
        if let Ok(mut known) = self.known.lock() {
            known.insert(sn.to_owned(), key);
        }
    }
}
