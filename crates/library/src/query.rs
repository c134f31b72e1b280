//! The search language: words, quoted phrases and `field:value` filters.
//!
//! ```text
//! hubbard commando            words match title, author, released, file or folder name
//! "monty on"                  a phrase matches as it is written (spaces included)
//! author:galway title:wiz     a word (or "phrase") matched in one field only
//! released:ocean path:games   ... also the released string and the path
//! year:1985  year:1985..1989  year:>=1990  year:<1984   (from the released field)
//! chip:6581|8580|any|unknown  clock:pal|ntsc|any|unknown  type:psid|rsid  sids:2  sids:>1
//! duration:<2:00  duration:>=90  duration:1:00..3:30   (the start song's length)
//! ```
//!
//! Words are folded (lower case, no diacritics: see [`crate::fold`]), so `jorg` finds
//! `Jörg`. A query is bounded (characters and terms) because anyone on the LAN can send one.

use crate::fold::fold;
use std::fmt;

/// The longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 512;
/// The most words, phrases and filters in one query.
pub const MAX_TERMS: usize = 16;

/// Why a query was refused: the message is meant for the listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QueryError {}

/// Where a word must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Title, author, released, file name or folder path.
    Any,
    Title,
    Author,
    Released,
    /// The folder path or the file name.
    Path,
}

/// A word or phrase, folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub scope: Scope,
    pub text: String,
}

impl Term {
    /// A phrase (it holds a space): matched as a substring only, never by word or typo.
    pub fn is_phrase(&self) -> bool {
        self.text.contains(' ')
    }
}

/// An inclusive range of numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub min: u32,
    pub max: u32,
}

impl Span {
    pub fn contains(&self, v: u32) -> bool {
        (self.min..=self.max).contains(&v)
    }
}

/// A condition on a tune's header or length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// The year the released field starts with.
    Year(Span),
    /// [`crate::chip_code`] of the first SID.
    Chip(u8),
    /// [`crate::clock_code`].
    Clock(u8),
    /// 0 = PSID, 1 = RSID.
    Format(u8),
    /// Number of SID chips.
    Sids(Span),
    /// The start song's length in milliseconds (tunes of unknown length never match).
    Duration(Span),
}

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub terms: Vec<Term>,
    pub filters: Vec<Filter>,
}

impl Query {
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.filters.is_empty()
    }

    /// The words of every title/author/any term, as one folded string (for "the title is
    /// exactly what was typed" ranking).
    pub(crate) fn free_text(&self) -> String {
        self.terms
            .iter()
            .filter(|t| matches!(t.scope, Scope::Any | Scope::Title | Scope::Author))
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn bad(msg: impl Into<String>) -> QueryError {
    QueryError(msg.into())
}

/// Splits on spaces, keeping `"quoted phrases"` (also after `field:`) together.
fn tokens(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in q.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push('"');
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `1985`, `1985..1989`, `1985-1989`, `>1985`, `>=1985`, `<1990`, `<=1990`, `=1985`, with
/// `value` parsing one bound.
fn span(s: &str, value: impl Fn(&str) -> Option<u32>) -> Option<Span> {
    let s = s.trim();
    let (min, max) = if let Some(r) = s.strip_prefix(">=") {
        (value(r)?, u32::MAX)
    } else if let Some(r) = s.strip_prefix("<=") {
        (0, value(r)?)
    } else if let Some(r) = s.strip_prefix('>') {
        (value(r)?.checked_add(1)?, u32::MAX)
    } else if let Some(r) = s.strip_prefix('<') {
        (0, value(r)?.checked_sub(1)?)
    } else if let Some(r) = s.strip_prefix('=') {
        let v = value(r)?;
        (v, v)
    } else if let Some((a, b)) = s.split_once("..") {
        (value(a)?, value(b)?)
    } else if let Some((a, b)) = s.split_once('-').filter(|(a, _)| !a.is_empty()) {
        (value(a)?, value(b)?)
    } else {
        let v = value(s)?;
        (v, v)
    };
    (min <= max).then_some(Span { min, max })
}

fn number(s: &str) -> Option<u32> {
    let s = s.trim();
    (!s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `m:ss`, `m:ss.mmm` or plain seconds, in milliseconds.
fn duration_ms(s: &str) -> Option<u32> {
    let s = s.trim();
    let (min, rest) = match s.split_once(':') {
        Some((m, r)) => (number(m)?, r),
        None => (0, s),
    };
    let (sec, frac) = match rest.split_once('.') {
        Some((a, f)) => (number(a)?, Some(f)),
        None => (number(rest)?, None),
    };
    if s.contains(':') && sec >= 60 {
        return None;
    }
    let ms = match frac {
        None => 0,
        Some(f) if (1..=3).contains(&f.len()) => number(f)? * 10u32.pow(3 - f.len() as u32),
        Some(_) => return None,
    };
    min.checked_mul(60_000)?
        .checked_add(sec.checked_mul(1000)?)?
        .checked_add(ms)
}

/// Parses a query (see the module documentation).
pub fn parse(q: &str) -> Result<Query, QueryError> {
    if q.len() > MAX_QUERY_BYTES {
        return Err(bad(format!(
            "the query is too long (at most {MAX_QUERY_BYTES} characters)"
        )));
    }
    let mut query = Query::default();
    for tok in tokens(q) {
        let (field, value) = match tok.split_once(':') {
            Some((f, v)) if !f.starts_with('"') => (Some(f.to_ascii_lowercase()), v),
            _ => (None, tok.as_str()),
        };
        let value = value.trim_matches('"');
        let scoped = |scope| {
            let text = fold(value);
            (!text.is_empty()).then_some(Term { scope, text })
        };
        let invalid = |what: &str| {
            bad(format!(
                "{}:{value} is not a valid {what}",
                field.as_deref().unwrap_or("")
            ))
        };
        match field.as_deref() {
            None => query.terms.extend(scoped(Scope::Any)),
            Some("title" | "name") => query.terms.extend(scoped(Scope::Title)),
            Some("author" | "composer" | "artist") => query.terms.extend(scoped(Scope::Author)),
            Some("released" | "copyright") => query.terms.extend(scoped(Scope::Released)),
            Some("path" | "folder" | "file") => query.terms.extend(scoped(Scope::Path)),
            Some("year") => query.filters.push(Filter::Year(
                span(value, number).ok_or_else(|| invalid("year or range (1985..1989)"))?,
            )),
            Some("chip" | "sid" | "model") => {
                query
                    .filters
                    .push(Filter::Chip(match value.to_ascii_lowercase().as_str() {
                        "6581" => 1,
                        "8580" => 2,
                        "any" | "either" | "both" => 3,
                        "unknown" => 0,
                        _ => return Err(invalid("chip (6581, 8580, any, unknown)")),
                    }))
            }
            Some("clock" | "video") => {
                query
                    .filters
                    .push(Filter::Clock(match value.to_ascii_lowercase().as_str() {
                        "pal" => 1,
                        "ntsc" => 2,
                        "any" | "either" | "both" => 3,
                        "unknown" => 0,
                        _ => return Err(invalid("clock (pal, ntsc, any, unknown)")),
                    }))
            }
            Some("type" | "format") => {
                query
                    .filters
                    .push(Filter::Format(match value.to_ascii_lowercase().as_str() {
                        "psid" => 0,
                        "rsid" => 1,
                        _ => return Err(invalid("type (psid, rsid)")),
                    }))
            }
            Some("sids" | "chips") => query.filters.push(Filter::Sids(
                span(value, number).ok_or_else(|| invalid("number of SIDs (1-3)"))?,
            )),
            Some("duration" | "length" | "time") => query
                .filters
                .push(Filter::Duration(span(value, duration_ms).ok_or_else(
                    || invalid("duration (<2:00, >=90, 1:00..3:00)"),
                )?)),
            // Not a field we know: the whole token is a word (titles hold colons too).
            Some(_) => query.terms.extend(
                Some(fold(&tok).replace('"', ""))
                    .filter(|t| !t.is_empty())
                    .map(|text| Term {
                        scope: Scope::Any,
                        text,
                    }),
            ),
        }
        if query.terms.len() + query.filters.len() > MAX_TERMS {
            return Err(bad(format!(
                "too many words in the query (at most {MAX_TERMS})"
            )));
        }
    }
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(t: &str) -> Term {
        Term {
            scope: Scope::Any,
            text: t.into(),
        }
    }

    #[test]
    fn words_phrases_and_fields() {
        let q = parse(r#"  Hubbard "Monty  On" author:"Rob H" title:Commando  "#).unwrap();
        assert_eq!(
            q.terms,
            vec![
                any("hubbard"),
                any("monty on"),
                Term {
                    scope: Scope::Author,
                    text: "rob h".into()
                },
                Term {
                    scope: Scope::Title,
                    text: "commando".into()
                },
            ]
        );
        assert!(q.terms[1].is_phrase());
        assert_eq!(q.free_text(), "hubbard monty on rob h commando");
        assert_eq!(parse("Jörg").unwrap().terms, vec![any("jorg")]);
        // An unknown field is an ordinary word; an empty value adds nothing.
        assert_eq!(parse("re:play").unwrap().terms, vec![any("re:play")]);
        assert!(parse("author: ").unwrap().is_empty());
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn filters() {
        let f = |q: &str| parse(q).unwrap().filters;
        let s = |min, max| Span { min, max };
        assert_eq!(f("year:1985"), vec![Filter::Year(s(1985, 1985))]);
        assert_eq!(f("year:1985..1989"), vec![Filter::Year(s(1985, 1989))]);
        assert_eq!(f("year:1985-1989"), vec![Filter::Year(s(1985, 1989))]);
        assert_eq!(f("year:>=1990"), vec![Filter::Year(s(1990, u32::MAX))]);
        assert_eq!(f("year:<1984"), vec![Filter::Year(s(0, 1983))]);
        assert_eq!(
            f("chip:8580 CLOCK:NTSC"),
            vec![Filter::Chip(2), Filter::Clock(2)]
        );
        assert_eq!(
            f("type:rsid sids:2"),
            vec![Filter::Format(1), Filter::Sids(s(2, 2))]
        );
        assert_eq!(f("sids:>1"), vec![Filter::Sids(s(2, u32::MAX))]);
        assert_eq!(f("duration:<2:00"), vec![Filter::Duration(s(0, 119_999))]);
        assert_eq!(
            f("duration:>=90"),
            vec![Filter::Duration(s(90_000, u32::MAX))]
        );
        assert_eq!(
            f("duration:1:00..3:30.5"),
            vec![Filter::Duration(s(60_000, 210_500))]
        );
        for badq in [
            "year:abc",
            "year:1990..1980",
            "chip:6582",
            "clock:secam",
            "type:mus",
            "duration:1:75",
            "duration:<0",
            "sids:",
        ] {
            assert!(parse(badq).is_err(), "{badq}");
        }
    }

    #[test]
    fn bounded() {
        assert!(parse(&"a".repeat(MAX_QUERY_BYTES + 1)).is_err());
        let many = vec!["w"; MAX_TERMS + 1].join(" ");
        assert!(parse(&many).is_err());
        assert!(parse(&vec!["w"; MAX_TERMS].join(" ")).is_ok());
    }
}
