//! Snapshots of `statejet explain` listings: a compiler change shows as a readable diff.
//! `STATEJET_UPDATE_SNAPSHOTS=1 cargo test` rewrites them.

use std::path::Path;

use statejet::compile;

use crate::{bundled_definitions, check_all, compare_snapshot, data_dir, validated};

fn listing(definition: &Path) -> String {
    compile::listing(&compile::compile(validated(definition)))
}

#[test]
fn listings_match_snapshots() {
    let cases = bundled_definitions()
        .into_iter()
        .map(|(n, p)| (n.clone(), (n, p)));
    check_all(cases, |(name, d)| {
        let snapshot = data_dir().join("explain").join(format!("{name}.txt"));
        compare_snapshot(&snapshot, &listing(&d))
    });
}
