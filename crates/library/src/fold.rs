//! Text folding for search: what a listener types and what the tunes say are compared in one
//! spelling.
//!
//! Folded text is lower-case ASCII: diacritics are dropped (`é` -> `e`, `ö` -> `o`), letters
//! without an ASCII form are transliterated (`ß` -> `ss`, `ø` -> `o`, `æ` -> `ae`; the
//! `deunicode` tables), `_` counts as a space (HVSC spells spaces in file and folder names
//! that way), control characters become spaces and runs of spaces collapse to one. HVSC's
//! header strings are Latin-1 (decoded to `char` by `sidfile`), so every author name folds
//! to what an English keyboard types.

/// Folds `s` into a new string (see the module documentation).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// Appends the folded form of `s` to `out` (see [`fold`]).
pub fn fold_into(s: &str, out: &mut String) {
    let start = out.len();
    // True when the last byte written (or the start) is a space: leading spaces and runs of
    // spaces are dropped.
    let mut space = true;
    let mut push = |b: u8, out: &mut String| {
        let b = b.to_ascii_lowercase();
        if b == b'_' || b.is_ascii_whitespace() || b.is_ascii_control() {
            if !space {
                out.push(' ');
                space = true;
            }
        } else {
            out.push(char::from(b));
            space = false;
        }
    };
    for c in s.chars() {
        if c.is_ascii() {
            push(c as u8, out);
        } else if let Some(t) = deunicode::deunicode_char(c) {
            for b in t.bytes().filter(u8::is_ascii) {
                push(b, out);
            }
        }
    }
    if out.len() > start && out.ends_with(' ') {
        out.pop();
    }
}

/// The words of folded text: maximal runs of ASCII letters and digits.
pub fn words(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// True when `a` and `b` differ by at most one edit: one byte inserted, deleted or
/// substituted, or two adjacent bytes swapped (Damerau-Levenshtein distance <= 1).
pub fn within_one_edit(a: &[u8], b: &[u8]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    if prefix == short.len() {
        return true; // equal, or `long` has one byte more at the end
    }
    if short.len() == long.len() {
        let (s, l) = (&short[prefix..], &long[prefix..]);
        // substitution, or transposition of the first differing pair
        s[1..] == l[1..] || (s.len() >= 2 && s[0] == l[1] && s[1] == l[0] && s[2..] == l[2..])
    } else {
        // one byte inserted into `long` at `prefix`
        short[prefix..] == long[prefix + 1..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_diacritics_and_latin1_letters() {
        assert_eq!(fold("Rob Hubbard"), "rob hubbard");
        assert_eq!(fold("Jörg Köhler"), "jorg kohler");
        assert_eq!(fold("Ståle Søndergård"), "stale sondergard");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Æther Æon"), "aether aeon");
        assert_eq!(fold("  Monty_on__the  Run  "), "monty on the run");
        assert_eq!(fold("a\x1fb\tc"), "a b c");
        assert_eq!(fold(""), "");
        assert_eq!(fold("___"), "");
    }

    #[test]
    fn words_split_on_punctuation() {
        let w: Vec<_> = words("r-type (1988) 'theme'").collect();
        assert_eq!(w, vec!["r", "type", "1988", "theme"]);
    }

    #[test]
    fn one_edit() {
        for (a, b) in [
            ("hubbard", "hubbard"),
            ("hubbard", "hubard"),   // deletion
            ("hubbard", "hubbbard"), // insertion
            ("hubbard", "hubberd"),  // substitution
            ("hubbard", "hubbadr"),  // transposition at the end
            ("galway", "aglway"),    // transposition at the start
            ("galway", "galwa"),     // last byte missing
            ("galway", "xgalway"),   // first byte added
        ] {
            assert!(within_one_edit(a.as_bytes(), b.as_bytes()), "{a} {b}");
            assert!(within_one_edit(b.as_bytes(), a.as_bytes()), "{b} {a}");
        }
        for (a, b) in [
            ("hubbard", "hbubadr"),
            ("hubbard", "hub"),
            ("galway", "gawlya"),
            ("abcd", "badc"),
            ("abc", "xyz"),
        ] {
            assert!(!within_one_edit(a.as_bytes(), b.as_bytes()), "{a} {b}");
        }
    }
}
