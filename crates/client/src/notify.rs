//! Asynchronous notifications (`notify_url` posts): verified with Alipay's `rsaCheckV1` rule
//! (every parameter but `sign` and `sign_type`, blanks dropped, sorted, encoded in the
//! notify's `charset`), then read into a [`Notify`].
//!
//! Which fields a red packet notify carries is only partly documented (spec §3.6), so every
//! typed field is optional and [`Notify::params`] keeps them all.

use crate::coupon::{OperationStatus, OperationType};
use crate::error::{Error, SignatureFailure};
use crate::response::{parse_amount, parse_beijing_time};
use chrono::{DateTime, FixedOffset};
use hongbao_money::Fen;
use hongbao_protocol::form::parse_form;
use hongbao_protocol::params::peek_ascii;
use hongbao_protocol::sign_content::verify_notify;
use hongbao_protocol::{Charset, Params};
use hongbao_sign::PublicKey;

/// A verified notify.
///
/// ```
/// use hongbao_client::{Notify, Params, PrivateKey, Charset, SignType, OperationStatus, Fen};
/// use hongbao_protocol::sign_content::sign_notify; // what Alipay (or hongbao) does
/// let alipay_key = PrivateKey::generate(1024)?;
/// let mut params: Params = [("notify_id", "n1"), ("auth_no", "2024"), ("amount", "1.00"),
///                           ("status", "SUCCESS"), ("charset", "utf-8"), ("sign_type", "RSA2")]
///     .into_iter().collect();
/// let sign = sign_notify(&params, Charset::Utf8, SignType::Rsa2, &alipay_key)?;
/// params.insert("sign", sign);
/// let notify = Notify::verify(&params, Charset::Utf8, &alipay_key.public_key()?)?;
/// assert_eq!(notify.amount, Some(Fen::from_fen(100)));
/// assert_eq!(notify.status, Some(OperationStatus::Success));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Notify {
    /// `notify_type`, e.g. `fund_stdtrustee_refund.success`.
    pub notify_type: Option<String>,
    /// `notify_id`.
    pub notify_id: Option<String>,
    /// `notify_time` (Beijing time).
    pub notify_time: Option<DateTime<FixedOffset>>,
    /// `auth_no`.
    pub auth_no: Option<String>,
    /// `out_order_no`.
    pub out_order_no: Option<String>,
    /// `operation_id`.
    pub operation_id: Option<String>,
    /// `out_request_no`.
    pub out_request_no: Option<String>,
    /// `operation_type`.
    pub operation_type: Option<OperationType>,
    /// `amount`.
    pub amount: Option<Fen>,
    /// `status`.
    pub status: Option<OperationStatus>,
    /// `gmt_create`.
    pub gmt_create: Option<DateTime<FixedOffset>>,
    /// `gmt_trans`.
    pub gmt_trans: Option<DateTime<FixedOffset>>,
    /// Every parameter as received, `sign` included.
    pub params: Params,
}

fn malformed(field: &str, detail: String, params: &Params) -> Error {
    let node: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Error::new(crate::error::ErrorKind::Malformed {
        field: field.to_owned(),
        detail,
        node: node.join("&"),
    })
}

impl Notify {
    /// Verifies decoded notify parameters. `charset` is used when the notify names none;
    /// `sign_type` defaults to RSA2 likewise. A missing or empty `sign` is
    /// [`SignatureFailure::Unsigned`], a wrong one [`SignatureFailure::Mismatch`].
    ///
    /// ```
    /// use hongbao_client::{Notify, Params, PrivateKey, Charset, ErrorKind, SignatureFailure};
    /// let alipay_key = PrivateKey::generate(1024)?.public_key()?;
    /// let unsigned: Params = [("notify_id", "n1"), ("status", "SUCCESS")].into_iter().collect();
    /// let err = Notify::verify(&unsigned, Charset::Utf8, &alipay_key).unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::Signature(SignatureFailure::Unsigned));
    /// let mut forged = unsigned.clone();
    /// forged.insert("sign", "AAAA");
    /// let err = Notify::verify(&forged, Charset::Utf8, &alipay_key).unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::Signature(SignatureFailure::Mismatch));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(
        params: &Params,
        charset: Charset,
        alipay_public_key: &PublicKey,
    ) -> Result<Notify, Error> {
        if params.get_nonblank("sign").is_none() {
            return Err(Error::signature(SignatureFailure::Unsigned));
        }
        let charset = params.get("charset").and_then(Charset::parse).unwrap_or(charset);
        if !verify_notify(params, charset, alipay_public_key) {
            return Err(Error::signature(SignatureFailure::Mismatch));
        }
        let text = |key: &str| params.get_nonblank(key).map(str::to_owned);
        let time = |key: &str| -> Result<Option<DateTime<FixedOffset>>, Error> {
            match params.get_nonblank(key) {
                None => Ok(None),
                Some(value) => parse_beijing_time(value).map(Some).ok_or_else(|| {
                    malformed(key, format!("{value:?} is not yyyy-MM-dd HH:mm:ss"), params)
                }),
            }
        };
        let amount = match params.get_nonblank("amount") {
            None => None,
            Some(value) => {
                Some(parse_amount(value).map_err(|detail| malformed("amount", detail, params))?)
            }
        };
        Ok(Notify {
            notify_type: text("notify_type"),
            notify_id: text("notify_id"),
            notify_time: time("notify_time")?,
            auth_no: text("auth_no"),
            out_order_no: text("out_order_no"),
            operation_id: text("operation_id"),
            out_request_no: text("out_request_no"),
            operation_type: params.get_nonblank("operation_type").map(OperationType::parse),
            amount,
            status: params.get_nonblank("status").map(OperationStatus::parse),
            gmt_create: time("gmt_create")?,
            gmt_trans: time("gmt_trans")?,
            params: params.clone(),
        })
    }

    /// Verifies a raw `application/x-www-form-urlencoded` notify body (`+` is a space), decoded
    /// with its own `charset` parameter, else `charset`.
    ///
    /// ```
    /// # use hongbao_client::{Notify, Charset, PrivateKey, ErrorKind, SignatureFailure};
    /// # let key = PrivateKey::generate(1024)?;
    /// let err = Notify::verify_form(b"notify_id=n1&amount=1.00", Charset::Utf8, &key.public_key()?)
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::Signature(SignatureFailure::Unsigned));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_form(
        body: &[u8],
        charset: Charset,
        alipay_public_key: &PublicKey,
    ) -> Result<Notify, Error> {
        let raw = parse_form(body)
            .map_err(|err| Error::invalid(format!("notify body: {err}")).with_source(err))?;
        let charset =
            peek_ascii(&raw, "charset").and_then(|c| Charset::parse(&c)).unwrap_or(charset);
        let undecodable =
            || Error::signature(SignatureFailure::Undecodable { charset: charset.as_str() });
        let mut params = Params::new();
        for (key, value) in &raw {
            let key = charset.decode(key).ok_or_else(undecodable)?;
            let value = charset.decode(value).ok_or_else(undecodable)?;
            if params.get(&key).is_some() {
                return Err(Error::invalid(format!("notify body has {key} twice")));
            }
            params.insert(key, value);
        }
        Notify::verify(&params, charset, alipay_public_key)
    }
}
