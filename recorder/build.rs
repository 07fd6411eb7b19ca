//! Builds `recorder-bpf` for `bpfel-unknown-none` with Debian's rustc-web
//! (which ships a precompiled `core` for the BPF target) and bpf-linker, as
//! recorded in ../shared/notes/ebpf-toolchain.md, and puts the object in
//! OUT_DIR for `include_bytes!`. rustup's toolchains have no BPF `core` here,
//! so the build runs `/usr/bin/cargo` with a PATH that does not reach rustup.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let root = manifest.parent().expect("workspace root").to_path_buf();
    let bpf = root.join("recorder-bpf");
    let common = root.join("recorder-common");
    for p in [
        bpf.join("src"),
        bpf.join("Cargo.toml"),
        bpf.join("Cargo.lock"),
        common.join("src"),
    ] {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    println!("cargo:rerun-if-env-changed=FERRET_BPF_CARGO");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let cargo = std::env::var("FERRET_BPF_CARGO").unwrap_or_else(|_| "/usr/bin/cargo".into());
    let linker = find_bpf_linker().unwrap_or_else(|| {
        panic!("bpf-linker not found: run `bash .ci/setup-toolchain` (installs rustc-web, llvm-22 and bpf-linker)")
    });
    let target_dir = out.join("bpf-target");
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&bpf)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "bpfel-unknown-none",
            "--target-dir",
        ])
        .arg(&target_dir);
    // A clean environment for the inner cargo: nothing of the outer build.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.starts_with("CARGO_")
            || k.starts_with("RUSTC")
            || k.starts_with("RUSTUP")
            || k == "RUSTFLAGS"
            || k == "RUSTDOC"
        {
            cmd.env_remove(&k);
        }
    }
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        cmd.env("CARGO_HOME", home);
    }
    cmd.env("PATH", "/usr/bin:/bin")
        .env("CARGO_TARGET_BPFEL_UNKNOWN_NONE_LINKER", &linker)
        .env("RUSTC_BOOTSTRAP", "aya_ebpf")
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            "-Cdebuginfo=2\x1f-Clink-arg=--btf",
        );
    let status = cmd.status().unwrap_or_else(|e| {
        panic!("cannot run {cargo}: {e}; run `bash .ci/setup-toolchain` (installs Debian's rustc-web and cargo-web)")
    });
    assert!(
        status.success(),
        "building recorder-bpf failed ({status}); see the output above"
    );
    let obj = target_dir.join("bpfel-unknown-none/release/ferret-probes");
    std::fs::copy(&obj, out.join("ferret-probes.o")).expect("copy eBPF object");
}

fn find_bpf_linker() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    if let Some(ch) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(ch).join("bin"));
    }
    dirs.into_iter()
        .map(|d| d.join("bpf-linker"))
        .find(|p| p.is_file())
}
