//! Hashes a file the way the installer verifies a download: streamed through
//! `sha2::Sha256` in 64 KiB chunks. Used by the benchmark (bench/run.mjs) to compare
//! against `openssl dgst -sha256` on the same file:
//!
//!     cargo run --release --example sha256_file -- <file>
//!
//! Prints `<hex>  <file>` like sha256sum.

use std::io::Read;

use sha2::{Digest, Sha256};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: sha256_file <file>");
        std::process::exit(2);
    };
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(1);
            }
        }
    }
    println!(
        "{}  {path}",
        claude_mem_store::server::binary::sha256::hex(&hasher.finalize())
    );
}
