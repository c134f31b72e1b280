//! Listeners' ratings, shared by everyone on the LAN: likes, dislikes, skips and stars per
//! song, keyed by the tune file's MD5 and the song (so they survive moves and rescans).
//! Every rating is also one line of `feedback/ratings.jsonl`, the history a backup of
//! `/var/lib/sidflow` keeps.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use store::{JsonlLog, Store, StoreError, RATINGS};

/// Per tune and song: counts and stars.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Aggregate {
    pub likes: u64,
    pub dislikes: u64,
    pub skips: u64,
    pub stars_sum: u64,
    pub stars_count: u64,
}

/// One listener action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Like,
    Dislike,
    Skip,
    /// 1 to 5 stars.
    Stars(u8),
}

impl Action {
    /// The action as the API names it (`stars` needs a number of stars, 1 to 5).
    pub fn parse(action: &str, stars: Option<u8>) -> Result<Action, &'static str> {
        match (action, stars) {
            ("like", _) => Ok(Action::Like),
            ("dislike", _) => Ok(Action::Dislike),
            ("skip", _) => Ok(Action::Skip),
            ("stars", Some(s)) if (1..=5).contains(&s) => Ok(Action::Stars(s)),
            ("stars", _) => Err("stars must be 1 to 5"),
            _ => Err("action must be like, dislike, skip or stars"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Action::Like => "like",
            Action::Dislike => "dislike",
            Action::Skip => "skip",
            Action::Stars(_) => "stars",
        }
    }
}

/// One line of the ratings log.
#[derive(Serialize)]
struct LogLine<'a> {
    ts: String,
    md5: &'a str,
    song: u16,
    path: &'a str,
    action: &'static str,
    stars: Option<u8>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    undo: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces: Option<Replaced>,
}

#[derive(Serialize)]
struct Replaced {
    action: &'static str,
    stars: Option<u8>,
}

fn stars_of(a: Action) -> Option<u8> {
    match a {
        Action::Stars(s) => Some(s),
        _ => None,
    }
}

/// Counts `a` in (`add`) or out (never below 0).
fn count(g: &mut Aggregate, a: Action, add: bool) {
    let f = |n: &mut u64, by: u64| *n = if add { *n + by } else { n.saturating_sub(by) };
    match a {
        Action::Like => f(&mut g.likes, 1),
        Action::Dislike => f(&mut g.dislikes, 1),
        Action::Skip => f(&mut g.skips, 1),
        Action::Stars(s) => {
            f(&mut g.stars_sum, u64::from(s));
            f(&mut g.stars_count, 1);
        }
    }
}

pub struct Ratings {
    db: Arc<Store>,
    log: Option<JsonlLog>,
}

fn key(md5: &str, song: u16) -> String {
    format!("{md5}:{song}")
}

impl Ratings {
    /// Ratings in `db`, logged to `log` (a log that cannot be opened is reported and the
    /// ratings still work).
    pub fn new(db: Arc<Store>, log: &std::path::Path) -> Ratings {
        let log = JsonlLog::open(log)
            .map_err(|e| tracing::error!("ratings log: {e}"))
            .ok();
        Ratings { db, log }
    }

    /// Stores one rating of a song (checked by the caller) and logs it.
    pub fn record(&self, t: &library::Tune, song: u16, a: Action) -> Result<Aggregate, StoreError> {
        self.change(t, song, a, false, None)
    }

    /// Counts a rating in, or out (`undo`: a listener's second Like takes the first back),
    /// and counts out the listener's earlier rating it `replaces` (like -> dislike, 3 -> 5
    /// stars), in one update.
    pub fn change(
        &self,
        t: &library::Tune,
        song: u16,
        a: Action,
        undo: bool,
        replaces: Option<Action>,
    ) -> Result<Aggregate, StoreError> {
        let agg = self
            .db
            .update(RATINGS, &key(&t.md5, song), |g: &mut Aggregate| {
                if let Some(r) = replaces {
                    count(g, r, false);
                }
                count(g, a, !undo);
            })?;
        let line = LogLine {
            ts: crate::events::now_rfc3339(),
            md5: &t.md5,
            song,
            path: &t.path,
            action: a.name(),
            stars: stars_of(a),
            undo,
            replaces: replaces.map(|r| Replaced {
                action: r.name(),
                stars: stars_of(r),
            }),
        };
        if let Some(Err(e)) = self.log.as_ref().map(|l| l.append(&line)) {
            tracing::error!("ratings log: {e}");
        }
        Ok(agg)
    }

    /// The ratings of one song (none yet: zeros).
    pub fn get(&self, md5: &str, song: u16) -> Aggregate {
        self.db
            .get::<Aggregate>(RATINGS, &key(md5, song))
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Every readable rating, by `md5:song` (a record this version cannot read counts as
    /// no rating).
    pub fn all(&self) -> Result<HashMap<String, Aggregate>, StoreError> {
        Ok(self
            .db
            .list_readable::<Aggregate>(RATINGS, "")?
            .records
            .into_iter()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_as_the_api_names_them() {
        assert_eq!(Action::parse("like", None), Ok(Action::Like));
        assert_eq!(Action::parse("stars", Some(4)), Ok(Action::Stars(4)));
        assert!(Action::parse("stars", Some(6)).is_err());
        assert!(Action::parse("stars", None).is_err());
        assert!(Action::parse("love", None).is_err());
    }
}
