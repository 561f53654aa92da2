//! What Alipay posts to the merchant: fund.coupon notifications (`notify_url` posts, read into a
//! [`Notify`]) and fund.trans messages (`alipay.fund.trans.order.changed`, posted to the app's
//! application gateway, read into a [`TransOrderChanged`]). Both are verified with Alipay's
//! `rsaCheckV1` rule (every parameter but `sign` and `sign_type`, blanks dropped, sorted,
//! encoded in the post's `charset`) before anything in them is read.
//!
//! Which fields a red packet notify carries is only partly documented (spec §3.6), so every
//! typed field is optional and [`Notify::params`] keeps them all; likewise for messages.

use crate::coupon::{OperationStatus, OperationType};
use crate::error::{Error, SignatureFailure};
use crate::ids::{AuthNo, OperationId, OrderId, OutBizNo, OutOrderNo, OutRequestNo};
use crate::ids::{PayFundOrderId, UserId};
use crate::response::{parse_amount, parse_beijing_time};
use crate::trans::{BizScene, TransStatus, TRANS_ORDER_CHANGED};
use chrono::{DateTime, FixedOffset, Utc};
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
/// assert_eq!(notify.auth_no.as_ref().map(|id| id.as_str()), Some("2024"));
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
    pub auth_no: Option<AuthNo>,
    /// `out_order_no`.
    pub out_order_no: Option<OutOrderNo>,
    /// `operation_id`.
    pub operation_id: Option<OperationId>,
    /// `out_request_no`.
    pub out_request_no: Option<OutRequestNo>,
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
        verify_params(params, charset, alipay_public_key)?;
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
            auth_no: text("auth_no").map(AuthNo::new),
            out_order_no: text("out_order_no").map(OutOrderNo::new),
            operation_id: text("operation_id").map(OperationId::new),
            out_request_no: text("out_request_no").map(OutRequestNo::new),
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
        let (params, charset) = decode_form(body, charset)?;
        Notify::verify(&params, charset, alipay_public_key)
    }

    /// The text a notify body's signature is checked over by [`Notify::verify_form`]: its
    /// parameters decoded the same way, all but `sign` and `sign_type`, sorted (Alipay's
    /// `rsaCheckV1`). For telling a changed body from a wrong key when verification fails.
    ///
    /// ```
    /// # use hongbao_client::{Notify, Charset};
    /// let content = Notify::sign_content_of_form(b"b=2&a=1&sign=xx&sign_type=RSA2", Charset::Utf8)?;
    /// assert_eq!(content, "a=1&b=2");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sign_content_of_form(body: &[u8], charset: Charset) -> Result<String, Error> {
        let (params, _) = decode_form(body, charset)?;
        Ok(hongbao_protocol::sign_content::notify_sign_content(&params))
    }
}

/// Checks a post's signature: present, and valid over its parameters in its own `charset`
/// (else `charset`).
fn verify_params(
    params: &Params,
    charset: Charset,
    alipay_public_key: &PublicKey,
) -> Result<(), Error> {
    if params.get_nonblank("sign").is_none() {
        return Err(Error::signature(SignatureFailure::Unsigned));
    }
    let charset = params.get("charset").and_then(Charset::parse).unwrap_or(charset);
    if !verify_notify(params, charset, alipay_public_key) {
        return Err(Error::signature(SignatureFailure::Mismatch));
    }
    Ok(())
}

/// A raw `application/x-www-form-urlencoded` post (`+` is a space), decoded with its own
/// `charset` parameter, else `charset`; a parameter given twice is refused.
fn decode_form(body: &[u8], charset: Charset) -> Result<(Params, Charset), Error> {
    let raw = parse_form(body)
        .map_err(|err| Error::invalid(format!("notify body: {err}")).with_source(err))?;
    let charset = peek_ascii(&raw, "charset").and_then(|c| Charset::parse(&c)).unwrap_or(charset);
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
    Ok((params, charset))
}

/// A verified `alipay.fund.trans.order.changed` message (资金单据状态变更通知): a fund.trans
/// document changed (a send paid or closed, a claim, a B2C red packet, a return). Its
/// `biz_content` fields are read into the typed fields; every parameter is kept in `params`.
/// Answer the post with the body `success` once it is handled, or Alipay sends it again.
///
/// ```
/// use hongbao_client::{BizScene, Charset, Fen, Params, PrivateKey, SignType, TransOrderChanged, TransStatus};
/// use hongbao_protocol::sign_content::sign_notify; // what Alipay (or hongbao) does
/// let alipay_key = PrivateKey::generate(1024)?;
/// let content = r#"{"action_type":"FINISH","biz_scene":"PERSONAL_PAY","order_id":"20190912110075000006740023648562","origin_interface":"alipay.fund.trans.app.pay","out_biz_no":"qt_20190912162507_298","pay_date":"2019-09-12 16:25:15","pay_fund_order_id":"20190912110075001506740023416000","product_code":"STD_RED_PACKET","status":"SUCCESS","trans_amount":"0.01"}"#;
/// let mut params: Params = [("msg_method", "alipay.fund.trans.order.changed"), ("biz_content", content),
///     ("app_id", "2021000000000001"), ("notify_id", "n1"), ("utc_timestamp", "1568276715000"),
///     ("version", "1.1"), ("charset", "utf-8"), ("sign_type", "RSA2")].into_iter().collect();
/// let sign = sign_notify(&params, Charset::Utf8, SignType::Rsa2, &alipay_key)?;
/// params.insert("sign", sign);
/// let changed = TransOrderChanged::verify(&params, Charset::Utf8, &alipay_key.public_key()?)?;
/// assert_eq!((changed.biz_scene, changed.status), (Some(BizScene::PersonalPay), Some(TransStatus::Success)));
/// assert_eq!(changed.trans_amount, Some(Fen::from_fen(1)));
/// assert_eq!(changed.utc_timestamp.map(|t| t.timestamp_millis()), Some(1_568_276_715_000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransOrderChanged {
    /// `notify_id`.
    pub notify_id: Option<String>,
    /// `app_id` the message is for.
    pub app_id: Option<String>,
    /// `utc_timestamp`: when it was sent.
    pub utc_timestamp: Option<DateTime<Utc>>,
    /// `version` (`1.1`).
    pub version: Option<String>,
    /// `out_biz_no`: the document's merchant number (a return's `out_request_no` at hongbao).
    pub out_biz_no: Option<OutBizNo>,
    /// `order_id`: Alipay's document number (a return shows its send's).
    pub order_id: Option<OrderId>,
    /// `pay_fund_order_id`, once the money moved.
    pub pay_fund_order_id: Option<PayFundOrderId>,
    /// `product_code` (`STD_RED_PACKET`).
    pub product_code: Option<String>,
    /// `biz_scene`: which kind of document changed.
    pub biz_scene: Option<BizScene>,
    /// `origin_interface`: the method that created the document.
    pub origin_interface: Option<String>,
    /// `status`.
    pub status: Option<TransStatus>,
    /// `action_type`: `CREATE`, `FINISH` or `CLOSE`.
    pub action_type: Option<String>,
    /// `trans_amount`.
    pub trans_amount: Option<Fen>,
    /// `pay_date` (Beijing time).
    pub pay_date: Option<DateTime<FixedOffset>>,
    /// `refund_date` of a return (Beijing time).
    pub refund_date: Option<DateTime<FixedOffset>>,
    /// `receiver_user_id` of a claim or a B2C red packet.
    pub receiver_user_id: Option<UserId>,
    /// `passback_params` of the call that created the document.
    pub passback_params: Option<String>,
    /// Every parameter as received, `sign` included.
    pub params: Params,
}

impl TransOrderChanged {
    /// Verifies decoded message parameters (as [`Notify::verify`]) and reads them. A message of
    /// another `msg_method` is [`ErrorKind::Invalid`](crate::ErrorKind::Invalid), after its
    /// signature was checked.
    ///
    /// ```
    /// use hongbao_client::{Charset, ErrorKind, Params, PrivateKey, SignatureFailure, TransOrderChanged};
    /// let alipay_key = PrivateKey::generate(1024)?.public_key()?;
    /// let forged: Params = [("msg_method", "alipay.fund.trans.order.changed"), ("biz_content", "{}"),
    ///                       ("sign", "AAAA")].into_iter().collect();
    /// let err = TransOrderChanged::verify(&forged, Charset::Utf8, &alipay_key).unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::Signature(SignatureFailure::Mismatch));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(
        params: &Params,
        charset: Charset,
        alipay_public_key: &PublicKey,
    ) -> Result<TransOrderChanged, Error> {
        verify_params(params, charset, alipay_public_key)?;
        match params.get("msg_method") {
            Some(TRANS_ORDER_CHANGED) => {}
            other => {
                return Err(Error::invalid(format!(
                    "msg_method {other:?} is not {TRANS_ORDER_CHANGED}"
                )))
            }
        }
        let content = params.get("biz_content").unwrap_or("{}");
        let content: serde_json::Value = serde_json::from_str(content)
            .map_err(|err| malformed("biz_content", format!("not a JSON object: {err}"), params))?;
        // Every field of the message is a JSON string (amounts too); anything else is absent.
        let field = |key: &str| {
            content.get(key).and_then(|v| v.as_str()).filter(|v| !v.is_empty()).map(str::to_owned)
        };
        let time = |key: &str| -> Result<Option<DateTime<FixedOffset>>, Error> {
            match field(key) {
                None => Ok(None),
                Some(value) => parse_beijing_time(&value).map(Some).ok_or_else(|| {
                    malformed(key, format!("{value:?} is not yyyy-MM-dd HH:mm:ss"), params)
                }),
            }
        };
        let trans_amount = match field("trans_amount") {
            None => None,
            Some(value) => Some(
                parse_amount(&value).map_err(|detail| malformed("trans_amount", detail, params))?,
            ),
        };
        let utc_timestamp = match params.get_nonblank("utc_timestamp") {
            None => None,
            Some(ms) => Some(
                ms.parse::<i64>()
                    .ok()
                    .and_then(DateTime::<Utc>::from_timestamp_millis)
                    .ok_or_else(|| {
                        malformed("utc_timestamp", format!("{ms:?} is not epoch ms"), params)
                    })?,
            ),
        };
        let text = |key: &str| params.get_nonblank(key).map(str::to_owned);
        Ok(TransOrderChanged {
            notify_id: text("notify_id"),
            app_id: text("app_id"),
            utc_timestamp,
            version: text("version"),
            out_biz_no: field("out_biz_no").map(OutBizNo::new),
            order_id: field("order_id").map(OrderId::new),
            pay_fund_order_id: field("pay_fund_order_id").map(PayFundOrderId::new),
            product_code: field("product_code"),
            biz_scene: field("biz_scene").map(|scene| BizScene::parse(&scene)),
            origin_interface: field("origin_interface"),
            status: field("status").map(|status| TransStatus::parse(&status)),
            action_type: field("action_type"),
            trans_amount,
            pay_date: time("pay_date")?,
            refund_date: time("refund_date")?,
            receiver_user_id: field("receiver_user_id").map(UserId::new),
            passback_params: field("passback_params"),
            params: params.clone(),
        })
    }

    /// Verifies a raw message body (`application/x-www-form-urlencoded`), decoded with its own
    /// `charset`, else `charset`.
    ///
    /// ```
    /// # use hongbao_client::{Charset, ErrorKind, PrivateKey, SignatureFailure, TransOrderChanged};
    /// # let key = PrivateKey::generate(1024)?;
    /// let err = TransOrderChanged::verify_form(b"msg_method=alipay.fund.trans.order.changed", Charset::Utf8,
    ///                                          &key.public_key()?).unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::Signature(SignatureFailure::Unsigned));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_form(
        body: &[u8],
        charset: Charset,
        alipay_public_key: &PublicKey,
    ) -> Result<TransOrderChanged, Error> {
        let (params, charset) = decode_form(body, charset)?;
        TransOrderChanged::verify(&params, charset, alipay_public_key)
    }
}
