//! A packet's lifecycle and the rules of moving money out of it.
//!
//! WAIT_PAY --pay--> FUNDED --(disburse | refund)*--> FUNDED; WAIT_PAY --timeout--> CLOSED.
//! While FUNDED: disbursed + refunded <= amount (money invariant 4), checked here before any
//! change and enforced again by the store's guarded update.

use crate::{Bug, Rejection};
use hongbao_money::Fen;

/// Where a packet is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketStatus {
    /// Created by page.pay / app.pay, waiting for the payer.
    WaitPay,
    /// Paid into custody; disburse and refund allowed.
    Funded,
    /// Closed unpaid (pay_timeout passed). Never held money. (An expired packet stays FUNDED:
    /// its remainder went back to the payer and nothing is left to move.)
    Closed,
}

impl PacketStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            PacketStatus::WaitPay => "WAIT_PAY",
            PacketStatus::Funded => "FUNDED",
            PacketStatus::Closed => "CLOSED",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<PacketStatus> {
        match text {
            "WAIT_PAY" => Some(PacketStatus::WaitPay),
            "FUNDED" => Some(PacketStatus::Funded),
            "CLOSED" => Some(PacketStatus::Closed),
            _ => None,
        }
    }
}

/// What an order is: a red packet, or the own order every disburse gets (ARCHITECTURE.md,
/// "A disburse is an order of its own").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderKind {
    /// A red packet: funded by page/app/agreement pay, paid out by disburses and refunds.
    Packet,
    /// A disburse's own order, drawn from a packet.
    Disburse,
}

impl OrderKind {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKind::Packet => "PACKET",
            OrderKind::Disburse => "DISBURSE",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<OrderKind> {
        match text {
            "PACKET" => Some(OrderKind::Packet),
            "DISBURSE" => Some(OrderKind::Disburse),
            _ => None,
        }
    }
}

/// Which Alipay product an order belongs to. Both run on one ledger; an operation of one product
/// never names an order of the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    /// `alipay.fund.coupon.*`, the 2017 product of the seeds.
    Coupon,
    /// `STD_RED_PACKET` over `alipay.fund.trans.*`, today's product.
    StdRedPacket,
}

impl Product {
    /// Stored form (`STD_RED_PACKET` is also the wire's product_code).
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Coupon => "COUPON",
            Product::StdRedPacket => "STD_RED_PACKET",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Product> {
        match text {
            "COUPON" => Some(Product::Coupon),
            "STD_RED_PACKET" => Some(Product::StdRedPacket),
            _ => None,
        }
    }
}

/// What an operation does to its packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationKind {
    /// Funds the packet (its PAY).
    Fund,
    /// Pays out of the packet (the PAY of a disburse order).
    Disburse,
    /// Returns to the payer.
    Refund,
}

impl OperationKind {
    /// The wire operation_type.
    pub fn operation_type(self) -> OperationType {
        match self {
            OperationKind::Refund => OperationType::Refund,
            OperationKind::Fund | OperationKind::Disburse => OperationType::Pay,
        }
    }

    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationKind::Fund => "FUND",
            OperationKind::Disburse => "DISBURSE",
            OperationKind::Refund => "REFUND",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<OperationKind> {
        match text {
            "FUND" => Some(OperationKind::Fund),
            "DISBURSE" => Some(OperationKind::Disburse),
            "REFUND" => Some(OperationKind::Refund),
            _ => None,
        }
    }
}

/// `operation_type` on the wire: a disburse is a PAY on its own order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationType {
    /// Money into a packet (pay) or out of it to a payee (disburse).
    Pay,
    /// Money back to the payer.
    Refund,
}

impl OperationType {
    /// Wire and stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationType::Pay => "PAY",
            OperationType::Refund => "REFUND",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<OperationType> {
        match text {
            "PAY" => Some(OperationType::Pay),
            "REFUND" => Some(OperationType::Refund),
            _ => None,
        }
    }
}

/// `status` of an operation on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationStatus {
    /// Created, money not moved yet (page.pay / app.pay before the payer confirms).
    Init,
    /// Money moved; exactly one journal entry exists.
    Success,
    /// Will never move money.
    Closed,
}

impl OperationStatus {
    /// Wire and stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationStatus::Init => "INIT",
            OperationStatus::Success => "SUCCESS",
            OperationStatus::Closed => "CLOSED",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<OperationStatus> {
        match text {
            "INIT" => Some(OperationStatus::Init),
            "SUCCESS" => Some(OperationStatus::Success),
            "CLOSED" => Some(OperationStatus::Closed),
            _ => None,
        }
    }
}

/// The money state of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The funded amount.
    pub amount: Fen,
    /// Σ successful disburses.
    pub disbursed: Fen,
    /// Σ successful refunds.
    pub refunded: Fen,
    /// Lifecycle state.
    pub status: PacketStatus,
}

impl Packet {
    /// What is still in custody: amount − disbursed − refunded once funded, zero otherwise.
    pub fn remaining(&self) -> Fen {
        if self.status != PacketStatus::Funded {
            return Fen::ZERO;
        }
        // Stored counters never exceed the amount (invariant 4, a CHECK in both schemas); a row
        // that did would hold nothing to move.
        self.amount
            .checked_sub(self.disbursed)
            .and_then(|left| left.checked_sub(self.refunded))
            .filter(|left| left.fen() >= 0)
            .unwrap_or(Fen::ZERO)
    }

    fn check_movable(&self, amount: Fen) -> Result<(), Rejection> {
        if self.status != PacketStatus::Funded {
            return Err(Rejection::OrderStatusInvalid);
        }
        if amount > self.remaining() {
            return Err(Rejection::MoneyNotEnough);
        }
        Ok(())
    }

    /// The packet after disbursing `amount`, or why not.
    pub fn disburse(&self, amount: Fen) -> Result<Result<Packet, Rejection>, Bug> {
        if let Err(rejection) = self.check_movable(amount) {
            return Ok(Err(rejection));
        }
        let remaining_before = self.remaining();
        let disbursed =
            self.disbursed.checked_add(amount).ok_or_else(|| Bug("disbursed overflow".into()))?;
        let after = Packet { disbursed, ..*self };
        crate::invariant!(after.disbursed.fen() + after.refunded.fen() <= after.amount.fen());
        crate::invariant!(after.remaining().fen() == remaining_before.fen() - amount.fen());
        Ok(Ok(after))
    }

    /// The packet after refunding `amount` to the payer, or why not.
    pub fn refund(&self, amount: Fen) -> Result<Result<Packet, Rejection>, Bug> {
        if let Err(rejection) = self.check_movable(amount) {
            return Ok(Err(rejection));
        }
        let remaining_before = self.remaining();
        let refunded =
            self.refunded.checked_add(amount).ok_or_else(|| Bug("refunded overflow".into()))?;
        let after = Packet { refunded, ..*self };
        crate::invariant!(after.disbursed.fen() + after.refunded.fen() <= after.amount.fen());
        crate::invariant!(after.remaining().fen() == remaining_before.fen() - amount.fen());
        Ok(Ok(after))
    }
}

/// Whether a payer holding `balance` can fund `amount`.
pub fn check_fund(balance: Fen, amount: Fen) -> Result<(), Rejection> {
    if balance < amount {
        return Err(Rejection::BalanceNotEnough);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn funded(amount: i64) -> Packet {
        Packet {
            amount: Fen::from_fen(amount),
            disbursed: Fen::ZERO,
            refunded: Fen::ZERO,
            status: PacketStatus::Funded,
        }
    }

    #[test]
    fn disburse_over_remaining_is_rejected() {
        let packet = funded(10000);
        let after = packet.disburse(Fen::from_fen(3000)).expect("no bug").expect("allowed");
        assert_eq!(after.remaining(), Fen::from_fen(7000));
        let after = after.refund(Fen::from_fen(7000)).expect("no bug").expect("allowed");
        assert_eq!(after.remaining(), Fen::ZERO);
        assert_eq!(
            after.disburse(Fen::from_fen(1)).expect("no bug"),
            Err(Rejection::MoneyNotEnough)
        );
        assert_eq!(after.refund(Fen::from_fen(1)).expect("no bug"), Err(Rejection::MoneyNotEnough));
    }

    #[test]
    fn unpaid_and_closed_packets_move_nothing() {
        for status in [PacketStatus::WaitPay, PacketStatus::Closed] {
            let packet = Packet { status, ..funded(100) };
            assert_eq!(
                packet.disburse(Fen::from_fen(1)).expect("no bug"),
                Err(Rejection::OrderStatusInvalid)
            );
            assert_eq!(
                packet.refund(Fen::from_fen(1)).expect("no bug"),
                Err(Rejection::OrderStatusInvalid)
            );
        }
        assert_eq!(
            check_fund(Fen::from_fen(99), Fen::from_fen(100)),
            Err(Rejection::BalanceNotEnough)
        );
        assert_eq!(check_fund(Fen::from_fen(100), Fen::from_fen(100)), Ok(()));
    }
}
