//! Today's red packet product, `STD_RED_PACKET` over `alipay.fund.trans.*`: the send's order
//! string (`alipay.fund.trans.app.pay`, paid in the Alipay app) and the verification of the
//! wallet's result, claims and B2C red packets (`alipay.fund.trans.uni.transfer`), returns
//! (`alipay.fund.trans.refund`), lookups (`alipay.fund.trans.common.query`); the message
//! `alipay.fund.trans.order.changed` is verified in `notify`.
//!
//! The product's fixed fields are written by the types: `product_code` `STD_RED_PACKET`, the
//! `biz_scene` of each call, `business_params` with `sub_biz_scene` `REDPACKET` (as a JSON string,
//! the type the official SDK models declare). Request times are `yyyy-MM-dd HH:mm` in Beijing
//! time, answer times `yyyy-MM-dd HH:mm:ss`.

use crate::biz::BizWriter;
use crate::client::{CallOptions, Client};
use crate::error::Error;
use crate::ids::{LogonId, OrderId, OutBizNo, OutRequestNo, PayFundOrderId, RefundOrderId, UserId};
use crate::response::{beijing, Response};
use chrono::{DateTime, FixedOffset, TimeZone};
use hongbao_money::Fen;

// The wire names are defined once, in the wire model shared with the server.
pub use hongbao_protocol::method::{
    TRANS_APP_PAY, TRANS_COMMON_QUERY, TRANS_ORDER_CHANGED, TRANS_REFUND, TRANS_UNI_TRANSFER,
};

/// `product_code` of cash red packets.
///
/// ```
/// assert_eq!(hongbao_client::STD_RED_PACKET, "STD_RED_PACKET");
/// ```
pub const STD_RED_PACKET: &str = "STD_RED_PACKET";

/// `business_params.sub_biz_scene` of red packets.
const SUB_BIZ_SCENE: &str = "REDPACKET";

/// A fund.trans document's `biz_scene`.
///
/// ```
/// use hongbao_client::BizScene;
/// assert_eq!(BizScene::parse("PERSONAL_PAY"), BizScene::PersonalPay);
/// assert_eq!(BizScene::DirectTransfer.as_str(), "DIRECT_TRANSFER");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BizScene {
    /// `PERSONAL_PAY`: a send (发红包), made by `alipay.fund.trans.app.pay`.
    PersonalPay,
    /// `PERSONAL_COLLECTION`: a claim of a send (领红包), by `uni.transfer`.
    PersonalCollection,
    /// `REFUND`: a return of a send's rest (退回), by `alipay.fund.trans.refund` or at the
    /// send's `refund_time_expire`.
    Refund,
    /// `DIRECT_TRANSFER`: a B2C red packet, paid from the merchant's account by `uni.transfer`.
    DirectTransfer,
    /// A value this SDK does not know, kept as sent.
    Other(String),
}

impl BizScene {
    /// Reads the wire value.
    ///
    /// ```
    /// use hongbao_client::BizScene;
    /// assert_eq!(BizScene::parse("REFUND"), BizScene::Refund);
    /// assert_eq!(BizScene::parse("LOTTERY"), BizScene::Other("LOTTERY".into()));
    /// ```
    pub fn parse(text: &str) -> BizScene {
        match text {
            "PERSONAL_PAY" => BizScene::PersonalPay,
            "PERSONAL_COLLECTION" => BizScene::PersonalCollection,
            "REFUND" => BizScene::Refund,
            "DIRECT_TRANSFER" => BizScene::DirectTransfer,
            other => BizScene::Other(other.to_owned()),
        }
    }

    /// The wire value.
    ///
    /// ```
    /// use hongbao_client::BizScene;
    /// assert_eq!(BizScene::PersonalCollection.as_str(), "PERSONAL_COLLECTION");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            BizScene::PersonalPay => "PERSONAL_PAY",
            BizScene::PersonalCollection => "PERSONAL_COLLECTION",
            BizScene::Refund => "REFUND",
            BizScene::DirectTransfer => "DIRECT_TRANSFER",
            BizScene::Other(other) => other,
        }
    }
}

/// A fund.trans document's `status`.
///
/// ```
/// use hongbao_client::TransStatus;
/// assert_eq!(TransStatus::parse("WAIT_PAY"), TransStatus::WaitPay);
/// assert_eq!(TransStatus::Closed.as_str(), "CLOSED");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransStatus {
    /// `WAIT_PAY`: a send not paid yet.
    WaitPay,
    /// `SUCCESS`: the money moved.
    Success,
    /// `CLOSED`: a send closed unpaid at its `time_expire`.
    Closed,
    /// `FAIL`: a transfer failed (bank cards; not for Alipay accounts).
    Fail,
    /// `DEALING`: a transfer in progress (bank cards).
    Dealing,
    /// `REFUND`: a transfer bounced back (退票, bank cards).
    Refund,
    /// A value this SDK does not know, kept as sent.
    Other(String),
}

impl TransStatus {
    /// Reads the wire value.
    ///
    /// ```
    /// use hongbao_client::TransStatus;
    /// assert_eq!(TransStatus::parse("SUCCESS"), TransStatus::Success);
    /// assert_eq!(TransStatus::parse("FROZEN"), TransStatus::Other("FROZEN".into()));
    /// ```
    pub fn parse(text: &str) -> TransStatus {
        match text {
            "WAIT_PAY" => TransStatus::WaitPay,
            "SUCCESS" => TransStatus::Success,
            "CLOSED" => TransStatus::Closed,
            "FAIL" => TransStatus::Fail,
            "DEALING" => TransStatus::Dealing,
            "REFUND" => TransStatus::Refund,
            other => TransStatus::Other(other.to_owned()),
        }
    }

    /// The wire value.
    ///
    /// ```
    /// use hongbao_client::TransStatus;
    /// assert_eq!(TransStatus::WaitPay.as_str(), "WAIT_PAY");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            TransStatus::WaitPay => "WAIT_PAY",
            TransStatus::Success => "SUCCESS",
            TransStatus::Closed => "CLOSED",
            TransStatus::Fail => "FAIL",
            TransStatus::Dealing => "DEALING",
            TransStatus::Refund => "REFUND",
            TransStatus::Other(other) => other,
        }
    }
}

/// Who a participant (`payee_info`) is: an account id, or a logon id.
///
/// ```
/// use hongbao_client::{ParticipantIdentity, UserId};
/// let identity = ParticipantIdentity::UserId(UserId::new("2088102000000002"));
/// assert_eq!(identity.identity_type(), "ALIPAY_USER_ID");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParticipantIdentity {
    /// `ALIPAY_USER_ID`: the 2088… account id.
    UserId(UserId),
    /// `ALIPAY_LOGON_ID`: a phone number or e-mail (Alipay then requires the real `name`).
    LogonId(LogonId),
}

impl ParticipantIdentity {
    /// `identity_type`.
    ///
    /// ```
    /// use hongbao_client::{LogonId, ParticipantIdentity};
    /// assert_eq!(ParticipantIdentity::LogonId(LogonId::new("13800138000")).identity_type(), "ALIPAY_LOGON_ID");
    /// ```
    pub fn identity_type(&self) -> &'static str {
        match self {
            ParticipantIdentity::UserId(_) => "ALIPAY_USER_ID",
            ParticipantIdentity::LogonId(_) => "ALIPAY_LOGON_ID",
        }
    }

    /// `identity`.
    ///
    /// ```
    /// use hongbao_client::{ParticipantIdentity, UserId};
    /// assert_eq!(ParticipantIdentity::UserId(UserId::new("2088102000000002")).identity(), "2088102000000002");
    /// ```
    pub fn identity(&self) -> &str {
        match self {
            ParticipantIdentity::UserId(user_id) => user_id.as_str(),
            ParticipantIdentity::LogonId(logon_id) => logon_id.as_str(),
        }
    }
}

/// A `Participant` (`payee_info`): who is paid, and optionally the real name Alipay checks
/// against the account (required with a logon id).
///
/// ```
/// use hongbao_client::{LogonId, Participant, UserId};
/// let by_id = Participant::user_id(UserId::new("2088102000000002"));
/// assert_eq!(by_id.name, None);
/// let by_logon = Participant::logon_id(LogonId::new("alice@example.com"), "王小红");
/// assert_eq!(by_logon.name.as_deref(), Some("王小红"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Participant {
    /// `identity` and `identity_type`.
    pub identity: ParticipantIdentity,
    /// `name`: when given, Alipay checks it is the account's real name (`PAYEE_USERINFO_ERROR`).
    pub name: Option<String>,
}

impl Participant {
    /// By account id (`ALIPAY_USER_ID`).
    ///
    /// ```
    /// use hongbao_client::{Participant, ParticipantIdentity, UserId};
    /// let payee = Participant::user_id(UserId::new("2088102000000002"));
    /// assert_eq!(payee.identity, ParticipantIdentity::UserId(UserId::new("2088102000000002")));
    /// ```
    pub fn user_id(user_id: UserId) -> Participant {
        Participant { identity: ParticipantIdentity::UserId(user_id), name: None }
    }

    /// By logon id (`ALIPAY_LOGON_ID`), with the real name Alipay requires for it.
    ///
    /// ```
    /// use hongbao_client::{LogonId, Participant};
    /// let payee = Participant::logon_id(LogonId::new("13800138000"), "李四");
    /// assert_eq!(payee.identity.identity(), "13800138000");
    /// ```
    pub fn logon_id(logon_id: LogonId, name: impl Into<String>) -> Participant {
        Participant { identity: ParticipantIdentity::LogonId(logon_id), name: Some(name.into()) }
    }

    /// Adds (or replaces) the real name to check.
    ///
    /// ```
    /// use hongbao_client::{Participant, UserId};
    /// let payee = Participant::user_id(UserId::new("2088102000000002")).name("王小红");
    /// assert_eq!(payee.name.as_deref(), Some("王小红"));
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Participant {
        self.name = Some(name.into());
        self
    }

    fn writer(&self) -> BizWriter {
        BizWriter::new()
            .text("identity", self.identity.identity())
            .text("identity_type", self.identity.identity_type())
            .optional("name", self.name.as_deref())
    }
}

/// `yyyy-MM-dd HH:mm` in Beijing time, as fund.trans requests write times (seconds dropped).
fn beijing_minute(at: &DateTime<FixedOffset>) -> String {
    at.with_timezone(&beijing()).format("%Y-%m-%d %H:%M").to_string()
}

/// `business_params` as a JSON string holding the object (the SDK models' `String` type).
fn business_params(payer_binded_alipay_uid: Option<&UserId>) -> String {
    BizWriter::new()
        .text("sub_biz_scene", SUB_BIZ_SCENE)
        .optional("payer_binded_alipay_uid", payer_binded_alipay_uid.map(UserId::as_str))
        .finish()
}

/// `alipay.fund.trans.app.pay`: a send (发红包) of `trans_amount`, paid by the bound user in the
/// Alipay app. The merchant server signs the order string
/// ([`Client::trans_app_pay_order_string`]); the app hands it to the Alipay app SDK.
///
/// ```
/// use hongbao_client::{Fen, OutBizNo, TransAppPayRequest, UserId};
/// use chrono::TimeZone;
/// let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
/// let request = TransAppPayRequest::new(OutBizNo::new("send-1"), Fen::from_fen(10000), UserId::new("2088102000000002"))
///     .order_title("拼手气红包")
///     .time_expire(beijing.with_ymd_and_hms(2026, 11, 18, 20, 30, 59).unwrap());
/// assert_eq!(
///     request.biz_content(),
///     r#"{"out_biz_no":"send-1","trans_amount":"100.00","product_code":"STD_RED_PACKET","biz_scene":"PERSONAL_PAY","order_title":"拼手气红包","time_expire":"2026-11-18 20:30","business_params":"{\"sub_biz_scene\":\"REDPACKET\",\"payer_binded_alipay_uid\":\"2088102000000002\"}"}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransAppPayRequest {
    /// The merchant's number of the send (≤ 64).
    pub out_biz_no: OutBizNo,
    /// The amount of the send.
    pub trans_amount: Fen,
    /// `business_params.payer_binded_alipay_uid`: the Alipay user who pays the send (bound to
    /// the merchant member creating it).
    pub payer_binded_alipay_uid: UserId,
    /// Shown at the cashier and in the bill (≤ 128).
    pub order_title: Option<String>,
    /// A remark (≤ 200).
    pub remark: Option<String>,
    /// The pay deadline (minute precision); unpaid by then the send is `CLOSED`.
    pub time_expire: Option<DateTime<FixedOffset>>,
    /// When the rest goes back to the payer by itself (minute precision).
    pub refund_time_expire: Option<DateTime<FixedOffset>>,
    /// Echoed in messages and queries.
    pub passback_params: Option<String>,
}

impl TransAppPayRequest {
    /// A send with the required fields.
    ///
    /// ```
    /// use hongbao_client::{Fen, OutBizNo, TransAppPayRequest, UserId};
    /// let request = TransAppPayRequest::new(OutBizNo::new("send-1"), Fen::from_fen(500), UserId::new("2088102000000002"));
    /// assert_eq!(request.trans_amount, Fen::from_fen(500));
    /// ```
    pub fn new(out_biz_no: OutBizNo, trans_amount: Fen, payer_binded_alipay_uid: UserId) -> Self {
        TransAppPayRequest {
            out_biz_no,
            trans_amount,
            payer_binded_alipay_uid,
            order_title: None,
            remark: None,
            time_expire: None,
            refund_time_expire: None,
            passback_params: None,
        }
    }

    /// Sets `order_title`.
    ///
    /// ```
    /// use hongbao_client::{Fen, OutBizNo, TransAppPayRequest, UserId};
    /// let request = TransAppPayRequest::new(OutBizNo::new("send-1"), Fen::from_fen(500), UserId::new("2088102000000002"))
    ///     .order_title("新年红包");
    /// assert!(request.biz_content().contains(r#""order_title":"新年红包""#));
    /// ```
    pub fn order_title(mut self, order_title: impl Into<String>) -> Self {
        self.order_title = Some(order_title.into());
        self
    }

    /// Sets `remark`.
    ///
    /// ```
    /// use hongbao_client::{Fen, OutBizNo, TransAppPayRequest, UserId};
    /// let request = TransAppPayRequest::new(OutBizNo::new("send-1"), Fen::from_fen(500), UserId::new("2088102000000002"))
    ///     .remark("恭喜发财");
    /// assert!(request.biz_content().contains(r#""remark":"恭喜发财""#));
    /// ```
    pub fn remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// Sets `time_expire`, any time zone (written in Beijing time, seconds dropped).
    ///
    /// ```
    /// use hongbao_client::{Fen, OutBizNo, TransAppPayRequest, UserId};
    /// use chrono::TimeZone;
    /// let at = chrono::Utc.with_ymd_and_hms(2026, 11, 18, 12, 30, 0).unwrap(); // 20:30 in Beijing
    /// let request = TransAppPayRequest::new(OutBizNo::new("send-1"), Fen::from_fen(500), UserId::new("2088102000000002"))
    ///     .time_expire(at);
    /// assert!(request.biz_content().contains(r#""time_expire":"2026-11-18 20:30""#));
    /// ```
    pub fn time_expire<Tz: TimeZone>(mut self, at: DateTime<Tz>) -> Self {
        self.time_expire = Some(at.fixed_offset());
        self
    }

    /// Sets `refund_time_expire` (after `time_expire`), any time zone.
    ///
    /// ```
    /// use hongbao_client::{Fen, OutBizNo, TransAppPayRequest, UserId};
    /// use chrono::TimeZone;
    /// let at = chrono::Utc.with_ymd_and_hms(2026, 11, 19, 12, 0, 0).unwrap();
    /// let request = TransAppPayRequest::new(OutBizNo::new("send-1"), Fen::from_fen(500), UserId::new("2088102000000002"))
    ///     .refund_time_expire(at);
    /// assert!(request.biz_content().contains(r#""refund_time_expire":"2026-11-19 20:00""#));
    /// ```
    pub fn refund_time_expire<Tz: TimeZone>(mut self, at: DateTime<Tz>) -> Self {
        self.refund_time_expire = Some(at.fixed_offset());
        self
    }

    /// Sets `passback_params`.
    ///
    /// ```
    /// use hongbao_client::{Fen, OutBizNo, TransAppPayRequest, UserId};
    /// let request = TransAppPayRequest::new(OutBizNo::new("send-1"), Fen::from_fen(500), UserId::new("2088102000000002"))
    ///     .passback_params(r#"{"room":"8"}"#);
    /// assert!(request.biz_content().ends_with(r#","passback_params":"{\"room\":\"8\"}"}"#));
    /// ```
    pub fn passback_params(mut self, passback_params: impl Into<String>) -> Self {
        self.passback_params = Some(passback_params.into());
        self
    }

    /// The compact `biz_content` JSON.
    ///
    /// ```
    /// use hongbao_client::{Fen, OutBizNo, TransAppPayRequest, UserId};
    /// let request = TransAppPayRequest::new(OutBizNo::new("send-1"), Fen::from_fen(1), UserId::new("2088102000000002"));
    /// assert_eq!(request.biz_content(),
    ///     r#"{"out_biz_no":"send-1","trans_amount":"0.01","product_code":"STD_RED_PACKET","biz_scene":"PERSONAL_PAY","business_params":"{\"sub_biz_scene\":\"REDPACKET\",\"payer_binded_alipay_uid\":\"2088102000000002\"}"}"#);
    /// ```
    pub fn biz_content(&self) -> String {
        BizWriter::new()
            .text("out_biz_no", self.out_biz_no.as_str())
            .amount("trans_amount", self.trans_amount)
            .text("product_code", STD_RED_PACKET)
            .text("biz_scene", BizScene::PersonalPay.as_str())
            .optional("order_title", self.order_title.as_deref())
            .optional("remark", self.remark.as_deref())
            .optional("time_expire", self.time_expire.as_ref().map(beijing_minute).as_deref())
            .optional(
                "refund_time_expire",
                self.refund_time_expire.as_ref().map(beijing_minute).as_deref(),
            )
            .text("business_params", &business_params(Some(&self.payer_binded_alipay_uid)))
            .optional("passback_params", self.passback_params.as_deref())
            .finish()
    }
}

/// The `alipay_fund_trans_app_pay_response` the wallet hands back for a paid send (verified by
/// [`Client::verify_trans_app_pay_result`]).
///
/// ```
/// # use hongbao_client::{Client, PrivateKey, SignType, TransStatus};
/// # let key = PrivateKey::generate(1024)?;
/// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
/// let node = r#"{"code":"10000","msg":"Success","out_biz_no":"send-1","order_id":"20261118110075000006640000000001","status":"SUCCESS"}"#;
/// # let sign = key.sign(SignType::Rsa2, node.as_bytes())?;
/// # let result = format!(r#"{{"alipay_fund_trans_app_pay_response":{node},"sign":"{sign}"}}"#);
/// let paid = client.verify_trans_app_pay_result(&result)?;
/// assert_eq!((paid.out_biz_no.as_str(), paid.status), ("send-1", TransStatus::Success));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransAppPayResponse {
    /// The merchant's number of the send.
    pub out_biz_no: OutBizNo,
    /// Alipay's number of the send: claims name it as `original_order_id`, returns as `order_id`.
    pub order_id: Option<OrderId>,
    /// `SUCCESS` once paid (`WAIT_PAY`, `CLOSED` otherwise).
    pub status: TransStatus,
}

impl TransAppPayResponse {
    fn from_response(response: &Response) -> Result<TransAppPayResponse, Error> {
        Ok(TransAppPayResponse {
            out_biz_no: OutBizNo::new(response.required("out_biz_no")?),
            order_id: response.optional("order_id").map(OrderId::new),
            status: TransStatus::parse(&response.required("status")?),
        })
    }
}

/// `alipay.fund.trans.uni.transfer` for red packets: a claim of a send (`PERSONAL_COLLECTION`,
/// naming the send's `order_id` as `original_order_id`) or a B2C red packet from the merchant's
/// own account (`DIRECT_TRANSFER`).
///
/// ```
/// use hongbao_client::{BizScene, Fen, LogonId, OrderId, OutBizNo, Participant, TransferRequest};
/// let claim = TransferRequest::claim(OutBizNo::new("claim-1"), OrderId::new("20261118110075000006640000000001"),
///     Fen::from_fen(300), Participant::logon_id(LogonId::new("alice@example.com"), "王小红"));
/// assert_eq!(claim.biz_scene(), BizScene::PersonalCollection);
/// assert_eq!(
///     claim.biz_content(),
///     r#"{"out_biz_no":"claim-1","trans_amount":"3.00","product_code":"STD_RED_PACKET","biz_scene":"PERSONAL_COLLECTION","original_order_id":"20261118110075000006640000000001","payee_info":{"identity":"alice@example.com","identity_type":"ALIPAY_LOGON_ID","name":"王小红"},"business_params":"{\"sub_biz_scene\":\"REDPACKET\"}"}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransferRequest {
    /// The merchant's number of this claim or B2C red packet (≤ 64).
    pub out_biz_no: OutBizNo,
    /// The amount paid, 0.01 ..= 100000000.00.
    pub trans_amount: Fen,
    /// The send claimed from (`PERSONAL_COLLECTION`); `None` for a B2C red packet.
    pub original_order_id: Option<OrderId>,
    /// Who is paid.
    pub payee_info: Participant,
    /// The title in the payee's bill.
    pub order_title: Option<String>,
    /// A remark.
    pub remark: Option<String>,
    /// Echoed in messages and queries.
    pub passback_params: Option<String>,
}

impl TransferRequest {
    /// A claim of `trans_amount` from the send `original_order_id` (its app.pay `order_id`).
    ///
    /// ```
    /// use hongbao_client::{Fen, OrderId, OutBizNo, Participant, TransferRequest, UserId};
    /// let claim = TransferRequest::claim(OutBizNo::new("claim-1"), OrderId::new("20261118110075000006640000000001"),
    ///     Fen::from_fen(300), Participant::user_id(UserId::new("2088102000000002")));
    /// assert!(claim.original_order_id.is_some());
    /// ```
    pub fn claim(
        out_biz_no: OutBizNo,
        original_order_id: OrderId,
        trans_amount: Fen,
        payee_info: Participant,
    ) -> Self {
        TransferRequest {
            out_biz_no,
            trans_amount,
            original_order_id: Some(original_order_id),
            payee_info,
            order_title: None,
            remark: None,
            passback_params: None,
        }
    }

    /// A B2C red packet of `trans_amount` from the merchant's own account.
    ///
    /// ```
    /// use hongbao_client::{BizScene, Fen, OutBizNo, Participant, TransferRequest, UserId};
    /// let b2c = TransferRequest::direct(OutBizNo::new("b2c-1"), Fen::from_fen(888),
    ///     Participant::user_id(UserId::new("2088102000000002")).name("王小红"));
    /// assert_eq!(b2c.biz_scene(), BizScene::DirectTransfer);
    /// assert!(b2c.biz_content().contains(r#""biz_scene":"DIRECT_TRANSFER","payee_info":"#));
    /// ```
    pub fn direct(out_biz_no: OutBizNo, trans_amount: Fen, payee_info: Participant) -> Self {
        TransferRequest {
            out_biz_no,
            trans_amount,
            original_order_id: None,
            payee_info,
            order_title: None,
            remark: None,
            passback_params: None,
        }
    }

    /// `PERSONAL_COLLECTION` for a claim, `DIRECT_TRANSFER` for a B2C red packet.
    ///
    /// ```
    /// use hongbao_client::{BizScene, Fen, OutBizNo, Participant, TransferRequest, UserId};
    /// let b2c = TransferRequest::direct(OutBizNo::new("b2c-1"), Fen::from_fen(1), Participant::user_id(UserId::new("2088102000000002")));
    /// assert_eq!(b2c.biz_scene().as_str(), "DIRECT_TRANSFER");
    /// ```
    pub fn biz_scene(&self) -> BizScene {
        match self.original_order_id {
            Some(_) => BizScene::PersonalCollection,
            None => BizScene::DirectTransfer,
        }
    }

    /// Sets `order_title`.
    ///
    /// ```
    /// use hongbao_client::{Fen, OutBizNo, Participant, TransferRequest, UserId};
    /// let b2c = TransferRequest::direct(OutBizNo::new("b2c-1"), Fen::from_fen(1), Participant::user_id(UserId::new("2088102000000002")))
    ///     .order_title("B2C现金红包");
    /// assert!(b2c.biz_content().contains(r#""order_title":"B2C现金红包""#));
    /// ```
    pub fn order_title(mut self, order_title: impl Into<String>) -> Self {
        self.order_title = Some(order_title.into());
        self
    }

    /// Sets `remark`.
    ///
    /// ```
    /// use hongbao_client::{Fen, OutBizNo, Participant, TransferRequest, UserId};
    /// let b2c = TransferRequest::direct(OutBizNo::new("b2c-1"), Fen::from_fen(1), Participant::user_id(UserId::new("2088102000000002")))
    ///     .remark("红包领取");
    /// assert!(b2c.biz_content().contains(r#""remark":"红包领取""#));
    /// ```
    pub fn remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// Sets `passback_params`.
    ///
    /// ```
    /// use hongbao_client::{Fen, OutBizNo, Participant, TransferRequest, UserId};
    /// let b2c = TransferRequest::direct(OutBizNo::new("b2c-1"), Fen::from_fen(1), Participant::user_id(UserId::new("2088102000000002")))
    ///     .passback_params("order-77");
    /// assert!(b2c.biz_content().ends_with(r#","passback_params":"order-77"}"#));
    /// ```
    pub fn passback_params(mut self, passback_params: impl Into<String>) -> Self {
        self.passback_params = Some(passback_params.into());
        self
    }

    /// The compact `biz_content` JSON.
    ///
    /// ```
    /// use hongbao_client::{Fen, OutBizNo, Participant, TransferRequest, UserId};
    /// let b2c = TransferRequest::direct(OutBizNo::new("b2c-1"), Fen::from_fen(888), Participant::user_id(UserId::new("2088102000000002")));
    /// assert_eq!(b2c.biz_content(),
    ///     r#"{"out_biz_no":"b2c-1","trans_amount":"8.88","product_code":"STD_RED_PACKET","biz_scene":"DIRECT_TRANSFER","payee_info":{"identity":"2088102000000002","identity_type":"ALIPAY_USER_ID"},"business_params":"{\"sub_biz_scene\":\"REDPACKET\"}"}"#);
    /// ```
    pub fn biz_content(&self) -> String {
        BizWriter::new()
            .text("out_biz_no", self.out_biz_no.as_str())
            .amount("trans_amount", self.trans_amount)
            .text("product_code", STD_RED_PACKET)
            .text("biz_scene", self.biz_scene().as_str())
            .optional("original_order_id", self.original_order_id.as_ref().map(OrderId::as_str))
            .optional("order_title", self.order_title.as_deref())
            .object("payee_info", self.payee_info.writer())
            .text("business_params", &business_params(None))
            .optional("remark", self.remark.as_deref())
            .optional("passback_params", self.passback_params.as_deref())
            .finish()
    }
}

/// The answer of `alipay.fund.trans.uni.transfer`.
///
/// ```
/// # use hongbao_client::*;
/// # let key = PrivateKey::generate(1024)?;
/// let node = r#"{"code":"10000","msg":"Success","out_biz_no":"b2c-1","order_id":"20261118110070000006640000000002","pay_fund_order_id":"20261118110070001506640000000002","status":"SUCCESS","trans_date":"2026-11-18 10:41:39"}"#;
/// # let sign = key.sign(SignType::Rsa2, node.as_bytes())?;
/// # let body = format!(r#"{{"alipay_fund_trans_uni_transfer_response":{node},"sign":"{sign}"}}"#);
/// # let response = Response::verify(body.as_bytes(), TRANS_UNI_TRANSFER, Charset::Utf8, SignType::Rsa2, &key.public_key()?)?;
/// let paid = TransferResponse::from_verified(&response)?;
/// assert_eq!(paid.status, TransStatus::Success);
/// assert_eq!(paid.trans_date.map(|t| t.to_rfc3339()).as_deref(), Some("2026-11-18T10:41:39+08:00"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransferResponse {
    /// The merchant's number.
    pub out_biz_no: OutBizNo,
    /// Alipay's number of the transfer.
    pub order_id: OrderId,
    /// Alipay's fund flow number.
    pub pay_fund_order_id: Option<PayFundOrderId>,
    /// `SUCCESS` for transfers to Alipay accounts.
    pub status: TransStatus,
    /// When it was paid (Beijing time).
    pub trans_date: Option<DateTime<FixedOffset>>,
}

impl TransferResponse {
    /// Reads a verified `alipay_fund_trans_uni_transfer_response` (what
    /// [`Client::transfer`] does with the answer).
    pub fn from_verified(response: &Response) -> Result<TransferResponse, Error> {
        Ok(TransferResponse {
            out_biz_no: OutBizNo::new(response.required("out_biz_no")?),
            order_id: OrderId::new(response.required("order_id")?),
            pay_fund_order_id: response.optional("pay_fund_order_id").map(PayFundOrderId::new),
            status: TransStatus::parse(&response.required("status")?),
            trans_date: response.time("trans_date")?,
        })
    }
}

/// `alipay.fund.trans.refund`: returns part of a send's rest (paid − claimed − returned) to its
/// payer. A failed return is resubmitted with the same `out_request_no`.
///
/// ```
/// use hongbao_client::{Fen, OrderId, OutRequestNo, TransRefundRequest};
/// let request = TransRefundRequest::new(OrderId::new("20261118110075000006640000000001"),
///                                       OutRequestNo::new("return-1"), Fen::from_fen(1000))
///     .remark("红包退回");
/// assert_eq!(request.biz_content(),
///     r#"{"order_id":"20261118110075000006640000000001","out_request_no":"return-1","refund_amount":"10.00","remark":"红包退回"}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransRefundRequest {
    /// The send's `order_id`.
    pub order_id: OrderId,
    /// The merchant's number of this return (≤ 64).
    pub out_request_no: OutRequestNo,
    /// The amount returned.
    pub refund_amount: Fen,
    /// A remark.
    pub remark: Option<String>,
    /// Echoed in messages.
    pub passback_params: Option<String>,
}

impl TransRefundRequest {
    /// A return with the required fields.
    ///
    /// ```
    /// use hongbao_client::{Fen, OrderId, OutRequestNo, TransRefundRequest};
    /// let request = TransRefundRequest::new(OrderId::new("20261118110075000006640000000001"),
    ///                                       OutRequestNo::new("return-1"), Fen::from_fen(1000));
    /// assert_eq!(request.refund_amount, Fen::from_fen(1000));
    /// ```
    pub fn new(order_id: OrderId, out_request_no: OutRequestNo, refund_amount: Fen) -> Self {
        TransRefundRequest {
            order_id,
            out_request_no,
            refund_amount,
            remark: None,
            passback_params: None,
        }
    }

    /// Sets `remark`.
    ///
    /// ```
    /// use hongbao_client::{Fen, OrderId, OutRequestNo, TransRefundRequest};
    /// let request = TransRefundRequest::new(OrderId::new("1"), OutRequestNo::new("r"), Fen::from_fen(1)).remark("退回");
    /// assert_eq!(request.remark.as_deref(), Some("退回"));
    /// ```
    pub fn remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// Sets `passback_params`.
    ///
    /// ```
    /// use hongbao_client::{Fen, OrderId, OutRequestNo, TransRefundRequest};
    /// let request = TransRefundRequest::new(OrderId::new("1"), OutRequestNo::new("r"), Fen::from_fen(1))
    ///     .passback_params("x");
    /// assert!(request.biz_content().ends_with(r#","passback_params":"x"}"#));
    /// ```
    pub fn passback_params(mut self, passback_params: impl Into<String>) -> Self {
        self.passback_params = Some(passback_params.into());
        self
    }

    /// The compact `biz_content` JSON.
    ///
    /// ```
    /// use hongbao_client::{Fen, OrderId, OutRequestNo, TransRefundRequest};
    /// let request = TransRefundRequest::new(OrderId::new("1"), OutRequestNo::new("r"), Fen::from_fen(1));
    /// assert_eq!(request.biz_content(), r#"{"order_id":"1","out_request_no":"r","refund_amount":"0.01"}"#);
    /// ```
    pub fn biz_content(&self) -> String {
        BizWriter::new()
            .text("order_id", self.order_id.as_str())
            .text("out_request_no", self.out_request_no.as_str())
            .amount("refund_amount", self.refund_amount)
            .optional("remark", self.remark.as_deref())
            .optional("passback_params", self.passback_params.as_deref())
            .finish()
    }
}

/// The answer of `alipay.fund.trans.refund`.
///
/// ```
/// # use hongbao_client::*;
/// # let key = PrivateKey::generate(1024)?;
/// let node = r#"{"code":"10000","msg":"Success","refund_order_id":"20261118110075001506640000000003","order_id":"20261118110075000006640000000001","out_request_no":"return-1","refund_amount":"8.88","refund_date":"2026-11-18 08:08:08","status":"SUCCESS"}"#;
/// # let sign = key.sign(SignType::Rsa2, node.as_bytes())?;
/// # let body = format!(r#"{{"alipay_fund_trans_refund_response":{node},"sign":"{sign}"}}"#);
/// # let response = Response::verify(body.as_bytes(), TRANS_REFUND, Charset::Utf8, SignType::Rsa2, &key.public_key()?)?;
/// let back = TransRefundResponse::from_verified(&response)?;
/// assert_eq!(back.refund_amount, Fen::from_fen(888));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransRefundResponse {
    /// Alipay's number of the return.
    pub refund_order_id: RefundOrderId,
    /// The send's `order_id`.
    pub order_id: OrderId,
    /// The merchant's number of the return.
    pub out_request_no: OutRequestNo,
    /// The amount returned by this call.
    pub refund_amount: Fen,
    /// When it went back (Beijing time).
    pub refund_date: Option<DateTime<FixedOffset>>,
    /// `SUCCESS`.
    pub status: TransStatus,
}

impl TransRefundResponse {
    /// Reads a verified `alipay_fund_trans_refund_response` (what [`Client::trans_refund`]
    /// does with the answer).
    pub fn from_verified(response: &Response) -> Result<TransRefundResponse, Error> {
        Ok(TransRefundResponse {
            refund_order_id: RefundOrderId::new(response.required("refund_order_id")?),
            order_id: OrderId::new(response.required("order_id")?),
            out_request_no: OutRequestNo::new(response.required("out_request_no")?),
            refund_amount: response.amount("refund_amount")?,
            refund_date: response.time("refund_date")?,
            status: TransStatus::parse(&response.required("status")?),
        })
    }
}

/// How `alipay.fund.trans.common.query` finds a document. One key per query: Alipay reads
/// `pay_fund_order_id` before `order_id` before `out_biz_no` and ignores the others, so sending
/// one is what it reads anyway.
///
/// ```
/// use hongbao_client::{BizScene, OutBizNo, TransLookup};
/// let lookup = TransLookup::OutBizNo { out_biz_no: OutBizNo::new("send-1"), biz_scene: BizScene::PersonalPay };
/// assert!(matches!(lookup, TransLookup::OutBizNo { .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransLookup {
    /// By Alipay's fund flow number (also finds a return by its `refund_order_id` at hongbao).
    PayFundOrderId(PayFundOrderId),
    /// By Alipay's document number.
    OrderId(OrderId),
    /// By the merchant's number and the document's scene (with `product_code` STD_RED_PACKET).
    OutBizNo {
        /// The merchant's number (for a return at hongbao: its `out_request_no`).
        out_biz_no: OutBizNo,
        /// Which kind of document it numbers.
        biz_scene: BizScene,
    },
}

/// `alipay.fund.trans.common.query`.
///
/// ```
/// use hongbao_client::{BizScene, CommonQueryRequest, OrderId, OutBizNo};
/// let by_order = CommonQueryRequest::by_order_id(OrderId::new("20261118110075000006640000000001"));
/// assert_eq!(by_order.biz_content(), r#"{"order_id":"20261118110075000006640000000001"}"#);
/// let by_merchant = CommonQueryRequest::by_out_biz_no(OutBizNo::new("claim-1"), BizScene::PersonalCollection);
/// assert_eq!(by_merchant.biz_content(),
///            r#"{"out_biz_no":"claim-1","product_code":"STD_RED_PACKET","biz_scene":"PERSONAL_COLLECTION"}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommonQueryRequest {
    /// The key.
    pub lookup: TransLookup,
}

impl CommonQueryRequest {
    /// By `pay_fund_order_id`.
    ///
    /// ```
    /// use hongbao_client::{CommonQueryRequest, PayFundOrderId};
    /// let query = CommonQueryRequest::by_pay_fund_order_id(PayFundOrderId::new("20261118110075001506640000000001"));
    /// assert_eq!(query.biz_content(), r#"{"pay_fund_order_id":"20261118110075001506640000000001"}"#);
    /// ```
    pub fn by_pay_fund_order_id(id: PayFundOrderId) -> Self {
        CommonQueryRequest { lookup: TransLookup::PayFundOrderId(id) }
    }

    /// A return by its `refund_order_id`, sent as `pay_fund_order_id` (hongbao's reading; the
    /// spec leaves refund lookups open at Alipay).
    ///
    /// ```
    /// use hongbao_client::{CommonQueryRequest, RefundOrderId};
    /// let query = CommonQueryRequest::by_refund_order_id(RefundOrderId::new("20261118110075001506640000000003"));
    /// assert_eq!(query.biz_content(), r#"{"pay_fund_order_id":"20261118110075001506640000000003"}"#);
    /// ```
    pub fn by_refund_order_id(id: RefundOrderId) -> Self {
        CommonQueryRequest {
            lookup: TransLookup::PayFundOrderId(PayFundOrderId::new(id.into_string())),
        }
    }

    /// By `order_id`.
    ///
    /// ```
    /// use hongbao_client::{CommonQueryRequest, OrderId, TransLookup};
    /// let query = CommonQueryRequest::by_order_id(OrderId::new("1"));
    /// assert_eq!(query.lookup, TransLookup::OrderId(OrderId::new("1")));
    /// ```
    pub fn by_order_id(id: OrderId) -> Self {
        CommonQueryRequest { lookup: TransLookup::OrderId(id) }
    }

    /// By `out_biz_no` and `biz_scene`.
    ///
    /// ```
    /// use hongbao_client::{BizScene, CommonQueryRequest, OutBizNo};
    /// let query = CommonQueryRequest::by_out_biz_no(OutBizNo::new("send-1"), BizScene::PersonalPay);
    /// assert!(query.biz_content().contains(r#""biz_scene":"PERSONAL_PAY""#));
    /// ```
    pub fn by_out_biz_no(out_biz_no: OutBizNo, biz_scene: BizScene) -> Self {
        CommonQueryRequest { lookup: TransLookup::OutBizNo { out_biz_no, biz_scene } }
    }

    /// A return by its `out_request_no` (`biz_scene` REFUND; hongbao's reading).
    ///
    /// ```
    /// use hongbao_client::{CommonQueryRequest, OutRequestNo};
    /// let query = CommonQueryRequest::by_return(OutRequestNo::new("return-1"));
    /// assert_eq!(query.biz_content(),
    ///            r#"{"out_biz_no":"return-1","product_code":"STD_RED_PACKET","biz_scene":"REFUND"}"#);
    /// ```
    pub fn by_return(out_request_no: OutRequestNo) -> Self {
        CommonQueryRequest::by_out_biz_no(
            OutBizNo::new(out_request_no.into_string()),
            BizScene::Refund,
        )
    }

    /// The compact `biz_content` JSON.
    ///
    /// ```
    /// use hongbao_client::{CommonQueryRequest, OrderId};
    /// assert_eq!(CommonQueryRequest::by_order_id(OrderId::new("7")).biz_content(), r#"{"order_id":"7"}"#);
    /// ```
    pub fn biz_content(&self) -> String {
        match &self.lookup {
            TransLookup::PayFundOrderId(id) => {
                BizWriter::new().text("pay_fund_order_id", id.as_str())
            }
            TransLookup::OrderId(id) => BizWriter::new().text("order_id", id.as_str()),
            TransLookup::OutBizNo { out_biz_no, biz_scene } => BizWriter::new()
                .text("out_biz_no", out_biz_no.as_str())
                .text("product_code", STD_RED_PACKET)
                .text("biz_scene", biz_scene.as_str()),
        }
        .finish()
    }
}

/// The answer of `alipay.fund.trans.common.query`.
///
/// ```
/// # use hongbao_client::*;
/// # let key = PrivateKey::generate(1024)?;
/// let node = r#"{"code":"10000","msg":"Success","order_id":"20261118110075000006640000000001","out_biz_no":"claim-1","status":"SUCCESS","pay_fund_order_id":"20261118110075001506640000000002","trans_amount":"30.00","pay_date":"2026-11-18 10:00:00","receiver_user_id":"2088102000000002"}"#;
/// # let sign = key.sign(SignType::Rsa2, node.as_bytes())?;
/// # let body = format!(r#"{{"alipay_fund_trans_common_query_response":{node},"sign":"{sign}"}}"#);
/// # let response = Response::verify(body.as_bytes(), TRANS_COMMON_QUERY, Charset::Utf8, SignType::Rsa2, &key.public_key()?)?;
/// let found = CommonQueryResponse::from_verified(&response)?;
/// assert_eq!(found.trans_amount, Some(Fen::from_fen(3000)));
/// assert_eq!(found.receiver_user_id, Some(UserId::new("2088102000000002")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommonQueryResponse {
    /// Alipay's document number (a return shows its send's at hongbao).
    pub order_id: Option<OrderId>,
    /// The merchant's number (a return shows its `out_request_no` at hongbao).
    pub out_biz_no: Option<OutBizNo>,
    /// `WAIT_PAY`, `SUCCESS`, `CLOSED`, …
    pub status: TransStatus,
    /// The fund flow number (when the money moved).
    pub pay_fund_order_id: Option<PayFundOrderId>,
    /// The amount (when `SUCCESS`).
    pub trans_amount: Option<Fen>,
    /// When it was paid (Beijing time).
    pub pay_date: Option<DateTime<FixedOffset>>,
    /// The `passback_params` given.
    pub passback_params: Option<String>,
    /// The payee of a claim or a B2C red packet.
    pub receiver_user_id: Option<UserId>,
    /// `error_code` of a `FAIL` / `REFUND` transfer.
    pub error_code: Option<String>,
    /// `fail_reason` of a `FAIL` / `REFUND` transfer.
    pub fail_reason: Option<String>,
}

impl CommonQueryResponse {
    /// Reads a verified `alipay_fund_trans_common_query_response` (what
    /// [`Client::common_query`] does with the answer).
    pub fn from_verified(response: &Response) -> Result<CommonQueryResponse, Error> {
        Ok(CommonQueryResponse {
            order_id: response.optional("order_id").map(OrderId::new),
            out_biz_no: response.optional("out_biz_no").map(OutBizNo::new),
            status: TransStatus::parse(&response.required("status")?),
            pay_fund_order_id: response.optional("pay_fund_order_id").map(PayFundOrderId::new),
            trans_amount: response.optional_amount("trans_amount")?,
            pay_date: response.time("pay_date")?,
            passback_params: response.optional("passback_params"),
            receiver_user_id: response.optional("receiver_user_id").map(UserId::new),
            error_code: response.optional("error_code"),
            fail_reason: response.optional("fail_reason"),
        })
    }
}

/// The typed fund.trans calls.
impl Client {
    /// `alipay.fund.trans.app.pay` as the order string the merchant app hands to the Alipay app
    /// SDK (`sdkExecute`). Nothing is sent: the payer pays it in the Alipay app (hongbao: the
    /// wallet page), which hands back a result to verify with
    /// [`verify_trans_app_pay_result`](Client::verify_trans_app_pay_result).
    ///
    /// ```
    /// # use hongbao_client::*;
    /// # let key = PrivateKey::generate(1024)?;
    /// # let client = Client::builder("https://gw.example/gateway.do", "2021", key.clone(), key.public_key()?).build()?;
    /// let send = TransAppPayRequest::new(OutBizNo::new("send-1"), Fen::from_fen(10000), UserId::new("2088102000000002"));
    /// let order = client.trans_app_pay_order_string(&send)?;
    /// assert!(order.contains("&method=alipay.fund.trans.app.pay&"));
    /// assert!(order.contains("&sign="));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn trans_app_pay_order_string(
        &self,
        request: &TransAppPayRequest,
    ) -> Result<String, Error> {
        self.sign(TRANS_APP_PAY, &request.biz_content(), &CallOptions::new())?.order_string()
    }

    /// Verifies the `result` the Alipay app (hongbao: the wallet page) hands back for a paid
    /// send, on your server, and reads it. The authoritative word is still the
    /// `alipay.fund.trans.order.changed` message or a query.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hongbao_test_support::*;
    /// # let hongbao = spawn_app().await; // an in-process hongbao gateway on a free local port
    /// # let client = hongbao_client::Client::builder(format!("http://{}/gateway.do", hongbao.addr), APP_A,
    /// #     app_a_key(), gateway_key().public_key()?).build()?;
    /// use hongbao_client::*;
    /// let send = TransAppPayRequest::new(OutBizNo::new("send-1"), Fen::from_fen(10000), UserId::new(MERCHANT_B));
    /// let order = client.trans_app_pay_order_string(&send)?;
    /// let result = hongbao.wallet_pay(&order, MERCHANT_B).await; // the payer pays in the app
    /// let paid = client.verify_trans_app_pay_result(&result)?;
    /// assert_eq!(paid.status, TransStatus::Success);
    /// assert!(client.verify_trans_app_pay_result(&result.replace("SUCCESS", "CLOSED")).is_err());
    /// # Ok(()) }
    /// ```
    pub fn verify_trans_app_pay_result(&self, result: &str) -> Result<TransAppPayResponse, Error> {
        let response = self.verify_wallet_result(result, TRANS_APP_PAY)?;
        TransAppPayResponse::from_response(&response)
    }

    /// `alipay.fund.trans.uni.transfer`: a claim of a send, or a B2C red packet. Refusals:
    /// [`TransferSubCode`](crate::TransferSubCode); the error node echoes `out_biz_no`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hongbao_test_support::*;
    /// # let hongbao = spawn_app().await; // an in-process hongbao gateway on a free local port
    /// # let client = hongbao_client::Client::builder(format!("http://{}/gateway.do", hongbao.addr), APP_A,
    /// #     app_a_key(), gateway_key().public_key()?).build()?;
    /// use hongbao_client::*;
    /// let send = TransAppPayRequest::new(OutBizNo::new("send-1"), Fen::from_fen(10000), UserId::new(MERCHANT_B));
    /// # let result = hongbao.wallet_pay(&client.trans_app_pay_order_string(&send)?, MERCHANT_B).await;
    /// let order_id = client.verify_trans_app_pay_result(&result)?.order_id.expect("a paid send has one");
    /// let alice = Participant::user_id(UserId::new("2088100000000003"));
    /// let claim = TransferRequest::claim(OutBizNo::new("claim-1"), order_id.clone(), Fen::from_fen(3000), alice.clone());
    /// let claimed = client.transfer(&claim).await?;
    /// assert_eq!(claimed.status, TransStatus::Success);
    /// let greedy = TransferRequest::claim(OutBizNo::new("claim-2"), order_id, Fen::from_fen(7001), alice);
    /// let err = client.transfer(&greedy).await.unwrap_err();
    /// assert_eq!(TransferSubCode::of(&err), Some(TransferSubCode::PaymentMoneyNotEnough));
    /// # Ok(()) }
    /// ```
    pub async fn transfer(&self, request: &TransferRequest) -> Result<TransferResponse, Error> {
        let mut ids = vec![("out_biz_no", request.out_biz_no.as_str())];
        if let Some(order_id) = &request.original_order_id {
            ids.push(("order_id", order_id.as_str()));
        }
        let response = self
            .call(TRANS_UNI_TRANSFER, &request.biz_content(), &CallOptions::new(), &ids)
            .await?;
        TransferResponse::from_verified(&response)
    }

    /// `alipay.fund.trans.refund`: returns part of a send's rest. Refusals:
    /// [`TransRefundSubCode`](crate::TransRefundSubCode).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hongbao_test_support::*;
    /// # let hongbao = spawn_app().await; // an in-process hongbao gateway on a free local port
    /// # let client = hongbao_client::Client::builder(format!("http://{}/gateway.do", hongbao.addr), APP_A,
    /// #     app_a_key(), gateway_key().public_key()?).build()?;
    /// use hongbao_client::*;
    /// # let send = TransAppPayRequest::new(OutBizNo::new("send-1"), Fen::from_fen(10000), UserId::new(MERCHANT_B));
    /// # let result = hongbao.wallet_pay(&client.trans_app_pay_order_string(&send)?, MERCHANT_B).await;
    /// # let order_id = client.verify_trans_app_pay_result(&result)?.order_id.unwrap();
    /// let back = client
    ///     .trans_refund(&TransRefundRequest::new(order_id.clone(), OutRequestNo::new("return-1"), Fen::from_fen(4000)))
    ///     .await?;
    /// assert_eq!((back.refund_amount, back.order_id), (Fen::from_fen(4000), order_id.clone()));
    /// let over = TransRefundRequest::new(order_id, OutRequestNo::new("return-2"), Fen::from_fen(6001));
    /// let err = client.trans_refund(&over).await.unwrap_err();
    /// assert_eq!(TransRefundSubCode::of(&err), Some(TransRefundSubCode::RefundMoneyNotEnough));
    /// # Ok(()) }
    /// ```
    pub async fn trans_refund(
        &self,
        request: &TransRefundRequest,
    ) -> Result<TransRefundResponse, Error> {
        let ids = [
            ("order_id", request.order_id.as_str()),
            ("out_request_no", request.out_request_no.as_str()),
        ];
        let response =
            self.call(TRANS_REFUND, &request.biz_content(), &CallOptions::new(), &ids).await?;
        TransRefundResponse::from_verified(&response)
    }

    /// `alipay.fund.trans.common.query`: a send, a claim, a B2C red packet or a return.
    /// Refusals: [`CommonQuerySubCode`](crate::CommonQuerySubCode).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hongbao_test_support::*;
    /// # let hongbao = spawn_app().await; // an in-process hongbao gateway on a free local port
    /// # let client = hongbao_client::Client::builder(format!("http://{}/gateway.do", hongbao.addr), APP_A,
    /// #     app_a_key(), gateway_key().public_key()?).build()?;
    /// use hongbao_client::*;
    /// let b2c = TransferRequest::direct(OutBizNo::new("b2c-1"), Fen::from_fen(888),
    ///     Participant::user_id(UserId::new("2088100000000003")).name("王小红"));
    /// let paid = client.transfer(&b2c).await?;
    /// let found = client
    ///     .common_query(&CommonQueryRequest::by_out_biz_no(OutBizNo::new("b2c-1"), BizScene::DirectTransfer))
    ///     .await?;
    /// assert_eq!(found.order_id, Some(paid.order_id));
    /// assert_eq!(found.trans_amount, Some(Fen::from_fen(888)));
    /// let missing = client.common_query(&CommonQueryRequest::by_order_id(OrderId::new("20261118110070000006640000999999"))).await;
    /// assert_eq!(CommonQuerySubCode::of(&missing.unwrap_err()), Some(CommonQuerySubCode::OrderNotExist));
    /// # Ok(()) }
    /// ```
    pub async fn common_query(
        &self,
        request: &CommonQueryRequest,
    ) -> Result<CommonQueryResponse, Error> {
        let ids = match &request.lookup {
            TransLookup::PayFundOrderId(id) => [("pay_fund_order_id", id.as_str())],
            TransLookup::OrderId(id) => [("order_id", id.as_str())],
            TransLookup::OutBizNo { out_biz_no, .. } => [("out_biz_no", out_biz_no.as_str())],
        };
        let response = self
            .call(TRANS_COMMON_QUERY, &request.biz_content(), &CallOptions::new(), &ids)
            .await?;
        CommonQueryResponse::from_verified(&response)
    }
}
