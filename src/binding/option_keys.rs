//! The option keys of every export, as the Rust readers define them, written to
//! `cli/option-keys.json` so that the CLI picks what it passes to each export from
//! the same lists instead of copies (`cli/main.js`).
//!
//! Why a committed file and not an export: exported names are a contract
//! (design.md), and `require('claude-mem-store')` users would see a new function;
//! a JSON file beside the CLI widens nothing, ships in `cli/` (package.json
//! `files`), and needs no addon to read (`--help` works without one). This test
//! fails when the file differs from the readers' lists, or when an export of
//! index.d.ts is missing from the table; `__test__/cli.test.mjs` fails when
//! `cli/spec.js`'s flags do not cover the store and install lists.
//!
//! After changing a key list: `CMS_WRITE_OPTION_KEYS=1 cargo test option_keys`,
//! then commit `cli/option-keys.json`.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::checks::probe::options::PROBE;
use crate::install::options::{INSTALL, INSTALL_OPTION_KEYS, PLAN};
use crate::lifecycle::resolve::RESOLVE;
use crate::settings::STORE_OPTION_KEYS;
use crate::settings::options::OptionSet;
use crate::settings::read::{DETECT, ENSURE, STATUS, STOP, UNINSTALL, WATCH};

/// Every export that takes options, in index.d.ts's order.
const EXPORTS: &[OptionSet] = &[
    DETECT, ENSURE, INSTALL, PLAN, PROBE, STATUS, RESOLVE, STOP, UNINSTALL, WATCH,
];

const FILE: &str = "cli/option-keys.json";

/// The file's text: the two shared lists (`store`: `StoreOptions`; `install`: an
/// install's own), then each export's full list, one list a line.
fn json_text() -> String {
    let line = |keys: &[&str]| serde_json::to_string(keys).expect("a list of strings");
    let mut out = String::from("{\n");
    out.push_str(&format!(
        "  \"//\": {},\n",
        Value::String(
            "Generated from the Rust option readers by `CMS_WRITE_OPTION_KEYS=1 cargo test option_keys` \
             (src/binding/option_keys.rs); do not edit. store: StoreOptions; install: an install's own \
             options; functions: every key each export accepts, in the order its messages list them."
                .to_string()
        )
    ));
    out.push_str(&format!("  \"store\": {},\n", line(STORE_OPTION_KEYS)));
    out.push_str(&format!("  \"install\": {},\n", line(INSTALL_OPTION_KEYS)));
    out.push_str("  \"functions\": {\n");
    let rows: Vec<String> = EXPORTS
        .iter()
        .map(|set| format!("    \"{}\": {}", set.function, line(&set.keys())))
        .collect();
    out.push_str(&rows.join(",\n"));
    out.push_str("\n  }\n}\n");
    out
}

#[test]
fn option_keys_json_is_what_the_readers_accept() {
    let text = json_text();
    // The text is JSON, and says what the tables say.
    let parsed: Value = serde_json::from_str(&text).expect("valid JSON");
    let mut functions = Map::new();
    for set in EXPORTS {
        functions.insert(set.function.into(), json!(set.keys()));
    }
    assert_eq!(parsed["functions"], Value::Object(functions));
    assert_eq!(parsed["store"], json!(STORE_OPTION_KEYS));
    assert_eq!(parsed["install"], json!(INSTALL_OPTION_KEYS));

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FILE);
    if std::env::var_os("CMS_WRITE_OPTION_KEYS").is_some_and(|v| !v.is_empty()) {
        std::fs::write(&path, &text).expect("write cli/option-keys.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{FILE} differs from the Rust option readers: run `CMS_WRITE_OPTION_KEYS=1 cargo test option_keys` \
         and commit it. Expected:\n{text}"
    );
}

#[test]
fn option_keys_cover_every_export_of_index_d_ts() {
    let dts = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("index.d.ts"))
        .expect("index.d.ts");
    let declared: Vec<&str> = dts
        .lines()
        .filter_map(|l| l.strip_prefix("export declare function "))
        .filter_map(|l| l.split('(').next())
        .collect();
    let listed: Vec<&str> = EXPORTS.iter().map(|s| s.function).collect();
    assert_eq!(
        listed, declared,
        "one OptionSet per exported function, in index.d.ts's order"
    );
}

#[test]
fn shared_lists_are_inside_the_exports_that_take_them() {
    let has = |set: &OptionSet, keys: &[&str]| {
        let all = set.keys();
        keys.iter().all(|k| all.contains(k))
    };
    for set in [ENSURE, STATUS, STOP, UNINSTALL, WATCH, RESOLVE] {
        assert!(has(&set, STORE_OPTION_KEYS), "{}", set.function);
    }
    for set in [INSTALL, RESOLVE] {
        assert!(has(&set, INSTALL_OPTION_KEYS), "{}", set.function);
    }
    for set in EXPORTS {
        let keys = set.keys();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            unique.len(),
            keys.len(),
            "{} lists a key twice",
            set.function
        );
    }
}
