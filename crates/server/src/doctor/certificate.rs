//! The HTTPS certificate: present, naming the server's domain, and not about to expire — from
//! the configured files, or the newest one ACME stored in the data directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::Check;
use crate::config::Config;

/// A certificate closer than this to its end is a warning: renewal should have happened.
const EXPIRY_MARGIN: Duration = Duration::from_secs(14 * 86_400);

/// What the first certificate of a chain says about itself.
struct Leaf {
    names: Vec<String>,
    not_after: i64,
}

/// Checks the HTTPS certificate when `[tls]` is on.
pub fn check(config: &Config) -> Vec<Check> {
    let tls = &config.tls;
    if !tls.enabled() {
        return Vec::new();
    }
    let acme = !tls.acme_domains.is_empty();
    let (source, leaf) = if acme {
        let dir = config.data_dir.join("acme");
        match newest_acme_certificate(&dir) {
            Some((path, leaf)) => (path, leaf),
            None => {
                let saw = format!("no certificate obtained yet for {}", tls.acme_domains.join(", "));
                let fix = "Start the server with port 443 reachable from the internet for this name (ACME validates over TLS-ALPN on 443), and watch its log for ACME errors.";
                return vec![Check::warn("certificate", saw, fix)];
            }
        }
    } else {
        match read_leaf(&tls.cert) {
            Ok(leaf) => (tls.cert.clone(), leaf),
            Err(why) => {
                let fix =
                    "Point tls.cert at a PEM file whose first block is the server's certificate, readable by the server's user.";
                return vec![Check::fail("certificate", format!("{}: {why}", tls.cert.display()), fix)];
            }
        }
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let renew = if acme {
        "The server renews it by itself: check that port 443 is reachable from the internet and the log for ACME errors."
    } else {
        "Renew it and replace the file; the server picks up the new one within seconds (or on SIGHUP)."
    };
    let days_left = (leaf.not_after - now) / 86_400;
    let mut checks = Vec::new();
    if leaf.not_after <= now {
        checks.push(Check::fail("certificate", format!("{} expired {} day(s) ago", source.display(), -days_left), renew));
    } else if leaf.not_after - now < EXPIRY_MARGIN.as_secs() as i64 {
        checks.push(Check::warn("certificate", format!("{} expires in {days_left} day(s)", source.display()), renew));
    } else {
        checks.push(Check::ok("certificate", format!("{} valid for {days_left} more days", source.display())));
    }
    let domains: Vec<String> = if acme {
        tls.acme_domains.clone()
    } else if !config.turn.public_host.is_empty() {
        vec![config.turn.public_host.clone()]
    } else {
        Vec::new()
    };
    let uncovered: Vec<&String> = domains.iter().filter(|d| !leaf.names.iter().any(|n| covers(n, d))).collect();
    if !uncovered.is_empty() {
        let saw = format!(
            "it names {}, not {}",
            leaf.names.join(", "),
            uncovered.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(", ")
        );
        checks.push(Check::fail("certificate name", saw, "Get a certificate for the name people type in their browser."));
    } else if !domains.is_empty() {
        checks.push(Check::ok("certificate name", format!("covers {}", domains.join(", "))));
    }
    checks
}

/// Whether certificate name `name` (maybe `*.example.org`) covers `domain`.
fn covers(name: &str, domain: &str) -> bool {
    let (name, domain) = (name.to_ascii_lowercase(), domain.to_ascii_lowercase());
    match name.strip_prefix("*.") {
        Some(parent) => domain.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
        None => name == domain,
    }
}

fn read_leaf(path: &Path) -> Result<Leaf, String> {
    let first = CertificateDer::pem_file_iter(path)
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no certificate in the file")?
        .map_err(|e| e.to_string())?;
    leaf_of(&first)
}

fn leaf_of(der: &CertificateDer<'_>) -> Result<Leaf, String> {
    let (_, cert) = X509Certificate::from_der(der.as_ref()).map_err(|e| format!("not a certificate: {e}"))?;
    let mut names: Vec<String> = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.push((*dns).to_owned()),
                GeneralName::IPAddress(bytes) => names.push(format!("{bytes:?}")),
                _ => {}
            }
        }
    }
    Ok(Leaf { names, not_after: cert.validity().not_after.timestamp() })
}

/// The ACME certificate that lasts longest among those stored in `dir`.
fn newest_acme_certificate(dir: &Path) -> Option<(PathBuf, Leaf)> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("certificate-") && n.ends_with(".pem"))
        })
        .filter_map(|path| read_leaf(&path).ok().map(|leaf| (path, leaf)))
        .max_by_key(|(_, leaf)| leaf.not_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label_only() {
        assert!(covers("chat.example.org", "Chat.Example.org"));
        assert!(covers("*.example.org", "chat.example.org"));
        assert!(!covers("*.example.org", "example.org"));
        assert!(!covers("*.example.org", "a.chat.example.org"));
        assert!(!covers("chat.example.org", "example.org"));
    }
}
