//! Names of the x86_64 system calls by number, so that a `syscall` (generic)
//! event shows the call it was (`evt.type=clock_gettime`) rather than a number.
//! The names are the kernel's (`rt_sigreturn`, not sysdig's `sigreturn`).
//!
//! One source for every crate: the `syscalls` crate's x86_64 table, generated
//! from the kernel's `syscall_64.tbl` (the recorder's table of what it
//! records names its calls through it too).

use std::str::FromStr;

pub use syscalls::x86_64::Sysno;

/// The name of x86_64 system call `nr`, if it has one.
pub fn x86_64_name(nr: u64) -> Option<&'static str> {
    usize::try_from(nr)
        .ok()
        .and_then(Sysno::new)
        .map(|s| s.name())
}

/// The number of the x86_64 system call called `name`.
pub fn x86_64_number(name: &str) -> Option<u64> {
    Sysno::from_str(name).ok().map(|s| s.id() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers() {
        assert_eq!(x86_64_name(0), Some("read"));
        assert_eq!(x86_64_name(15), Some("rt_sigreturn"));
        assert_eq!(x86_64_name(59), Some("execve"));
        assert_eq!(x86_64_name(231), Some("exit_group"));
        assert_eq!(x86_64_name(257), Some("openat"));
        assert_eq!(x86_64_name(319), Some("memfd_create"));
        assert_eq!(x86_64_name(334), Some("rseq"));
        assert_eq!(x86_64_name(335), Some("uretprobe"));
        assert_eq!(x86_64_name(435), Some("clone3"));
        assert_eq!(x86_64_name(462), Some("mseal"));
        assert_eq!(x86_64_name(100_000), None);
        assert_eq!(x86_64_name(u64::MAX), None);
        assert_eq!(x86_64_number("getrandom"), Some(318));
        assert_eq!(x86_64_number("nope"), None);
    }

    /// Every name agrees with the kernel headers' `__NR_*` numbers when the
    /// headers are installed.
    #[test]
    fn agrees_with_the_kernel_headers() {
        let Ok(h) = std::fs::read_to_string("/usr/include/x86_64-linux-gnu/asm/unistd_64.h") else {
            return;
        };
        let mut n = 0;
        for line in h.lines() {
            let mut w = line.split_whitespace();
            if w.next() != Some("#define") {
                continue;
            }
            let (Some(name), Some(nr)) = (w.next(), w.next()) else {
                continue;
            };
            let (Some(name), Ok(nr)) = (name.strip_prefix("__NR_"), nr.parse::<u64>()) else {
                continue;
            };
            assert_eq!(x86_64_name(nr), Some(name), "__NR_{name} = {nr}");
            n += 1;
        }
        assert!(n > 300, "{n} definitions");
    }
}
