//! HTTP `Range: bytes=...` for one range (what audio elements send).

/// What to send for a request on a resource of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeResult {
    /// No (usable) Range header: the whole body, 200.
    Full,
    /// `start..=end`, 206.
    Partial { start: u64, end: u64 },
    /// Cannot be satisfied: 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
}

/// Parses a `Range` header value. Multiple ranges are answered with the whole body
/// (allowed by RFC 9110); syntax errors are ignored the same way, as the RFC asks.
pub fn parse(header: Option<&str>, len: u64) -> RangeResult {
    let Some(h) = header else {
        return RangeResult::Full;
    };
    let Some(spec) = h.trim().strip_prefix("bytes=") else {
        return RangeResult::Full;
    };
    if spec.contains(',') {
        return RangeResult::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeResult::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // Suffix: the last N bytes.
        let Ok(n) = b.parse::<u64>() else {
            return RangeResult::Full;
        };
        if n == 0 || len == 0 {
            return RangeResult::Unsatisfiable;
        }
        let n = n.min(len);
        return RangeResult::Partial {
            start: len - n,
            end: len - 1,
        };
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeResult::Full;
    };
    let end = if b.is_empty() {
        len.saturating_sub(1)
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => e.min(len.saturating_sub(1)),
            Ok(_) => return RangeResult::Full, // last < first: invalid syntax, ignore
            Err(_) => return RangeResult::Full,
        }
    };
    if start >= len {
        return RangeResult::Unsatisfiable;
    }
    RangeResult::Partial { start, end }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeResult::*;

    #[test]
    fn ranges() {
        assert_eq!(parse(None, 100), Full);
        assert_eq!(parse(Some("bytes=0-0"), 100), Partial { start: 0, end: 0 });
        assert_eq!(
            parse(Some("bytes=10-19"), 100),
            Partial { start: 10, end: 19 }
        );
        assert_eq!(
            parse(Some("bytes=90-"), 100),
            Partial { start: 90, end: 99 }
        );
        assert_eq!(
            parse(Some("bytes=90-500"), 100),
            Partial { start: 90, end: 99 }
        );
        assert_eq!(
            parse(Some("bytes=-10"), 100),
            Partial { start: 90, end: 99 }
        );
        assert_eq!(
            parse(Some("bytes=-1000"), 100),
            Partial { start: 0, end: 99 }
        );
        assert_eq!(parse(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse(Some("bytes=200-300"), 100), Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(parse(Some("bytes=5-2"), 100), Full);
        assert_eq!(parse(Some("items=0-1"), 100), Full);
        assert_eq!(parse(Some("bytes=0-1,5-6"), 100), Full);
        assert_eq!(parse(Some("bytes=x-1"), 100), Full);
    }
}
