//! `operation.query`: which stored operation a lookup names, or why none.

use super::resolve_order;
use crate::command::OperationQuery;
use crate::facts::OrderRecord;
use crate::Rejection;

/// The operation `query` names, given the order its order reference found and the operation
/// its operation reference found within that order.
///
/// | # | check | answer |
/// | --- | --- | --- |
/// | 1 | the order reference names no order | `AuthOrderNotExist` |
/// | 2 | … another app's order | `AccessForbidden` |
/// | 3 | the operation reference names no operation of that order | `AuthOperationNotExist` |
pub fn decide_query(
    query: &OperationQuery,
    order: Option<&OrderRecord>,
    operation_id: Option<&str>,
) -> Result<String, Rejection> {
    resolve_order(&query.app_id, order)?;
    operation_id.map(str::to_owned).ok_or(Rejection::AuthOperationNotExist)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{OperationRef, OrderRef};
    use crate::decide::fixtures::{funded_packet, APP};

    /// Row k breaks rule k and every later one, and gets rule k's answer.
    #[test]
    fn precedence() {
        let query = OperationQuery {
            app_id: APP.into(),
            order: OrderRef::AuthNo("A1".into()),
            operation: OperationRef::OutRequestNo("r1".into()),
        };
        let mut other_app = funded_packet();
        other_app.app_id = "appB".into();
        assert_eq!(decide_query(&query, None, None), Err(Rejection::AuthOrderNotExist));
        assert_eq!(decide_query(&query, Some(&other_app), None), Err(Rejection::AccessForbidden));
        assert_eq!(
            decide_query(&query, Some(&funded_packet()), None),
            Err(Rejection::AuthOperationNotExist)
        );
        assert_eq!(decide_query(&query, Some(&funded_packet()), Some("O1")), Ok("O1".into()));
    }
}
