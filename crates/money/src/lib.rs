//! Money as integer fen (1/100 CNY), never a float.
//!
//! `Fen` is the only amount type in hongbao. It parses the Alipay wire form (`"100.00"`) exactly
//! and prints it back exactly. This crate knows nothing else: no protocol, no ledger, no IO.
#![deny(missing_docs)]

use std::fmt;

/// An amount of money in fen (分): `Fen(10000)` is 100.00 yuan.
///
/// Arithmetic is checked: every operation that could overflow returns `Option`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fen(i64);

/// The smallest amount a red packet request may carry: 0.01.
pub const AMOUNT_MIN: Fen = Fen(1);
/// The largest amount a red packet request may carry: 100000000.00 (one hundred million yuan).
pub const AMOUNT_MAX: Fen = Fen(10_000_000_000);

/// Why a wire amount was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// Empty or whitespace.
    #[error("amount is empty")]
    Empty,
    /// Not of the form `digits[.d[d]]` in ASCII (signs, exponents, spaces, full-width digits…).
    #[error("amount {0:?} is not a decimal like \"100.00\"")]
    Malformed(String),
    /// More than two digits after the point.
    #[error("amount {0:?} has more than two decimals")]
    TooManyDecimals(String),
    /// Below 0.01 (zero included).
    #[error("amount {0:?} is below 0.01")]
    TooSmall(String),
    /// Above 100000000.00.
    #[error("amount {0:?} is above 100000000.00")]
    TooLarge(String),
}

impl Fen {
    /// Zero fen.
    pub const ZERO: Fen = Fen(0);

    /// Wraps a raw number of fen.
    ///
    /// ```
    /// # use hongbao_money::Fen;
    /// assert_eq!(Fen::from_fen(12345).to_string(), "123.45");
    /// ```
    pub const fn from_fen(fen: i64) -> Fen {
        Fen(fen)
    }

    /// The raw number of fen.
    pub const fn fen(self) -> i64 {
        self.0
    }

    /// Parses a request amount: `"0.01"` ..= `"100000000.00"`, at most two decimals, ASCII digits
    /// only, no sign, exponent, spaces or leading zeros (`"0.50"` is fine, `"00.50"` is not).
    ///
    /// ```
    /// # use hongbao_money::Fen;
    /// assert_eq!(Fen::parse_amount("100.00"), Ok(Fen::from_fen(10000)));
    /// assert_eq!(Fen::parse_amount("0.1"), Ok(Fen::from_fen(10)));
    /// assert!(Fen::parse_amount("0.001").is_err());
    /// assert!(Fen::parse_amount("1e3").is_err());
    /// ```
    pub fn parse_amount(text: &str) -> Result<Fen, AmountError> {
        let fen = Fen::parse_non_negative(text)?;
        if fen < AMOUNT_MIN {
            return Err(AmountError::TooSmall(text.to_owned()));
        }
        if fen > AMOUNT_MAX {
            return Err(AmountError::TooLarge(text.to_owned()));
        }
        Ok(fen)
    }

    /// Parses any non-negative decimal with at most two decimals, without the request range check
    /// (zero allowed, upper bound is what fits in `i64`). Used for amounts Alipay itself prints,
    /// such as `total_pay_refund_amount = "0.00"`.
    pub fn parse_non_negative(text: &str) -> Result<Fen, AmountError> {
        if text.trim().is_empty() {
            return Err(AmountError::Empty);
        }
        let malformed = || AmountError::Malformed(text.to_owned());
        let (whole, frac) = match text.split_once('.') {
            Some((whole, frac)) => (whole, Some(frac)),
            None => (text, None),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        if whole.len() > 1 && whole.starts_with('0') {
            return Err(malformed());
        }
        let frac_fen = match frac {
            None => 0,
            Some(frac) => {
                if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(malformed());
                }
                if frac.len() > 2 {
                    return Err(AmountError::TooManyDecimals(text.to_owned()));
                }
                let digits: i64 = frac.parse().map_err(|_| malformed())?;
                if frac.len() == 1 {
                    digits * 10
                } else {
                    digits
                }
            }
        };
        // 18 digits of yuan cannot overflow i64 once multiplied by 100; longer is out of any range.
        if whole.len() > 16 {
            return Err(AmountError::TooLarge(text.to_owned()));
        }
        let yuan: i64 = whole.parse().map_err(|_| malformed())?;
        yuan.checked_mul(100)
            .and_then(|f| f.checked_add(frac_fen))
            .map(Fen)
            .ok_or_else(|| AmountError::TooLarge(text.to_owned()))
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    /// `self - other`, or `None` on overflow.
    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }

    /// `-self`, or `None` on overflow.
    pub fn checked_neg(self) -> Option<Fen> {
        self.0.checked_neg().map(Fen)
    }

    /// True for amounts above zero.
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }
}

/// Prints the Alipay wire form: always two decimals, `"-"` in front of negative amounts.
///
/// ```
/// # use hongbao_money::Fen;
/// assert_eq!(Fen::from_fen(5).to_string(), "0.05");
/// assert_eq!(Fen::from_fen(-150).to_string(), "-1.50");
/// ```
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_documented_range_exactly() {
        assert_eq!(Fen::parse_amount("0.01"), Ok(Fen(1)));
        assert_eq!(Fen::parse_amount("100000000.00"), Ok(Fen(10_000_000_000)));
        assert_eq!(Fen::parse_amount("30"), Ok(Fen(3000)));
        assert_eq!(Fen::parse_amount("30.5"), Ok(Fen(3050)));
    }

    #[test]
    fn rejects_everything_outside_the_wire_form() {
        for bad in [
            "",
            " ",
            "0",
            "0.00",
            "-1",
            "-0.01",
            "+1",
            "1e3",
            "1E3",
            "0.001",
            "100000000.01",
            "1.",
            ".5",
            "01.00",
            " 1.00",
            "1.00 ",
            "１００",
            "1,000.00",
            "NaN",
            "inf",
            "0x10",
            "99999999999999999999999",
        ] {
            assert!(Fen::parse_amount(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(matches!(Fen::parse_amount("0.001"), Err(AmountError::TooManyDecimals(_))));
        assert!(matches!(Fen::parse_amount("0"), Err(AmountError::TooSmall(_))));
        assert!(matches!(Fen::parse_amount("100000000.01"), Err(AmountError::TooLarge(_))));
    }

    #[test]
    fn non_negative_parse_allows_zero() {
        assert_eq!(Fen::parse_non_negative("0.00"), Ok(Fen::ZERO));
        assert!(Fen::parse_non_negative("-0.01").is_err());
    }

    proptest! {
        #[test]
        fn print_then_parse_round_trips(fen in 1i64..=10_000_000_000) {
            let printed = Fen(fen).to_string();
            prop_assert_eq!(Fen::parse_amount(&printed), Ok(Fen(fen)));
        }

        #[test]
        fn parse_never_panics_and_accepts_only_in_range(text in "\\PC{0,24}") {
            if let Ok(fen) = Fen::parse_amount(&text) {
                prop_assert!(fen >= AMOUNT_MIN && fen <= AMOUNT_MAX);
                // An accepted amount re-prints to the same value.
                prop_assert_eq!(Fen::parse_amount(&fen.to_string()), Ok(fen));
            }
        }
    }
}
