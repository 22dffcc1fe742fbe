//! Tests of `start.rs` (kept beside it so that the code reads on its own).

use super::*;

#[test]
fn truncated_aof_is_reported_with_its_offset() {
    let log = "1:M 26 Nov 2026 18:00:00.000 # !!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!\n\
               1:M 26 Nov 2026 18:00:00.000 # !!! Truncating the AOF appendonly.aof.1.incr.aof at offset 4242 !!!\n\
               1:M 26 Nov 2026 18:00:00.000 # AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled\n";
    let w = load_warnings(log);
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("byte 4242"), "{}", w[0]);
    assert!(load_warnings("Ready to accept connections").is_empty());
}

#[test]
fn log_tail_keeps_the_last_lines() {
    let d = std::env::temp_dir().join(format!("cms-tail-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join("log");
    let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
    std::fs::write(&p, text).unwrap();
    let tail = last_lines(&log_since(&p, 0));
    assert!(tail.ends_with("line 99"));
    assert!(!tail.contains("line 80\n"));
    assert_eq!(
        last_lines(&log_since(&d.join("missing"), 0)),
        "(no log written)"
    );
    // Only what this start wrote: lines before the offset are not its own.
    let offset = "line 0\n".len() as u64;
    assert!(!last_lines(&log_since(&p, offset)).contains("line 0\n"));
    std::fs::remove_dir_all(d).unwrap();
}
