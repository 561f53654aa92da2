//! Commands of today's red packet product, `STD_RED_PACKET` over `alipay.fund.trans.*`
//! (std-red-packet-spec.md), on the same ledger as fund.coupon: a send is a packet, a claim is a
//! disburse, a return is a refund, a B2C red packet is a disburse straight from the merchant's
//! account. Their decisions are in `decide::trans`.

use crate::command::{fingerprint, PayeeRef};
use crate::notify::{CallFormat, NotifyTarget};
use crate::packet::OperationKind;
use crate::OperationView;
use hongbao_money::Fen;

/// `biz_scene`: which kind of fund.trans document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BizScene {
    /// `PERSONAL_PAY`: a send (`alipay.fund.trans.app.pay`).
    PersonalPay,
    /// `PERSONAL_COLLECTION`: a C2C claim (`uni.transfer` with `original_order_id`).
    PersonalCollection,
    /// `DIRECT_TRANSFER`: a B2C red packet (`uni.transfer` from the merchant's account).
    DirectTransfer,
    /// `REFUND`: a return (`alipay.fund.trans.refund`, or the automatic one).
    Refund,
}

impl BizScene {
    /// Wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            BizScene::PersonalPay => "PERSONAL_PAY",
            BizScene::PersonalCollection => "PERSONAL_COLLECTION",
            BizScene::DirectTransfer => "DIRECT_TRANSFER",
            BizScene::Refund => "REFUND",
        }
    }

    /// Parses the wire form.
    pub fn parse(text: &str) -> Option<BizScene> {
        [
            BizScene::PersonalPay,
            BizScene::PersonalCollection,
            BizScene::DirectTransfer,
            BizScene::Refund,
        ]
        .into_iter()
        .find(|scene| scene.as_str() == text)
    }

    /// The scene of a stored operation.
    pub fn of(view: &OperationView) -> BizScene {
        BizScene::of_operation(view.kind, view.packet_auth_no.is_some())
    }

    /// The scene of an operation of `kind` whose order draws from a packet (`drawn_from_packet`).
    pub fn of_operation(kind: OperationKind, drawn_from_packet: bool) -> BizScene {
        match kind {
            OperationKind::Fund => BizScene::PersonalPay,
            OperationKind::Refund => BizScene::Refund,
            OperationKind::Disburse if drawn_from_packet => BizScene::PersonalCollection,
            OperationKind::Disburse => BizScene::DirectTransfer,
        }
    }
}

/// `alipay.fund.trans.common.query`: the id that wins (`pay_fund_order_id` > `order_id` >
/// `out_biz_no`, the others ignored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransLookup {
    /// A fund flow id: a send's or claim's `pay_fund_order_id`, or a return's `refund_order_id`.
    PayFundOrderId(String),
    /// A document's `order_id` (a send, claim or transfer).
    OrderId(String),
    /// The merchant's number within a scene: a send's, claim's or transfer's `out_biz_no`, or
    /// (`REFUND`) a return's `out_request_no`.
    OutBizNo {
        /// The number.
        out_biz_no: String,
        /// The scene it is looked up in.
        scene: BizScene,
    },
}

/// A fund.trans query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransQuery {
    /// Calling app.
    pub app_id: String,
    /// What to look up.
    pub lookup: TransLookup,
}

/// `alipay.fund.trans.app.pay`: a send, paid by `payer_user_id` in the wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendCommand {
    /// Calling app.
    pub app_id: String,
    /// The merchant's order number.
    pub out_biz_no: String,
    /// `trans_amount`.
    pub amount: Fen,
    /// `order_title` (or a default the gateway chose).
    pub order_title: String,
    /// `remark`.
    pub remark: Option<String>,
    /// `business_params.payer_binded_alipay_uid`: the only user who may pay it.
    pub payer_user_id: String,
    /// `time_expire` as given: unpaid by then, it closes.
    pub time_expire_ms: Option<i64>,
    /// How long an unpaid send waits without `time_expire` (from `now_ms`).
    pub pay_timeout_default_ms: i64,
    /// `refund_time_expire`: when the unclaimed rest goes back; `None` → `expire_after_ms` after
    /// payment.
    pub refund_time_expire_ms: Option<i64>,
    /// The default claim window, counted from payment.
    pub expire_after_ms: i64,
    /// `passback_params`, echoed in messages.
    pub passback_params: Option<String>,
    /// Where the app's messages go (its `message_url`), in the call's charset and sign type.
    pub message: Option<NotifyTarget>,
    /// The call's charset and sign_type (what the wallet signs its result with).
    pub call: CallFormat,
    /// When the command arrived.
    pub now_ms: i64,
}

impl SendCommand {
    /// The business parameters compared on a replay.
    pub fn fingerprint(&self) -> String {
        fingerprint(&[
            ("product", "STD_RED_PACKET"),
            ("trans_amount", &self.amount.fen().to_string()),
            ("order_title", &self.order_title),
            ("remark", self.remark.as_deref().unwrap_or("")),
            ("payer", &self.payer_user_id),
            // As given, not as resolved: an identical retry later must compare equal.
            ("time_expire", &self.time_expire_ms.map(|t| t.to_string()).unwrap_or_default()),
            (
                "refund_time_expire",
                &self.refund_time_expire_ms.map(|t| t.to_string()).unwrap_or_default(),
            ),
            ("passback_params", self.passback_params.as_deref().unwrap_or("")),
        ])
    }
}

/// `alipay.fund.trans.uni.transfer` with `biz_scene=PERSONAL_COLLECTION`: a claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimCommand {
    /// Calling app.
    pub app_id: String,
    /// The claim's own merchant order number.
    pub out_biz_no: String,
    /// The send's `order_id`.
    pub original_order_id: String,
    /// `trans_amount`.
    pub amount: Fen,
    /// `order_title` (or a default).
    pub order_title: String,
    /// `remark`.
    pub remark: Option<String>,
    /// `payee_info`'s identity.
    pub payee: PayeeRef,
    /// `payee_info.name`, checked against the payee's real name when given.
    pub payee_name: Option<String>,
    /// `passback_params`.
    pub passback_params: Option<String>,
    /// Where the app's messages go.
    pub message: Option<NotifyTarget>,
    /// When the command arrived.
    pub now_ms: i64,
}

impl ClaimCommand {
    /// The business parameters compared on a replay, with the send and payee as resolved.
    pub fn fingerprint(&self, send_order_id: &str, payee_user_id: &str) -> String {
        fingerprint(&[
            ("scene", BizScene::PersonalCollection.as_str()),
            ("original_order_id", send_order_id),
            ("trans_amount", &self.amount.fen().to_string()),
            ("order_title", &self.order_title),
            ("remark", self.remark.as_deref().unwrap_or("")),
            ("payee", payee_user_id),
            ("payee_name", self.payee_name.as_deref().unwrap_or("")),
            ("passback_params", self.passback_params.as_deref().unwrap_or("")),
        ])
    }
}

/// `alipay.fund.trans.uni.transfer` with `biz_scene=DIRECT_TRANSFER`: a B2C red packet from the
/// app's merchant account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferCommand {
    /// Calling app.
    pub app_id: String,
    /// The merchant's order number.
    pub out_biz_no: String,
    /// The app's own account, which pays.
    pub merchant_user_id: String,
    /// `trans_amount`.
    pub amount: Fen,
    /// `order_title` (or a default).
    pub order_title: String,
    /// `remark`.
    pub remark: Option<String>,
    /// `payee_info`'s identity.
    pub payee: PayeeRef,
    /// `payee_info.name`, checked against the payee's real name when given.
    pub payee_name: Option<String>,
    /// `passback_params`.
    pub passback_params: Option<String>,
    /// Where the app's messages go.
    pub message: Option<NotifyTarget>,
    /// When the command arrived.
    pub now_ms: i64,
}

impl TransferCommand {
    /// The business parameters compared on a replay, with the payee as resolved.
    pub fn fingerprint(&self, payee_user_id: &str) -> String {
        fingerprint(&[
            ("scene", BizScene::DirectTransfer.as_str()),
            ("trans_amount", &self.amount.fen().to_string()),
            ("order_title", &self.order_title),
            ("remark", self.remark.as_deref().unwrap_or("")),
            ("payee", payee_user_id),
            ("payee_name", self.payee_name.as_deref().unwrap_or("")),
            ("passback_params", self.passback_params.as_deref().unwrap_or("")),
        ])
    }
}

/// `alipay.fund.trans.refund`: returns part of a send's unclaimed rest to its payer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnCommand {
    /// Calling app.
    pub app_id: String,
    /// The send's `order_id`.
    pub order_id: String,
    /// The merchant's return number, unique within the send.
    pub out_request_no: String,
    /// `refund_amount`.
    pub amount: Fen,
    /// `remark`.
    pub remark: Option<String>,
    /// `passback_params`.
    pub passback_params: Option<String>,
    /// Where the app's messages go.
    pub message: Option<NotifyTarget>,
    /// When the command arrived.
    pub now_ms: i64,
}

impl ReturnCommand {
    /// The business parameters compared on a replay.
    pub fn fingerprint(&self) -> String {
        fingerprint(&[
            ("scene", BizScene::Refund.as_str()),
            ("refund_amount", &self.amount.fen().to_string()),
            ("remark", self.remark.as_deref().unwrap_or("")),
            ("passback_params", self.passback_params.as_deref().unwrap_or("")),
        ])
    }
}
