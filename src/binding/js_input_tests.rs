//! Tests of `js_input.rs` (kept beside it so that the code reads on its own).

use super::*;

#[test]
fn numbers_read_like_json() {
    assert_eq!(number(5000.0).unwrap().to_string(), "5000");
    assert_eq!(number(-3.0).unwrap().to_string(), "-3");
    assert_eq!(number(1.5).unwrap().to_string(), "1.5");
    assert_eq!(number(-0.0).unwrap().to_string(), "0");
    assert_eq!(number(1e21).unwrap().to_string(), "1e+21");
    assert!(number(f64::NAN).is_none());
    assert!(number(f64::INFINITY).is_none());
    assert!(number(f64::NEG_INFINITY).is_none());
}

#[test]
fn echoed_text_is_bounded_and_clean() {
    assert_eq!(quote("a\nb"), "a b");
    assert_eq!(quote(&"x".repeat(500)).chars().count(), MAX_QUOTE + 1);
    assert_eq!(printable("a\0b"), "a?b");
}
