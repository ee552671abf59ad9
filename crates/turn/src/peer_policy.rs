//! Which peer addresses a relay may send to. By default none of the addresses that reach into
//! the server's own networks: loopback, private, shared, link-local (cloud metadata), multicast,
//! reserved — including the IPv6 forms that embed an IPv4 address. The same rules are handed
//! out as plain ranges for an external relay (coturn) to enforce in our stead.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Ranges refused unless explicitly allowed (RFC 6890 special-purpose space and friends).
const DENIED_BY_DEFAULT: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "100::/64",
    "2001::/32",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
];

/// Why a peer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// In a range denied by default or by `turn.denied_peer_ips`.
    Denied,
}

/// The peer rules: explicit allows win over denies; loopback only when tests ask for it.
#[derive(Debug, Clone)]
pub struct PeerPolicy {
    allowed: Vec<IpNet>,
    denied: Vec<IpNet>,
    allow_loopback: bool,
}

impl Default for PeerPolicy {
    fn default() -> Self {
        PeerPolicy::new(Vec::new(), Vec::new(), false)
    }
}

impl PeerPolicy {
    /// The default deny list plus `denied`, with `allowed` taking precedence.
    pub fn new(allowed: Vec<IpNet>, denied: Vec<IpNet>, allow_loopback: bool) -> PeerPolicy {
        let mut all_denied: Vec<IpNet> = DENIED_BY_DEFAULT.iter().map(|r| r.parse().expect("valid built-in range")).collect();
        all_denied.extend(denied);
        PeerPolicy { allowed, denied: all_denied, allow_loopback }
    }

    /// Whether loopback peers are allowed (tests only).
    pub fn allows_loopback(&self) -> bool {
        self.allow_loopback
    }

    /// Whether the relay may exchange packets with `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), Refusal> {
        let ip = embedded_ipv4(ip).map(IpAddr::V4).unwrap_or(ip);
        if self.allowed.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        if self.allow_loopback && ip.is_loopback() {
            return Ok(());
        }
        if ip == IpAddr::V4(Ipv4Addr::BROADCAST) || self.denied.iter().any(|net| net.contains(&ip)) {
            return Err(Refusal::Denied);
        }
        Ok(())
    }

    /// Every range [`PeerPolicy::check`] refuses, as plain ranges for a relay that compares
    /// addresses with ranges and cannot see the IPv4 address inside an IPv6 one: each IPv4
    /// range comes with the IPv6 prefixes that embed it. [`PeerPolicy::allowed_ranges`] wins.
    pub fn denied_ranges(&self) -> Vec<IpNet> {
        with_embedding_prefixes(&self.denied)
    }

    /// Every range [`PeerPolicy::check`] lets through whatever the deny list says (loopback
    /// among them when tests allow it), in the same plain form as [`PeerPolicy::denied_ranges`].
    pub fn allowed_ranges(&self) -> Vec<IpNet> {
        let mut allowed = self.allowed.clone();
        if self.allow_loopback {
            allowed.extend(LOOPBACK.iter().map(|r| r.parse::<IpNet>().expect("valid built-in range")));
        }
        with_embedding_prefixes(&allowed)
    }
}

/// What `allow_loopback` lets through: exactly what [`IpAddr::is_loopback`] says is loopback.
const LOOPBACK: [&str; 2] = ["127.0.0.0/8", "::1/128"];

/// `ranges`, each IPv4 range followed by the IPv6 prefixes [`embedded_ipv4`] reads it from.
fn with_embedding_prefixes(ranges: &[IpNet]) -> Vec<IpNet> {
    let mut all = Vec::with_capacity(ranges.len() * 5);
    for range in ranges {
        all.push(*range);
        if let IpNet::V4(v4) = range {
            all.extend(embedding_prefixes(*v4).map(IpNet::V6));
        }
    }
    all
}

/// The IPv6 prefixes whose addresses carry an address of `range`: IPv4-mapped
/// (::ffff:0:0/96), IPv4-compatible (::/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
fn embedding_prefixes(range: Ipv4Net) -> [Ipv6Net; 4] {
    let v4 = u128::from(u32::from(range.network()));
    let prefix = |bits: u128, length: u8| {
        Ipv6Net::new(Ipv6Addr::from(bits), length + range.prefix_len()).expect("an IPv4 prefix fits behind these")
    };
    [
        prefix((0xffff << 32) | v4, 96),
        prefix(v4, 96),
        prefix((0x64_ff9b << 96) | v4, 96),
        prefix((0x2002 << 112) | (v4 << 80), 16),
    ]
}

/// The IPv4 address inside IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4
/// (2002::/16) addresses, so the same target cannot slip through in IPv6 clothing.
fn embedded_ipv4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = ip else { return None };
    let s = v6.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(low(hi, lo)),
        [0, 0, 0, 0, 0, 0, hi, lo] if v6 != Ipv6Addr::UNSPECIFIED && v6 != Ipv6Addr::LOCALHOST => Some(low(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn refuses_internal_ranges_in_every_form() {
        let policy = PeerPolicy::default();
        for denied in [
            "127.0.0.1",
            "127.9.9.9",
            "0.0.0.0",
            "10.1.2.3",
            "172.17.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.169.254",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "2002:7f00:1::",
        ] {
            assert_eq!(policy.check(ip(denied)), Err(Refusal::Denied), "{denied}");
        }
        for allowed in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"] {
            assert_eq!(policy.check(ip(allowed)), Ok(()), "{allowed}");
        }
    }

    #[test]
    fn explicit_ranges_and_loopback_switch() {
        let policy = PeerPolicy::new(vec!["10.8.0.0/16".parse().unwrap()], vec!["8.8.8.0/24".parse().unwrap()], true);
        assert_eq!(policy.check(ip("10.8.3.4")), Ok(()));
        assert_eq!(policy.check(ip("::ffff:10.8.3.4")), Ok(()));
        assert_eq!(policy.check(ip("10.9.3.4")), Err(Refusal::Denied));
        assert_eq!(policy.check(ip("8.8.8.8")), Err(Refusal::Denied));
        assert_eq!(policy.check(ip("127.0.0.1")), Ok(()));
        assert_eq!(policy.check(ip("::1")), Ok(()));
        assert_eq!(policy.check(ip("169.254.169.254")), Err(Refusal::Denied));
    }

    /// First and last address of a range.
    fn ends(range: IpNet) -> [IpAddr; 2] {
        [range.network(), range.broadcast()]
    }

    #[test]
    fn the_ranges_handed_out_say_what_check_does() {
        let policy = PeerPolicy::new(vec!["10.8.0.0/16".parse().unwrap()], vec!["8.8.8.0/24".parse().unwrap()], true);
        let denied = policy.denied_ranges();
        let allowed = policy.allowed_ranges();
        for range in &denied {
            for end in ends(*range) {
                let let_through = allowed.iter().any(|a| a.contains(&end));
                assert_eq!(policy.check(end).is_ok(), let_through, "{end} in denied {range}");
            }
        }
        for range in &allowed {
            for end in ends(*range) {
                assert_eq!(policy.check(end), Ok(()), "{end} in allowed {range}");
            }
        }
        for form in [
            "8.8.8.8",
            "::ffff:8.8.8.8",
            "::8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "10.1.2.3",
            "::ffff:10.1.2.3",
            "2002:a01:203::",
        ] {
            assert!(denied.iter().any(|r| r.contains(&ip(form))), "{form} is in a denied range");
        }
        for form in ["10.8.1.2", "::ffff:10.8.1.2", "64:ff9b::a08:102", "2002:a08:102::", "127.0.0.1", "::ffff:127.0.0.1", "::1"]
        {
            assert!(allowed.iter().any(|r| r.contains(&ip(form))), "{form} is in an allowed range");
        }
        for public in ["1.1.1.1", "::ffff:1.1.1.1", "2606:4700::1111"] {
            assert!(!denied.iter().any(|r| r.contains(&ip(public))), "{public} is in no denied range");
        }
        let strict = PeerPolicy::default();
        assert!(strict.allowed_ranges().is_empty(), "nothing is let through unless configured");
        assert!(strict.denied_ranges().iter().any(|r| r.contains(&ip("127.0.0.1"))));
    }
}
