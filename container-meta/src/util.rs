//! Small parsers shared by the sources.

use std::collections::BTreeMap;

use serde_json::Value;

/// Nanoseconds since the epoch of an RFC 3339 time
/// (`2026-12-01T17:49:43.170793655Z`, `…+02:00`); `None` for Go's zero time.
pub fn rfc3339_ns(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b' ') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut frac: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        let mut f: String = digits.chars().take(9).collect();
        while f.len() < 9 {
            f.push('0');
        }
        frac = f.parse().ok()?;
    }
    let offset = match b.get(i) {
        Some(b'Z') | Some(b'z') => 0,
        Some(&c) if c == b'+' || c == b'-' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            let o = (oh * 60 + om) * 60;
            if c == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    if y <= 1 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset;
    u64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(frac as u64)
}

/// Days since 1970-01-01 of a Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Nanoseconds since the epoch of a Go `time.Time` in its binary form
/// (containerd's `createdat`): version 1 or 2, seconds since year 1 (i64
/// big-endian), nanoseconds (i32), zone offset.
pub fn go_time_ns(b: &[u8]) -> Option<u64> {
    if !matches!(b.first(), Some(1) | Some(2)) || b.len() < 15 {
        return None;
    }
    let secs = i64::from_be_bytes(b.get(1..9)?.try_into().ok()?);
    let nsec = i32::from_be_bytes(b.get(9..13)?.try_into().ok()?);
    let unix = secs.checked_sub(62_135_596_800)?;
    u64::try_from(unix)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(u64::try_from(nsec).ok()?)
}

/// The command of a health check's `Test` (`["CMD-SHELL", "curl -f x"]`):
/// its words after the `CMD`/`CMD-SHELL` marker.
pub fn health_test(t: Option<&Value>) -> Option<String> {
    let words: Vec<&str> = t?
        .as_array()?
        .iter()
        .filter_map(|x| x.as_str())
        .skip_while(|x| *x == "CMD" || *x == "CMD-SHELL")
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// A JSON object of strings as a map (other values are skipped).
pub fn str_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(|v| v.as_object())
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// A JSON string value, non-empty.
pub fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut x = v;
    for p in path {
        x = x.get(*p)?;
    }
    x.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// The namespaces an OCI spec does not unshare: (pid, network, ipc).
pub fn host_namespaces(spec: &Value) -> (Option<bool>, Option<bool>, Option<bool>) {
    let Some(ns) = spec.pointer("/linux/namespaces").and_then(|n| n.as_array()) else {
        return (None, None, None);
    };
    let has = |t: &str| {
        ns.iter()
            .any(|n| n.get("type").and_then(|x| x.as_str()) == Some(t))
    };
    (Some(!has("pid")), Some(!has("network")), Some(!has("ipc")))
}

/// Whether an OCI spec is a privileged container's: every capability and no
/// masked paths, which is what `--privileged` makes in every runtime.
pub fn spec_privileged(spec: &Value) -> Option<bool> {
    let caps = spec.pointer("/process/capabilities/bounding")?.as_array()?;
    let admin = caps.iter().any(|c| c.as_str() == Some("CAP_SYS_ADMIN"));
    let masked = spec
        .pointer("/linux/maskedPaths")
        .and_then(|m| m.as_array())
        .is_some_and(|m| !m.is_empty());
    Some(admin && !masked)
}

/// The bind mounts of an OCI spec, except those whose source lies under one
/// of `internal` (the runtime's own /etc/hosts, /dev/shm, ...).
pub fn spec_mounts(spec: &Value, internal: &[&str]) -> Vec<crate::Mount> {
    let Some(ms) = spec.get("mounts").and_then(|m| m.as_array()) else {
        return Vec::new();
    };
    ms.iter()
        .filter_map(|m| {
            let opts: Vec<String> = m
                .get("options")
                .and_then(|o| o.as_array())
                .map(|o| {
                    o.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let ty = m.get("type").and_then(|t| t.as_str()).unwrap_or("");
            if ty != "bind" && !opts.iter().any(|o| o == "bind" || o == "rbind") {
                return None;
            }
            let src = text(m, &["source"])?;
            let dst = text(m, &["destination"])?;
            if internal.iter().any(|i| !i.is_empty() && src.starts_with(i)) {
                return None;
            }
            Some(crate::Mount::from_oci(&src, &dst, &opts))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            rfc3339_ns("2026-12-01T17:49:43.170793655Z"),
            Some(1_796_147_383_170_793_655)
        );
        assert_eq!(
            rfc3339_ns("2026-12-01T19:49:43.5+02:00"),
            Some(1_796_147_383_500_000_000)
        );
        assert_eq!(rfc3339_ns("0001-01-01T00:00:00Z"), None);
        assert_eq!(rfc3339_ns("garbage"), None);
        let mut go = vec![1u8];
        go.extend_from_slice(&(1_796_147_383i64 + 62_135_596_800).to_be_bytes());
        go.extend_from_slice(&7i32.to_be_bytes());
        go.extend_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(go_time_ns(&go), Some(1_796_147_383_000_000_007));
        assert_eq!(go_time_ns(&[1, 2]), None);
    }
}
