//! Targets and the explicit scope (`--allow`): nothing outside it is ever contacted.

use std::net::IpAddr;

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

/// The largest range one target may expand to.
pub const MAX_HOSTS_PER_TARGET: u128 = 65_536;

/// An `@file` of targets: one address or range a line.
const MAX_TARGET_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The most distinct hosts one run may expand to (sixteen /16s).
pub const MAX_HOSTS: usize = 1 << 20;

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: not an IP address or CIDR"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() {
            max
        } else {
            p.parse().map_err(|_| format!("{s:?}: bad prefix length"))?
        };
        if prefix > max {
            return Err(format!("{s:?}: prefix longer than {max}"));
        }
        Ok(Cidr { addr, prefix }.canonical())
    }
}

fn bits(a: IpAddr) -> (u128, u8) {
    match a {
        IpAddr::V4(v) => (u32::from(v) as u128, 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    }
}

/// Where `::ffff:a.b.c.d` goes is the IPv4 address a.b.c.d: scope it as that.
const MAPPED_PREFIX: u8 = 96;

impl Cidr {
    /// An IPv4-mapped IPv6 range (`::ffff:0:0/96` or longer) as the IPv4 range it reaches.
    /// A shorter IPv6 range that covers mapped addresses stays IPv6, and so never matches
    /// an IPv4 target: it fails closed.
    pub fn canonical(self) -> Cidr {
        match (self.addr.to_canonical(), self.addr) {
            (IpAddr::V4(v4), IpAddr::V6(_)) if self.prefix >= MAPPED_PREFIX => Cidr {
                addr: IpAddr::V4(v4),
                prefix: self.prefix - MAPPED_PREFIX,
            },
            _ => self,
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let c = self.canonical();
        let ((net, w), (x, w2)) = (bits(c.addr), bits(ip.to_canonical()));
        if w != w2 {
            return false;
        }
        let shift = w - c.prefix;
        if shift >= 128 {
            return true;
        }
        (net >> shift) == (x >> shift)
    }

    /// Every address in the range (network and broadcast of IPv4 /0-/30 excluded).
    pub fn hosts(&self) -> Result<Vec<IpAddr>, String> {
        let c = self.canonical();
        let (net, w) = bits(c.addr);
        let size: u128 = 1u128
            .checked_shl((w - c.prefix) as u32)
            .unwrap_or(u128::MAX);
        if size > MAX_HOSTS_PER_TARGET {
            return Err(format!(
                "{}/{} has {size} addresses; the limit per target is {MAX_HOSTS_PER_TARGET}",
                c.addr, c.prefix
            ));
        }
        let base = if w - c.prefix >= 128 {
            0
        } else {
            (net >> (w - c.prefix)) << (w - c.prefix)
        };
        let (first, last) = if w == 32 && c.prefix <= 30 {
            (base + 1, base + size - 2)
        } else {
            (base, base + size - 1)
        };
        Ok((first..=last)
            .map(|n| {
                if w == 32 {
                    IpAddr::V4((n as u32).into())
                } else {
                    IpAddr::V6(n.into())
                }
            })
            .collect())
    }
}

/// Expand targets (addresses, CIDRs, or `@file` with one per line) and check each against
/// the allow list. Any address outside it is an error naming it: nothing is sent.
pub fn resolve(targets: &[String], allow: &[Cidr]) -> Result<Vec<IpAddr>, String> {
    if allow.is_empty() {
        return Err("no --allow range: say explicitly which networks may be probed".into());
    }
    let mut specs = Vec::new();
    for t in targets {
        if let Some(path) = t.strip_prefix('@') {
            let bytes = hookswitch_atomicfile::read_regular(path.as_ref(), MAX_TARGET_FILE_BYTES)
                .map_err(|e| format!("{path}: {e}"))?;
            let text = String::from_utf8(bytes).map_err(|e| format!("{path}: {e}"))?;
            for (n, line) in text.lines().enumerate() {
                let line = line.split('#').next().unwrap_or("").trim();
                if !line.is_empty() {
                    specs.push((format!("{path}:{}", n + 1), line.to_string()));
                }
            }
        } else {
            specs.push((t.clone(), t.clone()));
        }
    }
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (origin, spec) in specs {
        let cidr: Cidr = spec.parse().map_err(|e| format!("{origin}: {e}"))?;
        for ip in cidr.hosts().map_err(|e| format!("{origin}: {e}"))? {
            if !allow.iter().any(|a| a.contains(ip)) {
                return Err(format!(
                    "{origin}: {ip} is outside every --allow range; refusing to probe"
                ));
            }
            if seen.insert(ip) {
                out.push(ip);
            }
            if out.len() > MAX_HOSTS {
                return Err(format!(
                    "{origin}: the targets expand to more than {MAX_HOSTS} hosts; split the run"
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_scope() {
        let allow: Vec<Cidr> = vec![
            "192.0.2.0/24".parse().unwrap(),
            "127.0.0.1".parse().unwrap(),
        ];
        let hosts = resolve(&["192.0.2.0/30".into(), "127.0.0.1".into()], &allow).unwrap();
        assert_eq!(hosts.len(), 3, "{hosts:?}");
        assert_eq!(
            resolve(&["192.0.2.0/24".into()], &allow).unwrap().len(),
            254
        );
        let e = resolve(&["198.51.100.7".into()], &allow).unwrap_err();
        assert!(e.contains("outside every --allow range"), "{e}");
        assert!(resolve(&["192.0.2.1".into()], &[]).is_err());
        assert!(
            resolve(&["10.0.0.0/8".into()], &["10.0.0.0/8".parse().unwrap()])
                .unwrap_err()
                .contains("limit")
        );
        assert!("::1"
            .parse::<Cidr>()
            .unwrap()
            .contains("::1".parse().unwrap()));
        assert!(!"192.0.2.0/24"
            .parse::<Cidr>()
            .unwrap()
            .contains("::1".parse().unwrap()));
        assert!("300.1.1.1".parse::<Cidr>().is_err());
    }

    #[test]
    fn an_ipv4_mapped_target_is_scoped_as_the_ipv4_address_it_reaches() {
        // All of IPv6 allowed does not let a mapped address reach IPv4 outside the scope.
        let v6_only: Vec<Cidr> = vec!["::/0".parse().unwrap()];
        let e = resolve(&["::ffff:198.51.100.7".into()], &v6_only).unwrap_err();
        assert!(e.contains("198.51.100.7") && e.contains("outside"), "{e}");
        let e = resolve(&["::ffff:198.51.100.0/120".into()], &v6_only).unwrap_err();
        assert!(e.contains("outside"), "{e}");
        // And an IPv4 scope admits the mapped spelling of its own addresses, deduplicated.
        let v4: Vec<Cidr> = vec!["198.51.100.0/24".parse().unwrap()];
        let hosts = resolve(&["::ffff:198.51.100.7".into(), "198.51.100.7".into()], &v4).unwrap();
        assert_eq!(hosts, vec!["198.51.100.7".parse::<IpAddr>().unwrap()]);
        // A mapped allow range is the IPv4 range.
        let mapped: Vec<Cidr> = vec!["::ffff:198.51.100.0/120".parse().unwrap()];
        assert_eq!(resolve(&["198.51.100.9".into()], &mapped).unwrap().len(), 1);
        assert!(resolve(&["198.51.101.9".into()], &mapped).is_err());
        let built = Cidr {
            addr: "::ffff:198.51.100.0".parse().unwrap(),
            prefix: 120,
        };
        assert!(built.contains("198.51.100.9".parse().unwrap()));
        assert!(!built.contains("198.51.101.9".parse().unwrap()));
    }

    #[test]
    fn expansion_deduplicates_in_linear_time() {
        // Four ranges of 65,536 hosts, two of them twice: the old quadratic check took about a
        // minute for four /16s (this test then timed out); deduplication must also stay exact.
        // Documentation addresses only: resolve() expands, nothing is sent.
        let allow: Vec<Cidr> = vec!["2001:db8::/32".parse().unwrap()];
        let ranges = [
            "2001:db8:1::/112",
            "2001:db8:2::/112",
            "2001:db8:3::/112",
            "2001:db8:4::/112",
        ];
        let targets: Vec<String> = ranges
            .iter()
            .chain(&ranges[..2])
            .map(|s| s.to_string())
            .collect();
        let hosts = resolve(&targets, &allow).unwrap();
        assert_eq!(hosts.len(), 4 * 65_536);
        let many: Vec<String> = (1..=17).map(|i| format!("2001:db8:{i:x}::/112")).collect();
        assert!(resolve(&many, &allow)
            .unwrap_err()
            .contains("more than 1048576 hosts"));
    }
}
