//! `ferret-truth`: a workload that reports its own process facts, as the
//! kernel gives them to the process itself, so that a recording can be
//! checked field by field against the truth (the recorder's lineage test
//! runs hundreds of these at once; run it by hand to check a recorder on
//! another kernel).
//!
//! ```text
//! ferret-truth report OUTDIR TAG       write OUTDIR/TAG.truth, then open ./truth-TAG
//! ferret-truth thread-exec OUTDIR TAG  exec `report` from a second (non-leader) thread
//! ferret-truth orphan OUTDIR TAG       a grandchild whose parent exits reports once
//!                                      adopted (by the namespace's init)
//! ferret-truth subreaper OUTDIR TAG    the same under PR_SET_CHILD_SUBREAPER: the
//!                                      grandchild is adopted by this process
//! ferret-truth script SCRIPT OUTDIR TAG  `report`, as the interpreter of a `#!`
//!                                      script (`#!/path/ferret-truth script`)
//! ```
//!
//! The report is one line of `key=value` pairs: pid, ppid, tid, comm, exe,
//! cwd, uid, gid, euid, tty (as /proc/self/stat's tty_nr), sid, pgid, pcomm
//! (the parent's name), gppid (the grandparent's pid), loginuid
//! (/proc/self/loginuid) and exew (whether the executable is writable by the
//! process, as access(2) says). The relative open of
//! `truth-TAG` (a file the caller made in the current directory) is the event
//! the test looks for.

use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

fn stat_fields(pid: u32) -> Vec<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The comm is in parentheses and may hold spaces: fields start after ')'.
    let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    rest.split_whitespace().map(str::to_string).collect()
}

fn comm_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

fn report(out: &str, tag: &str) -> std::io::Result<()> {
    // SAFETY: these calls have no preconditions.
    let (pid, ppid, uid, gid, euid, sid, pgid, tid) = unsafe {
        (
            libc::getpid() as u32,
            libc::getppid() as u32,
            libc::getuid(),
            libc::getgid(),
            libc::geteuid(),
            libc::getsid(0),
            libc::getpgid(0),
            libc::gettid(),
        )
    };
    let own = stat_fields(pid);
    // After ')': state ppid pgrp session tty_nr ...
    let tty = own.get(4).cloned().unwrap_or_default();
    let gppid = stat_fields(ppid).get(1).cloned().unwrap_or_default();
    let exe = std::fs::read_link("/proc/self/exe")?;
    // SAFETY: a NUL-terminated path.
    let exew = unsafe { libc::access(c"/proc/self/exe".as_ptr(), libc::W_OK) } == 0;
    let cwd = std::env::current_dir()?;
    let loginuid = std::fs::read_to_string("/proc/self/loginuid").unwrap_or_default();
    let line = format!(
        "pid={pid} ppid={ppid} tid={tid} comm={} exe={} cwd={} uid={uid} gid={gid} euid={euid} tty={tty} sid={sid} pgid={pgid} pcomm={} gppid={gppid} exew={exew} loginuid={}\n",
        comm_of(pid),
        exe.display(),
        cwd.display(),
        comm_of(ppid),
        loginuid.trim(),
    );
    let mut f = std::fs::File::create(format!("{out}/{tag}.truth"))?;
    f.write_all(line.as_bytes())?;
    drop(f);
    // The event the test matches: a relative open, resolved through the cwd.
    let _ = std::fs::File::open(format!("truth-{tag}"));
    Ok(())
}

fn thread_exec(out: &str, tag: &str) -> ! {
    let me = std::fs::read_link("/proc/self/exe").expect("own executable");
    let argv: Vec<CString> = [
        me.as_os_str().as_bytes(),
        b"report",
        out.as_bytes(),
        tag.as_bytes(),
    ]
    .iter()
    .map(|a| CString::new(*a).expect("no NUL"))
    .collect();
    let h = std::thread::spawn(move || {
        let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        // SAFETY: NUL-terminated strings and a NULL-terminated array that
        // outlive the call; execv only returns on failure.
        unsafe { libc::execv(ptrs[0], ptrs.as_ptr()) };
        eprintln!("ferret-truth: execv: {}", std::io::Error::last_os_error());
        std::process::exit(1);
    });
    let _ = h.join();
    std::process::exit(1)
}

/// Forks a child that forks the reporting grandchild and exits at once; the
/// grandchild reports after it was adopted. Waits for the report.
fn orphan(out: &str, tag: &str, subreaper: bool) -> std::io::Result<()> {
    if subreaper {
        // SAFETY: PR_SET_CHILD_SUBREAPER with a flag.
        if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    // SAFETY: single-threaded here; the children only call async-signal-safe
    // functions or exit, except the grandchild, which is alone in its process.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if child == 0 {
        // SAFETY: getpid has no preconditions.
        let first = unsafe { libc::getpid() };
        // SAFETY: as above.
        let gc = unsafe { libc::fork() };
        if gc == 0 {
            let t = std::time::Instant::now();
            // SAFETY: as above.
            while unsafe { libc::getppid() } == first {
                if t.elapsed() > std::time::Duration::from_secs(10) {
                    std::process::exit(3);
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let code = i32::from(report(out, tag).is_err());
            std::process::exit(code);
        }
        // SAFETY: leaving the child at once orphans the grandchild.
        unsafe { libc::_exit(i32::from(gc < 0)) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    if subreaper {
        // The adopted grandchild is ours to reap.
        // SAFETY: waiting for any child.
        unsafe { libc::waitpid(-1, &mut status, 0) };
    }
    let want = std::path::PathBuf::from(format!("{out}/{tag}.truth"));
    let t = std::time::Instant::now();
    while !want.exists() || std::fs::metadata(&want).map(|m| m.len()).unwrap_or(0) == 0 {
        if t.elapsed() > std::time::Duration::from_secs(10) {
            return Err(std::io::Error::other("the grandchild did not report"));
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    Ok(())
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    match (a.get(1).map(String::as_str), a.get(2), a.get(3)) {
        (Some("report"), Some(out), Some(tag)) => {
            if let Err(e) = report(out, tag) {
                eprintln!("ferret-truth: {e}");
                std::process::exit(1);
            }
        }
        (Some("thread-exec"), Some(out), Some(tag)) => thread_exec(out, tag),
        // As a #! interpreter: argv is [interpreter, "script", SCRIPT, OUTDIR, TAG].
        (Some("script"), Some(_script), Some(out)) => match a.get(4) {
            Some(tag) => {
                if let Err(e) = report(out, tag) {
                    eprintln!("ferret-truth: {e}");
                    std::process::exit(1);
                }
            }
            None => {
                eprintln!("usage: ferret-truth script SCRIPT OUTDIR TAG");
                std::process::exit(2);
            }
        },
        (Some(m @ ("orphan" | "subreaper")), Some(out), Some(tag)) => {
            if let Err(e) = orphan(out, tag, m == "subreaper") {
                eprintln!("ferret-truth: {e}");
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("usage: ferret-truth report|thread-exec|orphan|subreaper OUTDIR TAG");
            std::process::exit(2);
        }
    }
}
