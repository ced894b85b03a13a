//! Embeds the operations console's bundle (web/dist, built by Vite and
//! committed) into the binary: writes a table of `include_bytes!` for every
//! file there, so `cargo run` serves the console with no Node step and the
//! binary needs no files beside it. `include_bytes!` makes Cargo track each
//! file; the directory itself is watched for files added or removed.

use std::path::{Path, PathBuf};
use std::{env, fs};

fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect(&path, root, out);
        } else {
            let relative = path
                .strip_prefix(root)
                .expect("under web/dist")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((relative, path));
        }
    }
}

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let dist = root.join("web").join("dist");
    println!("cargo:rerun-if-changed=web/dist");
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    assert!(
        files.iter().any(|(name, _)| name == "index.html"),
        "web/dist/index.html is missing. The console's bundle is committed; \
         restore it (git checkout web/dist) or rebuild it with \
         `npm --prefix web ci && npm --prefix web run build`"
    );
    let mut table = String::from("&[\n");
    for (name, path) in &files {
        let path = path.to_str().expect("web/dist paths are UTF-8");
        table.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
    }
    table.push_str("]\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("console_files.rs");
    fs::write(&out, table).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
