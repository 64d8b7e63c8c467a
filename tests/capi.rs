//! The C API from C: compiles `tests/c/capi_test.c` with the system C compiler (`cc` on `PATH`)
//! against `include/xtree.h` and the `libxtree.so` cargo built for this test run, runs it, and
//! checks its exit status and summary line; then again under AddressSanitizer,
//! UndefinedBehaviorSanitizer and LeakSanitizer (the program checks that no handle is left).
//! Skipped, with a message, only when no C compiler exists.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The cdylib of this package: cargo builds the library's every crate type for integration
/// tests and puts the `.so` in `deps/`, next to this test binary.
fn cdylib() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps directory");
    let name = format!(
        "{}xtree{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    [deps.to_path_buf(), deps.join("..")]
        .into_iter()
        .map(|d| d.join(&name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found in {} or its parent", deps.display()))
}

fn compiler() -> Option<String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    Command::new(&cc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| cc)
}

/// Builds the test program with `extra` flags into `out`, runs it and checks that every check
/// passed.
fn build_and_run(cc: &str, extra: &[&str], out: &Path, scratch: &Path, env: &[(&str, &str)]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = cdylib();
    let lib_dir = lib.parent().expect("library directory");
    let status = Command::new(cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-g"])
        .args(extra)
        .arg("-I")
        .arg(root.join("include"))
        .arg(root.join("tests/c/capi_test.c"))
        .arg("-o")
        .arg(out)
        .arg(&lib)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-lm")
        .arg("-pthread")
        .status()
        .expect("run the C compiler");
    assert!(
        status.success(),
        "{cc} {extra:?} failed to build tests/c/capi_test.c"
    );

    let output = Command::new(out)
        .arg(scratch)
        .envs(env.iter().copied())
        .output()
        .expect("run capi_test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "capi_test {extra:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("capi_test: "))
        .unwrap_or_else(|| panic!("no summary line:\n{stdout}"));
    assert!(summary.ends_with(" 0 failures"), "{summary}");
    let checks: u32 = summary
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("check count");
    assert!(checks > 200, "only {checks} checks ran: {summary}");
    // The only thing on stderr is the panic the test provokes on purpose.
    assert!(
        !stderr.contains("ERROR: AddressSanitizer")
            && !stderr.contains("runtime error:")
            && !stderr.contains("LeakSanitizer"),
        "sanitizer report:\n{stderr}"
    );
    eprintln!("capi_test {extra:?}: {summary}");
}

#[test]
fn c_program_passes_plain_and_under_sanitizers() {
    let Some(cc) = compiler() else {
        eprintln!("SKIPPED: no C compiler (`cc` on PATH, or $CC) to build tests/c/capi_test.c");
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");

    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).expect("scratch dir");
    build_and_run(&cc, &[], &tmp.path().join("capi_test"), &plain, &[]);

    let asan = tmp.path().join("asan");
    std::fs::create_dir(&asan).expect("scratch dir");
    build_and_run(
        &cc,
        &[
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=undefined",
            "-fno-omit-frame-pointer",
        ],
        &tmp.path().join("capi_test_asan"),
        &asan,
        &[
            (
                "ASAN_OPTIONS",
                "detect_leaks=1:abort_on_error=0:exitcode=86",
            ),
            ("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1"),
        ],
    );
}
