//! Event type names a condition may test with `evt.type`: Linux system calls
//! (x86_64 and the generic table), sysdig/Falco's internal events, and
//! Ferret's own records. A value outside this set is an error, as in Falco
//! ("unknown event type"), which catches typos and unexpanded list names.

/// Event type names that are not x86_64 system calls: names of other
/// syscall tables Falco accepts (`pread`, `socketcall`, ...) and the events
/// of sysdig/Falco's own (`procexit`, `switch`, ...). x86_64 calls come from
/// the one table every crate uses ([`capture::syscalls::Sysno`]), Ferret's
/// records from its event table ([`capture::kind::KINDS`]).
const OTHER: &str = "
pread pwrite umount fstatat prlimit mmap2 socketcall recv send wait
signaldeliver switch procexit container k8s tracer mesos drop notification infra page_fault procinfo
cpu_hotplug sysdigevent pluginevent asyncevent cpu_dump
";

/// Whether `name` is a known event type.
pub fn is_known(name: &str) -> bool {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    SET.get_or_init(|| {
        capture::syscalls::Sysno::iter()
            .map(|s| s.name())
            .chain(capture::kind::KINDS.iter().map(|k| k.name))
            .chain(OTHER.split_whitespace())
            .collect()
    })
    .contains(name)
}
