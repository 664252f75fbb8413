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
        Ok(Cidr { addr, prefix })
    }
}

fn bits(a: IpAddr) -> (u128, u8) {
    match a {
        IpAddr::V4(v) => (u32::from(v) as u128, 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ((net, w), (x, w2)) = (bits(self.addr), bits(ip));
        if w != w2 {
            return false;
        }
        let shift = w - self.prefix;
        if shift >= 128 {
            return true;
        }
        (net >> shift) == (x >> shift)
    }

    /// Every address in the range (network and broadcast of IPv4 /0-/30 excluded).
    pub fn hosts(&self) -> Result<Vec<IpAddr>, String> {
        let (net, w) = bits(self.addr);
        let size: u128 = 1u128
            .checked_shl((w - self.prefix) as u32)
            .unwrap_or(u128::MAX);
        if size > MAX_HOSTS_PER_TARGET {
            return Err(format!(
                "{}/{} has {size} addresses; the limit per target is {MAX_HOSTS_PER_TARGET}",
                self.addr, self.prefix
            ));
        }
        let base = if w - self.prefix >= 128 {
            0
        } else {
            (net >> (w - self.prefix)) << (w - self.prefix)
        };
        let (first, last) = if w == 32 && self.prefix <= 30 {
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
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
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
    for (origin, spec) in specs {
        let cidr: Cidr = spec.parse().map_err(|e| format!("{origin}: {e}"))?;
        for ip in cidr.hosts().map_err(|e| format!("{origin}: {e}"))? {
            if !allow.iter().any(|a| a.contains(ip)) {
                return Err(format!(
                    "{origin}: {ip} is outside every --allow range; refusing to probe"
                ));
            }
            if !out.contains(&ip) {
                out.push(ip);
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
}
