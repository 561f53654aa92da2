//! Where the gateway's own requests may go: the notify destination policy. Notifications
//! (`notify_url`) and fund.trans messages (`[[app]] message_url`) are requests the server makes
//! to an address a merchant chose, so without a policy a merchant could make the server read its
//! own internal services (cloud metadata, admin ports) and show them the answer.
//!
//! An address is refused when it lies in a denied range (`DEFAULT_DENY`, plus the configured
//! `[notify] deny`) and in no allowed range (`[notify] allow`, which wins). By default loopback,
//! private and public destinations are allowed (a sandbox notifies the developer's own machine);
//! link-local (cloud metadata), the unspecified address, multicast and broadcast are refused. A
//! platform deployment denies loopback and private ranges too (docs/notifications.md).
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are judged as the IPv4 address they map, and
//! every decimal, octal or hex spelling of an IPv4 address is the address the URL parser (the
//! same one the HTTP client uses) makes of it. The policy is applied twice: at request time to a
//! `notify_url` whose host is a literal address (a signed refusal, nothing stored), and at
//! delivery time to every address a name resolves to, on every attempt (`Resolver`), so a name
//! that resolves elsewhere later (DNS rebinding) is refused then and nothing is sent.

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Ranges refused unless allowed explicitly: link-local (cloud metadata lives at
/// 169.254.169.254), the unspecified address and "this network" (Linux connects 0.0.0.0 to the
/// local host), multicast, broadcast.
pub const DEFAULT_DENY: [&str; 7] = [
    "0.0.0.0/8",
    "169.254.0.0/16",
    "224.0.0.0/4",
    "255.255.255.255/32",
    "::/128",
    "fe80::/10",
    "ff00::/8",
];

/// The notify destination policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationPolicy {
    allow: Vec<IpNet>,
    deny: Vec<IpNet>,
}

impl Default for DestinationPolicy {
    fn default() -> DestinationPolicy {
        DestinationPolicy::new(&[], &[])
    }
}

impl DestinationPolicy {
    /// The default policy with `deny` added to the default denied ranges and `allow` taking
    /// precedence over both.
    pub fn new(allow: &[IpNet], deny: &[IpNet]) -> DestinationPolicy {
        let mut denied: Vec<IpNet> =
            DEFAULT_DENY.iter().filter_map(|range| range.parse().ok()).collect();
        denied.extend_from_slice(deny);
        DestinationPolicy { allow: allow.to_vec(), deny: denied }
    }

    /// Whether the gateway may send to `address`.
    pub fn allows(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        if self.allow.iter().any(|range| range.contains(&address)) {
            return true;
        }
        !self.deny.iter().any(|range| range.contains(&address))
    }

    /// The literal address of `url`'s host, when it is one (`None` for names, which are judged
    /// when they are resolved); `Err` when `url` is not a URL at all.
    pub fn literal_host(url: &str) -> Result<Option<IpAddr>, DestinationRefused> {
        let parsed = reqwest::Url::parse(url).map_err(|_| DestinationRefused::NotAUrl)?;
        let host = parsed.host_str().ok_or(DestinationRefused::NotAUrl)?;
        // The parser writes every IPv4 spelling as a dotted quad and IPv6 in brackets; a name
        // never parses as an address.
        let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        Ok(bare.parse::<IpAddr>().ok())
    }

    /// Checks a URL whose host is a literal address (names pass here and are checked when
    /// resolved).
    pub fn check_url(&self, url: &str) -> Result<(), DestinationRefused> {
        match DestinationPolicy::literal_host(url)? {
            Some(address) if !self.allows(address) => Err(DestinationRefused::Address),
            _ => Ok(()),
        }
    }
}

/// Why a destination is refused. The text goes to the merchant (a signed error, the notify
/// history), so it never says what a name resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DestinationRefused {
    /// Not a URL the HTTP client can use.
    #[error("is not a URL with a host")]
    NotAUrl,
    /// The address (literal or resolved) is one the policy refuses.
    #[error("is a destination this gateway does not send to (link-local, unspecified, multicast, broadcast or a range its [notify] policy denies)")]
    Address,
}

/// The notify HTTP client's resolver: the system's resolution, each answer judged by the policy
/// at every connection. A name with no allowed address fails with `DestinationRefused`, and the
/// client never connects.
#[derive(Clone, Debug)]
pub struct Resolver {
    policy: Arc<DestinationPolicy>,
}

impl Resolver {
    /// A resolver applying `policy`.
    pub fn new(policy: Arc<DestinationPolicy>) -> Resolver {
        Resolver { policy }
    }
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|err| Box::new(err) as Box<dyn std::error::Error + Send + Sync>)?
                .collect();
            let allowed: Vec<SocketAddr> =
                resolved.into_iter().filter(|addr| policy.allows(addr.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(DestinationRefused::Address)
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The refusal somewhere in an HTTP client error's causes, when the policy refused.
pub fn refusal_in(err: &(dyn std::error::Error + 'static)) -> Option<DestinationRefused> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = current {
        if let Some(refused) = cause.downcast_ref::<DestinationRefused>() {
            return Some(*refused);
        }
        current = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(policy: &DestinationPolicy, url: &str) -> bool {
        policy.check_url(url).is_err()
    }

    #[test]
    fn the_default_refuses_metadata_unspecified_multicast_and_broadcast_in_every_spelling() {
        let policy = DestinationPolicy::default();
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://2852039166/",          // decimal 169.254.169.254
            "http://0251.0376.0251.0376/", // octal
            "http://0xa9.0xfe.0xa9.0xfe/", // hex
            "http://0xa9fea9fe/",          // one hex number
            "http://169.254.43518/",       // a.b.c16 form
            "http://[::ffff:169.254.169.254]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://[fe80::1]/",
            "http://0.0.0.0:8080/",
            "http://0/",
            "http://[::]/",
            "http://224.0.0.1/",
            "http://[ff02::1]/",
            "http://255.255.255.255/",
        ] {
            assert!(refused(&policy, url), "{url} must be refused");
        }
        for url in [
            "http://127.0.0.1:8080/notify",
            "http://[::1]/",
            "http://10.0.0.8/",
            "http://192.168.1.2/",
            "https://merchant.example/notify",
            "http://2130706433/", // 127.0.0.1
        ] {
            assert!(!refused(&policy, url), "{url} is allowed by default");
        }
        assert_eq!(policy.check_url("not a url"), Err(DestinationRefused::NotAUrl));
    }

    #[test]
    fn a_platform_denies_loopback_and_private_ranges_and_allow_wins() {
        let nets = |list: &[&str]| -> Vec<IpNet> {
            list.iter().map(|n| n.parse().expect("cidr")).collect()
        };
        let policy = DestinationPolicy::new(
            &nets(&["10.1.2.3/32"]),
            &nets(&["127.0.0.0/8", "::1/128", "10.0.0.0/8", "192.168.0.0/16"]),
        );
        for url in [
            "http://127.0.0.1/",
            "http://0x7f000001/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::1]/",
            "http://10.9.9.9/",
            "http://192.168.0.1/",
        ] {
            assert!(refused(&policy, url), "{url} must be refused on a platform");
        }
        assert!(!refused(&policy, "http://10.1.2.3/"), "an allowed host inside a denied range");
        assert!(!refused(&policy, "http://merchant.example/"), "names are judged when resolved");
    }
}
