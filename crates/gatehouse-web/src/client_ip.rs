//! The client's IP address, honouring `X-Forwarded-For` only from trusted proxies.
//!
//! A proxy appends the address it received the request from, so the list is
//! read from the right: starting at the TCP peer, each hop that is a trusted
//! proxy vouches for the entry to its left. The first untrusted address is the
//! client. A peer that is not a trusted proxy is the client, whatever the header
//! says, so a client cannot forge its address.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use axum::http::HeaderMap;

/// An IP network in CIDR notation (`10.0.0.0/8`, `fd00::/8`), or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a CIDR did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR network (e.g. 10.0.0.0/8, 192.0.2.7, fd00::/8)")]
pub struct CidrParseError(String);

impl Cidr {
    /// Whether `ip` lies in this network. IPv4-mapped IPv6 addresses count as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || CidrParseError(text.to_owned());
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network = addr.parse::<IpAddr>().map_err(|_| error())?.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(error)?,
        };
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The client address of a request that arrived from `peer` with `headers`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // An entry that is not an address was not written by a proxy we trust to
        // write addresses; the last trusted hop is then the best we know.
        let Some(ip) = parse_hop(hop) else {
            return client;
        };
        client = ip;
        if !is_trusted(ip) {
            return ip;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: `192.0.2.7`, `192.0.2.7:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = hop.strip_prefix('[') {
        let (v6, _) = rest.split_once(']')?;
        return v6
            .parse::<Ipv6Addr>()
            .ok()
            .map(|ip| IpAddr::V6(ip).to_canonical());
    }
    let (v4, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    v4.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn check(peer: &str, xff: &[&str], trusted: &[&str], expected: &str) {
        let mut headers = HeaderMap::new();
        for value in xff {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        let got = client_ip(peer.parse().unwrap(), &headers, &nets(trusted));
        assert_eq!(
            got.to_string(),
            expected,
            "peer {peer}, xff {xff:?}, trusted {trusted:?}"
        );
    }

    #[test]
    fn forwarded_for_is_honoured_only_from_trusted_peers() {
        check("203.0.113.9", &["198.51.100.1"], &[], "203.0.113.9");
        check(
            "203.0.113.9",
            &["198.51.100.1"],
            &["10.0.0.0/8"],
            "203.0.113.9",
        );
        check(
            "10.0.0.2",
            &["198.51.100.1"],
            &["10.0.0.0/8"],
            "198.51.100.1",
        );
        // A forged left-most entry is skipped: the first untrusted from the right wins.
        check(
            "10.0.0.2",
            &["1.1.1.1, 198.51.100.1, 10.0.0.7"],
            &["10.0.0.0/8"],
            "198.51.100.1",
        );
        check(
            "10.0.0.2",
            &["1.1.1.1", "198.51.100.1"],
            &["10.0.0.0/8"],
            "198.51.100.1",
        );
        // Every hop trusted: the left-most is the client.
        check(
            "10.0.0.2",
            &["10.0.0.5, 10.0.0.7"],
            &["10.0.0.0/8"],
            "10.0.0.5",
        );
        // Garbage stops the walk at the last trusted hop.
        check(
            "10.0.0.2",
            &["198.51.100.1, garbage"],
            &["10.0.0.0/8"],
            "10.0.0.2",
        );
        check("10.0.0.2", &[], &["10.0.0.0/8"], "10.0.0.2");
        check(
            "::ffff:10.0.0.2",
            &["[2001:db8::1]:4711"],
            &["10.0.0.2"],
            "2001:db8::1",
        );
        check("::1", &["192.0.2.7:4711"], &["::1/128"], "192.0.2.7");
    }

    #[test]
    fn cidr_parses_and_matches() {
        let net: Cidr = "192.168.0.0/16".parse().unwrap();
        assert!(net.contains("192.168.4.2".parse().unwrap()));
        assert!(!net.contains("192.169.0.1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert_eq!(
            "10.0.0.1".parse::<Cidr>().unwrap().to_string(),
            "10.0.0.1/32"
        );
        for bad in ["", "10.0.0.0/33", "fd00::/129", "example.com", "10.0.0.0/x"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }
}
