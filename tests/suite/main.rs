//! statejet's one integration-test binary: data-driven suites over the files in `tests/data/`
//! and the shared conformance corpus, each module one harness.

mod aws;
mod callbacks;
mod cli;
mod engine;
mod explain;
mod fuzz;
mod graph;
mod http;
mod intake;
mod nested;
mod run;
mod sdk;
mod serve;
mod test_state;
mod validate;

use std::path::{Path, PathBuf};

/// The project's test data folder.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The shared folder beside the project (`../shared`), which CI always provides.
pub fn shared_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    assert!(
        dir.is_dir(),
        "{} is missing: the suite needs the shared conformance corpus beside the project",
        dir.display()
    );
    dir
}

/// The `.json` files of a folder, sorted by name.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// The definitions bundled with the project (`examples/*.asl.json`, then
/// `benches/workloads/*.asl.json`), named by file without `.asl.json`.
pub fn bundled_definitions() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = definitions_in(&root.join("examples"));
    all.extend(definitions_in(&root.join("benches/workloads")));
    all
}

/// The `*.asl.json` files of a folder, named without `.asl.json`.
pub fn definitions_in(dir: &Path) -> Vec<(String, PathBuf)> {
    json_files(dir)
        .into_iter()
        .filter_map(|p| {
            let name = p
                .file_name()?
                .to_str()?
                .strip_suffix(".asl.json")?
                .to_owned();
            Some((name, p))
        })
        .collect()
}

/// The `.json` files of a folder as named cases, for `check_all`.
pub fn named_files(dir: &Path) -> Vec<(String, PathBuf)> {
    json_files(dir)
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), p))
        .collect()
}

/// The validated machine of a definition file that must be valid.
pub fn validated(definition: &Path) -> statejet::asl::machine::StateMachine {
    let text = std::fs::read_to_string(definition)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", definition.display()));
    statejet::asl::validate(&text, &statejet::asl::Config::default())
        .unwrap_or_else(|d| panic!("{} is invalid: {d:?}", definition.display()))
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Runs `check` on every case and fails once, listing every case that failed.
pub fn check_all<T>(
    cases: impl IntoIterator<Item = (String, T)>,
    check: impl Fn(T) -> Result<(), String>,
) {
    let mut failures = Vec::new();
    let mut count = 0;
    for (name, case) in cases {
        count += 1;
        if let Err(why) = check(case) {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(count > 0, "no cases found");
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Compares `got` with the snapshot file; with `STATEJET_UPDATE_SNAPSHOTS` set, writes it first
/// (review the diff!). A missing snapshot is a failure otherwise.
pub fn compare_snapshot(snapshot: &Path, got: &str) -> Result<(), String> {
    if std::env::var_os("STATEJET_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(snapshot, got)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", snapshot.display()));
    }
    let want = std::fs::read_to_string(snapshot).unwrap_or_default();
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "{} changed:\n--- want\n{want}--- got\n{got}",
            snapshot.display()
        ))
    }
}
