//! Radio: songs picked at random from the library, steered by the box's ratings.
//!
//! Every song of every tune is a candidate. A song disliked more often than liked, or rated
//! below 2 stars on average, is never picked. The others are weighted: 1, plus 1 per like
//! (at most 10), minus 0.25 per skip (at least 0.25), times (average stars / 3)² when the
//! song has stars. "Liked only" keeps the songs liked more often than disliked, or rated 4
//! stars or more on average. Songs of recently played tunes (`exclude`) are left out
//! while anything else is left.

use crate::library::Library;
use crate::ratings::{Aggregate, Ratings};
use rand::Rng;
use std::collections::{HashMap, HashSet};

/// Which songs the radio plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    /// Anything not disliked.
    Any,
    /// Only songs the listeners liked or rated 4-5 stars.
    Liked,
}

impl Quality {
    pub fn parse(s: &str) -> Option<Quality> {
        match s {
            "" | "any" => Some(Quality::Any),
            "liked" => Some(Quality::Liked),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Any => "any",
            Quality::Liked => "liked",
        }
    }
}

/// The weight of one song with these ratings (0 = never picked).
pub fn weight(a: &Aggregate, q: Quality) -> f64 {
    let stars = (a.stars_count > 0).then(|| a.stars_sum as f64 / a.stars_count as f64);
    if a.dislikes > a.likes || stars.is_some_and(|s| s < 2.0) {
        return 0.0;
    }
    if q == Quality::Liked && a.likes <= a.dislikes && !stars.is_some_and(|s| s >= 4.0) {
        return 0.0;
    }
    let mut w = (1.0 + a.likes.min(10) as f64 - 0.25 * a.skips as f64).max(0.25);
    if let Some(s) = stars {
        w *= (s / 3.0).powi(2);
    }
    w
}

/// A song to play: the tune (by index into the caller's list) and the 1-based song.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pick {
    pub tune: usize,
    pub song: u16,
}

/// Up to `n` distinct songs. `tunes` gives each tune's MD5 and song count; `ratings` maps
/// `md5:song` to its ratings; songs of tunes whose MD5 is in `exclude` are picked only
/// when nothing else is eligible.
pub fn pick(
    tunes: &[(&str, u16)],
    ratings: &HashMap<String, Aggregate>,
    exclude: &HashSet<&str>,
    q: Quality,
    n: usize,
    rng: &mut impl Rng,
) -> Vec<Pick> {
    let none = Aggregate::default();
    let mut fresh = Vec::new();
    let mut recent = Vec::new();
    for (i, (md5, songs)) in tunes.iter().enumerate() {
        for song in 1..=*songs {
            let a = ratings.get(&format!("{md5}:{song}")).unwrap_or(&none);
            let w = weight(a, q);
            if w > 0.0 {
                let c = (Pick { tune: i, song }, w);
                if exclude.contains(md5) {
                    recent.push(c);
                } else {
                    fresh.push(c);
                }
            }
        }
    }
    let mut out = Vec::new();
    for pool in [&mut fresh, &mut recent] {
        while out.len() < n && !pool.is_empty() {
            let total: f64 = pool.iter().map(|(_, w)| w).sum();
            let mut x = rng.gen::<f64>() * total;
            let mut at = pool.len() - 1;
            for (i, (_, w)) in pool.iter().enumerate() {
                if x < *w {
                    at = i;
                    break;
                }
                x -= w;
            }
            out.push(pool.swap_remove(at).0);
        }
    }
    out
}

/// `n` songs for the radio from the whole library, steered by every rating; songs of the
/// tunes in `exclude` (MD5s of recently played tunes) come last. Reads the whole library and
/// every rating: call it off the async threads.
pub fn pick_songs(
    library: &Library,
    ratings: &Ratings,
    exclude: &HashSet<&str>,
    q: Quality,
    n: usize,
) -> Result<Vec<(library::Tune, u16)>, store::StoreError> {
    let ratings = ratings.all()?;
    let entries = library.index().entries();
    let keys: Vec<(&str, u16)> = entries.iter().map(|t| (t.md5.as_str(), t.songs)).collect();
    let picks = pick(&keys, &ratings, exclude, q, n, &mut rand::thread_rng());
    // Only the picked tunes are read from the index.
    Ok(picks
        .into_iter()
        .filter_map(|p| Some((library.tune(&entries[p.tune].path)?, p.song)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn agg(likes: u64, dislikes: u64, skips: u64, stars: &[u64]) -> Aggregate {
        Aggregate {
            likes,
            dislikes,
            skips,
            stars_sum: stars.iter().sum(),
            stars_count: stars.len() as u64,
        }
    }

    #[test]
    fn weights() {
        assert_eq!(weight(&agg(0, 0, 0, &[]), Quality::Any), 1.0);
        assert_eq!(weight(&agg(0, 1, 0, &[]), Quality::Any), 0.0);
        assert_eq!(weight(&agg(1, 1, 0, &[]), Quality::Any), 2.0);
        assert_eq!(weight(&agg(0, 0, 0, &[1]), Quality::Any), 0.0);
        assert_eq!(weight(&agg(0, 0, 0, &[3]), Quality::Any), 1.0);
        assert!((weight(&agg(0, 0, 0, &[5, 5]), Quality::Any) - 25.0 / 9.0).abs() < 1e-12);
        assert_eq!(weight(&agg(0, 0, 8, &[]), Quality::Any), 0.25);
        assert_eq!(weight(&agg(50, 0, 0, &[]), Quality::Any), 11.0);
        assert_eq!(weight(&agg(0, 0, 0, &[]), Quality::Liked), 0.0);
        assert_eq!(weight(&agg(0, 0, 0, &[3]), Quality::Liked), 0.0);
        assert!((weight(&agg(0, 0, 0, &[4]), Quality::Liked) - 16.0 / 9.0).abs() < 1e-12);
        assert_eq!(weight(&agg(2, 1, 0, &[]), Quality::Liked), 3.0);
    }

    #[test]
    fn picks_follow_the_ratings() {
        let tunes = [("a", 1), ("b", 2), ("c", 1)];
        let mut ratings = HashMap::new();
        ratings.insert("a:1".to_string(), agg(0, 1, 0, &[])); // disliked
        ratings.insert("b:2".to_string(), agg(4, 0, 0, &[])); // liked: weight 5
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut count: HashMap<Pick, u32> = HashMap::new();
        for _ in 0..7000 {
            for p in pick(&tunes, &ratings, &HashSet::new(), Quality::Any, 1, &mut rng) {
                *count.entry(p).or_default() += 1;
            }
        }
        let c = |tune, song| count.get(&Pick { tune, song }).copied().unwrap_or(0);
        assert_eq!(c(0, 1), 0, "a disliked song is never picked");
        // Weights b:1 = 1, b:2 = 5, c:1 = 1: expected 1000, 5000, 1000 of 7000.
        assert!((4700..5300).contains(&c(1, 2)), "{count:?}");
        assert!((850..1150).contains(&c(1, 1)), "{count:?}");
        assert!((850..1150).contains(&c(2, 1)), "{count:?}");

        let liked = pick(
            &tunes,
            &ratings,
            &HashSet::new(),
            Quality::Liked,
            5,
            &mut rng,
        );
        assert_eq!(liked, [Pick { tune: 1, song: 2 }]);
    }

    #[test]
    fn distinct_and_recent_last() {
        let tunes = [("a", 3), ("b", 1)];
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let exclude: HashSet<&str> = ["a"].into_iter().collect();
        let p = pick(
            &tunes,
            &HashMap::new(),
            &exclude,
            Quality::Any,
            10,
            &mut rng,
        );
        assert_eq!(p.len(), 4);
        assert_eq!(
            p[0],
            Pick { tune: 1, song: 1 },
            "not recently played comes first"
        );
        let distinct: HashSet<_> = p.iter().collect();
        assert_eq!(distinct.len(), 4);
        assert!(pick(&[], &HashMap::new(), &exclude, Quality::Any, 3, &mut rng).is_empty());
    }
}
