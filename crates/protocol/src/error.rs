//! What can be wrong with a request at the protocol level, before its business content is
//! looked at: `RequestError` (one variant per rule; the `Display` text is the `sub_msg`), the
//! hints a failed signature carries and the faults of a decryption. Every other module of this
//! crate may return it; it depends on none of them but `form` (whose error it wraps).

use crate::form::FormError;
use hongbao_sign::aes::DecryptError;
use hongbao_sign::SignType;

/// Everything a request can get wrong at the protocol level. The gateway maps each variant to
/// Alipay's code/sub_code in one place; the `Display` text is the `sub_msg`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The body is larger than the gateway accepts.
    #[error("请求体过大 (request body exceeds {limit} bytes)")]
    BodyTooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The body did not arrive within the gateway's deadline.
    #[error("请求体超时 (the request body did not arrive within {seconds} s)")]
    BodyTimedOut {
        /// The deadline in whole seconds.
        seconds: u64,
    },
    /// The body's HTTP framing is broken (a malformed chunk) or the connection ended mid-body.
    #[error("请求体格式错误 ({0})")]
    MalformedBody(String),
    /// Query or body is not valid form encoding.
    #[error("参数格式错误 (malformed form encoding: {0})")]
    MalformedForm(FormError),
    /// More parameters than any real request carries.
    #[error("参数过多 (more than {max} parameters)")]
    TooManyParameters {
        /// The cap.
        max: usize,
    },
    /// A parameter appears twice (in the query, the body, or across both).
    #[error("参数重复 (parameter {0} is given more than once)")]
    DuplicateParameter(String),
    /// No `charset` parameter.
    #[error(
        "字符集错误 (missing charset parameter: put charset=utf-8, GBK or GB2312 in the URL query)"
    )]
    MissingCharset,
    /// `charset` is not utf-8, GBK or GB2312.
    #[error("字符集错误 (charset {0:?} is not supported: use utf-8, GBK or GB2312)")]
    InvalidCharset(String),
    /// A parameter name is not valid in the charset.
    #[error("字符集错误 (a parameter name is not valid {charset})")]
    UndecodableKey {
        /// The request charset.
        charset: &'static str,
    },
    /// A parameter value is not valid in the charset.
    #[error("字符集错误 (parameter {key} is not valid {charset}: encode every value in the charset the charset parameter names)")]
    UndecodableValue {
        /// The parameter name.
        key: String,
        /// The request charset.
        charset: &'static str,
    },
    /// No `method`.
    #[error("缺少方法名参数 (missing method)")]
    MissingMethod,
    /// `method` names no API this gateway serves.
    #[error("不存在的方法名 (method {0:?} does not exist)")]
    InvalidMethod(String),
    /// No `app_id`.
    #[error("缺少AppID参数 (missing app_id)")]
    MissingAppId,
    /// `app_id` names no registered app.
    #[error("无效的AppID参数 (app_id {0:?} is not registered on this gateway)")]
    InvalidAppId(String),
    /// No `sign_type`.
    #[error("缺少签名类型参数 (missing sign_type: RSA2 or RSA)")]
    MissingSignType,
    /// `sign_type` is neither RSA2 nor RSA.
    #[error("无效签名类型 (sign_type {0:?} is not supported: use RSA2 or RSA)")]
    InvalidSignType(String),
    /// No `sign`.
    #[error("缺少签名参数 (missing sign)")]
    MissingSign,
    /// No `timestamp`.
    #[error("缺少时间戳参数 (missing timestamp)")]
    MissingTimestamp,
    /// `timestamp` is not `yyyy-MM-dd HH:mm:ss`.
    #[error("非法的时间戳参数 (timestamp {0:?} is not yyyy-MM-dd HH:mm:ss)")]
    InvalidTimestamp(String),
    /// `timestamp` is further from now than any time zone explains.
    #[error(
        "非法的时间戳参数 (timestamp {0:?} is too far from the current time in every time zone)"
    )]
    TimestampOutOfWindow(String),
    /// No `version`.
    #[error("缺少版本参数 (missing version)")]
    MissingVersion,
    /// `version` is not `1.0`.
    #[error("版本号错误 (version {0:?} is not supported: use 1.0)")]
    InvalidVersion(String),
    /// `format` is present and not JSON.
    #[error("无效的数据格式 (format {0:?} is not supported: use JSON)")]
    InvalidFormat(String),
    /// The signature does not verify. The message carries the sign content the gateway built.
    #[error("验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{sign_content}{}", hint.map(SignatureHint::text).unwrap_or_default())]
    BadSignature {
        /// The exact sign content the gateway verified against (as Alipay's gateway reports it).
        sign_content: String,
        /// Why it probably failed, when a variant verifies.
        hint: Option<SignatureHint>,
    },
    /// `app_auth_token` was given; hongbao has no third-party (ISV) authorizations.
    #[error("无效的应用授权令牌 (app_auth_token is not supported: hongbao has no third-party app authorizations; call with the app's own credentials)")]
    AppAuthTokenNotSupported,
    /// A certificate-mode app sent no `app_cert_sn`.
    #[error("缺少应用公钥证书序列号 (missing app_cert_sn: app {app_id} is in certificate mode; send the SN of its app certificate, {expected})")]
    MissingAppCertSn {
        /// The calling app.
        app_id: String,
        /// The SN of the app certificate the gateway holds.
        expected: String,
    },
    /// `app_cert_sn` names no certificate of the app.
    #[error("应用公钥证书不存在 (app_cert_sn {sent:?} names no certificate of app {app_id}; the gateway holds {expected}: compute the SN from the app certificate issued for this app)")]
    AppCertNotExist {
        /// The calling app.
        app_id: String,
        /// What the request sent.
        sent: String,
        /// The SN of the app certificate the gateway holds.
        expected: String,
    },
    /// The app certificate is outside its validity period.
    #[error("应用公钥证书已过期 (the app certificate {sn} is valid {validity}, not now: issue a new one)")]
    AppCertExpired {
        /// Its SN.
        sn: String,
        /// Its validity, as the gateway shows it.
        validity: String,
    },
    /// A certificate-mode app sent no `alipay_root_cert_sn`.
    #[error("缺少支付宝根证书序列号 (missing alipay_root_cert_sn: app {app_id} is in certificate mode; send the SN of the root bundle, {expected})")]
    MissingAlipayRootCertSn {
        /// The calling app.
        app_id: String,
        /// The root bundle's SN.
        expected: String,
    },
    /// `alipay_root_cert_sn` is not the root bundle's SN.
    #[error("无效支付宝根证书序列号 (alipay_root_cert_sn {sent:?} is not the root bundle's SN {expected}: it joins the SNs of the bundle's RSA-signed roots with _; use the gateway's alipayRootCert.crt)")]
    InvalidAlipayRootCertSn {
        /// What the request sent.
        sent: String,
        /// The root bundle's SN.
        expected: String,
    },
    /// `encrypt_type` names no encryption algorithm.
    #[error("无效的加密类型 (encrypt_type {0:?} is not an encryption algorithm: send encrypt_type=AES with biz_content encrypted by the app's AES key, or leave encrypt_type out)")]
    InvalidEncryptType(String),
    /// `encrypt_type` names an algorithm this gateway does not decrypt.
    #[error("解密出错，不支持的加密算法 (encrypt_type {0:?} is not supported: this gateway decrypts AES only)")]
    UnsupportedEncryptType(String),
    /// `biz_content` is a ciphertext, but `encrypt_type` is missing.
    #[error("解密出错, 未指定加密算法 (biz_content is base64 of AES blocks, not JSON: add encrypt_type=AES)")]
    MissingEncryptType,
    /// An encrypted request from an app without an AES key.
    #[error("解密出错, 未配置加密密钥或加密密钥格式错误 (app {app_id} has no AES key (encrypt_key) on this gateway: configure one, or send biz_content in clear without encrypt_type)")]
    MissingEncryptKey {
        /// The calling app.
        app_id: String,
    },
    /// The encrypted `biz_content` is malformed whatever the key.
    #[error("解密异常 (the encrypted biz_content is not an AES ciphertext: {0}; send base64 of AES-CBC blocks)")]
    InvalidEncrypt(DecryptError),
    /// The encrypted `biz_content` does not decrypt with the app's key.
    #[error("解密出错, 未知错误 (biz_content does not decrypt with the app's AES key: {}; check that the client's encrypt_key is the app's, and that the plaintext is JSON in the request charset)", .0.text())]
    DecryptionFailed(DecryptionFault),
    /// `notify_url` or `return_url` is not an http(s) URL of at most 256 characters.
    #[error("参数无效 ({key} must be an http or https URL of at most 256 characters)")]
    InvalidUrl {
        /// `notify_url` or `return_url`.
        key: &'static str,
    },
}

/// Why a well-formed ciphertext did not decrypt to a request with the app's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecryptionFault {
    /// The PKCS#7 padding is wrong.
    BadPadding,
    /// The plaintext is not valid in the request charset.
    NotInCharset {
        /// The request charset.
        charset: &'static str,
    },
    /// The plaintext is not JSON.
    NotJson,
}

impl DecryptionFault {
    /// What went wrong, for the sub_msg.
    pub fn text(self) -> String {
        match self {
            DecryptionFault::BadPadding => "the AES padding is wrong after decryption".to_owned(),
            DecryptionFault::NotInCharset { charset } => {
                format!("the decrypted text is not valid {charset}")
            }
            DecryptionFault::NotJson => "the decrypted text is not JSON".to_owned(),
        }
    }
}

/// What a failed signature would have verified as, to tell the integrator what to fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureHint {
    /// The signature verifies with the other algorithm.
    OtherAlgorithm {
        /// The algorithm the request names.
        named: SignType,
        /// The algorithm that verifies.
        verifies: SignType,
    },
    /// The signature verifies over the UTF-8 bytes of the sign content, but charset names another.
    SignedAsUtf8 {
        /// The charset the request names.
        named: &'static str,
    },
    /// The signature verifies over the GBK bytes, but charset names utf-8.
    SignedAsGbk,
    /// The signature verifies when `sign_type` is left out of the sign content (the notify rule).
    SignTypeLeftOut,
}

impl SignatureHint {
    /// The hint's sentence, as `sub_msg` ends with it.
    pub fn text(self) -> String {
        match self {
            SignatureHint::OtherAlgorithm { named, verifies } => format!(
                "。提示 (hint): 签名可用 {} 验证通过，但 sign_type={}；请让 sign_type 与签名算法一致 (the signature verifies as {}, but sign_type says {})",
                verifies.as_str(), named.as_str(), verifies.as_str(), named.as_str()
            ),
            SignatureHint::SignedAsUtf8 { named } => format!(
                "。提示 (hint): 签名是按 UTF-8 字节计算的，但 charset={named} (the signature was computed over the UTF-8 bytes of the sign content, but charset says {named}: sign the bytes in the charset you declare)"
            ),
            SignatureHint::SignedAsGbk => "。提示 (hint): 签名是按 GBK 字节计算的，但 charset=utf-8 (the signature was computed over GBK bytes, but charset says utf-8)".to_owned(),
            SignatureHint::SignTypeLeftOut => "。提示 (hint): 签名未包含 sign_type；请求签名须包含 sign_type (the signature leaves sign_type out of the sign content; request signatures include it, only notify signatures leave it out)".to_owned(),
        }
    }
}
