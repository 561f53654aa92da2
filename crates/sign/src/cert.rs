//! X.509 certificates the way Alipay's certificate mode (公钥证书模式) uses them: an app's public
//! key certificate (`appCertPublicKey_<app_id>.crt`), Alipay's public key certificate
//! (`alipayCertPublicKey_RSA2.crt`) and the root bundle (`alipayRootCert.crt`); their SNs; chain
//! checks; and a certificate authority for the sandbox (what Alipay's console does for merchants).
//!
//! **SN** (`Certificate::sn`): the lowercase hex MD5 of the issuer's distinguished name in RFC 2253
//! order (`CN=…,OU=…,O=…,C=…`, as Java's `X500Principal.getName()` writes it) followed by the serial
//! number in decimal. A bundle's SN (`RootBundle::sn`) joins the SNs of its RSA-signed roots with
//! `_`, skipping the others (EC and SM2 roots), as every SDK does.
//!
//! The issuer string is x509-cert's RFC 4514 rendering of the parsed `Name` (RFC 4514 is RFC 2253's
//! successor: same order, separators and escapes): the `openssl` crate parses and verifies
//! certificates here but has no binding of OpenSSL's RFC 2253 printer. Everything else (PEM,
//! serial numbers, keys, chain and validity checks, issuing) is OpenSSL's.

use crate::{PrivateKey, PublicKey};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::{hash, MessageDigest};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{
    X509Builder, X509NameBuilder, X509NameRef, X509Ref, X509Req, X509StoreContext, X509,
};
use x509_cert::der::Decode;

/// Why a certificate, a bundle or a signing request could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// The text holds no PEM certificate.
    #[error("no PEM certificate (-----BEGIN CERTIFICATE-----) in the text")]
    NoCertificate,
    /// The text is not a PEM certificate signing request.
    #[error("not a PEM certificate signing request (-----BEGIN CERTIFICATE REQUEST-----)")]
    NotCsr,
    /// A signing request whose signature does not verify with its own key.
    #[error("the certificate signing request's signature does not verify")]
    CsrSignature,
    /// The certified key is not an RSA key (Alipay signs RSA2/RSA only).
    #[error("the certified key is not an RSA key")]
    NotRsa,
    /// A root bundle without one RSA-signed root (its SN would be empty).
    #[error("the root bundle holds no RSA-signed certificate (its SN counts RSA roots only)")]
    NoRsaRoot,
    /// The certificate does not chain to a root of the bundle, or is outside its validity.
    #[error("the certificate does not verify against the root bundle: {0}")]
    Untrusted(String),
    /// The DER structure could not be read for the SN.
    #[error("unreadable certificate structure: {0}")]
    Structure(String),
    /// The crypto library failed.
    #[error("certificate operation failed: {0}")]
    Crypto(#[from] ErrorStack),
}

/// A certificate as a file holds it: the certificate itself first, then any chain certificates
/// after it (Alipay's `alipayCertPublicKey_RSA2.crt` carries its intermediate).
#[derive(Clone)]
pub struct Certificate {
    leaf: X509,
    chain: Vec<X509>,
    sn: String,
    rsa_signed: bool,
    issuer: String,
    subject: String,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("sn", &self.sn)
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// The issuer (or subject) string of the SN rule and the signature algorithm's OID, read by
/// x509-cert from the certificate's DER.
fn parsed_names(cert: &X509Ref) -> Result<(String, String, String), CertError> {
    let der = cert.to_der()?;
    let parsed = x509_cert::Certificate::from_der(&der)
        .map_err(|err| CertError::Structure(err.to_string()))?;
    Ok((
        parsed.tbs_certificate.issuer.to_string(),
        parsed.tbs_certificate.subject.to_string(),
        parsed.signature_algorithm.oid.to_string(),
    ))
}

fn md5_hex(text: &str) -> Result<String, CertError> {
    let digest = hash(MessageDigest::md5(), text.as_bytes())?;
    Ok(digest.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Seconds since the Unix epoch of an ASN.1 time.
fn unix_seconds(time: &openssl::asn1::Asn1TimeRef) -> Result<i64, CertError> {
    let epoch = Asn1Time::from_unix(0)?;
    let diff = epoch.diff(time)?;
    Ok(i64::from(diff.days) * 86_400 + i64::from(diff.secs))
}

impl Certificate {
    fn from_x509(leaf: X509, chain: Vec<X509>) -> Result<Certificate, CertError> {
        let (issuer, subject, algorithm) = parsed_names(&leaf)?;
        let serial = leaf.serial_number().to_bn()?.to_dec_str()?.to_string();
        let sn = md5_hex(&format!("{issuer}{serial}"))?;
        // PKCS#1 signature algorithms (sha256WithRSAEncryption …) sit under 1.2.840.113549.1.1.
        let rsa_signed = algorithm.starts_with("1.2.840.113549.1.1.");
        Ok(Certificate { leaf, chain, sn, rsa_signed, issuer, subject })
    }

    /// Loads a PEM file's text: its first certificate, with the ones after it as its chain.
    pub fn from_pem(text: &str) -> Result<Certificate, CertError> {
        let mut all = X509::stack_from_pem(text.as_bytes()).unwrap_or_default();
        if all.is_empty() {
            return Err(CertError::NoCertificate);
        }
        let leaf = all.remove(0);
        Certificate::from_x509(leaf, all)
    }

    /// The SN (see the module doc).
    pub fn sn(&self) -> &str {
        &self.sn
    }

    /// The issuer, as the SN rule writes it (`CN=…,OU=…,O=…,C=…`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The subject, written the same way.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// True when the certificate is signed with an RSA algorithm (the root SN rule counts these).
    pub fn is_rsa_signed(&self) -> bool {
        self.rsa_signed
    }

    /// The certified key; only RSA keys are accepted.
    pub fn public_key(&self) -> Result<PublicKey, CertError> {
        let key = self.leaf.public_key()?;
        if key.rsa().is_err() {
            return Err(CertError::NotRsa);
        }
        Ok(PublicKey(key))
    }

    /// Validity as Unix seconds: (not before, not after).
    pub fn validity(&self) -> Result<(i64, i64), CertError> {
        Ok((unix_seconds(self.leaf.not_before())?, unix_seconds(self.leaf.not_after())?))
    }

    /// PEM text: the certificate, then its chain.
    pub fn to_pem(&self) -> Result<String, CertError> {
        let mut text = String::from_utf8_lossy(&self.leaf.to_pem()?).into_owned();
        for cert in &self.chain {
            text.push('\n');
            text.push_str(&String::from_utf8_lossy(&cert.to_pem()?));
        }
        Ok(text)
    }
}

/// A root bundle (`alipayRootCert.crt`): one or more self-signed roots.
#[derive(Clone)]
pub struct RootBundle {
    roots: Vec<Certificate>,
    sn: String,
}

impl std::fmt::Debug for RootBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootBundle").field("sn", &self.sn).field("roots", &self.roots).finish()
    }
}

impl RootBundle {
    /// Loads every PEM certificate of the text; at least one must be RSA-signed.
    pub fn from_pem(text: &str) -> Result<RootBundle, CertError> {
        let all = X509::stack_from_pem(text.as_bytes()).unwrap_or_default();
        if all.is_empty() {
            return Err(CertError::NoCertificate);
        }
        let roots = all
            .into_iter()
            .map(|cert| Certificate::from_x509(cert, Vec::new()))
            .collect::<Result<Vec<_>, _>>()?;
        let sns: Vec<&str> =
            roots.iter().filter(|root| root.rsa_signed).map(Certificate::sn).collect();
        if sns.is_empty() {
            return Err(CertError::NoRsaRoot);
        }
        let sn = sns.join("_");
        Ok(RootBundle { roots, sn })
    }

    /// The bundle's SN: its RSA-signed roots' SNs joined with `_`.
    pub fn sn(&self) -> &str {
        &self.sn
    }

    /// The roots, in file order.
    pub fn roots(&self) -> &[Certificate] {
        &self.roots
    }

    /// PEM text of the bundle, a blank line between certificates (python-alipay-sdk splits
    /// bundles on blank lines and would see only the first root otherwise).
    pub fn to_pem(&self) -> Result<String, CertError> {
        let texts = self.roots.iter().map(Certificate::to_pem).collect::<Result<Vec<_>, _>>()?;
        Ok(texts.iter().map(|text| text.trim_end()).collect::<Vec<_>>().join("\n\n") + "\n")
    }

    /// Checks that `cert` (with its chain) chains to one of the roots and that every certificate
    /// on the way is valid at `at_unix` (seconds).
    pub fn verify(&self, cert: &Certificate, at_unix: i64) -> Result<(), CertError> {
        let mut store = X509StoreBuilder::new()?;
        for root in &self.roots {
            store.add_cert(root.leaf.clone())?;
        }
        let mut param = X509VerifyParam::new()?;
        param.set_time(at_unix);
        store.set_param(&param)?;
        let store = store.build();
        let mut chain = Stack::new()?;
        for intermediate in &cert.chain {
            chain.push(intermediate.clone())?;
        }
        let mut context = X509StoreContext::new()?;
        let outcome = context.init(&store, &cert.leaf, &chain, |context| {
            let verified = context.verify_cert()?;
            Ok((verified, context.error().error_string().to_owned()))
        })?;
        match outcome {
            (true, _) => Ok(()),
            (false, why) => Err(CertError::Untrusted(why)),
        }
    }
}

/// A distinguished name in the shape Alipay's certificates have: `CN=…,OU=…,O=…,C=…`.
/// (python-alipay-sdk formats exactly these four attributes, so a name without one of them gets
/// another SN there.)
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    /// `CN`.
    pub common_name: &'a str,
    /// `OU`.
    pub organizational_unit: &'a str,
    /// `O`.
    pub organization: &'a str,
    /// `C`, two letters.
    pub country: &'a str,
}

impl Subject<'_> {
    fn to_name(self) -> Result<openssl::x509::X509Name, ErrorStack> {
        // DER order C, O, OU, CN: RFC 2253 writes it reversed, CN first.
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_nid(Nid::COUNTRYNAME, self.country)?;
        name.append_entry_by_nid(Nid::ORGANIZATIONNAME, self.organization)?;
        name.append_entry_by_nid(Nid::ORGANIZATIONALUNITNAME, self.organizational_unit)?;
        name.append_entry_by_nid(Nid::COMMONNAME, self.common_name)?;
        Ok(name.build())
    }
}

/// A random positive 127-bit serial number, as public CAs use (and large enough that the decimal
/// rendering of the SN rule is exercised beyond 64 bits).
fn random_serial() -> Result<Asn1Integer, ErrorStack> {
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::ONE, false)?;
    serial.to_asn1_integer()
}

fn builder(
    subject: &X509NameRef,
    issuer: &X509NameRef,
    key: &openssl::pkey::PKeyRef<openssl::pkey::Public>,
    not_before_unix: i64,
    not_after_unix: i64,
) -> Result<X509Builder, ErrorStack> {
    let mut builder = X509Builder::new()?;
    builder.set_version(2)?;
    let serial = random_serial()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(subject)?;
    builder.set_issuer_name(issuer)?;
    builder.set_pubkey(key)?;
    let not_before = Asn1Time::from_unix(not_before_unix)?;
    let not_after = Asn1Time::from_unix(not_after_unix)?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    Ok(builder)
}

fn public_of(key: &PKey<Private>) -> Result<PKey<openssl::pkey::Public>, ErrorStack> {
    PKey::public_key_from_der(&key.public_key_to_der()?)
}

/// A certificate authority: a root certificate and its key. The sandbox's stands in for Alipay's
/// CA, which certifies both Alipay's key and every app's.
pub struct Authority {
    certificate: Certificate,
    key: PKey<Private>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").field("certificate", &self.certificate).finish_non_exhaustive()
    }
}

impl Authority {
    /// A new self-signed RSA root (sha256WithRSAEncryption) for `key`.
    pub fn new_root(
        subject: Subject<'_>,
        key: &PrivateKey,
        not_before_unix: i64,
        not_after_unix: i64,
    ) -> Result<Authority, CertError> {
        let name = subject.to_name()?;
        let key = key.0.clone();
        let public = public_of(&key)?;
        let mut builder = builder(&name, &name, &public, not_before_unix, not_after_unix)?;
        builder.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        builder.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build()?)?;
        let ski = SubjectKeyIdentifier::new().build(&builder.x509v3_context(None, None))?;
        builder.append_extension(ski)?;
        builder.sign(&key, MessageDigest::sha256())?;
        let certificate = Certificate::from_x509(builder.build(), Vec::new())?;
        Ok(Authority { certificate, key })
    }

    /// An authority from its certificate and key (the key must be the certificate's).
    pub fn from_parts(certificate: Certificate, key: &PrivateKey) -> Result<Authority, CertError> {
        if !certificate.leaf.public_key()?.public_eq(&key.0) {
            return Err(CertError::Untrusted(
                "the CA key does not belong to the CA certificate".into(),
            ));
        }
        Ok(Authority { certificate, key: key.0.clone() })
    }

    /// The root certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// Certifies an RSA public key for `subject` (sha256WithRSAEncryption, an end-entity
    /// certificate for signatures).
    pub fn issue(
        &self,
        subject: Subject<'_>,
        key: &PublicKey,
        not_before_unix: i64,
        not_after_unix: i64,
    ) -> Result<Certificate, CertError> {
        let name = subject.to_name()?;
        self.issue_for_name(&name, &key.0, not_before_unix, not_after_unix)
    }

    /// Certifies the key of a PEM certificate signing request (as Alipay's key tool makes them),
    /// keeping the request's subject. The request must be signed by its own RSA key.
    pub fn issue_for_csr(
        &self,
        csr_pem: &str,
        not_before_unix: i64,
        not_after_unix: i64,
    ) -> Result<Certificate, CertError> {
        let request =
            X509Req::from_pem(csr_pem.trim().as_bytes()).map_err(|_| CertError::NotCsr)?;
        let key = request.public_key()?;
        if !request.verify(&key)? {
            return Err(CertError::CsrSignature);
        }
        self.issue_for_name(request.subject_name(), &key, not_before_unix, not_after_unix)
    }

    /// Certifies an RSA key as a TLS server for `dns_names` and `ips` (subjectAltName, the only
    /// names clients check; serverAuth): the sandbox's HTTPS listener, so that a client configured
    /// for Alipay's https gateway URL trusts hongbao once the sandbox CA is in its trust store.
    pub fn issue_tls_server(
        &self,
        dns_names: &[&str],
        ips: &[std::net::IpAddr],
        key: &PublicKey,
        not_before_unix: i64,
        not_after_unix: i64,
    ) -> Result<Certificate, CertError> {
        let common_name = dns_names.first().copied().unwrap_or("hongbao sandbox");
        let name = Subject {
            common_name,
            organizational_unit: "hongbao sandbox",
            organization: "hongbao",
            country: "CN",
        }
        .to_name()?;
        let issuer = self.certificate.leaf.subject_name();
        let mut builder = builder(&name, issuer, &key.0, not_before_unix, not_after_unix)?;
        builder.append_extension(BasicConstraints::new().critical().build()?)?;
        builder.append_extension(
            KeyUsage::new().critical().digital_signature().key_encipherment().build()?,
        )?;
        builder.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
        let mut alt = SubjectAlternativeName::new();
        for dns in dns_names {
            alt.dns(dns);
        }
        for ip in ips {
            alt.ip(&ip.to_string());
        }
        let alt = alt.build(&builder.x509v3_context(Some(&self.certificate.leaf), None))?;
        builder.append_extension(alt)?;
        let akid = AuthorityKeyIdentifier::new()
            .keyid(false)
            .build(&builder.x509v3_context(Some(&self.certificate.leaf), None))?;
        builder.append_extension(akid)?;
        builder.sign(&self.key, MessageDigest::sha256())?;
        Certificate::from_x509(builder.build(), Vec::new())
    }

    fn issue_for_name(
        &self,
        subject: &X509NameRef,
        key: &openssl::pkey::PKeyRef<openssl::pkey::Public>,
        not_before_unix: i64,
        not_after_unix: i64,
    ) -> Result<Certificate, CertError> {
        if key.rsa().is_err() {
            return Err(CertError::NotRsa);
        }
        let issuer = self.certificate.leaf.subject_name();
        let mut builder = builder(subject, issuer, key, not_before_unix, not_after_unix)?;
        builder.append_extension(BasicConstraints::new().critical().build()?)?;
        builder.append_extension(
            KeyUsage::new().critical().digital_signature().non_repudiation().build()?,
        )?;
        let akid = AuthorityKeyIdentifier::new()
            .keyid(false)
            .build(&builder.x509v3_context(Some(&self.certificate.leaf), None))?;
        builder.append_extension(akid)?;
        builder.sign(&self.key, MessageDigest::sha256())?;
        Certificate::from_x509(builder.build(), Vec::new())
    }
}

/// A self-signed EC (P-256, ecdsa-with-SHA256) root certificate, PEM: real root bundles hold
/// non-RSA roots beside the RSA one (Alipay's has an SM2 root), which the SN rule skips.
pub fn ec_root_pem(
    subject: Subject<'_>,
    not_before_unix: i64,
    not_after_unix: i64,
) -> Result<String, CertError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
    let name = subject.to_name()?;
    let public = public_of(&key)?;
    let mut builder = builder(&name, &name, &public, not_before_unix, not_after_unix)?;
    builder.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    builder.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build()?)?;
    builder.sign(&key, MessageDigest::sha256())?;
    Ok(String::from_utf8_lossy(&builder.build().to_pem()?).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000; // 2026-11-18
    const YEAR: i64 = 365 * 86_400;

    fn subject(common_name: &str) -> Subject<'_> {
        Subject {
            common_name,
            organizational_unit: "Certification Authority",
            organization: "hongbao sandbox",
            country: "CN",
        }
    }

    fn root() -> Authority {
        let key = PrivateKey::generate(2048).expect("key");
        Authority::new_root(subject("hongbao Sandbox Root CA"), &key, NOW - YEAR, NOW + 10 * YEAR)
            .expect("root")
    }

    #[test]
    fn the_sn_hashes_the_rfc2253_issuer_and_the_decimal_serial() {
        let ca = root();
        let key = PrivateKey::generate(1024).expect("key");
        let cert = ca
            .issue(subject("2021000000000003"), &key.public_key().expect("pk"), NOW, NOW + YEAR)
            .expect("issued");
        assert_eq!(
            cert.issuer(),
            "CN=hongbao Sandbox Root CA,OU=Certification Authority,O=hongbao sandbox,C=CN"
        );
        let serial = cert.leaf.serial_number().to_bn().expect("bn").to_dec_str().expect("dec");
        assert!(serial.len() > 20, "a 127-bit serial: {serial}");
        let expected = md5_hex(&format!("{}{}", cert.issuer(), &*serial)).expect("md5");
        assert_eq!(cert.sn(), expected);
        assert_eq!(cert.sn().len(), 32);
        assert!(cert.sn().bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(cert.is_rsa_signed());
        // The SN survives a PEM round trip and does not depend on the subject.
        let again = Certificate::from_pem(&cert.to_pem().expect("pem")).expect("loads");
        assert_eq!(again.sn(), cert.sn());
        assert_eq!(
            again.subject(),
            "CN=2021000000000003,OU=Certification Authority,O=hongbao sandbox,C=CN"
        );
    }

    #[test]
    fn a_bundle_sn_joins_its_rsa_roots_and_skips_ec_roots() {
        let first = root();
        let second = root();
        let ec = ec_root_pem(subject("hongbao Sandbox EC Root"), NOW, NOW + YEAR).expect("ec");
        let text = format!(
            "{}\n{ec}\n{}",
            first.certificate().to_pem().expect("pem"),
            second.certificate().to_pem().expect("pem")
        );
        let bundle = RootBundle::from_pem(&text).expect("bundle");
        assert_eq!(bundle.roots().len(), 3);
        assert!(!bundle.roots()[1].is_rsa_signed());
        assert_eq!(
            bundle.sn(),
            format!("{}_{}", first.certificate().sn(), second.certificate().sn())
        );
        assert!(matches!(RootBundle::from_pem(&ec), Err(CertError::NoRsaRoot)));
        // Written back with blank lines between the certificates.
        let written = bundle.to_pem().expect("pem");
        assert_eq!(written.matches("-----END CERTIFICATE-----\n\n-----BEGIN").count(), 2);
        assert_eq!(RootBundle::from_pem(&written).expect("reloads").sn(), bundle.sn());
    }

    #[test]
    fn chains_validity_and_foreign_certificates() {
        let ca = root();
        let bundle =
            RootBundle::from_pem(&ca.certificate().to_pem().expect("pem")).expect("bundle");
        let key = PrivateKey::generate(1024).expect("key").public_key().expect("pk");
        let cert = ca.issue(subject("app"), &key, NOW, NOW + YEAR).expect("issued");
        assert!(bundle.verify(&cert, NOW + 10).is_ok());
        assert!(matches!(bundle.verify(&cert, NOW + 2 * YEAR), Err(CertError::Untrusted(_))));
        assert!(matches!(bundle.verify(&cert, NOW - 10), Err(CertError::Untrusted(_))));
        assert_eq!(cert.validity().expect("validity"), (NOW, NOW + YEAR));
        let stranger = root().issue(subject("app"), &key, NOW, NOW + YEAR).expect("issued");
        assert!(matches!(bundle.verify(&stranger, NOW + 10), Err(CertError::Untrusted(_))));
        assert_ne!(stranger.sn(), cert.sn(), "another CA's certificate has another SN");
        assert!(cert.public_key().expect("key") == key);
    }

    #[test]
    fn a_csr_is_certified_with_its_own_subject_and_key() {
        let ca = root();
        let key = PrivateKey::generate(1024).expect("key");
        let mut request = openssl::x509::X509ReqBuilder::new().expect("builder");
        request
            .set_subject_name(&subject("2021000000000009").to_name().expect("name"))
            .expect("subject");
        request.set_pubkey(&key.0).expect("pubkey");
        request.sign(&key.0, MessageDigest::sha256()).expect("sign");
        let pem = String::from_utf8(request.build().to_pem().expect("pem")).expect("utf8");
        let cert = ca.issue_for_csr(&pem, NOW, NOW + YEAR).expect("issued");
        assert!(cert.subject().starts_with("CN=2021000000000009,"));
        assert!(cert.public_key().expect("pk") == key.public_key().expect("pk"));
        assert!(matches!(ca.issue_for_csr("garbage", NOW, NOW + YEAR), Err(CertError::NotCsr)));
        assert!(matches!(Certificate::from_pem("garbage"), Err(CertError::NoCertificate)));
    }
    #[test]
    fn a_tls_server_certificate_names_its_hosts_and_chains_to_the_ca() {
        let ca = root();
        let key = PrivateKey::generate(1024).expect("key").public_key().expect("pk");
        let ip: std::net::IpAddr = "127.0.0.1".parse().expect("ip");
        let cert = ca
            .issue_tls_server(&["localhost", "openapi.alipay.com"], &[ip], &key, NOW, NOW + YEAR)
            .expect("issued");
        let verifies_for = |host: Option<&str>, ip: Option<&str>| {
            let mut store = X509StoreBuilder::new().expect("store");
            store.add_cert(ca.certificate().leaf.clone()).expect("root");
            let mut param = X509VerifyParam::new().expect("param");
            param.set_time(NOW + 10);
            if let Some(host) = host {
                param.set_host(host).expect("host");
            }
            if let Some(ip) = ip {
                param.set_ip(ip.parse().expect("ip")).expect("ip");
            }
            store.set_param(&param).expect("param");
            let store = store.build();
            let mut context = X509StoreContext::new().expect("context");
            let chain = Stack::new().expect("stack");
            context.init(&store, &cert.leaf, &chain, |c| c.verify_cert()).expect("verify runs")
        };
        assert!(verifies_for(Some("localhost"), None));
        assert!(verifies_for(Some("openapi.alipay.com"), None));
        assert!(verifies_for(None, Some("127.0.0.1")));
        assert!(!verifies_for(Some("example.org"), None), "a name it was not issued for");
        assert!(!verifies_for(None, Some("127.0.0.2")));
    }
}
