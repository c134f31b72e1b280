//! The VICE emulator's test programs on our machine (`fidelity::vice`): a regression floor.
//!
//! `vice-passing.txt` lists every program that passes today (164 of the 482 our machine can
//! start; `doc/engine.md` has the table per folder and what the failures are). Each must
//! keep passing; the count must not drop. Programs that pass report within a few million
//! cycles, so this runs in seconds. `cargo run --release -p fidelity -- vice` runs all 500
//! listed programs and prints the table (newly passing programs belong in the list).
//! Skips (or fails under CI) without the shared test material.

use fidelity::vice;

#[test]
fn vice_test_programs_that_passed_still_pass() {
    let Some(dir) = testdata::dir() else {
        return;
    };
    let root = dir.join("vice-testprogs");
    let all = vice::list(&root).expect("c64-testlist.in");
    assert!(all.len() >= 480, "{} listed", all.len());
    let expected: Vec<&str> = include_str!("vice-passing.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(expected.len() >= 164, "the floor: {}", expected.len());
    let tests: Vec<vice::Test> = all
        .into_iter()
        .filter(|t| expected.contains(&t.name().as_str()))
        .collect();
    assert_eq!(
        tests.len(),
        expected.len(),
        "every listed program is in c64-testlist.in"
    );
    let runs = vice::run_all(&root, &tests, fidelity::corpus::jobs());
    let failed: Vec<String> = runs
        .iter()
        .filter(|r| !r.passed())
        .map(|r| {
            format!(
                "{}: {:?} after {} cycles",
                r.test.name(),
                r.outcome,
                r.cycles
            )
        })
        .collect();
    assert!(failed.is_empty(), "no longer passing: {failed:#?}");
}
