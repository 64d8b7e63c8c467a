//! `include/xtree.h` is what cbindgen generates from `native/capi/` with
//! `native/capi/cbindgen.toml`: this test regenerates it in memory and fails when the checked-in
//! header is stale. `XTREE_BLESS=1 cargo test --test capi_header` rewrites it.

use std::path::Path;

/// The C API's source files, in the order their items appear in the header.
const SOURCES: [&str; 4] = ["mod.rs", "wrapper.rs", "index.rs", "runtime.rs"];

fn generate(root: &Path) -> String {
    let capi = root.join("native/capi");
    let config = cbindgen::Config::from_file(capi.join("cbindgen.toml"))
        .expect("native/capi/cbindgen.toml parses");
    let mut builder = cbindgen::Builder::new().with_config(config);
    for file in SOURCES {
        builder = builder.with_src(capi.join(file));
    }
    let bindings = builder
        .generate()
        .expect("cbindgen generates the header from native/capi/");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn checked_in_header_matches_cbindgen_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("include/xtree.h");
    let fresh = generate(root);
    if std::env::var_os("XTREE_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("include/")).expect("create include/");
        std::fs::write(&path, &fresh).expect("write include/xtree.h");
        eprintln!("rewrote {}", path.display());
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != fresh {
        let line = current
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| current.lines().count().min(fresh.lines().count()));
        panic!(
            "include/xtree.h is stale (first difference at line {}): the C API in native/capi/ \
             changed. Regenerate it with `XTREE_BLESS=1 cargo test --test capi_header` and commit \
             the result.",
            line + 1
        );
    }
}

#[test]
fn header_declares_every_export_and_hides_the_test_hook() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = generate(root);
    for name in [
        "xtree_last_error",
        "xtree_index_new",
        "xtree_index_free",
        "xtree_index_insert_point",
        "xtree_index_insert_box",
        "xtree_index_insert_points",
        "xtree_index_insert_boxes",
        "xtree_index_delete",
        "xtree_index_update",
        "xtree_index_search",
        "xtree_index_count",
        "xtree_index_nearest",
        "xtree_index_commit",
        "xtree_index_cursor",
        "xtree_cursor_next",
        "xtree_cursor_free",
        "xtree_runtime_open",
        "xtree_runtime_open_read_only",
        "xtree_runtime_field",
        "xtree_runtime_get_field",
        "xtree_runtime_commit",
        "xtree_runtime_close",
        "xtree_live_handles",
    ] {
        assert!(
            header.contains(&format!("{name}(")),
            "{name} missing from the header"
        );
    }
    assert!(!header.contains("xtree_test_panic"));
    for constant in [
        "XTREE_OK 0",
        "XTREE_ERR_INVALID_ARGUMENT 1",
        "XTREE_ERR_READ_ONLY 4",
        "XTREE_ERR_INTERNAL 99",
    ] {
        assert!(
            header.contains(&format!("#define {constant}")),
            "{constant}"
        );
    }
}
